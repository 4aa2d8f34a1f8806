// The web console in a real browser (Debian's chromium driven by playwright-core), against a
// real deconflictd with two parties: sign-in, a crossing encounter drawn on the map and listed,
// the alarm and its acknowledgement by keyboard, the hotline both ways with states changing,
// the time slider, reconnection after a daemon restart, the headers, and need-to-know: the
// second party's console never receives or shows the first party's own tracks. Also: the list
// names aircraft by callsign, a resolved conflict offers nothing to acknowledge, the times shown
// are the service's even when the browser's clock reads 2018, the slider spans only the data
// there is, a page load meets no 4xx (the icon), and a sign-in link (#token=) signs in. Under
// a party's replay clock (a replayed recording), its console shows the recording's times with a
// badge, and the other party's does not.
//
// usage: node browser.test.mjs BIN_DIR CONSOLE_DIR SCREENSHOT_DIR
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addParty, CHROMIUM, launchChromium, startDaemon as spawnDaemon, stopDaemon as killDaemon } from './harness.mjs';

const [binDir, consoleDir, shotDir] = process.argv.slice(2);
if (!shotDir) {
  console.error('usage: node browser.test.mjs BIN_DIR CONSOLE_DIR SCREENSHOT_DIR');
  process.exit(2);
}
assert.ok(existsSync(CHROMIUM), 'Debian chromium is installed (scripts/install-deps.sh)');
mkdirSync(shotDir, { recursive: true });

let checks = 0;
function check(cond, what) {
  assert.ok(cond, what);
  checks++;
  console.log(`ok ${checks} - ${what}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the daemon ----

const data = mkdtempSync(join(tmpdir(), 'dc_console_'));
const BLUE = addParty(binDir, data, 'blue');
const RED = addParty(binDir, data, 'red');

let daemon = null;
let base = null;
let port = 0;
// Restarted on the same port, so the console's reconnection is to the same address.
async function startDaemon() {
  const d = await spawnDaemon(binDir,
    ['--data', data, '--listen', `127.0.0.1:${port}`, '--console-dir', consoleDir, '--quiet', '--conflict-ack-s', '12']);
  daemon = d.proc;
  base = d.base;
  port = d.port;
}
async function stopDaemon() {
  if (!daemon) return;
  const d = daemon;
  daemon = null;
  await killDaemon(d);
}

async function call(method, path, tok, body) {
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${tok}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

// ---- traffic: a crossing encounter (BLU001 eastbound, RED001 southbound, both FL350, meeting
// in about 100 s), and aircraft of each party far from everything, which the other party must
// never see ----

const T0 = Date.now() / 1000;
const NM_DEG = 1 / 60;
const crossing = { lat: 46.5, lon: 7.3 };
function state(id, callsign, lat0, lon0, trk, gs, alt, t) {
  const dt = t - T0;
  const d = (gs * dt) / 3600; // NM
  const a = (trk * Math.PI) / 180;
  const lat = lat0 + d * NM_DEG * Math.cos(a);
  const lon = lon0 + (d * NM_DEG * Math.sin(a)) / Math.cos((lat0 * Math.PI) / 180);
  return { track_id: id, callsign, t, lat, lon, alt_ft: alt, gs_kt: gs, trk_deg: trk, vs_fpm: 0 };
}
const leadNm = 12.5; // both reach the crossing 100 s after T0
const BLUE_PRIVATE = [
  ['BLU101', 'BPRIV1', 47.45, 8.55, 90],
  ['BLU102', 'BPRIV2', 47.3, 9.1, 270],
  ['BLU103', 'BPRIV3', 45.9, 6.2, 45],
];
const RED_PRIVATE = [
  ['RED201', 'RPRIV1', 45.6, 9.4, 180],
  ['RED202', 'RPRIV2', 46.0, 10.2, 0],
];
function blueReports(t) {
  const lonLead = (leadNm * NM_DEG) / Math.cos((crossing.lat * Math.PI) / 180);
  return [
    state('BLU001', 'BLUE01', crossing.lat, crossing.lon - lonLead, 90, 450, 35000, t),
    ...BLUE_PRIVATE.map(([id, cs, lat, lon, trk]) => state(id, cs, lat, lon, trk, 300, 24000, t)),
  ];
}
function redReports(t) {
  return [
    state('RED001', 'RED01', crossing.lat + leadNm * NM_DEG, crossing.lon, 180, 450, 35000, t),
    ...RED_PRIVATE.map(([id, cs, lat, lon, trk]) => state(id, cs, lat, lon, trk, 280, 31000, t)),
  ];
}
let feeding = true;
async function feed() {
  while (feeding) {
    const t = Date.now() / 1000;
    if (daemon) {
      try {
        await call('POST', '/v1/positions', BLUE, blueReports(t));
        await call('POST', '/v1/positions', RED, redReports(t));
      } catch {
        /* the daemon is restarting */
      }
    }
    await sleep(1000);
  }
}

// ---- pixels: decoded by the browser itself from the PNG ----

async function pixelStats(page, png, region) {
  return page.evaluate(
    async ({ b64, region }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      const { x, y, w, h } = region;
      const px = g.getImageData(x, y, w, h).data;
      const colors = new Set();
      let red = 0;
      let land = 0;
      for (let i = 0; i < px.length; i += 4 * 7) {
        const [r, gg, b] = [px[i], px[i + 1], px[i + 2]];
        colors.add((r >> 3) * 1024 + (gg >> 3) * 32 + (b >> 3));
        if (r > 200 && gg < 110 && b < 110) red++;
        if (Math.abs(r - 0x1d) < 6 && Math.abs(gg - 0x2a) < 6 && Math.abs(b - 0x38) < 6) land++;
      }
      return { colors: colors.size, red, land, samples: px.length / 28 };
    },
    { b64: png.toString('base64'), region },
  );
}

// ---- the run ----

const browser = await launchChromium();
let exitCode = 0;
try {
  await startDaemon();
  const feeder = feed();

  // Headers of the console's files.
  const root = await fetch(`${base}/`);
  const html = await root.text();
  const csp = root.headers.get('content-security-policy') || '';
  check(root.status === 200 && html.includes('<div id="map"'), 'GET / serves the console');
  check(csp.includes("default-src 'none'") && csp.includes("script-src 'self'") && csp.includes("connect-src 'self'") &&
    !csp.includes('unsafe'), `a strict content-security-policy (${csp})`);
  check(root.headers.get('cache-control') === 'no-cache' && root.headers.get('etag'), 'index.html is revalidated (no-cache, ETag)');
  const again = await fetch(`${base}/`, { headers: { 'If-None-Match': root.headers.get('etag') } });
  check(again.status === 304, 'a revalidation with the same ETag gets 304');
  const js = html.match(/src="(\/assets\/app-[^"]+\.js)"/)[1];
  const asset = await fetch(base + js);
  check(asset.status === 200 && /immutable/.test(asset.headers.get('cache-control')) &&
    asset.headers.get('content-type').startsWith('text/javascript'), 'hashed assets are immutable for a year');
  check((await fetch(`${base}/../../etc/passwd`)).status === 404 && (await fetch(`${base}/nope.html`)).status === 404,
    'only the console\'s own files are served');

  // Blue signs in.
  const blueCtx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const blue = await blueCtx.newPage();
  const blueUrls = [];
  blue.on('request', (r) => blueUrls.push(r.url()));
  // Every answer the tab gets, the browser's own requests (the icon) included: those only the
  // DevTools protocol sees, not Playwright's page events.
  const blueErrors = [];
  const blueCdp = await blueCtx.newCDPSession(blue);
  await blueCdp.send('Network.enable');
  blueCdp.on('Network.responseReceived', (e) => {
    if (e.response.status >= 400) blueErrors.push(`${e.response.status} ${e.response.url}`);
  });
  blue.on('pageerror', (e) => {
    console.error('blue page error:', e.message);
    exitCode = 1;
  });
  const cspViolations = [];
  blue.on('console', (m) => {
    if (/Content Security Policy|Refused to/.test(m.text())) cspViolations.push(m.text());
  });
  await blue.goto(`${base}/`);
  await blue.waitForLoadState('load');
  await sleep(1500);
  check(blueErrors.length === 0, `loading the console gets no 4xx or 5xx answer, the icon included (${blueErrors.join(', ')})`);
  await blue.screenshot({ path: join(shotDir, 'login.png') });
  await blue.fill('#login-token', 'not-a-token');
  await blue.click('#login-submit');
  await blue.waitForFunction(() => document.querySelector('#login-error').textContent.length > 0);
  check(await blue.isVisible('#login'), 'a bad token is refused with a message');
  await blue.fill('#login-token', BLUE);
  await blue.click('#login-submit');
  await blue.waitForSelector('#party:has-text("blue")');
  check(true, 'blue signs in with its token');
  await blue.waitForSelector('#mute:has-text("Sound: on")', { timeout: 5000 });
  check(true, 'the sign-in click enables the alarm sound (the browser\'s autoplay policy allows it)');
  await blue.waitForSelector('#conn[data-state="live"]', { timeout: 10000 });
  check(true, 'the connection indicator shows the event stream live');
  await blue.waitForSelector('.leaflet-container[data-borders="loaded"]', { timeout: 15000 });
  check(true, 'the bundled borders and coastlines load');

  // The conflict appears on the map and in the list within a few seconds.
  const t0 = Date.now();
  await blue.waitForSelector('#conflict-list li.conflict.kind-tactical.state-open', { timeout: 20000 });
  const seenAfterS = (Date.now() - t0) / 1000;
  check(seenAfterS < 15, `the crossing is listed ${seenAfterS.toFixed(1)} s after sign-in`);
  await blue.waitForFunction(() => document.querySelector('canvas.dc-tracks')?.dataset.others === '1', null, { timeout: 10000 });
  check(true, 'the other aircraft, disclosed by the conflict, is drawn on the map');
  const listText = await blue.textContent('#conflict-list');
  check(/BLU001/.test(listText) && /red/.test(listText) && /min sep/.test(listText) && /(loss in \d+:\d\d|separation LOST)/.test(listText),
    'the list names the own track, the other party, the minimum separation and the time to loss');
  const headOf = (page) => page.evaluate(() => {
    const head = document.querySelector('#conflict-list li.conflict.kind-tactical .c-head');
    const tip = head.querySelector('[title]');
    return { text: head.textContent, tip: tip ? tip.title : '' };
  });
  const blueHead = await headOf(blue);
  check(/· BLUE01 BLU001 ↔ red$/.test(blueHead.text) && blueHead.tip.includes('BLU001'),
    `the entry names blue's aircraft by its callsign, as the map labels it, its track id second and in the tooltip (${blueHead.text}; ${blueHead.tip})`);
  // First an advisory (shown, silent), a warning within seconds (persistence): the alarm.
  await blue.waitForSelector('#alarm:not(.hidden)', { timeout: 10000 });
  check(/to acknowledge/.test(await blue.textContent('#alarm')), 'the conflict, once a warning, raises the alarm');
  const ttl1 = await blue.textContent('#conflict-list .ttl');
  await sleep(2100);
  const ttl2 = await blue.textContent('#conflict-list .ttl');
  check(ttl1 !== ttl2, `the time to loss counts down (${ttl1} -> ${ttl2})`);

  // Pixel check: the map really rendered (land, borders, the red conflict geometry).
  await sleep(500);
  const shot = await blue.screenshot({ path: join(shotDir, 'map-conflict.png') });
  const box = await blue.locator('#map').boundingBox();
  const px = await pixelStats(blue, shot, { x: Math.round(box.x), y: Math.round(box.y), w: Math.round(box.width), h: Math.round(box.height) });
  check(px.colors > 20 && px.land > px.samples * 0.05 && px.red > 5,
    `the map is not blank: ${px.colors} colours, ${(100 * px.land / px.samples).toFixed(0)}% land, ${px.red} conflict-red samples`);
  await blue.locator('.panel.conflicts').screenshot({ path: join(shotDir, 'conflict-list.png') });

  // Acknowledge with the keyboard.
  const cid = await blue.getAttribute('#conflict-list li.conflict.kind-tactical', 'data-id');
  await blue.click('#map', { position: { x: 5, y: 5 } }).catch(() => {});
  await blue.keyboard.press('a');
  await blue.waitForSelector(`#conflict-list li.conflict.acked[data-id="${cid}"]`, { timeout: 5000 });
  const view = await call('GET', `/v1/conflicts/${cid}`, BLUE);
  check(view.body.acknowledged === true, 'pressing A acknowledges the conflict at the service');
  await blue.waitForSelector('#alarm.hidden', { state: 'attached', timeout: 5000 });
  check(true, 'the alarm is silenced once it is acknowledged');
  const redView = await call('GET', `/v1/conflicts/${cid}`, RED);
  check(redView.status === 200 && redView.body.acknowledged !== true, "red's own acknowledgement is still due");

  // An operation of blue's, filed through the API, is drawn with its band and window.
  const opPaths = await blue.locator('path.dc-op').count();
  const hour = new Date(Date.now() + 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
  const op = await call('POST', '/v1/operations', BLUE, {
    volumes: [{
      volume: {
        outline_polygon: { vertices: [{ lat: 46.9, lng: 6.6 }, { lat: 46.9, lng: 6.9 }, { lat: 47.1, lng: 6.9 }, { lat: 47.1, lng: 6.6 }] },
        altitude_lower: { value: 3000, reference: 'W84', units: 'M' },
        altitude_upper: { value: 6000, reference: 'W84', units: 'M' },
      },
      time_start: { value: new Date().toISOString(), format: 'RFC3339' },
      time_end: { value: hour, format: 'RFC3339' },
    }],
  });
  check(op.status === 201, 'blue files an operation through the API');
  await blue.waitForFunction((n) => document.querySelectorAll('path.dc-op').length > n, opPaths, { timeout: 8000 });
  const opCenter = await blue.evaluate(() => {
    const paths = [...document.querySelectorAll('path.dc-op')];
    const r = paths[paths.length - 1].getBoundingClientRect();
    return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
  });
  await blue.mouse.move(opCenter.x, opCenter.y);
  await blue.waitForSelector('.leaflet-tooltip.dc-tip', { timeout: 5000 });
  const tip = await blue.textContent('.leaflet-tooltip.dc-tip');
  check(tip.includes(op.body.id) && tip.includes('planned') && /9843.*19685 ft/.test(tip) && tip.includes(hour) &&
    (await blue.getAttribute('path.dc-op', 'class')).includes('dc-op-planned'),
    `the operation's footprint is drawn, its band and window in the tooltip (${tip})`);
  await blue.mouse.move(5, 300);

  // A resolved conflict offers nothing to acknowledge. Red files over blue's operation (a
  // strategic conflict, open, with its button), then cancels (resolved for both, never
  // acknowledged by blue).
  const redOp = await call('POST', '/v1/operations', RED, { volumes: op.body.volumes });
  check(redOp.status === 201, 'red files an operation over blue\'s');
  const strategic = '#conflict-list li.conflict.kind-strategic';
  await blue.waitForSelector(`${strategic}.state-open button.ack`, { timeout: 8000 });
  const sid = await blue.getAttribute(`${strategic}.state-open`, 'data-id');
  check(true, 'the plan overlap is listed open, with an Acknowledge button');
  check((await call('POST', `/v1/operations/${redOp.body.id}/cancel`, RED)).status === 200, 'red cancels its operation');
  await blue.waitForSelector(`${strategic}.state-resolved[data-id="${sid}"]`, { timeout: 8000 });
  check(await blue.locator(`${strategic}[data-id="${sid}"] button`).count() === 0, 'the resolved conflict has no Acknowledge button');
  await blue.click(`${strategic}[data-id="${sid}"]`);
  await blue.keyboard.press('a');
  await sleep(800);
  const resolvedView = await call('GET', `/v1/conflicts/${sid}`, BLUE);
  check(resolvedView.body.state === 'resolved' && resolvedView.body.acknowledged !== true,
    'A on the selected resolved conflict acknowledges nothing');
  await blue.keyboard.press('k'); // back to the tactical conflict, first in the list
  await blue.locator('.panel.conflicts').screenshot({ path: join(shotDir, 'conflict-list-resolved.png') });

  // A sign-in link, in a tab whose clock reads the recording's time (2018-08-01 12:00Z, as if
  // the browser's wall clock were what the demo replays): the console signs in from the
  // fragment, takes it out of the address bar, never puts the token in a URL, and shows the
  // service's times (the data's), not the browser's.
  const linkCtx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  await linkCtx.clock.install({ time: new Date('2018-08-01T12:00:00Z') });
  const linkPage = await linkCtx.newPage();
  const linkUrls = [];
  const linkCdp = await linkCtx.newCDPSession(linkPage);
  await linkCdp.send('Network.enable');
  linkCdp.on('Network.requestWillBeSent', (e) => linkUrls.push(e.request.url)); // what goes on the wire: no fragment
  await linkPage.goto(`${base}/#token=${BLUE}`);
  await linkPage.waitForSelector('#party:has-text("blue")', { timeout: 10000 });
  const linkState = await linkPage.evaluate(() => ({ hash: location.hash, href: location.href, stored: sessionStorage.getItem('deconflict.token') }));
  check(linkState.hash === '' && !linkState.href.includes(BLUE) && !linkPage.url().includes(BLUE) && linkState.stored === BLUE,
    `the link ${base}/#token=… signs in as blue; the fragment is gone from the address bar (${linkState.href})`);
  await linkPage.waitForSelector('#conflict-list li.conflict.kind-tactical .ttl', { timeout: 10000 });
  await sleep(1500);
  const browserDay = await linkPage.evaluate(() => new Date().toISOString().slice(0, 10));
  const secondOfDay = (hms) => hms.slice(0, 8).split(':').reduce((a, x) => a * 60 + Number(x), 0);
  const serviceSecond = () => secondOfDay(new Date().toISOString().slice(11, 19));
  const dayDiff = (a, b) => Math.abs((((a - b) % 86400) + 86400 + 43200) % 86400 - 43200);
  const shownClock = await linkPage.textContent('#clock');
  check(browserDay === '2018-08-01' && dayDiff(secondOfDay(shownClock), serviceSecond()) <= 3,
    `with the browser's clock on ${browserDay}, the top bar shows the service's time (${shownClock}, service ${new Date().toISOString().slice(11, 19)}Z)`);
  const linkFacts = await linkPage.textContent('#conflict-list li.conflict.kind-tactical .c-facts');
  const since = linkFacts.match(/since (\S+)/);
  check(/^(loss in [0-2]:\d\d|separation LOST)$/.test(await linkPage.textContent('#conflict-list li.conflict.kind-tactical .ttl')) &&
    since && /^\d\d:\d\d:\d\dZ$/.test(since[1]) && dayDiff(secondOfDay(since[1]), serviceSecond()) < 300,
    `the conflict's countdown and times are the service's, not the browser's (${linkFacts})`);
  // The slider reaches back to the data's start (it shows the picture 10 s before now).
  await linkPage.waitForFunction(() => Number(document.getElementById('time').min) <= -10, null, { timeout: 10000 });
  await linkPage.locator('#time').fill('-10');
  await linkPage.waitForFunction(() => document.body.classList.contains('history'), null, { timeout: 5000 });
  const pastLabel = (await linkPage.textContent('#time-label')).match(/\((\d\d:\d\d:\d\d)Z\)/);
  check(pastLabel && dayDiff(secondOfDay(pastLabel[1]), serviceSecond() - 10) <= 3,
    `the time slider's label is on the service's clock too (${await linkPage.textContent('#time-label')})`);
  check(linkUrls.length > 5 && !linkUrls.some((u) => u.includes(BLUE)), `no URL of the ${linkUrls.length} requests of the linked tab carries the token`);
  await linkCtx.close();

  // Hotline: red sends blue a message that needs an acknowledgement (API) ...
  const sent = await call('POST', '/v1/messages', RED, {
    to: 'blue', category: 'deconfliction_request', priority: 'urgent',
    fields: { request: 'Turn your eastbound aircraft left 30 degrees, we hold FL350' }, ack_required: true, ack_deadline_s: 600,
  });
  check(sent.status === 201, 'red sends blue a deconfliction request through the API');
  const mid = sent.body.messages[0].id;
  await blue.waitForSelector(`#message-list li.msg[data-id="${mid}"]`, { timeout: 8000 });
  check(/acknowledge within/.test(await blue.textContent(`#message-list li.msg[data-id="${mid}"]`)),
    'blue\'s in box shows it with its acknowledgement deadline');
  for (let i = 0; i < 50; i++) {
    if ((await call('GET', '/v1/messages?box=out', RED)).body.messages.find((m) => m.id === mid).state === 'delivered') break;
    await sleep(100);
  }
  check((await call('GET', '/v1/messages?box=out', RED)).body.messages.find((m) => m.id === mid).state === 'delivered',
    'red sees it delivered');
  await blue.locator('.panel.hotline').screenshot({ path: join(shotDir, 'hotline-received.png') });
  await blue.fill(`#message-list li.msg[data-id="${mid}"] .ack-reply`, 'Turning left now');
  await blue.click(`#message-list li.msg[data-id="${mid}"] button.ack`);
  await blue.waitForSelector(`#message-list li.msg[data-id="${mid}"][data-state="acknowledged"]`, { timeout: 5000 });
  const redOut = (await call('GET', '/v1/messages?box=out', RED)).body.messages.find((m) => m.id === mid);
  check(redOut.state === 'acknowledged' && redOut.reply_text === 'Turning left now', 'blue acknowledges in the console with a reply; red sees both');

  // ... and blue writes to red from the console; red acknowledges through the API.
  await blue.keyboard.press('n');
  await blue.waitForSelector('#compose[open]');
  await blue.fill('#c-to', 'red');
  await blue.fill('#f-text', 'Ours turning left heading 060, confirm RED01 holds FL350');
  await blue.check('#c-ack');
  await blue.click('#c-send');
  await blue.waitForSelector('#box-out.active');
  const outMsg = await blue.waitForSelector('#message-list li.msg[data-state="sent"], #message-list li.msg[data-state="delivered"]');
  const outId = await outMsg.getAttribute('data-id');
  const redIn = await call('GET', '/v1/messages?box=in', RED);
  check(redIn.body.messages.some((m) => m.id === outId && /turning left heading 060/.test(m.text.en)), 'red receives what blue composed');
  await blue.waitForSelector(`#message-list li.msg[data-id="${outId}"][data-state="delivered"]`, { timeout: 5000 });
  check(true, "blue's out box shows it delivered");
  const acked = await call('POST', `/v1/messages/${outId}/ack`, RED, { reply: 'RED01 holding FL350' });
  check(acked.status === 200, 'red acknowledges through the API');
  await blue.waitForSelector(`#message-list li.msg[data-id="${outId}"][data-state="acknowledged"]`, { timeout: 5000 });
  check(/RED01 holding FL350/.test(await blue.textContent(`#message-list li.msg[data-id="${outId}"]`)), "blue's out box shows the acknowledgement and the reply");
  await blue.locator('.panel.hotline').screenshot({ path: join(shotDir, 'hotline.png') });

  // Red's console: its own tracks and the conflict, never blue's own.
  const redCtx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const red = await redCtx.newPage();
  const redBodies = [];
  red.on('response', async (r) => {
    try {
      if (r.url().includes('/v1/') && !r.url().endsWith('/v1/events')) redBodies.push(await r.text());
    } catch {
      /* a stream cut short */
    }
  });
  await red.goto(`${base}/#token=not-a-token`);
  await red.waitForFunction(() => document.querySelector('#login-error').textContent.length > 0);
  check(await red.isVisible('#login') && (await red.evaluate(() => location.hash)) === '' &&
    /not valid/.test(await red.textContent('#login-error')), 'a link with a bad token shows the sign-in form, with the error, and the fragment is gone');
  await red.fill('#login-token', RED);
  await red.click('#login-submit');
  await red.waitForSelector('#conflict-list li.conflict.kind-tactical', { timeout: 10000 });
  await red.waitForFunction(() => Number(document.querySelector('canvas.dc-tracks')?.dataset.tracks) >= 1, null, { timeout: 10000 });
  await sleep(2500);
  // Red has not acknowledged within 12 s: its entry is escalated, and blue's waits for red.
  await red.waitForSelector('#conflict-list li.conflict.escalated.unacked', { timeout: 20000 });
  check(/ESCALATED ×\d/.test(await red.textContent('#conflict-list li.conflict.escalated')) && await red.isVisible('#alarm'),
    "red's unacknowledged conflict is escalated: it stands out, and the alarm sounds");
  await blue.waitForSelector('#conflict-list li.conflict .c-status:has-text("waiting for red")', { timeout: 10000 });
  check(true, "blue's entry says it is waiting for red");
  await red.screenshot({ path: join(shotDir, 'red-console.png') });
  check(/· RED01 RED001 ↔ blue$/.test((await headOf(red)).text),
    "red's entry names red's own aircraft by its callsign; blue's is not named (the service never discloses it)");
  const redDom = await red.evaluate(() => document.body.innerText);
  const secrets = ['BLU001', 'BLUE01', ...BLUE_PRIVATE.flatMap(([id, cs]) => [id, cs])];
  const leaked = secrets.filter((s) => redBodies.some((b) => b.includes(s)) || redDom.includes(s));
  check(redBodies.length >= 5 && leaked.length === 0, `nothing red's console received or shows names blue's tracks (${redBodies.length} answers read; leaked: ${leaked.join(', ')})`);
  const redTracks = JSON.parse(redBodies.filter((b) => b.startsWith('{"tracks"')).pop());
  check(redTracks.tracks.every((t) => t.track_id.startsWith('RED')) && redTracks.disclosed.length === 1 &&
    !('track_id' in redTracks.disclosed[0]) && !('callsign' in redTracks.disclosed[0]),
    "red's tracks are its own; blue's aircraft comes only as the conflict's disclosed other aircraft");
  const blueCoords = BLUE_PRIVATE.map(([, , lat]) => lat.toFixed(2));
  check(!redBodies.some((b) => blueCoords.some((c) => b.includes(`"lat":${c}`))), "no position of blue's private aircraft reaches red");
  check(Number(await red.getAttribute('canvas.dc-tracks', 'data-tracks')) <= 1 + RED_PRIVATE.length,
    'red\'s map draws no more tracks than red owns');

  // The time slider: 40 s ago, from the stored history and events.
  await sleep(11000);
  // Its range is the data's: from the first report (the feed started at T0), not an hour.
  const sinceFeedS = Date.now() / 1000 - T0;
  const sliderMin = Number(await blue.getAttribute('#time', 'min'));
  check(sliderMin >= -(sinceFeedS + 2) && sliderMin <= -(sinceFeedS - 15),
    `the slider reaches back ${-sliderMin} s, to the first data (fed since ${sinceFeedS.toFixed(0)} s), not an hour`);
  await blue.locator('#time').fill(String(sliderMin));
  await blue.waitForFunction(() => document.body.classList.contains('history') && /^4 of 4 tracks/.test(document.querySelector('#count').textContent), null, { timeout: 8000 });
  check(true, `its far end shows the first picture: ${await blue.textContent('#count')} (${await blue.textContent('#time-label')})`);
  await blue.locator('#time').fill('-10');
  await blue.waitForFunction(() => document.body.classList.contains('history') && Number(document.querySelector('canvas.dc-tracks').dataset.tracks) > 0, null, { timeout: 8000 });
  check(/−0:10/.test(await blue.textContent('#time-label')), 'the slider shows the picture 10 s ago');
  const then = await blue.textContent('#count');
  check(/^4 of 4 tracks · 1 open conflict/.test(then) && (await blue.getAttribute('canvas.dc-tracks', 'data-others')) === '1',
    `the past picture, from the stored history and events: ${then}, the other aircraft drawn`);
  await blue.screenshot({ path: join(shotDir, 'history.png') });
  await blue.keyboard.press('l');
  await blue.waitForFunction(() => !document.body.classList.contains('history'));
  check(true, 'L returns to live');

  // Altitude filter: a band without the FL240 aircraft hides them.
  const allTracks = Number(await blue.getAttribute('canvas.dc-tracks', 'data-tracks'));
  await blue.fill('#fl-min', '300');
  await blue.waitForFunction((n) => Number(document.querySelector('canvas.dc-tracks').dataset.tracks) < n, allTracks);
  check(true, 'the altitude filter hides the tracks outside FL300-999');
  await blue.fill('#fl-min', '0');

  // Reconnection: the daemon restarts; the console resumes with Last-Event-ID by itself.
  await stopDaemon();
  await blue.waitForSelector('#conn[data-state="reconnecting"]', { timeout: 10000 });
  check(true, 'the indicator shows the lost connection');
  await startDaemon();
  await blue.waitForSelector('#conn[data-state="live"]', { timeout: 20000 });
  check(true, 'the console reconnects by itself');
  const after = await call('POST', '/v1/messages', RED, { to: 'blue', category: 'free_text', fields: { text: 'after the restart' } });
  await blue.click('#box-in');
  await blue.waitForSelector(`#message-list li.msg[data-id="${after.body.messages[0].id}"]`, { timeout: 8000 });
  check(true, 'an event after the restart reaches the console');

  // A replayed recording (docs/console.md, "Replays"): blue's replay clock, set as `deconflict
  // feed` of a recording sets it: the recording's 2018-08-01 12:00Z went out 30 s ago, at 20x.
  // A tab of blue's shows the recording's times and the badge; red's console (no clock) the
  // service's; blue's first tab picks the clock up by itself; after DELETE, blue's tab is back
  // on the service's times within its refresh period (10 s).
  const REC0_S = Date.parse('2018-08-01T12:00:00Z') / 1000;
  const SPEED = 20;
  const svcStartS = Math.round((Date.now() / 1000 - 30) * 100) / 100;
  const recAt = (svcS) => REC0_S + (svcS - svcStartS) * SPEED; // the recording's time at the service's svcS
  const svcAt = (recS) => svcStartS + (recS - REC0_S) / SPEED;
  const recOf = (hms) => Date.parse(`2018-08-01T${hms.slice(0, 8)}Z`) / 1000; // "12:10:03Z" on the recording's day
  const putClock = await call('PUT', '/v1/party/replay-clock', BLUE, { recording_start_s: REC0_S, service_start_s: svcStartS, speed: SPEED });
  // Blue's first tab, open since before the clock was set, is to read it again within 10 s.
  const putT0 = Date.now();
  const pickedUp = blue.waitForSelector('#replay:not(.hidden)', { timeout: 13000 }).then(() => (Date.now() - putT0) / 1000, () => Infinity);
  check(putClock.status === 200 && putClock.body.recording_start === '2018-08-01T12:00:00Z',
    `blue's replay clock is set: the recording's ${putClock.body.recording_start} at the service's ${putClock.body.service_start}, ${SPEED}×`);
  const replayCtx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const rp = await replayCtx.newPage();
  await rp.goto(`${base}/#token=${BLUE}`);
  await rp.waitForSelector('#replay:not(.hidden)', { timeout: 10000 });
  const badge = { text: await rp.textContent('#replay'), title: await rp.getAttribute('#replay', 'title') };
  check(badge.text === 'REPLAY 2018-08-01 · 20×' && /recording's/.test(badge.title) && /real seconds/.test(badge.title),
    `the top bar says it is a replay: "${badge.text}" ("${badge.title}")`);
  await rp.waitForSelector('#conflict-list li.conflict.kind-tactical', { timeout: 10000 });
  await sleep(1200);
  // The clock ticks once a second: read just after a tick, it shows the mapping of the service's
  // time then, written to the recording's second (1/20 s of the service). The tab's estimate of
  // the service's clock may be off by part of a round trip: 0.5 s (10 s of the recording) either
  // way is allowed, and 1.5 s more for a late tick.
  const prevClock = await rp.textContent('#clock');
  await rp.waitForFunction((p) => document.getElementById('clock').textContent !== p, prevClock, { timeout: 5000 });
  const clockBeforeS = Date.now() / 1000;
  const replayClockText = await rp.textContent('#clock');
  const clockAfterS = Date.now() / 1000;
  const clockLagS = clockAfterS - svcAt(recOf(replayClockText));
  check(/^12:\d\d:\d\dZ$/.test(replayClockText) && recOf(replayClockText) >= recAt(clockBeforeS - 2) - 1 &&
    recOf(replayClockText) <= recAt(clockAfterS + 0.5),
    `the top bar's clock reads the recording's time: ${replayClockText}, the mapping of the service's time ${clockLagS.toFixed(2)} s before it was read`);
  const replayCid = await rp.getAttribute('#conflict-list li.conflict.kind-tactical', 'data-id');
  const replayFacts = await rp.textContent('#conflict-list li.conflict.kind-tactical .c-facts');
  const cview = (await call('GET', `/v1/conflicts/${replayCid}`, BLUE)).body;
  const shownAt = replayFacts.match(/(?:since|resolved) (\d\d:\d\d:\d\dZ)/);
  const conflictOffS = shownAt ? svcAt(recOf(shownAt[1])) - Date.parse(cview.updated) / 1000 : NaN;
  // Written to the recording's second (1/20 s of the service); an open conflict's view is
  // rewritten as it goes, so it may be a pass newer than the tab's.
  check(shownAt && (cview.state === 'open' ? Math.abs(conflictOffS) <= 3 : Math.abs(conflictOffS) <= 1 / SPEED + 0.01),
    `the conflict's time in the list is the recording's: ${shownAt && shownAt[0]} (${cview.state}), the service's ${cview.updated} mapped (${conflictOffS.toFixed(3)} s)`);
  await rp.click('#box-in');
  const msgAfter = (await call('GET', '/v1/messages?box=in', BLUE)).body.messages.find((m) => m.id === after.body.messages[0].id);
  const msgMeta = await rp.textContent(`#message-list li.msg[data-id="${msgAfter.id}"] .msg-meta`);
  const sentShown = msgMeta.match(/sent (\d\d:\d\d:\d\dZ)/);
  const msgOffS = sentShown ? svcAt(recOf(sentShown[1])) - Date.parse(msgAfter.sent_at) / 1000 : NaN;
  check(sentShown && msgOffS <= 0.001 && msgOffS > -(1 / SPEED + 0.01),
    `a hotline message's time is the recording's: "${msgMeta}", the service's ${msgAfter.sent_at} mapped (${msgOffS.toFixed(3)} s)`);
  await rp.waitForFunction(() => Number(document.getElementById('time').min) <= -10, null, { timeout: 10000 });
  await rp.locator('#time').fill('-10');
  const labelAtS = Date.now() / 1000;
  await rp.waitForFunction(() => document.body.classList.contains('history'), null, { timeout: 5000 });
  const replayLabel = await rp.textContent('#time-label');
  const labelTime = replayLabel.match(/^−0:10 \((\d\d:\d\d:\d\dZ)\)$/);
  check(labelTime && Math.abs(recOf(labelTime[1]) - recAt(labelAtS - 10)) <= 2 * SPEED,
    `the time slider's label: 10 s of the service back, at the recording's time then (${replayLabel}; expected about ${new Date(recAt(labelAtS - 10) * 1000).toISOString().slice(11, 19)}Z)`);
  await rp.keyboard.press('l');
  await rp.screenshot({ path: join(shotDir, 'replay.png') });
  // Red has no clock: the service's times, no badge.
  const redClock = await red.textContent('#clock');
  const redFacts = await red.textContent('#conflict-list li.conflict.kind-tactical .c-facts');
  const redAt = redFacts.match(/(?:since|resolved) (\d\d:\d\d:\d\dZ)/);
  check(await red.isHidden('#replay') && dayDiff(secondOfDay(redClock), serviceSecond()) <= 3 &&
    redAt && dayDiff(secondOfDay(redAt[1]), serviceSecond()) < 600,
    `red's console, without a clock, shows the service's times and no badge (${redClock}; ${redAt && redAt[0]})`);
  const pickedUpS = await pickedUp;
  check(pickedUpS <= 11 && /^12:\d\d:\d\dZ$/.test(await blue.textContent('#clock')),
    `blue's first tab, open before the clock was set, picks it up by itself ${pickedUpS.toFixed(1)} s after (${await blue.textContent('#clock')})`);
  // Cleared: back to the service's times within the refresh period.
  const del = await call('DELETE', '/v1/party/replay-clock', BLUE);
  const delT0 = Date.now();
  check(del.status === 200 && !('replay_clock' in del.body), "blue's replay clock is cleared (DELETE)");
  await rp.waitForSelector('#replay.hidden', { state: 'attached', timeout: 13000 });
  const backS = (Date.now() - delT0) / 1000;
  await sleep(1100); // a tick
  const backClock = await rp.textContent('#clock');
  const backFacts = await rp.textContent('#conflict-list li.conflict.kind-tactical .c-facts');
  const backAt = backFacts.match(/(?:since|resolved) (\d\d:\d\d:\d\dZ)/);
  check(backS <= 11 && dayDiff(secondOfDay(backClock), serviceSecond()) <= 3 &&
    backAt && Math.abs(Date.parse(`${cview.updated.slice(0, 10)}T${backAt[1]}`) / 1000 - Date.parse(cview.updated) / 1000) <= (cview.state === 'open' ? 30 : 1),
    `${backS.toFixed(1)} s after DELETE, blue's tab has no badge and shows the service's times again (${backClock}; ${backAt && backAt[0]})`);
  await replayCtx.close();

  // The token: in session storage only, never in a URL.
  const store = await blue.evaluate(() => ({ s: JSON.stringify(sessionStorage), l: JSON.stringify(localStorage), c: document.cookie }));
  check(store.s.includes(BLUE) && !store.l.includes(BLUE) && !store.c.includes(BLUE), 'the token is kept in session storage only');
  check(blueUrls.length > 10 && !blueUrls.some((u) => u.includes(BLUE)), `no URL of ${blueUrls.length} requests carries the token`);
  check(cspViolations.length === 0, `no content-security-policy violations (${cspViolations.join('; ')})`);
  check(blueErrors.length === 1 && /^401 .*\/v1\/party$/.test(blueErrors[0]),
    `the only 4xx/5xx answer blue's tab got was the bad token's 401 (${blueErrors.join(', ')})`);

  feeding = false;
  await feeder;
} catch (e) {
  console.error(e);
  exitCode = 1;
} finally {
  feeding = false;
  await browser.close();
  await stopDaemon();
  rmSync(data, { recursive: true, force: true });
}
console.log(exitCode ? 'FAILED' : `all ${checks} checks passed`);
process.exit(exitCode);
