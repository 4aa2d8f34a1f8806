// Small DOM helpers: elements are built with textContent only (never innerHTML), so nothing a
// party writes can become markup.
import { serverNow } from './api.js';

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
// service's clock (serverNow()), never the browser's, which may read any day.
export function fmtTime(iso, nowMs = serverNow()) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '?';
  const t = d.toISOString();
  const today = new Date(nowMs).toISOString().slice(0, 10);
  return t.slice(0, 10) === today ? `${t.slice(11, 19)}Z` : `${t.slice(0, 10)} ${t.slice(11, 16)}Z`;
}
