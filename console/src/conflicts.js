// The conflict list, most urgent first, with acknowledgement buttons; and the alarm: a tone and
// a banner for each new or escalated conflict until this party acknowledges it.
import { api, serverNow } from './api.js';
import { el, clear, fmtCountdown, fmtTime } from './ui.js';

const KIND_RANK = { tactical: 0, intrusion: 1, agreement: 1, nonconforming: 2, strategic: 3 };

// Seconds until separation is lost, counted down from when it was predicted (predicted_at; a
// view from before it existed: its last write). An acknowledgement or escalation moves updated,
// not the prediction, so counting from updated would put the countdown back up.
export function timeToLoss(c) {
  if (c.kind !== 'tactical' || typeof c.time_to_loss_s !== 'number') return Infinity;
  const at = Date.parse(c.predicted_at || c.updated);
  return Math.max(0, c.time_to_loss_s - (Number.isNaN(at) ? 0 : (serverNow() - at) / 1000));
}

// Whether a conflict is to be acknowledged (and sounds the alarm): every kind, but a graded one
// (tactical, a predicted intrusion or agreement breach) only from its first warning -- an
// advisory is shown, not acknowledged (docs/tactical.md, docs/service.md).
export function needsAck(c) {
  return c.level !== 'advisory';
}

// Whether the console offers to acknowledge c (a button, the A key): open, owing an
// acknowledgement, not yet given. A resolved conflict is over: nothing is left to acknowledge.
export function canAck(c) {
  return c.state === 'open' && !c.acknowledged && needsAck(c);
}

// How the list names the party's own aircraft: by its callsign, as the map labels it, with the
// track id (the ICAO address, for ADS-B) second; by the track id alone when no callsign is
// known. callsigns maps this party's own track ids to callsigns (GET /v1/tracks). The other
// aircraft of a conflict is never named: the service discloses its position, not its callsign
// or id (docs/service.md, "Need-to-know").
export function ownAircraft(trackId, callsigns) {
  const callsign = callsigns && callsigns.get(trackId);
  return callsign && callsign !== trackId ? { name: callsign, id: trackId } : { name: trackId, id: null };
}

// Open before resolved; then tactical losses, then warnings, then the rest by kind, advisories
// last; then the nearest loss of separation; then unacknowledged first.
export function urgencyKey(c) {
  if (c.state !== 'open') return [1, 0, -Date.parse(c.updated || 0), 0];
  const rank = c.level === 'advisory' ? 5
    : c.kind === 'tactical' ? (c.level === 'loss' ? 0 : 1)
      : 1 + (KIND_RANK[c.kind] ?? 3);
  return [0, rank, timeToLoss(c), c.acknowledged ? 1 : 0];
}

export function byUrgency(a, b) {
  const ka = urgencyKey(a);
  const kb = urgencyKey(b);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
  return a.id < b.id ? -1 : 1;
}

// Resolved conflicts stay listed this long.
const KEEP_RESOLVED_MS = 30 * 60 * 1000;

export class ConflictList {
  constructor(state, { onSelect, onChange }) {
    this.state = state;
    this.onSelect = onSelect;
    this.onChange = onChange;
    this.list = document.getElementById('conflict-list');
    this.audio = null;
    this.alarmTimer = null;
  }

  shown() {
    const now = serverNow();
    return [...this.state.conflicts.values()]
      .filter((c) => c.state === 'open' || now - Date.parse(c.updated) < KEEP_RESOLVED_MS)
      .sort(byUrgency);
  }

  render() {
    const items = this.shown();
    const open = items.filter((c) => c.state === 'open').length;
    document.getElementById('conflict-count').textContent = open ? String(open) : '';
    clear(this.list);
    if (!items.length) this.list.append(el('li', { class: 'empty' }, 'No conflicts.'));
    for (const c of items) this.list.append(this.item(c));
  }

  item(c) {
    const alarmed = this.state.alarms.has(c.id);
    const li = el('li', {
      class: `conflict kind-${c.kind} state-${c.state} level-${c.level || 'none'}${c.acknowledged ? ' acked' : ' unacked'}${c.escalations ? ' escalated' : ''}${alarmed ? ' alarming' : ''}${c.id === this.state.selected ? ' selected' : ''}`,
      'data-id': c.id,
      onclick: () => this.onSelect(c.id, true),
    });
    const own = (trackId) => {
      const a = ownAircraft(trackId, this.state.callsigns);
      return el('span', { class: 'own', title: a.id ? `${a.name}, track ${a.id}` : `track ${a.name}` },
        a.name, a.id ? el('small', { class: 'track-id' }, ` ${a.id}`) : null);
    };
    const other = c.other_party ? ` ↔ ${c.other_party}` : '';
    const title = c.kind === 'tactical'
      ? [`${c.level === 'loss' ? 'LOSS OF SEPARATION' : c.level === 'advisory' ? 'Advisory' : 'WARNING'} · `, own(c.own_track), other]
      : c.kind === 'strategic'
        ? [`Plan overlap · ${c.own_operation} ↔ ${c.other_party} ${c.other_operation_ref || ''}`]
        : [`${c.kind}${c.level && c.level !== 'inside' ? ` (${c.level === 'advisory' ? 'advisory' : 'WARNING'}, predicted)` : ''} · `,
          c.own_track ? own(c.own_track) : c.own_operation || '', other];
    li.append(el('div', { class: 'c-head' }, el('b', {}, ...title)));
    const facts = [];
    if (c.kind === 'tactical') {
      if (c.state === 'open') facts.push(el('span', { class: 'ttl', 'data-ttl': '1' }, this.ttlText(c)));
      facts.push(`min sep ${Number(c.dcpa_nm).toFixed(1)} NM`);
      facts.push(`now ${Number(c.hsep_nm).toFixed(1)} NM / ${Math.round(c.vsep_ft)} ft`);
      if (c.minima) facts.push(`minima ${c.minima.h_nm} NM / ${c.minima.v_ft} ft`);
      if (c.data && c.data !== 'live') facts.push(`data ${c.data}`);
    } else if (c.level && c.level !== 'inside' && typeof c.time_to_entry_s === 'number') {
      facts.push(`enters in ${Math.round(c.time_to_entry_s)} s`);
    } else if (c.kind === 'strategic') {
      const o = (c.overlaps || [])[0];
      if (o) facts.push(`${fmtTime(o.time_start)} → ${fmtTime(o.time_end)}`);
      if (c.priority) facts.push(`priority ${c.priority}`);
    }
    facts.push(c.state === 'open' ? `since ${fmtTime(c.updated)}` : `resolved ${fmtTime(c.updated)}`);
    li.append(el('div', { class: 'c-facts' }, ...facts.flatMap((f, i) => (i ? [' · ', f] : [f]))));
    const status = [];
    if (c.acknowledged) status.push(`acknowledged ${c.acknowledged_at ? fmtTime(c.acknowledged_at) : ''}`);
    if (c.escalations) status.push(`ESCALATED ×${c.escalations}`);
    if (c.unacknowledged_by) status.push(`waiting for ${c.unacknowledged_by}`);
    if (status.length) li.append(el('div', { class: 'c-status' }, status.join(' · ')));
    if (canAck(c)) {
      li.append(el('button', {
        type: 'button',
        class: 'ack',
        title: 'Acknowledge (A)',
        onclick: (e) => {
          e.stopPropagation();
          this.ack(c.id);
        },
      }, 'Acknowledge'));
    }
    return li;
  }

  ttlText(c) {
    if (c.level === 'loss') return 'separation LOST';
    const t = timeToLoss(c);
    return Number.isFinite(t) ? `loss in ${fmtCountdown(t)}` : '';
  }

  tick() {
    for (const li of this.list.querySelectorAll('li.conflict')) {
      const span = li.querySelector('[data-ttl]');
      const c = this.state.conflicts.get(li.dataset.id);
      if (span && c) span.textContent = this.ttlText(c);
    }
  }

  async ack(id) {
    try {
      const v = await api('POST', `/v1/conflicts/${encodeURIComponent(id)}/ack`);
      if (v && v.id) this.state.conflicts.set(v.id, v);
      this.silence(id);
      this.render();
      this.onChange();
    } catch (e) {
      this.onChange(`Acknowledging the conflict failed: ${e.message}`);
    }
  }

  // ---- the alarm ----

  // Called on each user gesture: browsers let a page start audio only after one.
  enableSound() {
    try {
      this.audio = this.audio || new AudioContext();
      if (this.audio.state === 'suspended') this.audio.resume();
    } catch {
      this.audio = null;
    }
  }

  soundReady() {
    return !!this.audio && this.audio.state === 'running';
  }

  raise(id) {
    const c = this.state.conflicts.get(id);
    if (!c || c.acknowledged || !needsAck(c)) return;
    this.state.alarms.add(id);
    this.update();
  }

  silence(id) {
    this.state.alarms.delete(id);
    this.update();
  }

  update() {
    for (const id of [...this.state.alarms]) {
      const c = this.state.conflicts.get(id);
      if (!c || c.acknowledged || c.state !== 'open') this.state.alarms.delete(id);
    }
    const banner = document.getElementById('alarm');
    const n = this.state.alarms.size;
    banner.classList.toggle('hidden', n === 0);
    banner.textContent = n ? `${n} conflict${n > 1 ? 's' : ''} to acknowledge` : '';
    if (n && !this.alarmTimer) {
      this.beep();
      this.alarmTimer = setInterval(() => this.beep(), 2500);
    } else if (!n && this.alarmTimer) {
      clearInterval(this.alarmTimer);
      this.alarmTimer = null;
    }
  }

  beep() {
    if (this.state.muted || !this.audio) return;
    const t = this.audio.currentTime;
    for (const [dt, f] of [[0, 880], [0.18, 660]]) {
      const osc = this.audio.createOscillator();
      const gain = this.audio.createGain();
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.15, t + dt);
      gain.gain.exponentialRampToValueAtTime(0.001, t + dt + 0.16);
      osc.connect(gain).connect(this.audio.destination);
      osc.start(t + dt);
      osc.stop(t + dt + 0.17);
    }
  }
}
