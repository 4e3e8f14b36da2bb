// SPDX-License-Identifier: AGPL-3.0-or-later
// Browser tests on the demo site that opendni serves at /demo/: the swap on a realistic page and
// its late chat widget, a returning visitor keeping the number across reloads, pages and tabs,
// a tel: click reaching the server, how /dni.js is served (size budget, ETag, cache, gzip), and
// the before/after screenshots in docs/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import fs from 'node:fs';
import path from 'node:path';
import {
  launch, humanContext, serverWithPool, parts, visitAnswer, recordVisitApi, waitFor, watchConsole,
  SRC, TARGET, POOL_NUMBERS,
} from './support.mjs';
import { SHOTS } from '../helpers/server.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

const UTM = '?utm_source=google&utm_medium=cpc&utm_campaign=spring&utm_term=emergency+plumber&gclid=TEST123';

function get(url, headers = {}) {
  return new Promise((ok, fail) => {
    http.get(url, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', fail);
  });
}

// The demo pages say data-account="acc_demo" (what `make run` creates); the test account differs.
async function demoContext(s, opts) {
  const ctx = await humanContext(browser, { viewport: { width: 1280, height: 800 }, ...opts });
  await ctx.route(s.url + '/demo/**', async (route) => {
    try {
      const resp = await route.fetch();
      const type = resp.headers()['content-type'] || '';
      if (!type.startsWith('text/html')) return await route.fulfill({ response: resp });
      const body = (await resp.text()).replace('data-account="acc_demo"', `data-account="${s.accountId}"`);
      return await route.fulfill({ response: resp, body });
    } catch (e) {
      return route.abort().catch(() => {}); /* the test is over and its server stopped */
    }
  });
  return ctx;
}

test('/dni.js: JavaScript, gzip within the 4.5 KB budget, ETag and 5-minute cache', async (t) => {
  const s = await serverWithPool(t);
  const gz = await get(s.url + '/dni.js', { 'Accept-Encoding': 'gzip' });
  assert.equal(gz.status, 200);
  assert.match(gz.headers['content-type'], /^(application|text)\/javascript/);
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.ok(gz.body.length <= 4608,
    `gzip size ${gz.body.length} > 4608 bytes (the build minifies the tracker with esbuild from node_modules: npm ci)`);
  assert.match(gz.headers['cache-control'], /max-age=300/);
  assert.ok(gz.headers.etag, 'ETag');
  const plain = await get(s.url + '/dni.js');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(zlib.gunzipSync(gz.body).toString(), plain.body.toString(), 'same script either way');
  assert.match(plain.body.toString(), /OpenDNI/);
  const again = await get(s.url + '/dni.js', { 'If-None-Match': gz.headers.etag });
  assert.equal(again.status, 304);
});

test('the demo page swaps every visible number, keeps JSON-LD, and writes the screenshots', async (t) => {
  const s = await serverWithPool(t, { self: true });
  const ctx = await demoContext(s);
  t.after(() => ctx.close());
  const dir = SHOTS;
  fs.mkdirSync(dir, { recursive: true });

  const plain = await ctx.newPage();
  await plain.route('**/dni.js', (r) => r.abort());
  await plain.goto(s.url + '/demo/' + UTM);
  await plain.waitForSelector('.chat');
  assert.equal(await plain.textContent('.hero-phone'), '555-555-0100', 'static number without the tracker');
  await plain.screenshot({ path: path.join(dir, 'demo-before.png') });
  await plain.close();

  const page = await ctx.newPage();
  const con = watchConsole(page);
  const seen = recordVisitApi(page);
  const answer = visitAnswer(page);
  await page.goto(s.url + '/demo/' + UTM);
  const r = await answer;
  assert.equal(seen.find((x) => x.path == '/v1/visits').body.url, s.url + '/demo/' + UTM, 'the landing URL');
  assert.equal(r.numbers[0].target, TARGET);
  assert.ok(POOL_NUMBERS.includes(r.numbers[0].number));
  assert.equal(r.source.source, 'google');
  assert.equal(r.source.medium, 'cpc');
  const [a, b, c] = parts(r.numbers[0].number);
  await page.waitForSelector('.chat');
  await page.waitForFunction((w) => document.querySelector('.chat-phone').textContent == w, `${a}-${b}-${c}`);
  assert.equal(await page.textContent('.top-phone'), `24/7 (${a}) ${b}-${c}`, 'header, split across spans');
  assert.equal(await page.textContent('.hero-phone'), `${a}-${b}-${c}`);
  const spans = await page.$$eval('.nowrap', (els) => els.map((e) => e.textContent));
  assert.deepEqual(spans, [`${a}.${b}.${c}`, `+1 ${a} ${b} ${c}`]);
  assert.equal(await page.textContent('footer a'), `1-${a}-${b}-${c}`);
  const hrefs = await page.$$eval('a[href^="tel:"]', (els) => [...new Set(els.map((e) => e.getAttribute('href')))]);
  assert.deepEqual(hrefs, ['tel:' + r.numbers[0].number]);
  const ld = JSON.parse(await page.textContent('script[type="application/ld+json"]'));
  assert.equal(ld.telephone, '+1-555-555-0100');
  assert.match(await page.title(), /\(555\) 555-0100/);
  await page.screenshot({ path: path.join(dir, 'demo-after.png') });
  assert.deepEqual(con.errors, []);
  assert.ok(fs.statSync(path.join(dir, 'demo-before.png')).size > 1000);
});

test('a returning visitor keeps the number across reloads, pages and tabs', async (t) => {
  const s = await serverWithPool(t, { self: true });
  const ctx = await demoContext(s);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  let answer = visitAnswer(page);
  await page.goto(s.url + '/demo/' + UTM);
  const first = await answer;
  const shown = () => page.textContent('.hero-phone');
  const [a, b, c] = parts(first.numbers[0].number);
  await page.waitForFunction((w) => document.querySelector('.hero-phone').textContent == w, `${a}-${b}-${c}`);

  const seen = recordVisitApi(page);
  answer = visitAnswer(page);
  await page.reload();
  const second = await answer;
  assert.equal(seen.find((x) => x.path == '/v1/visits').body.session_id, first.session_id, 'sends its session');
  assert.equal(seen.find((x) => x.path == '/v1/visits').body.visitor_id, first.visitor_id, 'and its visitor');
  assert.equal(second.session_id, first.session_id);
  assert.equal(second.numbers[0].number, first.numbers[0].number);
  assert.equal(await shown(), `${a}-${b}-${c}`);

  const tab = await ctx.newPage();
  answer = visitAnswer(tab);
  await tab.goto(s.url + '/demo/services.html');
  const third = await answer;
  assert.equal(third.session_id, first.session_id);
  await tab.waitForFunction((w) => document.querySelector('.hero-phone').textContent == w, `(${a}) ${b}-${c}`);

  const cookies = await ctx.cookies();
  assert.equal(cookies.find((k) => k.name == '_odni_s').value, first.session_id);
  assert.equal(cookies.find((k) => k.name == '_odni_v').value, first.visitor_id);
  assert.equal(cookies.find((k) => k.name == '_odni_s').sameSite, 'Lax');
  const stored = JSON.parse(await page.evaluate(() => localStorage.getItem('_odni_')));
  assert.equal(stored.s, first.session_id);
  assert.equal(stored.v, first.visitor_id);

  const health = await s.api('GET', `/v1/pools/${s.poolId}/health`);
  assert.equal(health.status, 200);
  assert.equal(health.json.leased, 1, 'one visit, one leased number');

  // Another person (a fresh browser context) gets another number.
  const other = await demoContext(s);
  t.after(() => other.close());
  const p2 = await other.newPage();
  answer = visitAnswer(p2);
  await p2.goto(s.url + '/demo/');
  const fourth = await answer;
  assert.notEqual(fourth.session_id, first.session_id);
  assert.notEqual(fourth.numbers[0].number, first.numbers[0].number);
});

test('a tel: click reaches the server with the tracking number before the dialer opens', async (t) => {
  const s = await serverWithPool(t, { self: true });
  const ctx = await demoContext(s);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  const seen = recordVisitApi(page);
  const answer = visitAnswer(page);
  await page.goto(s.url + '/demo/' + UTM);
  const r = await answer;
  const n = r.numbers[0].number;
  await page.waitForFunction((w) => document.querySelector('#call-button').getAttribute('href') == w, 'tel:' + n);
  const response = page.waitForResponse((x) => x.url().endsWith('/events'));
  await page.click('#call-button', { noWaitAfter: true });
  const ev = await waitFor(() => seen.find((x) => x.path.endsWith('/events')), 5000, 'tel_click event');
  assert.equal(ev.path, `/v1/visits/${encodeURIComponent(r.session_id)}/events`);
  assert.deepEqual(ev.body, { type: 'tel_click', number: n, detail: null });
  assert.equal((await response).status(), 202, 'the server accepted it');
  // The session API shows events once it lists them (GET /v1/sessions/{id} "events").
  const got = await s.api('GET', '/v1/sessions/' + encodeURIComponent(r.session_id));
  assert.equal(got.status, 200);
  if (got.json.events) assert.ok(got.json.events.some((e) => e.type == 'tel_click' && e.number == n));
});
