// Refreshes docs/console/swiss-demo.png: runs the demo (scripts/demo.sh, built binaries in
// build/bin) on a free port, opens blue's sign-in link in Debian's chromium as a duty officer
// would, waits AT_S seconds of the feed, selects the most urgent open conflict and takes the
// screenshot; then stops the demo (SIGTERM: its clean stop).
//   node scripts/demo-screenshot.mjs [OUT.png] [--at-s 60]
// Needs console/node_modules (make builds it) and ../shared/data (or DATA=).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'console', 'package.json'));
const { chromium } = require('playwright-core');

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log('usage: node scripts/demo-screenshot.mjs [OUT.png] [--at-s S]\n' +
    '  the demo on a free port, blue\'s console after S seconds of the feed (default 60, 10-170),\n' +
    '  the most urgent conflict selected; OUT defaults to docs/console/swiss-demo.png');
  process.exit(0);
}
let atS = 60;
const k = args.indexOf('--at-s');
if (k >= 0) {
  atS = Number(args[k + 1]);
  args.splice(k, 2);
  if (!(atS >= 10 && atS <= 170)) {
    console.error('demo-screenshot: --at-s: seconds of the feed, 10-170 (the demo feeds for 180)');
    process.exit(2);
  }
}
const out = resolve(args[0] || join(root, 'docs', 'console', 'swiss-demo.png'));

const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});
const demo = spawn(join(root, 'scripts', 'demo.sh'), [], {
  cwd: root, env: { ...process.env, PORT: String(port), KEEP: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
});
let text = '';
demo.stdout.on('data', (d) => { text += d; });
demo.stderr.on('data', (d) => { text += d; });
const link = await new Promise((res, rej) => {
  const t = setInterval(() => {
    const m = text.match(/^ +blue +(https?:\/\/\S+\/#token=\S+)$/m);
    if (m && text.includes('== feeding')) { clearInterval(t); res(m[1]); }
  }, 100);
  demo.on('exit', (c) => { clearInterval(t); rej(new Error(`the demo ended (${c}) before feeding:\n${text}`)); });
});
const fed = Date.now();
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
});
try {
  // The demo's certificate is its own: the browser is told to take it, as a user accepts it.
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(link);
  await page.waitForTimeout(Math.max(0, atS * 1000 - (Date.now() - fed)));
  const first = page.locator('#conflict-list li.conflict.state-open').first();
  if (await first.count()) await first.click();
  await page.waitForTimeout(1500); // the selection drawn
  await page.screenshot({ path: out });
  console.log(`demo-screenshot: ${out} (blue, ${atS} s into the feed)`);
} finally {
  await browser.close();
  demo.kill('SIGTERM');
}
