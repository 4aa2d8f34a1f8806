// The duty officer's console: sign-in, the live picture (tracks polled each second, everything
// else from the event stream), the conflict list, the hotline, the time slider and keyboard
// shortcuts. docs/console.md describes it.
import './style.css';
import { api, ApiError, EventStream, serverNow, session } from './api.js';
import { canAck, ConflictList } from './conflicts.js';
import { Hotline } from './hotline.js';
import { createMap, loadBorders, OperationsLayer, OverlapsLayer, TrackLayer } from './map.js';
import { replayBadge, setReplayClock } from './replay.js';
import { Timeline } from './timeline.js';
import { fmtClock, fmtTime } from './ui.js';

const $ = (id) => document.getElementById(id);

const state = {
  party: null,
  tracks: [], // own tracks, latest report each
  callsigns: new Map(), // own track id -> the last callsign it reported (the list names tracks by it)
  trails: new Map(), // track id -> [[lat, lon, t]]
  others: [], // other aircraft disclosed by open conflicts
  conflicts: new Map(),
  inbox: new Map(),
  outbox: new Map(),
  operations: [],
  alarms: new Set(),
  selected: null,
  muted: false,
  historyOffsetS: 0, // 0: live; < 0: the time slider
  serverNowS: 0,
  dataStartS: null, // the earliest time the service holds data of this party for (Unix s), if any
  historyKeepS: 3600, // how far back the service keeps history (history_keep_s)
};

let map;
let trackLayer;
let opsLayer;
let overlapsLayer;
let conflictList;
let hotline;
let stream;
let pollTimer;
let partyTimer;
const timeline = new Timeline();

// ---- sign-in ----

async function signIn(token) {
  session.set(token);
  try {
    state.party = await api('GET', '/v1/party');
  } catch (e) {
    // Forget the token only when the service refuses it, not when it cannot be reached.
    if (e instanceof ApiError && e.status === 401) session.clear();
    throw e;
  }
  $('login').classList.add('hidden');
  $('app').classList.remove('hidden');
  $('party').textContent = state.party.name;
  document.title = `deconflict — ${state.party.name}`;
  setReplayClock(state.party.replay_clock);
  start();
}

// How often the party's replay clock is read again (GET /v1/party): a feed of a recording
// started after sign-in sets one, and DELETE /v1/party/replay-clock clears it.
const PARTY_REFRESH_MS = 10000;

// Reads the party again, and its replay clock with it; on a change, every time shown is
// rewritten (the recording's, or the service's again).
async function refreshParty() {
  try {
    state.party = await api('GET', '/v1/party');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) connState('unauthorized');
    return; // unreachable: keep the clock there was
  }
  if (setReplayClock(state.party.replay_clock)) retime();
}

// Every time on the page again, after the replay clock changed.
function retime() {
  tick();
  updateTimeLabel();
  hotline && hotline.render();
  opsLayer && opsLayer.set(state.operations);
  redraw();
}

// The badge and the clock's tooltip: whether the times shown are a recording's.
function showReplay() {
  const badge = replayBadge(serverNow());
  $('replay').classList.toggle('hidden', !badge);
  $('replay').textContent = badge ? badge.text : '';
  $('replay').title = badge ? badge.title : '';
  $('clock').title = badge ? "UTC, the recording's time" : "UTC, the service's time";
  document.body.classList.toggle('replaying', !!badge);
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-error').textContent = '';
  const token = $('login-token').value.trim();
  $('login-token').value = '';
  try {
    await signIn(token);
    conflictList.enableSound();
    showSound();
  } catch (err) {
    $('login-error').textContent =
      err instanceof ApiError && err.status === 401 ? 'That token is not valid here.' : `Cannot sign in: ${err.message}`;
  }
});

$('logout').addEventListener('click', () => {
  session.clear();
  location.reload();
});

// ---- the live picture ----

function start() {
  map = createMap($('map'));
  loadBorders(map).catch((e) => flash(`Map data: ${e.message}`));
  opsLayer = new OperationsLayer(map);
  overlapsLayer = new OverlapsLayer(map);
  trackLayer = new TrackLayer().addTo(map);
  conflictList = conflictList || makeConflictList();
  hotline = new Hotline(state, { onChange: (err) => (err ? flash(err) : redraw()) });
  stream = new EventStream({ onEvent, onState: connState, onOpen: catchUp });
  stream.start();
  pollTracks();
  pollTimer = setInterval(pollTracks, 1000);
  loadDataStart();
  tick();
  setInterval(tick, 1000);
  partyTimer = setInterval(refreshParty, PARTY_REFRESH_MS);
  map.getContainer().addEventListener('mousemove', hover);
  map.getContainer().addEventListener('mouseleave', () => $('hover').classList.add('hidden'));
  let fitted = false;
  state.onFirstTracks = () => {
    if (fitted || !state.tracks.length) return;
    fitted = true;
    const lats = state.tracks.map((t) => t.lat);
    const lons = state.tracks.map((t) => t.lon);
    map.fitBounds([[Math.min(...lats), Math.min(...lons)], [Math.max(...lats), Math.max(...lons)]], { padding: [40, 40], maxZoom: 9 });
  };
}

function makeConflictList() {
  return new ConflictList(state, { onSelect: select, onChange: (err) => (err ? flash(err) : redraw()) });
}
conflictList = makeConflictList();

function connState(s) {
  const c = $('conn');
  c.className = `conn conn-${s === 'live' ? 'live' : s === 'unauthorized' ? 'offline' : 'reconnecting'}`;
  $('conn-text').textContent = s === 'live' ? 'live' : s === 'unauthorized' ? 'signed out' : s;
  c.dataset.state = s;
  if (s === 'unauthorized') {
    session.clear();
    clearInterval(pollTimer);
    clearInterval(partyTimer);
    if (stream) stream.stop();
    flash('The token is no longer valid: sign in again.');
  }
}

// On every (re)connection: reload what the stream may have carried while we were away.
async function catchUp() {
  try {
    const [conflicts, ops] = await Promise.all([api('GET', '/v1/conflicts'), api('GET', '/v1/operations')]);
    for (const c of conflicts.conflicts) {
      state.conflicts.set(c.id, c);
      // Open and not yet acknowledged: the alarm stands, whether it was raised before this
      // console opened or while it was away.
      if (c.state === 'open' && !c.acknowledged) conflictList.raise(c.id);
    }
    state.operations = ops.operations;
    opsLayer.set(state.operations);
    await hotline.load();
    redraw();
  } catch (e) {
    flash(`Loading failed: ${e.message}`);
  }
  refreshParty(); // the replay clock may have changed while the stream was away
}

let reloadTimer = null;
function reloadSoon(what) {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(async () => {
    // Take what is due now: an event arriving during the loads schedules its own reload.
    const due = new Set(what);
    what.clear();
    try {
      if (due.has('messages')) await hotline.load();
      if (due.has('operations')) {
        state.operations = (await api('GET', '/v1/operations')).operations;
        opsLayer.set(state.operations);
      }
    } catch (e) {
      for (const x of due) what.add(x);
      flash(`Loading failed: ${e.message}`);
    }
  }, 150);
}
const pending = new Set();

function onEvent(type, data) {
  if (type.startsWith('conflict.') && data && data.id) {
    state.conflicts.set(data.id, data);
    // A new conflict, an advisory that became a warning, an escalation: the alarm (raise()
    // ignores what needs no acknowledgement).
    if (type === 'conflict.new' || type === 'conflict.update' || (type === 'conflict.escalated' && !data.acknowledged)) {
      if (data.state === 'open' && !data.acknowledged) conflictList.raise(data.id);
    }
    conflictList.update();
    redraw();
  } else if (type.startsWith('message.')) {
    pending.add('messages');
    reloadSoon(pending);
    if (type === 'message.new' || type === 'message.escalated') $('box-in').classList.add('news');
  } else if (type.startsWith('operation.')) {
    pending.add('operations');
    reloadSoon(pending);
  }
}

let polling = false;
async function pollTracks() {
  if (polling || state.historyOffsetS < 0) return;
  polling = true;
  try {
    const res = await api('GET', '/v1/tracks');
    state.tracks = res.tracks;
    state.others = res.disclosed || [];
    state.serverNowS = res.now;
    for (const t of res.tracks) {
      if (t.callsign) state.callsigns.set(t.track_id, t.callsign);
      if (state.dataStartS === null || t.t < state.dataStartS) state.dataStartS = t.t;
      const trail = state.trails.get(t.track_id) || [];
      const last = trail[trail.length - 1];
      if (!last || t.t - last[2] >= 5) {
        trail.push([t.lat, t.lon, t.t]);
        if (trail.length > 12) trail.shift();
        state.trails.set(t.track_id, trail);
      }
    }
    if (state.onFirstTracks) state.onFirstTracks();
    drawTracks();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) connState('unauthorized');
  } finally {
    polling = false;
  }
}

function flBand() {
  const lo = Number($('fl-min').value);
  const hi = Number($('fl-max').value);
  return { flMin: Number.isFinite(lo) ? lo : 0, flMax: Number.isFinite(hi) ? hi : 999 };
}

// How many of tracks fly inside the flight-level band.
function inBand(tracks, { flMin, flMax }) {
  return tracks.filter((x) => x.alt_ft / 100 >= flMin && x.alt_ft / 100 <= flMax).length;
}

function drawTracks() {
  if (!trackLayer) return;
  const band = flBand();
  if (state.historyOffsetS < 0) {
    const t = serverNow() / 1000 + state.historyOffsetS;
    const past = timeline.at(t);
    if (!past) return;
    // Samples carry no callsign: label them with the last one the track reported, if any.
    for (const x of past.tracks) x.callsign = state.callsigns.get(x.track_id);
    trackLayer.setData({ ...past, selectedId: state.selected, now: t, ...band });
    const n = past.conflicts.length;
    $('count').textContent =
      `${inBand(past.tracks, band)} of ${past.tracks.length} tracks · ${n} open conflict${n === 1 ? '' : 's'} then`;
    return;
  }
  trackLayer.setData({
    tracks: state.tracks,
    others: state.others,
    conflicts: [...state.conflicts.values()],
    trails: state.trails,
    selectedId: state.selected,
    now: serverNow() / 1000,
    ...band,
  });
  $('count').textContent = `${inBand(state.tracks, band)} of ${state.tracks.length} own tracks`;
}

function redraw() {
  conflictList.render();
  overlapsLayer && overlapsLayer.set([...state.conflicts.values()], state.selected);
  drawTracks();
}

function tick() {
  $('clock').textContent = fmtClock();
  showReplay();
  updateTimeRange();
  conflictList.tick();
  hotline && hotline.tick();
  if (state.historyOffsetS < 0) {
    // The slider is relative to now: the past picture moves on with the label.
    updateTimeLabel();
    drawTracks();
  }
}

// ---- selection, hover ----

function select(id, center) {
  state.selected = id;
  const c = state.conflicts.get(id);
  if (c && center) {
    const own = state.tracks.find((t) => t.track_id === c.own_track);
    const fp = c.overlaps && c.overlaps[0] && c.overlaps[0].footprint;
    if (own) map.panTo([own.lat, own.lon]);
    else if (c.other_aircraft) map.panTo([c.other_aircraft.lat, c.other_aircraft.lon]);
    else if (fp) overlapsLayer.group.getLayers().length && map.fitBounds(overlapsLayer.group.getBounds(), { maxZoom: 10 });
  }
  redraw();
  const li = document.querySelector(`#conflict-list li[data-id="${CSS.escape(id)}"]`);
  if (li) li.scrollIntoView({ block: 'nearest' });
}

function hover(e) {
  const r = map.getContainer().getBoundingClientRect();
  const item = trackLayer.pick(e.clientX - r.left, e.clientY - r.top);
  const box = $('hover');
  if (!item) {
    box.classList.add('hidden');
    return;
  }
  const lines = [];
  if (item.kind === 'own') {
    const t = item.t;
    lines.push(`${t.callsign || t.track_id} (${t.track_id})`);
    lines.push(`FL${Math.round(t.alt_ft / 100)} · ${Math.round(t.gs_kt)} kt · ${Math.round(t.trk_deg)}° · ${Math.round(t.vs_fpm || 0)} ft/min`);
    if (t.status) lines.push(`${t.status}${typeof t.age_s === 'number' ? `, ${t.age_s.toFixed(0)} s ago` : ''}`);
    if (t.operation_id) lines.push(`operation ${t.operation_id}`);
  } else if (item.kind === 'other') {
    const t = item.t;
    lines.push(`${item.c ? item.c.other_party : 'other party'} aircraft (disclosed by the conflict)`);
    lines.push(`FL${Math.round(t.alt_ft / 100)} · ${Math.round(t.gs_kt)} kt · ${Math.round(t.trk_deg)}°`);
  } else if (item.kind === 'cpa') {
    lines.push(`closest approach ${item.ca.dist_nm.toFixed(2)} NM at ${fmtTime(new Date(item.ca.t * 1000).toISOString())}`);
  }
  box.textContent = lines.join('\n');
  box.style.left = `${e.clientX - r.left + 14}px`;
  box.style.top = `${e.clientY - r.top + 14}px`;
  box.classList.remove('hidden');
}

// ---- the time slider and the altitude filter ----

// The slider reaches back to the earliest data the service holds for this party, in 10 s steps
// (the first step at or after it), and no further than the history it keeps: over a three-minute
// demo it spans three minutes, not an empty hour. With less than 10 s of data it is disabled.
function updateTimeRange() {
  const slider = $('time');
  const nowS = serverNow() / 1000;
  const backS = state.dataStartS === null ? 0 : Math.min(nowS - state.dataStartS, state.historyKeepS);
  const min = -Math.floor(Math.max(0, backS) / 10) * 10;
  if (slider.min !== String(min)) slider.min = String(min);
  slider.disabled = min === 0 && state.historyOffsetS === 0;
  slider.title = min < 0 ? `The last ${fmtSpan(-min)}: the data goes back to ${fmtTime(new Date((nowS + min) * 1000).toISOString())}` : 'No history yet';
  // Data that aged out of the history: the slider stops at what is left.
  if (state.historyOffsetS < min) {
    state.historyOffsetS = min;
    slider.value = String(min);
  }
}

function fmtSpan(s) {
  const m = Math.floor(s / 60);
  return m ? `${m} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
}

// Where the data starts: the first sample or event the service keeps (one sample per track per
// hour is enough to know). Afterwards the tracks polled each second keep it current.
async function loadDataStart() {
  try {
    const res = await api('GET', '/v1/history?step_s=3600');
    const from = Date.parse(res.from) / 1000;
    const to = Date.parse(res.to) / 1000;
    if (to > from) state.historyKeepS = to - from;
    let first = Infinity;
    for (const x of res.samples) first = Math.min(first, x[1]);
    for (const e of res.events) first = Math.min(first, e.t);
    if (Number.isFinite(first) && (state.dataStartS === null || first < state.dataStartS)) state.dataStartS = first;
    updateTimeRange();
  } catch (e) {
    flash(`History: ${e.message}`);
  }
}

function updateTimeLabel() {
  const v = state.historyOffsetS;
  // How far back in the service's real seconds; the time then as the clock shows it.
  const t = fmtClock(serverNow() + v * 1000);
  const m = Math.floor(-v / 60);
  const s = String(-v % 60).padStart(2, '0');
  $('time-label').textContent = v < 0 ? `−${m}:${s} (${t})` : 'LIVE';
}

async function setHistory(v) {
  state.historyOffsetS = v;
  $('time').value = String(v);
  document.body.classList.toggle('history', v < 0);
  updateTimeLabel();
  if (v < 0) {
    try {
      const d = await timeline.load();
      if (d.truncated) flash('The history was cut short: too many samples for one request.');
    } catch (e) {
      flash(`History: ${e.message}`);
    }
  } else {
    pollTracks();
  }
  drawTracks();
}

$('time').addEventListener('input', (e) => setHistory(Number(e.target.value)));
$('live-btn').addEventListener('click', () => setHistory(0));
$('fl-min').addEventListener('input', drawTracks);
$('fl-max').addEventListener('input', drawTracks);

// ---- sound, messages, keyboard ----

function setMuted(m) {
  state.muted = m;
  showSound();
}

// Browsers start audio only after a user gesture: until then the button says so.
function showSound() {
  const ready = conflictList.soundReady();
  $('mute').textContent = state.muted ? 'Sound: off' : ready ? 'Sound: on' : 'Sound: click to enable';
  $('mute').classList.toggle('attention', !state.muted && !ready);
}
for (const type of ['pointerdown', 'keydown']) {
  document.addEventListener(type, () => {
    conflictList.enableSound();
    showSound();
  }, { capture: true });
}
$('mute').addEventListener('click', () => setMuted(!state.muted));
$('help-btn').addEventListener('click', () => $('help').showModal());
$('box-in').addEventListener('click', () => $('box-in').classList.remove('news'));

let flashTimer;
function flash(text) {
  const a = $('alarm');
  a.classList.remove('hidden');
  a.classList.add('notice');
  a.textContent = text;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => {
    a.classList.remove('notice');
    conflictList.update();
  }, 6000);
}

document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || !state.party) return;
  // Keys typed into a text field are text, not commands (the slider and buttons don't take text).
  const t = e.target || {};
  const typing = t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' ||
    (t.tagName === 'INPUT' && !['range', 'checkbox', 'button', 'submit'].includes(t.type));
  if (typing || document.querySelector('dialog[open]')) return;
  const items = conflictList.shown();
  const idx = items.findIndex((c) => c.id === state.selected);
  // By key position (e.code), so Caps Lock or a keyboard layout does not change the meaning;
  // a held key does not repeat an acknowledgement.
  const key = e.code.startsWith('Key') ? e.code.slice(3).toLowerCase() : e.key;
  if (e.repeat && key === 'a') {
    e.preventDefault();
    return;
  }
  if (key === 'a' && !e.shiftKey) {
    // The selected conflict; only with none selected, the most urgent one waiting.
    // Only what can be acknowledged: not a resolved conflict, an advisory or one already done.
    const target = state.conflicts.get(state.selected);
    const c = target ? (canAck(target) ? target : null) : items.find(canAck);
    if (c) {
      select(c.id, true);
      conflictList.ack(c.id);
    }
  } else if (key === 'a' && e.shiftKey) {
    const m = hotline.oldestUnacked();
    if (m) hotline.ack(m.id, '');
  } else if (key === 'j' && items.length) {
    select(items[Math.min(items.length - 1, idx + 1)].id, true);
  } else if (key === 'k' && items.length) {
    select(items[Math.max(0, idx - 1)].id, true);
  } else if (key === 'n') {
    hotline.compose();
  } else if (key === 'm') {
    setMuted(!state.muted);
  } else if (key === 'l') {
    setHistory(0);
  } else if (e.key === '?') {
    $('help').showModal();
  } else {
    return;
  }
  e.preventDefault();
});

// A sign-in link, URL/#token=TOKEN (what `make demo` prints): the fragment never leaves the
// browser (it is not part of the request), and it is taken out of the address bar at once, so
// the token is neither left in the history or a bookmark nor carried further. From there it is
// kept like a typed token: in sessionStorage, sent only in the Authorization header.
function tokenFromLink() {
  if (!location.hash) return null;
  const parts = location.hash.slice(1).split('&');
  const part = parts.find((p) => p.startsWith('token='));
  if (part === undefined) return null;
  history.replaceState(history.state, '', location.pathname + location.search);
  let token = '';
  try {
    token = decodeURIComponent(part.slice('token='.length)).trim();
  } catch {
    token = '';
  }
  return token;
}

// Another link pasted into the same tab changes only the fragment: sign in again with it.
window.addEventListener('hashchange', () => {
  const token = tokenFromLink();
  if (token) {
    session.set(token);
    location.reload();
  }
});

// The link's token, else one from earlier in this tab's session (sessionStorage: gone when the
// tab closes).
const linked = tokenFromLink();
const startToken = linked || session.token();
if (linked === '') $('login-error').textContent = 'The sign-in link holds no token.';
if (startToken) {
  signIn(startToken)
    .then(showSound)
    .catch((e) => {
      $('login').classList.remove('hidden');
      if (!(e instanceof ApiError && e.status === 401)) $('login-error').textContent = `Cannot sign in: ${e.message}`;
      else if (linked) $('login-error').textContent = 'The token of that link is not valid here.';
    });
}
