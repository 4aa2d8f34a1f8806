// What the browser test and bench/console_pan.mjs both need: parties, a real deconflictd with
// the built console, and Debian's chromium started the way this machine allows (background
// networking off: its connections would be refused by the closed network).
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

// A new party in the store at data; its token (the last line deconflict prints).
export function addParty(binDir, data, name) {
  return execFileSync(join(binDir, 'deconflict'), ['party', 'add', name, '--data', data], { encoding: 'utf8' })
    .trim().split('\n').pop();
}

// deconflictd with args; resolves to { proc, base, port } once it listens.
export async function startDaemon(binDir, args) {
  const proc = spawn(join(binDir, 'deconflictd'), args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const m = await new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout.on('data', (d) => {
      buf += d;
      const found = buf.match(/listening on (http:\/\/[\d.]+:(\d+))/);
      if (found) resolve(found);
    });
    proc.on('exit', (c) => reject(new Error(`deconflictd exited with ${c}`)));
  });
  return { proc, base: m[1], port: Number(m[2]) };
}

// SIGTERM, and wait for the daemon to be gone.
export async function stopDaemon(proc) {
  const done = new Promise((r) => proc.on('exit', r));
  proc.kill('SIGTERM');
  await done;
}

export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

// A page at 1366x768 (the smallest screen the console is made for), signed in with token.
export async function signedIn(browser, base, token) {
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  await page.goto(`${base}/`);
  await page.fill('#login-token', token);
  await page.click('#login-submit');
  return page;
}
