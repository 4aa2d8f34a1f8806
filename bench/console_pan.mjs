// Benchmark: the web console's frame rate while panning and zooming over N live tracks, in
// Debian's headless chromium (software rendering, no GPU). Prints figures; asserts nothing.
//
// usage: node bench/console_pan.mjs [BIN_DIR] [CONSOLE_DIR] [N ...]   (default build/bin,
//        build/share/deconflict/console, 1000 3000)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addParty, launchChromium, signedIn, startDaemon, stopDaemon } from '../console/test/harness.mjs';

const USAGE = 'usage: node bench/console_pan.mjs [BIN_DIR] [CONSOLE_DIR] [N ...]\n' +
  '  the console\'s frame rate while panning over N tracks (default 1000 3000), in Chromium;\n' +
  '  BIN_DIR defaults to build/bin, CONSOLE_DIR to build/share/deconflict/console\n';
if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const bad = process.argv.slice(4).find((a) => !(Number(a) >= 1 && Number(a) <= 100000));
if (process.argv.slice(2).some((a) => a.startsWith('-')) || bad !== undefined) {
  process.stderr.write((bad !== undefined ? `N must be 1..100000, not '${bad}'\n` : 'unknown option\n') + USAGE);
  process.exit(2);
}
const binDir = process.argv[2] || 'build/bin';
const consoleDir = process.argv[3] || 'build/share/deconflict/console';
const sizes = process.argv.length > 4 ? process.argv.slice(4).map(Number) : [1000, 3000];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}
function pct(a, p) {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
}

async function run(n) {
  const data = mkdtempSync(join(tmpdir(), 'dc_console_bench_'));
  const token = addParty(binDir, data, 'blue');
  const { proc, base } = await startDaemon(binDir, ['--data', data, '--listen', '127.0.0.1:0', '--console-dir',
    consoleDir, '--quiet', '--rate-limit-rps', '0']);
  // N aircraft spread over central Europe, FL100-FL400, in all directions.
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const fleet = Array.from({ length: n }, (_, i) => ({
    track_id: `T${i}`, callsign: `TST${i}`, lat: 44 + rnd() * 6, lon: 4 + rnd() * 10,
    alt_ft: 10000 + Math.round(rnd() * 300) * 100, gs_kt: 250 + rnd() * 250, trk_deg: rnd() * 359, vs_fpm: 0,
  }));
  let feeding = true;
  const feeder = (async () => {
    while (feeding) {
      const t = Date.now() / 1000;
      for (let i = 0; i < fleet.length; i += 5000) {
        await fetch(`${base}/v1/positions`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(fleet.slice(i, i + 5000).map((a) => ({ ...a, t }))),
        });
      }
      await sleep(1000);
    }
  })();
  const browser = await launchChromium();
  const page = await signedIn(browser, base, token);
  await page.waitForSelector('.leaflet-container[data-borders="loaded"]');
  await page.waitForFunction((k) => Number(document.querySelector('canvas.dc-tracks')?.dataset.tracks) > k / 2, n);
  await sleep(1500);
  const shown = await page.getAttribute('canvas.dc-tracks', 'data-tracks');
  // Frame intervals while the map is dragged for 4 s, then zoomed in and out by the wheel.
  await page.evaluate(() => {
    window.__frames = [];
    window.__draws = [];
    const canvas = document.querySelector('canvas.dc-tracks');
    let last = performance.now();
    let drawn = canvas.dataset.draws;
    const loop = (t) => {
      window.__frames.push(t - last);
      if (canvas.dataset.draws !== drawn) window.__draws.push(Number(canvas.dataset.drawMs));
      drawn = canvas.dataset.draws;
      last = t;
      if (window.__frames.length < 100000) requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  });
  const box = await page.locator('#map').boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const t0 = Date.now();
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  let k = 0;
  while (Date.now() - t0 < 4000) {
    k++;
    await page.mouse.move(cx + 200 * Math.sin(k / 15), cy + 120 * Math.cos(k / 11));
    await sleep(16);
  }
  await page.mouse.up();
  const panFrames = await page.evaluate(() => window.__frames.splice(0));
  const panDraws = await page.evaluate(() => window.__draws.splice(0));
  for (let i = 0; i < 8; i++) {
    await page.mouse.wheel(0, i < 4 ? -120 : 120);
    await sleep(300);
  }
  const zoomFrames = await page.evaluate(() => window.__frames.splice(0));
  const zoomDraws = await page.evaluate(() => window.__draws.splice(0));
  feeding = false;
  await feeder;
  await browser.close();
  await stopDaemon(proc);
  rmSync(data, { recursive: true, force: true });
  const f = (a) => `median ${median(a).toFixed(1)} ms, p95 ${pct(a, 95).toFixed(1)} ms, ` +
    `${a.filter((x) => x > 50).length}/${a.length} frames over 50 ms`;
  const g = (a) => `${a.length} redraws, median ${median(a).toFixed(1)} ms, p95 ${pct(a, 95).toFixed(1)} ms`;
  console.log(`console pan   ${String(n).padStart(5)} tracks (${shown} in view): frames ${f(panFrames)}; ` +
    `track layer ${g(panDraws)}`);
  console.log(`console zoom  ${String(n).padStart(5)} tracks: frames ${f(zoomFrames)}; track layer ${g(zoomDraws)}`);
}

for (const n of sizes) await run(n);
