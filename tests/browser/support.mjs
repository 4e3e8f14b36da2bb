// SPDX-License-Identifier: AGPL-3.0-or-later
// Shared pieces of the browser suite (tests/browser/*.test.mjs): Debian's chromium driven by
// playwright-core, the real `opendni serve` (via tests/helpers/server.mjs), a pool to lease from,
// a tiny fixture web server on another origin, and helpers to watch the tracker's requests.
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../helpers/server.mjs';

export const SRC = process.env.OPENDNI_SRC || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const TARGET = '+15555550100';
// The test binary (base/testhooks.h: a clock tests can move), which ctest names; else beside BIN.
export const TEST_BIN = process.env.OPENDNI_TEST_BIN ||
  path.join(path.dirname(process.env.OPENDNI_BIN || path.join(SRC, 'build/opendni')), 'opendni-test');
// Ten pool numbers, +15555550101 … +15555550110, as in the demo.
export const POOL_NUMBERS = Array.from({ length: 10 }, (_, i) => '+1555555' + String(101 + i).padStart(4, '0'));

// A desktop Chrome without "HeadlessChrome": the server treats that token as a bot.
export const HUMAN_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
export const GOOGLEBOT_UA = 'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

// A browser context that looks like a person's: a plain Chrome UA and navigator.webdriver false
// (the tracker, like opendni's docs recommend, ignores pages driven by automation).
export async function humanContext(browser, opts = {}) {
  const ctx = await browser.newContext({ userAgent: HUMAN_UA, ...opts });
  await ctx.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'webdriver', { get: () => false });
  });
  return ctx;
}

function freePort() {
  return new Promise((ok, fail) => {
    const srv = net.createServer();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => ok(p)); });
  });
}

// opendni answers the visit API only to its account's allowed origins, its own included: pages it
// serves itself (the demo) need its URL allowed, so that server listens on a port picked first.
async function start(origins, self, bin) {
  if (!self) return startServer(origins.length ? { origins, bin } : { bin });
  for (let i = 0; ; i++) {
    const port = await freePort();
    const own = 'http://127.0.0.1:' + port;
    try {
      return await startServer({ origins: [own, ...origins], args: ['--listen', '127.0.0.1:' + port, '--demo'], bin });
    } catch (e) {
      if (i == 2) throw e; /* the port was taken meanwhile: try another */
    }
  }
}

// Starts opendni (cleaned up by t.after) with a pool on TARGET holding POOL_NUMBERS. self: --demo, and the
// server's own origin is allowed (for the demo pages it serves). bin: serve with another binary
// (TEST_BIN: the test binary, whose clock a test can move).
export async function serverWithPool(t, { origins = [], ttl = 1200, cooldown = 1800, self = false, bin } = {}) {
  const s = await start(origins, self, bin);
  t.after(() => (s.cleanup ? s.cleanup() : s.stop()));
  const pool = await s.api('POST', '/v1/pools', {
    name: 'website', target: TARGET, forward_to: TARGET, lease_ttl: ttl, cooldown, on_exhaust: 'share',
  });
  if (pool.status != 201) throw new Error('pool create: ' + pool.status + ' ' + JSON.stringify(pool.json));
  for (const n of POOL_NUMBERS) {
    const r = await s.api('POST', '/v1/numbers', { number: n, pool: pool.json.id });
    if (r.status != 201) throw new Error('number create: ' + r.status + ' ' + JSON.stringify(r.json));
  }
  s.poolId = pool.json.id;
  return s;
}

// A fixture web server: routes maps a path to {body, type, headers} or a function(req, res).
// Returns {origin, stop}; stopped by t.after.
export async function fixtureServer(t, routes) {
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const r = routes[u.pathname];
    if (typeof r == 'function') return r(req, res);
    if (!r) { res.writeHead(404); return res.end('not found'); }
    res.writeHead(200, { 'Content-Type': r.type || 'text/html; charset=utf-8', ...(r.headers || {}) });
    res.end(r.body);
  });
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  const origin = 'http://127.0.0.1:' + srv.address().port;
  const stop = () => new Promise((ok) => { srv.closeAllConnections(); srv.close(() => ok()); });
  t.after(stop);
  return { origin, stop };
}

// The digits of an E.164 NANP number split as area, exchange, line: '+15555550101' ->
// ['555', '555', '0101'].
export function parts(e164) {
  const d = e164.replace(/\D/g, '').slice(-10);
  return [d.slice(0, 3), d.slice(3, 6), d.slice(6)];
}

// Resolves with the first answer to POST /v1/visits that the page receives.
export function visitAnswer(page) {
  return page.waitForResponse((r) => new URL(r.url()).pathname == '/v1/visits' && r.request().method() == 'POST')
    .then((r) => r.json());
}

// Records every request the tracker makes to the visit API: [{path, body}].
export function recordVisitApi(page) {
  const seen = [];
  page.on('request', (r) => {
    const p = new URL(r.url()).pathname;
    if (p.startsWith('/v1/visits')) {
      let body = null;
      try { body = JSON.parse(r.postData() || 'null'); } catch (e) { body = r.postData(); }
      seen.push({ path: p, body });
    }
  });
  return seen;
}

// Waits until pred() holds over recorded requests, polling (the tracker sends beacons).
export async function waitFor(pred, ms = 5000, what = 'condition') {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await pred();
    if (v) return v;
    await new Promise((ok) => setTimeout(ok, 50));
  }
  throw new Error('timed out waiting for ' + what);
}

// Collects uncaught page errors and the tracker's own console lines.
export function watchConsole(page) {
  const out = { errors: [], tracker: [] };
  page.on('pageerror', (e) => out.errors.push(String(e)));
  page.on('console', (m) => { if (m.text().includes('[opendni]')) out.tracker.push(m.type()); });
  return out;
}

export function html(head, body) {
  return `<!doctype html><html><head><meta charset="utf-8">${head}</head><body>${body}</body></html>`;
}
