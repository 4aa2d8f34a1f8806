// A replayed recording's own times (docs/console.md, "Replays"). `deconflict feed` of a
// recording sends each report with the service's time and tells the party's service how it
// mapped the recording onto the present: the party's replay clock (GET /v1/party's
// replay_clock, docs/service.md). At the service's time t the recording's time is
// recording_start_s + (t - service_start_s) * speed. While the party has one, every clock time
// the console shows is the recording's; durations and countdowns stay in the service's real
// seconds, the time a duty officer has.

let current = null;

// The replay clock in x (GET /v1/party's replay_clock), or null when x is none or not a clock
// this console can use: three finite numbers, speed above zero.
export function parseReplayClock(x) {
  if (!x || typeof x !== 'object') return null;
  const { recording_start_s: recordingStartS, service_start_s: serviceStartS, speed } = x;
  if (![recordingStartS, serviceStartS, speed].every(Number.isFinite) || !(speed > 0)) return null;
  return { recordingStartS, serviceStartS, speed };
}

// Sets the party's replay clock from GET /v1/party's replay_clock (absent: none). Returns
// whether it changed.
export function setReplayClock(x) {
  const next = parseReplayClock(x);
  const changed = JSON.stringify(next) !== JSON.stringify(current);
  current = next;
  return changed;
}

export const replayClock = () => current;

// The time (Unix ms) to show for the service's time serviceMs: the recording's under a replay
// clock, else serviceMs itself.
export function shownMs(serviceMs, clock = current) {
  if (!clock) return serviceMs;
  return clock.recordingStartS * 1000 + (serviceMs - clock.serviceStartS * 1000) * clock.speed;
}

// "20×", "0.5×", "1.25×"
export function fmtSpeed(speed) {
  return `${Number(speed.toFixed(2))}×`;
}

// The top bar's badge at the service's time nowMs: its text ("REPLAY 2018-08-01 · 20×", the
// recording's date now) and its tooltip; null without a clock.
export function replayBadge(nowMs, clock = current) {
  if (!clock) return null;
  const day = new Date(shownMs(nowMs, clock)).toISOString().slice(0, 10);
  const start = new Date(clock.recordingStartS * 1000).toISOString().slice(0, 19).replace('T', ' ');
  const from = new Date(clock.serviceStartS * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return {
    text: `REPLAY ${day} · ${fmtSpeed(clock.speed)}`,
    title: `A replayed recording, at ${fmtSpeed(clock.speed)}: every time shown is the recording's ` +
      `(its ${start}Z was the service's ${from}Z). Countdowns and durations are real seconds on the ` +
      "service's clock: the time there is to act.",
  };
}
