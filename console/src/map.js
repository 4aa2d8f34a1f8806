// The map: bundled borders and coastlines (no tile server), the party's operations, and a
// canvas layer that draws every track, trail, vector, label and conflict geometry in one pass
// per frame, which keeps panning smooth with thousands of tracks.
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { feature, mesh } from 'topojson-client';
import { closestApproach, destination, extrapolate, flightLevel } from './geo.js';
import { isoShown } from './ui.js';

const M_FT = 3.28084;

export function createMap(el) {
  const map = L.map(el, {
    preferCanvas: true,
    zoomSnap: 0.25,
    zoomDelta: 0.5,
    wheelPxPerZoomLevel: 90,
    worldCopyJump: false,
    minZoom: 2,
    maxZoom: 14,
    attributionControl: true,
    zoomControl: true,
  });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution('Borders: Natural Earth 1:50m (world-atlas)');
  map.setView([46.8, 8.2], 7);
  return map;
}

// Land, coastlines and borders from the bundled TopoJSON (URLs in index.html's meta tags).
export async function loadBorders(map) {
  const url = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const [countries, land] = await Promise.all(
    [url('dc-countries'), url('dc-land')].map((u) =>
      fetch(u, { cache: 'force-cache', credentials: 'omit' }).then((r) => {
        if (!r.ok) throw new Error(`map data ${u}: HTTP ${r.status}`);
        return r.json();
      }),
    ),
  );
  const renderer = L.canvas({ padding: 0.5 });
  L.geoJSON(feature(land, land.objects.land), {
    renderer,
    interactive: false,
    style: { color: '#6f8296', weight: 1, fillColor: '#1d2a38', fillOpacity: 1 },
  }).addTo(map);
  L.geoJSON(mesh(countries, countries.objects.countries, (a, b) => a !== b), {
    renderer,
    interactive: false,
    style: { color: '#50647a', weight: 1, dashArray: '4 3', fill: false },
  }).addTo(map);
  map.getContainer().dataset.borders = 'loaded';
}

// ---- operations ----

const OP_STYLE = {
  planned: { color: '#4aa3ff', fillOpacity: 0.1 },
  active: { color: '#3ddc84', fillOpacity: 0.18 },
  nonconforming: { color: '#ffb020', fillOpacity: 0.18 },
  contingent: { color: '#ff6b6b', fillOpacity: 0.18 },
  ended: { color: '#7d8a96', fillOpacity: 0.05, dashArray: '4 4' },
  cancelled: { color: '#7d8a96', fillOpacity: 0.03, dashArray: '2 6' },
};

const altFt = (a) => (a && typeof a.value === 'number' ? (a.units === 'FT' ? a.value : a.value * M_FT) : NaN);
// The recording's time under a replay clock (ui.js), else the API's as it is.
const timeOf = (t) => (t && t.value ? isoShown(t.value) : '?');

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// Operations and overlaps are few: SVG, so each footprint is an element of its own (hover,
// tooltips), while the many-vertex borders stay on canvas.
const svgRenderer = L.svg({ padding: 0.5 });

export class OperationsLayer {
  constructor(map) {
    this.group = L.featureGroup().addTo(map);
  }

  set(operations) {
    this.group.clearLayers();
    for (const op of operations) {
      const state = op.state || 'planned';
      const base = OP_STYLE[state] || OP_STYLE.planned;
      const style = { renderer: svgRenderer, weight: 1.5, ...base, fillColor: base.color, className: `dc-op dc-op-${state}` };
      (op.volumes || []).forEach((v4, i) => {
        const vol = v4.volume || {};
        let shape = null;
        if (vol.outline_polygon && Array.isArray(vol.outline_polygon.vertices)) {
          shape = L.polygon(vol.outline_polygon.vertices.map((p) => [p.lat, p.lng]), style);
        } else if (vol.outline_circle && vol.outline_circle.center) {
          const r = vol.outline_circle.radius || {};
          const m = r.units === 'FT' ? r.value / M_FT : r.value;
          shape = L.circle([vol.outline_circle.center.lat, vol.outline_circle.center.lng], { ...style, radius: m });
        }
        if (!shape) return;
        const lo = altFt(vol.altitude_lower);
        const hi = altFt(vol.altitude_upper);
        shape.bindTooltip(
          `<b>${escapeHtml(op.id)}</b> · ${escapeHtml(state)}<br>` +
            `volume ${i + 1}: ${Number.isFinite(lo) ? Math.round(lo) : '?'}–${Number.isFinite(hi) ? Math.round(hi) : '?'} ft ` +
            `(${escapeHtml(vol.altitude_lower ? vol.altitude_lower.reference || '' : '')})<br>` +
            `${escapeHtml(timeOf(v4.time_start))} → ${escapeHtml(timeOf(v4.time_end))}`,
          { sticky: true, className: 'dc-tip' },
        );
        shape.addTo(this.group);
      });
    }
  }
}

// ---- strategic overlaps of conflicts ----

export class OverlapsLayer {
  constructor(map) {
    this.group = L.featureGroup().addTo(map);
  }

  set(conflicts, selectedId) {
    this.group.clearLayers();
    for (const c of conflicts) {
      if (c.kind !== 'strategic' || c.state !== 'open') continue;
      for (const o of c.overlaps || []) {
        if (!o.footprint) continue;
        const sel = c.id === selectedId;
        L.geoJSON(o.footprint, {
          renderer: svgRenderer,
          style: { color: sel ? '#ffe14d' : '#ff4d4d', weight: sel ? 3 : 2, fillColor: '#ff4d4d', fillOpacity: 0.3 },
        })
          .bindTooltip(
            `<b>overlap with ${escapeHtml(c.other_party || '?')}</b> (${escapeHtml(c.other_operation_ref || '')})<br>` +
              `${Math.round((o.alt_lower_m || 0) * M_FT)}–${Math.round((o.alt_upper_m || 0) * M_FT)} ft<br>` +
              `${escapeHtml(o.time_start ? isoShown(o.time_start) : '?')} → ${escapeHtml(o.time_end ? isoShown(o.time_end) : '?')}`,
            { sticky: true, className: 'dc-tip' },
          )
          .addTo(this.group);
      }
    }
  }
}

// ---- tracks ----

const COLORS = {
  own: '#7fd4ff',
  ownDim: '#4f89a8',
  other: '#ff9a3d',
  conflict: '#ff4d4d',
  selected: '#ffe14d',
  label: '#d8e4ef',
};

// Draws on a canvas laid over the map container (not inside the panned panes): redrawn on each
// move, hidden while Leaflet animates a zoom, so it never lags behind the map.
export class TrackLayer extends L.Layer {
  constructor() {
    super();
    this.data = { tracks: [], others: [], conflicts: [], trails: new Map(), selectedId: null, now: 0, flMin: 0, flMax: 999 };
    this.drawn = []; // [x, y, item] of the last frame: hover picking
    this.frame = 0;
  }

  onAdd(map) {
    this.map = map;
    this.canvas = L.DomUtil.create('canvas', 'dc-tracks');
    map.getContainer().appendChild(this.canvas);
    this.ctx = this.canvas.getContext('2d');
    map.on('move zoom resize viewreset moveend zoomend', this.schedule, this);
    map.on('zoomanim', this.hide, this);
    map.on('zoomend', this.show, this);
    this.resize();
    this.schedule();
    return this;
  }

  onRemove(map) {
    map.off('move zoom resize viewreset moveend zoomend', this.schedule, this);
    map.off('zoomanim', this.hide, this);
    map.off('zoomend', this.show, this);
    this.canvas.remove();
  }

  hide() {
    this.canvas.style.visibility = 'hidden';
  }

  show() {
    this.canvas.style.visibility = 'visible';
  }

  setData(d) {
    Object.assign(this.data, d);
    this.schedule();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  resize() {
    const size = this.map.getSize();
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(size.x * dpr) || this.canvas.height !== Math.round(size.y * dpr)) {
      this.canvas.width = Math.round(size.x * dpr);
      this.canvas.height = Math.round(size.y * dpr);
      this.canvas.style.width = `${size.x}px`;
      this.canvas.style.height = `${size.y}px`;
    }
    return dpr;
  }

  pt(lat, lon) {
    return this.map.latLngToContainerPoint([lat, lon]);
  }

  draw() {
    const started = performance.now();
    this.drawOnce();
    // Exposed for bench/console_pan.mjs: how long the last frame's drawing took, and how many.
    this.canvas.dataset.drawMs = (performance.now() - started).toFixed(2);
    this.canvas.dataset.draws = String(Number(this.canvas.dataset.draws || 0) + 1);
  }

  drawOnce() {
    const map = this.map;
    const dpr = this.resize();
    const ctx = this.ctx;
    const { tracks, others, conflicts, trails, selectedId, now, flMin, flMax } = this.data;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.drawn = [];
    const size = map.getSize();
    const inView = (p) => p.x > -50 && p.y > -50 && p.x < size.x + 50 && p.y < size.y + 50;
    const zoom = map.getZoom();
    const inBand = (alt) => alt / 100 >= flMin && alt / 100 <= flMax;

    const inConflict = new Map(); // own track id -> conflict
    for (const c of conflicts) if (c.kind === 'tactical' && c.state === 'open') inConflict.set(c.own_track, c);

    // Visible own tracks first, to decide on labels.
    const visible = [];
    for (const t of tracks) {
      if (!inBand(t.alt_ft) && !inConflict.has(t.track_id)) continue;
      const p = this.pt(t.lat, t.lon);
      if (inView(p)) visible.push([t, p]);
    }
    const labels = zoom >= 8 || visible.length <= 300;

    // Trails.
    ctx.lineWidth = 1;
    ctx.strokeStyle = 'rgba(127, 212, 255, 0.35)';
    ctx.beginPath();
    for (const [t, p] of visible) {
      const trail = trails.get(t.track_id);
      if (!trail || trail.length < 2) continue;
      let first = true;
      for (const [lat, lon] of trail) {
        const q = this.pt(lat, lon);
        if (first) ctx.moveTo(q.x, q.y);
        else ctx.lineTo(q.x, q.y);
        first = false;
      }
      ctx.lineTo(p.x, p.y);
    }
    ctx.stroke();

    // Own tracks: symbol, one-minute vector, label.
    for (const [t, p] of visible) {
      const c = inConflict.get(t.track_id);
      const color = c ? (c.id === selectedId ? COLORS.selected : COLORS.conflict) : t.status === 'live' ? COLORS.own : COLORS.ownDim;
      this.aircraft(t, p, color, labels || !!c, t.callsign || t.track_id, false);
      this.drawn.push([p.x, p.y, { kind: 'own', t }]);
    }

    // Other aircraft disclosed by conflicts, and the geometry of each open tactical conflict.
    const ownById = new Map(tracks.map((t) => [t.track_id, t]));
    for (const o of others) {
      const p = this.pt(o.lat, o.lon);
      const c = conflicts.find((x) => x.id === o.conflict_id);
      this.aircraft(o, p, o.conflict_id === selectedId ? COLORS.selected : COLORS.other, true, c ? c.other_party || 'other' : 'other', true);
      this.drawn.push([p.x, p.y, { kind: 'other', t: o, c }]);
    }
    for (const c of conflicts) {
      if (c.kind !== 'tactical' || c.state !== 'open') continue;
      const own = ownById.get(c.own_track);
      const other = others.find((o) => o.conflict_id === c.id);
      if (!own || !other) continue;
      this.cpa(c, own, other, now, c.id === selectedId);
    }
    // Intrusion / agreement conflicts show where the other aircraft was.
    for (const c of conflicts) {
      if (c.state !== 'open' || c.kind === 'tactical' || !c.other_aircraft) continue;
      const o = c.other_aircraft;
      const p = this.pt(o.lat, o.lon);
      this.aircraft({ ...o, t: o.t }, p, c.id === selectedId ? COLORS.selected : COLORS.other, true, c.other_party || 'other', true);
      this.drawn.push([p.x, p.y, { kind: 'other', t: o, c }]);
    }
    this.canvas.dataset.tracks = String(visible.length);
    this.canvas.dataset.others = String(others.length);
  }

  aircraft(t, p, color, label, name, diamond) {
    const ctx = this.ctx;
    // One-minute vector.
    if (t.gs_kt > 0) {
      const [lat, lon] = destination(t.lat, t.lon, t.trk_deg, t.gs_kt / 60);
      const q = this.pt(lat, lon);
      ctx.strokeStyle = color;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(p.x, p.y);
      ctx.lineTo(q.x, q.y);
      ctx.stroke();
    }
    ctx.fillStyle = color;
    ctx.strokeStyle = color;
    ctx.beginPath();
    if (diamond) {
      ctx.moveTo(p.x, p.y - 6);
      ctx.lineTo(p.x + 6, p.y);
      ctx.lineTo(p.x, p.y + 6);
      ctx.lineTo(p.x - 6, p.y);
      ctx.closePath();
      ctx.fill();
    } else {
      // A chevron pointing along the track.
      const a = (t.trk_deg * Math.PI) / 180;
      const cos = Math.cos(a);
      const sin = Math.sin(a);
      const pts = [
        [0, -6],
        [4.5, 5],
        [0, 2.5],
        [-4.5, 5],
      ].map(([x, y]) => [p.x + x * cos - y * sin, p.y + x * sin + y * cos]);
      ctx.moveTo(pts[0][0], pts[0][1]);
      for (const q of pts.slice(1)) ctx.lineTo(q[0], q[1]);
      ctx.closePath();
      ctx.fill();
    }
    if (label) {
      ctx.font = '11px system-ui, sans-serif';
      ctx.fillStyle = COLORS.label;
      ctx.fillText(String(name).slice(0, 12), p.x + 9, p.y - 3);
      ctx.fillStyle = color;
      ctx.fillText(`FL${String(flightLevel(t.alt_ft)).padStart(3, '0')} ${Math.round(t.gs_kt)}kt`, p.x + 9, p.y + 10);
    }
  }

  // Both aircraft's predicted paths to their closest approach, the CPA points, and rings.
  cpa(c, own, other, now, selected) {
    const ctx = this.ctx;
    const ca = closestApproach(own, other, now, Math.max(120, (c.tcpa_s || 0) + 60));
    const pa = this.pt(own.lat, own.lon);
    const pb = this.pt(other.lat, other.lon);
    const qa = this.pt(ca.a.lat, ca.a.lon);
    const qb = this.pt(ca.b.lat, ca.b.lon);
    const color = selected ? COLORS.selected : COLORS.conflict;
    ctx.save();
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = selected ? 2.5 : 1.5;
    ctx.strokeStyle = color;
    ctx.beginPath();
    ctx.moveTo(pa.x, pa.y);
    ctx.lineTo(qa.x, qa.y);
    ctx.moveTo(pb.x, pb.y);
    ctx.lineTo(qb.x, qb.y);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(qa.x, qa.y);
    ctx.lineTo(qb.x, qb.y);
    ctx.stroke();
    for (const q of [qa, qb]) {
      ctx.beginPath();
      ctx.moveTo(q.x - 5, q.y - 5);
      ctx.lineTo(q.x + 5, q.y + 5);
      ctx.moveTo(q.x + 5, q.y - 5);
      ctx.lineTo(q.x - 5, q.y + 5);
      ctx.stroke();
    }
    ctx.lineWidth = c.level === 'loss' ? 3 : 2;
    for (const p of [pa, pb]) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, 13, 0, 2 * Math.PI);
      ctx.stroke();
    }
    const mid = { x: (qa.x + qb.x) / 2, y: (qa.y + qb.y) / 2 };
    const dv = Math.abs(ca.a.alt_ft - ca.b.alt_ft);
    ctx.font = 'bold 11px system-ui, sans-serif';
    ctx.fillStyle = color;
    ctx.fillText(`CPA ${ca.dist_nm.toFixed(1)} NM / ${Math.round(dv / 100) * 100} ft`, mid.x + 8, mid.y + 14);
    ctx.restore();
    this.drawn.push([qa.x, qa.y, { kind: 'cpa', c, ca }]);
  }

  // The item drawn nearest to container point (x, y), within 10 px.
  pick(x, y) {
    let best = null;
    let bestD = 100;
    for (const [px, py, item] of this.drawn) {
      const d = (px - x) ** 2 + (py - y) ** 2;
      if (d < bestD) {
        bestD = d;
        best = item;
      }
    }
    return best;
  }
}

export { extrapolate };
