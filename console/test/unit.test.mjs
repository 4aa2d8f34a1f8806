// The console's own logic under Node, without a browser: the closest approach drawn on the map
// against a brute-force search over time, and the conflict list's order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closestApproach, destination, extrapolate } from '../src/geo.js';
import { byUrgency, needsAck } from '../src/conflicts.js';

// Great-circle distance in NM (haversine): the reference.
function distNm(a, b) {
  const r = Math.PI / 180;
  const h = Math.sin(((b.lat - a.lat) * r) / 2) ** 2 +
    Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(((b.lon - a.lon) * r) / 2) ** 2;
  return (2 * Math.asin(Math.sqrt(h)) * 6371008.8) / 1852;
}

test('destination: 60 NM north is one degree of latitude; east along the equator', () => {
  const [lat, lon] = destination(46, 7, 0, 60);
  assert.ok(Math.abs(lat - 47.0) < 0.01 && Math.abs(lon - 7) < 1e-9);
  const [lat2, lon2] = destination(0, 10, 90, 60);
  assert.ok(Math.abs(lat2) < 1e-9 && Math.abs(lon2 - 11.0) < 0.01);
});

// Over the tactical look-ahead (120 s) plus a margin: the horizon the map draws paths within.
test('closest approach matches a brute-force search over 180 s (500 random pairs)', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < 500; i++) {
    const a = { t: 0, lat: 40 + rnd() * 15, lon: -5 + rnd() * 20, gs_kt: 100 + rnd() * 400, trk_deg: rnd() * 360, alt_ft: 30000, vs_fpm: 0 };
    const dist = rnd() * 40; // NM
    const [lat, lon] = destination(a.lat, a.lon, rnd() * 360, dist);
    const b = { t: 0, lat, lon, gs_kt: 100 + rnd() * 400, trk_deg: rnd() * 360, alt_ft: 31000, vs_fpm: 0 };
    const ca = closestApproach(a, b, 0, 180);
    let best = Infinity;
    let bestT = 0;
    for (let t = 0; t <= 180; t += 0.05) {
      const d = distNm(extrapolate(a, t), extrapolate(b, t));
      if (d < best) {
        best = d;
        bestT = t;
      }
    }
    // The same paths, searched finely: equal to 0.1% (the brute force's own 0.05 s step).
    assert.ok(Math.abs(ca.dist_nm - best) <= 0.001 * best + 0.005,
      `pair ${i}: ${ca.dist_nm.toFixed(3)} NM vs brute force ${best.toFixed(3)} NM`);
    if (best > 0.5) assert.ok(Math.abs(ca.t - bestT) < 5, `pair ${i}: at ${ca.t.toFixed(1)} s vs ${bestT} s`);
  }
});

test('the conflict list: open before resolved, loss first, then the nearest, then unacknowledged, advisories last', () => {
  const now = new Date().toISOString();
  const c = (id, o) => ({ id, kind: 'tactical', state: 'open', level: 'warning', time_to_loss_s: 100, updated: now, acknowledged: false, ...o });
  const list = [
    c('resolved', { state: 'resolved' }),
    c('strategic', { kind: 'strategic' }),
    c('far-acked', { time_to_loss_s: 90, acknowledged: true }),
    c('far', { time_to_loss_s: 90 }),
    c('near', { time_to_loss_s: 30, acknowledged: true }),
    c('loss', { level: 'loss', time_to_loss_s: 0, acknowledged: true }),
    c('intrusion', { kind: 'intrusion' }),
    c('advisory', { level: 'advisory', time_to_loss_s: 10 }),
    c('intrusion-ahead', { kind: 'intrusion', level: 'advisory', time_to_entry_s: 100 }),
  ];
  const order = [...list].sort(byUrgency).map((x) => x.id);
  assert.deepEqual(order, ['loss', 'near', 'far', 'far-acked', 'intrusion', 'strategic', 'advisory', 'intrusion-ahead', 'resolved']);
  assert.deepEqual(list.filter(needsAck).map((x) => x.id).sort(),
    ['far', 'far-acked', 'intrusion', 'loss', 'near', 'resolved', 'strategic']);
});
