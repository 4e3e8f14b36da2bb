// SPDX-License-Identifier: AGPL-3.0-or-later
// Browser tests of the tracker when it must do nothing or fails: crawlers (by User-Agent in the
// page and at the server), automation, a stopped server, a slow server (2 s budget), an unknown
// account, blocked cookies and storage; and a strict Content-Security-Policy page that must work
// (anti-flicker included) without a single violation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  launch, humanContext, serverWithPool, fixtureServer, parts, visitAnswer, recordVisitApi, waitFor,
  watchConsole, html, HUMAN_UA, GOOGLEBOT_UA,
} from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

const BODY = `<p id="n">Call (555) 555-0100 today</p><a id="tel" href="tel:+15555550100">call</a>`;
const CALLBACK = `window.OpenDNI = window.OpenDNI || [];
  OpenDNI.push({ onSwap: function (list, err) {
    (window.swaps = window.swaps || []).push({ list: list, err: err ? String(err.name + ': ' + err.message) : null }); } });`;

// A fixture page at /p.html loading the tracker from scriptOrigin (opendni, or a proxy of it).
async function site(t, { attrs = '', headers = {} } = {}) {
  const routes = {};
  const fx = await fixtureServer(t, routes);
  const s = await serverWithPool(t, { origins: [fx.origin] });
  fx.page = (scriptOrigin, account = s.accountId) => {
    routes['/cb.js'] = { type: 'text/javascript', body: CALLBACK };
    routes['/p.html'] = {
      headers,
      body: html(`<script src="/cb.js"></script><script src="${scriptOrigin}/dni.js" data-account="${account}" ${attrs} async></script>`, BODY),
    };
    return fx.origin + '/p.html';
  };
  return { s, fx, routes };
}

async function newPage(t, ctxPromise) {
  const ctx = await ctxPromise;
  t.after(() => ctx.close());
  return ctx.newPage();
}

// The page must still show the static number, have no page errors and no tracker noise above debug.
async function assertStatic(page, con) {
  assert.equal(await page.textContent('#n'), 'Call (555) 555-0100 today');
  assert.equal(await page.getAttribute('#tel', 'href'), 'tel:+15555550100');
  assert.deepEqual(con.errors, []);
  assert.ok(con.tracker.every((type) => type == 'debug'), 'tracker logs at debug only: ' + con.tracker);
}

async function leased(s) {
  const h = await s.api('GET', `/v1/pools/${s.poolId}/health`);
  assert.equal(h.status, 200);
  return h.json.leased;
}

test('a crawler user agent: no request, no cookie, no swap', async (t) => {
  const { s, fx } = await site(t);
  const page = await newPage(t, browser.newContext({ userAgent: GOOGLEBOT_UA }));
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'webdriver', { get: () => false }));
  const con = watchConsole(page);
  const seen = recordVisitApi(page);
  await page.goto(fx.page(s.url), { waitUntil: 'load' });
  await page.waitForTimeout(700);
  await assertStatic(page, con);
  assert.deepEqual(seen, []);
  assert.deepEqual((await page.context().cookies()).map((c) => c.name), []);
  assert.equal(await leased(s), 0);
});

test('a crawler recognised only by the server (bot:true): nothing is swapped or stored', async (t) => {
  const { s, fx } = await site(t);
  // The page sees a person's UA; the HTTP requests carry Googlebot's, as a server-side check sees.
  const page = await newPage(t, humanContext(browser, { extraHTTPHeaders: { 'User-Agent': GOOGLEBOT_UA } }));
  const con = watchConsole(page);
  const answer = visitAnswer(page);
  await page.goto(fx.page(s.url));
  const r = await answer;
  assert.equal(r.bot, true);
  assert.equal(r.session_id ?? null, null);
  assert.equal(r.numbers[0].kind, 'static');
  await page.waitForTimeout(300);
  await assertStatic(page, con);
  assert.deepEqual((await page.context().cookies()).map((c) => c.name).filter((n) => n.startsWith('_odni')), []);
  assert.equal(await page.evaluate(() => localStorage.getItem('_odni_')), null);
  assert.equal(await leased(s), 0);
});

test('a page driven by automation (navigator.webdriver) is left alone', async (t) => {
  const { s, fx } = await site(t);
  const page = await newPage(t, browser.newContext({ userAgent: HUMAN_UA }));
  assert.equal(await page.evaluate(() => navigator.webdriver), true);
  const con = watchConsole(page);
  const seen = recordVisitApi(page);
  await page.goto(fx.page(s.url), { waitUntil: 'load' });
  await page.waitForTimeout(500);
  await assertStatic(page, con);
  assert.deepEqual(seen, []);
});

test('server stopped: the cached script runs, static numbers stay, onSwap gets the error', async (t) => {
  const { s, fx } = await site(t);
  const url = fx.page(s.url);
  const script = await (await fetch(s.url + '/dni.js')).text();
  await s.stop();
  const page = await newPage(t, humanContext(browser));
  await page.route(s.url + '/dni.js', (r) => r.fulfill({ body: script, contentType: 'application/javascript' }));
  const con = watchConsole(page);
  await page.goto(url);
  await page.waitForFunction(() => window.swaps && window.swaps.length);
  const swaps = await page.evaluate(() => window.swaps);
  assert.equal(swaps[0].list, null);
  assert.match(swaps[0].err, /TypeError|fetch/i);
  await page.waitForTimeout(200);
  await assertStatic(page, con);
});

test('an unknown account (404): static numbers stay, onSwap gets the error', async (t) => {
  const { s, fx } = await site(t);
  const page = await newPage(t, humanContext(browser));
  const con = watchConsole(page);
  const seen = recordVisitApi(page);
  await page.goto(fx.page(s.url, 'acc_does_not_exist'));
  await page.waitForFunction(() => window.swaps && window.swaps.length);
  // Without CORS headers on the 404 (the account and so its origins are unknown) the browser
  // reports a network error; with them, "HTTP 404". Either way onSwap hears of it.
  assert.match((await page.evaluate(() => window.swaps))[0].err, /404|TypeError/);
  assert.equal(seen[0].body.account, 'acc_does_not_exist');
  assert.equal((await s.visit({ account: 'acc_does_not_exist', url: 'http://x/' })).status, 404);
  await assertStatic(page, con);
});

test('a slow server (> 2 s) is abandoned: static numbers stay, even when the answer comes', async (t) => {
  const { s, fx } = await site(t, { attrs: 'data-anti-flicker' });
  const target = new URL(s.url);
  // A proxy in front of opendni that holds visit answers for 3 s.
  const proxy = http.createServer((req, res) => {
    const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (ur) => {
      const delay = req.url.startsWith('/v1/visits') ? 3000 : 0;
      setTimeout(() => { res.writeHead(ur.statusCode, ur.headers); ur.pipe(res); }, delay);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise((ok) => proxy.listen(0, '127.0.0.1', ok));
  t.after(() => new Promise((ok) => { proxy.closeAllConnections(); proxy.close(() => ok()); }));
  const page = await newPage(t, humanContext(browser));
  await page.addInitScript(() => {
    window.hid = [];
    new MutationObserver((recs) => recs.forEach((r) => {
      if (r.target.style.visibility == 'hidden') window.hid.push(r.target.id || r.target.tagName);
    })).observe(document, { attributes: true, attributeFilter: ['style'], subtree: true });
  });
  const con = watchConsole(page);
  const started = Date.now();
  await page.goto(fx.page('http://127.0.0.1:' + proxy.address().port));
  await page.waitForFunction(() => window.swaps && window.swaps.length, null, { timeout: 5000 });
  const waited = Date.now() - started;
  assert.ok(waited < 2900, `gave up after ${waited} ms`);
  assert.match((await page.evaluate(() => window.swaps))[0].err, /Abort/);
  assert.deepEqual(await page.evaluate(() => window.hid), ['n'], 'anti-flicker hid the number, only it');
  assert.equal(await page.$eval('#n', (e) => getComputedStyle(e).visibility), 'visible', 'anti-flicker released');
  await page.waitForTimeout(3500 - (Date.now() - started));
  await assertStatic(page, con);
});

test('blocked cookies and storage: no session is made, static numbers stay', async (t) => {
  const { s, fx } = await site(t);
  const page = await newPage(t, humanContext(browser));
  await page.addInitScript(() => {
    const no = () => { throw new DOMException('blocked', 'SecurityError'); };
    Object.defineProperty(window, 'localStorage', { get: no });
    Object.defineProperty(Document.prototype, 'cookie', { get: no, set: no });
  });
  const con = watchConsole(page);
  const seen = recordVisitApi(page);
  await page.goto(fx.page(s.url), { waitUntil: 'load' });
  await page.waitForTimeout(500);
  await assertStatic(page, con);
  assert.deepEqual(seen, []);
  assert.equal(await leased(s), 0);
});

test('a strict CSP page (no inline script or style) is swapped without violations', async (t) => {
  const routes = {};
  const fx = await fixtureServer(t, routes);
  const s = await serverWithPool(t, { origins: [fx.origin] });
  const csp = `default-src 'none'; script-src ${s.url}; connect-src ${s.url}; style-src 'self'; img-src 'self'`;
  routes['/csp.html'] = {
    headers: { 'Content-Security-Policy': csp },
    body: html(`<script src="${s.url}/dni.js" data-account="${s.accountId}" data-anti-flicker async></script>`,
      BODY + '<p id="late-box"></p><span id="dp" data-dni-phone=""></span>'),
  };
  const ctx = await humanContext(browser);
  t.after(() => ctx.close());
  await ctx.addInitScript(() => {
    window.violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));
  });
  const page = await ctx.newPage();
  const con = watchConsole(page);
  const answer = visitAnswer(page);
  await page.goto(fx.origin + '/csp.html');
  const r = await answer;
  const [a, b, c] = parts(r.numbers[0].number);
  await page.waitForFunction((w) => document.querySelector('#n').textContent == w, `Call (${a}) ${b}-${c} today`);
  assert.equal(await page.getAttribute('#tel', 'href'), 'tel:' + r.numbers[0].number);
  assert.equal(await page.textContent('#dp'), r.numbers[0].display);
  assert.equal(await page.$eval('#n', (e) => getComputedStyle(e).visibility), 'visible');
  assert.deepEqual(await page.evaluate(() => window.violations), []);
  assert.deepEqual(con.errors, []);
});
