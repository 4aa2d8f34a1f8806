// The time slider's picture of the past hour, rebuilt from what the service stored: each
// track's sampled positions (GET /v1/history) and this party's own event log (conflicts as
// they were raised, updated and resolved).
import { api, serverNow } from './api.js';
import { extrapolate } from './geo.js';

export class Timeline {
  constructor() {
    this.data = null;
    this.fetchedAt = 0;
  }

  // Loads (or reuses, for 20 s) the last hour.
  async load() {
    if (this.data && serverNow() - this.fetchedAt < 20000) return this.data;
    const res = await api('GET', '/v1/history?step_s=10');
    const tracks = new Map();
    for (const [id, t, lat, lon, alt_ft, trk_deg, gs_kt] of res.samples) {
      if (!tracks.has(id)) tracks.set(id, []);
      tracks.get(id).push({ track_id: id, t, lat, lon, alt_ft, trk_deg, gs_kt, vs_fpm: 0, status: 'live' });
    }
    this.data = { tracks, events: res.events, truncated: res.truncated, from: Date.parse(res.from) / 1000 };
    this.fetchedAt = serverNow();
    return this.data;
  }

  // What the map showed at time t (Unix s): tracks, trails, conflicts and disclosed aircraft.
  at(t) {
    const d = this.data;
    if (!d) return null;
    const tracks = [];
    const trails = new Map();
    for (const [id, samples] of d.tracks) {
      let lo = 0;
      let hi = samples.length - 1;
      if (samples[0].t > t) continue;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (samples[mid].t <= t) lo = mid;
        else hi = mid - 1;
      }
      const s = samples[lo];
      if (t - s.t > 60) continue; // no sample for a minute: the track was not there
      const p = extrapolate(s, t);
      tracks.push({ ...s, lat: p.lat, lon: p.lon, t });
      trails.set(id, samples.slice(Math.max(0, lo - 12), lo + 1).map((x) => [x.lat, x.lon]));
    }
    const views = new Map();
    for (const e of d.events) {
      if (e.t > t) break;
      if (e.type.startsWith('conflict.') && e.data && e.data.id) views.set(e.data.id, e.data);
    }
    const conflicts = [...views.values()].filter((c) => c.state === 'open');
    const others = [];
    for (const c of conflicts) {
      const o = c.other_aircraft;
      if (!o || c.kind !== 'tactical' || Math.abs(t - o.t) > 300) continue;
      const p = extrapolate(o, t);
      others.push({ ...o, lat: p.lat, lon: p.lon, conflict_id: c.id });
    }
    return { tracks, trails, conflicts, others };
  }
}
