// The service's HTTP API as the console uses it: every request carries the party's token in
// the Authorization header (never in a URL), and the event stream is read with fetch() so it
// can carry that header and Last-Event-ID (EventSource can do neither).

const TOKEN_KEY = 'deconflict.token';

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.detail ? problem.detail : `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

// The service's clock minus the browser's (ms). Every time the console shows or counts from is
// the service's (the data's own times, and now on the service's clock): the browser's clock may
// be anything. The first reading is taken whole; later ones are smoothed. A precise reading
// (GET /v1/tracks' `now`, Unix seconds with fractions) is preferred to the Date header's whole
// seconds once one has come in.
export let clockOffsetMs = 0;
let clockSamples = 0;
let clockPrecise = false;

// Notes that the service's clock read serverMs between the browser's sentMs and recvMs;
// precise: to the millisecond (else whole seconds, as in a Date header).
export function noteServerTime(serverMs, sentMs, recvMs, precise) {
  if (!Number.isFinite(serverMs) || (clockPrecise && !precise)) return;
  const offset = serverMs + (precise ? 0 : 500) - (sentMs + recvMs) / 2;
  clockOffsetMs = clockSamples === 0 || precise !== clockPrecise ? offset : 0.8 * clockOffsetMs + 0.2 * offset;
  clockSamples++;
  clockPrecise = clockPrecise || precise;
}

export async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${session.token()}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const sentMs = Date.now();
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  });
  const recvMs = Date.now();
  noteServerTime(Date.parse(res.headers.get('Date') || ''), sentMs, recvMs, false);
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) throw new ApiError(res.status, json);
  if (json && typeof json.now === 'number') noteServerTime(json.now * 1000, sentMs, recvMs, true);
  return json;
}

export const serverNow = () => Date.now() + clockOffsetMs;

// Reads /v1/events for ever: reconnects by itself (1 s, doubling to 15 s) and resumes after the
// last event seen with Last-Event-ID. onState('connecting'|'live'|'reconnecting'|'unauthorized').
export class EventStream {
  constructor({ onEvent, onState, onOpen }) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.onOpen = onOpen;
    this.lastId = null;
    this.stopped = false;
    this.controller = null;
    this.backoffMs = 1000;
  }

  start() {
    this.stopped = false;
    this.loop();
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  // Drops the connection now (the loop reconnects): used when it has been silent too long.
  kick() {
    if (this.controller) this.controller.abort();
  }

  async loop() {
    let first = true;
    while (!this.stopped) {
      this.onState(first ? 'connecting' : 'reconnecting');
      first = false;
      try {
        await this.once();
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          this.onState('unauthorized');
          return;
        }
      }
      if (this.stopped) return;
      this.onState('reconnecting');
      await new Promise((r) => setTimeout(r, this.backoffMs));
      this.backoffMs = Math.min(this.backoffMs * 2, 15000);
    }
  }

  async once() {
    this.controller = new AbortController();
    const headers = { Authorization: `Bearer ${session.token()}`, Accept: 'text/event-stream' };
    if (this.lastId !== null) headers['Last-Event-ID'] = String(this.lastId);
    const res = await fetch('/v1/events', {
      headers,
      cache: 'no-store',
      credentials: 'omit',
      signal: this.controller.signal,
    });
    if (!res.ok) {
      let problem = null;
      try {
        problem = await res.json();
      } catch {
        problem = null;
      }
      throw new ApiError(res.status, problem);
    }
    this.backoffMs = 1000;
    this.onState('live');
    if (this.onOpen) await this.onOpen(this.lastId === null);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    let watchdog = this.arm();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        clearTimeout(watchdog);
        watchdog = this.arm();
        buf += decoder.decode(value, { stream: true });
        // Lines may end in CR LF or CR too; a CR at the very end may be half of a CR LF.
        const tail = buf.endsWith('\r') ? '\r' : '';
        buf = buf.slice(0, buf.length - tail.length).replace(/\r\n?/g, '\n') + tail;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          this.dispatch(buf.slice(0, cut));
          buf = buf.slice(cut + 2);
        }
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  // Keepalives come every 15 s by default: 45 s of silence means a dead connection.
  arm() {
    return setTimeout(() => this.kick(), 45000);
  }

  dispatch(block) {
    let id = null;
    let type = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'id') id = value;
      else if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
      else if (field === 'retry' && /^\d+$/.test(value)) this.backoffMs = Number(value);
    }
    if (id !== null && /^\d+$/.test(id)) this.lastId = Number(id);
    if (!data.length) return;
    let payload;
    try {
      payload = JSON.parse(data.join('\n'));
    } catch {
      return;
    }
    this.onEvent(type, payload, id === null ? null : Number(id));
  }
}
