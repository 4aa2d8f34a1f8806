// The console's own logic under Node, without a browser: the closest approach drawn on the map
// against a brute-force search over time, the conflict list's order, what it offers to
// acknowledge and how it names aircraft, and the times it shows (the service's clock, or a
// replayed recording's through the party's replay clock).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closestApproach, destination, extrapolate } from '../src/geo.js';
import { byUrgency, canAck, needsAck, ownAircraft, timeToLoss } from '../src/conflicts.js';
import { clockOffsetMs, noteServerTime, serverNow } from '../src/api.js';
import { fmtClock, fmtTime, isoShown } from '../src/ui.js';
import { fmtSpeed, parseReplayClock, replayBadge, replayClock, setReplayClock, shownMs } from '../src/replay.js';

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

test('the countdown runs from the prediction, not from the last write (an acknowledgement moves that)', () => {
  const predicted = new Date(serverNow() - 30000).toISOString();
  const acked = new Date(serverNow() - 1000).toISOString();
  const c = { kind: 'tactical', time_to_loss_s: 100, predicted_at: predicted, updated: acked };
  const left = timeToLoss(c);
  assert.ok(left > 69 && left < 71.5, `100 s predicted 30 s ago: about 70 s left, not 99 (${left.toFixed(1)})`);
  const old = timeToLoss({ kind: 'tactical', time_to_loss_s: 100, updated: predicted });
  assert.ok(old > 69 && old < 71.5, `a view without predicted_at counts from updated (${old.toFixed(1)})`);
});

test('acknowledging is offered only for an open conflict that owes it', () => {
  const c = (o) => ({ kind: 'tactical', state: 'open', level: 'warning', acknowledged: false, ...o });
  assert.equal(canAck(c({})), true);
  assert.equal(canAck(c({ state: 'resolved' })), false, 'resolved, never acknowledged: nothing to do');
  assert.equal(canAck(c({ acknowledged: true })), false);
  assert.equal(canAck(c({ level: 'advisory' })), false);
  assert.equal(canAck(c({ kind: 'strategic', level: undefined })), true);
});

test('own aircraft are named by callsign, the track id second; by the track id when none is known', () => {
  const callsigns = new Map([['4b1805', 'SWR123'], ['3c6444', '3c6444']]);
  assert.deepEqual(ownAircraft('4b1805', callsigns), { name: 'SWR123', id: '4b1805' });
  assert.deepEqual(ownAircraft('4b1a2f', callsigns), { name: '4b1a2f', id: null });
  assert.deepEqual(ownAircraft('3c6444', callsigns), { name: '3c6444', id: null }, 'a callsign equal to the id is said once');
  assert.deepEqual(ownAircraft('4b1805', undefined), { name: '4b1805', id: null });
});

// Run in order: the clock is module state.
test("the service's clock: the first reading is taken whole, a precise one wins over Date headers", () => {
  const skewMs = Date.parse('2018-08-01T12:00:00Z') - Date.now(); // a browser 8 years behind
  const local = Date.now();
  noteServerTime(Math.floor((local - skewMs) / 1000) * 1000, local, local, false);
  assert.ok(Math.abs(clockOffsetMs + skewMs) <= 1000, `a Date header: within its second (${clockOffsetMs + skewMs} ms)`);
  noteServerTime(local - skewMs + 123, local - 10, local + 10, true);
  assert.ok(Math.abs(clockOffsetMs - (123 - skewMs)) < 1, 'a precise reading replaces the coarse estimate');
  noteServerTime(local - skewMs + 123 + 900, local, local, false);
  assert.ok(Math.abs(clockOffsetMs - (123 - skewMs)) < 1, 'Date headers no longer move it');
  noteServerTime(local - skewMs + 133, local, local, true);
  assert.ok(Math.abs(clockOffsetMs - (125 - skewMs)) < 1, 'precise readings are smoothed (0.8 / 0.2)');
  assert.ok(Math.abs(serverNow() - (Date.now() - skewMs)) < 1000);
});

test("times are shown against the service's day, not the browser's", () => {
  const now = Date.parse('2026-12-03T15:00:00Z');
  assert.equal(fmtTime('2026-12-03T14:03:07Z', now), '14:03:07Z');
  assert.equal(fmtTime('2026-12-02T23:59:59Z', now), '2026-12-02 23:59Z');
  assert.equal(fmtTime('not a time', now), '?');
});

// The replay clock of `make demo`: 2018-08-01 12:00Z of the recording went out at the
// service's 1796310510.98 (docs/service.md, "Replays"), at 20x.
const DEMO = { recording_start_s: 1533124800, service_start_s: 1796310510.98, speed: 20 };

test("a replay clock maps the service's time to the recording's", () => {
  const c = parseReplayClock(DEMO);
  const at = (dtS) => new Date(shownMs((DEMO.service_start_s + dtS) * 1000, c)).toISOString();
  assert.equal(at(0), '2018-08-01T12:00:00.000Z');
  assert.equal(at(3), '2018-08-01T12:01:00.000Z', '3 s of the service are 60 s of the recording');
  assert.equal(at(-1), '2018-08-01T11:59:40.000Z', 'before the feed started: earlier in the recording');
  assert.equal(shownMs(1234567, null), 1234567, 'no clock: the service\'s time itself');
});

// `deconflict feed` sends the recording's time t at service_start_s + (t - recording_start_s) /
// speed: mapped back through the clock, every such time is t again.
test('the mapping inverts the feed\'s, for 2000 random clocks and times', () => {
  let seed = 20;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  console.log(`seed 20, ${2000} draws`);
  let worstMs = 0;
  for (let i = 0; i < 2000; i++) {
    const clock = {
      recording_start_s: Math.round(rnd() * 1.7e9 * 100) / 100,
      service_start_s: Math.round((1.79e9 + rnd() * 1e7) * 100) / 100,
      speed: [0.01, 0.5, 1, 20, 30, 1000][i % 6] * (0.5 + rnd()),
    };
    const t = clock.recording_start_s + rnd() * 86400;
    const sent = clock.service_start_s + (t - clock.recording_start_s) / clock.speed;
    const back = shownMs(sent * 1000, parseReplayClock(clock));
    worstMs = Math.max(worstMs, Math.abs(back - t * 1000));
  }
  console.log(`worst ${worstMs.toFixed(4)} ms`);
  assert.ok(worstMs < 1, `within a millisecond (worst ${worstMs} ms)`);
});

test('only a usable replay clock is taken; setting one says whether it changed', () => {
  assert.equal(parseReplayClock(undefined), null);
  assert.equal(parseReplayClock({ ...DEMO, speed: 0 }), null);
  assert.equal(parseReplayClock({ ...DEMO, speed: '20' }), null);
  assert.equal(parseReplayClock({ recording_start: '2018-08-01T12:00:00Z', speed: 20 }), null);
  assert.equal(setReplayClock(DEMO), true);
  assert.deepEqual(replayClock(), { recordingStartS: 1533124800, serviceStartS: 1796310510.98, speed: 20 });
  assert.equal(setReplayClock({ ...DEMO, recording_start: '2018-08-01T12:00:00Z' }), false, 'the same clock again');
  assert.equal(setReplayClock(undefined), true, 'cleared');
  assert.equal(replayClock(), null);
});

test("under a replay clock, times, the clock and the map's times are the recording's, with its date", () => {
  const c = parseReplayClock(DEMO);
  const svc = (dtS) => (DEMO.service_start_s + dtS) * 1000;
  const iso = (dtS) => new Date(svc(dtS)).toISOString();
  assert.equal(fmtTime(iso(3), svc(30), c), '12:01:00Z', 'on the recording\'s day: no date');
  assert.equal(fmtClock(svc(30), c), '12:10:00Z');
  assert.equal(isoShown(iso(3), c), '2018-08-01T12:01:00Z');
  assert.equal(isoShown(iso(3), null), iso(3), 'no clock: the API\'s time as it is');
  assert.equal(isoShown('?', c), '?');
  // A recording that starts just after midnight: a time before it is on the day before.
  const midnight = parseReplayClock({ ...DEMO, recording_start_s: Date.parse('2018-08-01T00:00:30Z') / 1000 });
  assert.equal(fmtTime(iso(-2), svc(10), midnight), '2018-07-31 23:59Z', "another day of the recording: the recording's date");
  assert.equal(fmtTime(iso(-2), svc(10), null), new Date(svc(-2)).toISOString().slice(11, 19) + 'Z', 'no clock: the service\'s');
  assert.equal(fmtTime('not a time', svc(0), c), '?');
});

test('the replay badge: the recording\'s date and the speed, and a tooltip on real seconds', () => {
  const b = replayBadge((DEMO.service_start_s + 60) * 1000, parseReplayClock(DEMO));
  assert.equal(b.text, 'REPLAY 2018-08-01 · 20×');
  assert.match(b.title, /recording's/);
  assert.match(b.title, /real seconds/);
  assert.match(b.title, /2018-08-01 12:00:00Z/);
  assert.equal(replayBadge(Date.now(), null), null);
  assert.deepEqual([0.5, 1, 1.25, 1000].map(fmtSpeed), ['0.5×', '1×', '1.25×', '1000×']);
});
