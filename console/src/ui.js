// Small DOM helpers: elements are built with textContent only (never innerHTML), so nothing a
// party writes can become markup.
import { serverNow } from './api.js';
import { replayClock, shownMs } from './replay.js';

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

export function clear(e) {
  while (e.firstChild) e.firstChild.remove();
}

// "1:05", "12:00:03"
export function fmtCountdown(s) {
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

// "14:03:07Z" for a time on the same UTC day as nowMs, else "2026-11-21 14:03Z". nowMs is the
// service's clock (serverNow()), never the browser's, which may read any day. Under a replay
// clock both are the recording's (replay.js): "12:03:07Z", or "2018-07-31 23:59Z".
export function fmtTime(iso, nowMs = serverNow(), clock = replayClock()) {
  const ms = new Date(iso).getTime();
  if (Number.isNaN(ms)) return '?';
  const t = new Date(shownMs(ms, clock)).toISOString();
  const today = new Date(shownMs(nowMs, clock)).toISOString().slice(0, 10);
  return t.slice(0, 10) === today ? `${t.slice(11, 19)}Z` : `${t.slice(0, 10)} ${t.slice(11, 16)}Z`;
}

// The top bar's clock, "14:03:07Z", at the service's time nowMs (the recording's under a replay
// clock).
export function fmtClock(nowMs = serverNow(), clock = replayClock()) {
  return `${new Date(shownMs(nowMs, clock)).toISOString().slice(11, 19)}Z`;
}

// An API time (ISO 8601) as the map's tooltips write it: unchanged without a replay clock, the
// recording's "2018-08-01T12:03:07Z" under one; anything not a time, unchanged.
export function isoShown(iso, clock = replayClock()) {
  const ms = Date.parse(iso);
  if (!clock || Number.isNaN(ms)) return iso;
  return `${new Date(shownMs(ms, clock)).toISOString().slice(0, 19)}Z`;
}
