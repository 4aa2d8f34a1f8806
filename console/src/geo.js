// Straight-line kinematics for drawing: where an aircraft will be, and the closest point of
// approach of two. Same constant-velocity model as the tactical engine (docs/tactical.md), in a
// local flat frame around the pair, which is well within a pixel at the scales drawn.

const NM_M = 1852;
const EARTH_M = 6371008.8;
const DEG = Math.PI / 180;

// The point dist_nm from (lat, lon) along true track trk_deg (great circle).
export function destination(lat, lon, trkDeg, distNm) {
  const d = (distNm * NM_M) / EARTH_M;
  const p1 = lat * DEG;
  const l1 = lon * DEG;
  const th = trkDeg * DEG;
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(th));
  const l2 =
    l1 + Math.atan2(Math.sin(th) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
  return [p2 / DEG, ((((l2 / DEG) + 540) % 360) - 180)];
}

// A state (t in Unix s, lat, lon, gs_kt, trk_deg, alt_ft, vs_fpm) moved to time t.
export function extrapolate(s, t) {
  const dt = t - s.t;
  const [lat, lon] = destination(s.lat, s.lon, s.trk_deg, (s.gs_kt * dt) / 3600);
  return { lat, lon, alt_ft: s.alt_ft + ((s.vs_fpm || 0) * dt) / 60 };
}

// Closest approach of a and b after time t0 (both extrapolated to t0 first), within
// horizonS: {t, a: {lat, lon, alt_ft}, b: {...}, dist_nm}.
export function closestApproach(a, b, t0, horizonS = 600) {
  const pa = extrapolate(a, t0);
  const pb = extrapolate(b, t0);
  const lat0 = ((pa.lat + pb.lat) / 2) * DEG;
  const east = (lon) => ((lon - pa.lon) * DEG * Math.cos(lat0) * EARTH_M) / NM_M;
  const north = (lat) => ((lat - pa.lat) * DEG * EARTH_M) / NM_M;
  const vel = (s) => [
    (s.gs_kt / 3600) * Math.sin(s.trk_deg * DEG),
    (s.gs_kt / 3600) * Math.cos(s.trk_deg * DEG),
  ];
  const [vax, vay] = vel(a);
  const [vbx, vby] = vel(b);
  const rx = east(pb.lon);
  const ry = north(pb.lat);
  const vx = vbx - vax;
  const vy = vby - vay;
  const vv = vx * vx + vy * vy;
  let tc = vv > 1e-12 ? -(rx * vx + ry * vy) / vv : 0;
  tc = Math.max(0, Math.min(horizonS, tc));
  // The flat frame puts the minimum within seconds; a golden-section search on the great-circle
  // paths themselves then places it where the drawn paths really are closest.
  let lo = Math.max(0, tc - 30);
  let hi = Math.min(horizonS, tc + 30);
  const gap = (dt) => distanceNm(extrapolate(a, t0 + dt), extrapolate(b, t0 + dt));
  const g = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 40; i++) {
    const m1 = hi - g * (hi - lo);
    const m2 = lo + g * (hi - lo);
    if (gap(m1) <= gap(m2)) hi = m2;
    else lo = m1;
  }
  const t = t0 + (lo + hi) / 2;
  const ca = extrapolate(a, t);
  const cb = extrapolate(b, t);
  return { t, a: ca, b: cb, dist_nm: distanceNm(ca, cb) };
}

// Great-circle distance (haversine on the mean sphere).
export function distanceNm(p, q) {
  const h = Math.sin(((q.lat - p.lat) * DEG) / 2) ** 2 +
    Math.cos(p.lat * DEG) * Math.cos(q.lat * DEG) * Math.sin(((q.lon - p.lon) * DEG) / 2) ** 2;
  return (2 * Math.asin(Math.min(1, Math.sqrt(h))) * EARTH_M) / NM_M;
}

export const flightLevel = (altFt) => Math.round(altFt / 100);
