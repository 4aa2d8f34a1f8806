// What the browser test and bench/console_pan.mjs both need: parties, a real deconflictd with
// the built console, and Debian's chromium started the way this machine allows (background
// networking off: its connections would be refused by the closed network).
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

// When DC_API_RECORD names a directory (ctest sets it), every answer this process receives, by
// Node's fetch or in a browser context, is appended there as one JSON line, as
// tests/integration/api_record.py does for the Python tests: tests/api/check_responses.mjs then
// validates each against docs/openapi.yaml. Body null: none to check (HEAD, 204, 304, a stream).
const RECORD = process.env.DC_API_RECORD || null;
const recordFile = RECORD && join(RECORD, `${basename(process.argv[1] || 'node', '.mjs')}-${process.pid}.jsonl`);

function record(method, url, status, ctype, body) {
  const u = new URL(url);
  if (!/^https?:$/.test(u.protocol)) return;
  // Only JSON is validated; of anything else (pages, scripts) the start is enough.
  if (body !== null && !ctype.includes('json')) body = body.slice(0, 256);
  mkdirSync(RECORD, { recursive: true });
  appendFileSync(recordFile, `${JSON.stringify({ method, path: u.pathname + u.search, status, content_type: ctype, body })}\n`);
}

const noBody = (method, status, ctype) => method === 'HEAD' || status === 204 || status === 304 || ctype.startsWith('text/event-stream');

if (RECORD) {
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init = {}) => {
    const res = await realFetch(input, init);
    const method = (init.method || 'GET').toUpperCase();
    const ctype = res.headers.get('content-type') || '';
    record(method, res.url || String(input), res.status, ctype, noBody(method, res.status, ctype) ? null : await res.clone().text());
    return res;
  };
}

// Records every answer the pages of a browser context receive (a no-op unless DC_API_RECORD).
function recordResponses(context) {
  context.on('response', async (res) => {
    const method = res.request().method();
    const ctype = res.headers()['content-type'] || '';
    let body = null;
    if (!noBody(method, res.status(), ctype)) {
      try {
        body = await res.text();
      } catch {
        body = null; // the page went away before its body was read: status and type only
      }
    }
    record(method, res.url(), res.status(), ctype, body);
  });
}

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

export async function launchChromium() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  if (RECORD) {
    // Every context the test makes records its pages' answers.
    const newContext = browser.newContext.bind(browser);
    browser.newContext = async (...args) => {
      const context = await newContext(...args);
      recordResponses(context);
      return context;
    };
  }
  return browser;
}

// A page at 1366x768 (the smallest screen the console is made for), signed in with token.
export async function signedIn(browser, base, token) {
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  await page.goto(`${base}/`);
  await page.fill('#login-token', token);
  await page.click('#login-submit');
  return page;
}
