// SPDX-License-Identifier: AGPL-3.0-or-later
// Browser tests of issue #19, the tracker complete: no flicker (frames sampled at every
// requestAnimationFrame during load, Performance API marks, the swap time after
// DOMContentLoaded printed), the 300 ms anti-flicker cap with the API down, never for crawlers;
// form submissions as form_submit events; the iframe bridge to a page on another origin (and its
// refusal of a parent that is not allowed); a number removed from its pool gone for a returning
// visitor; the GA client id reported from the _ga cookies; the size budgets of /dni.js and
// /dni-frame.js.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import {
  launch, humanContext, serverWithPool, fixtureServer, parts, visitAnswer, recordVisitApi, waitFor,
  watchConsole, html, GOOGLEBOT_UA, TARGET, POOL_NUMBERS,
} from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

const BODY = `<p id="n">Call (555) 555-0100 today</p><a id="tel" href="tel:+15555550100">call us</a>` +
  '<p>Licensed plumbers, on the road in 60 minutes.</p>'.repeat(100);

// Samples #n at every animation frame (what the frame paints: rAF callbacks run right before
// style, layout and paint) from the document's start: [ms, text, visibility].
function sampleFrames() {
  window.__frames = [];
  const tick = () => {
    const e = document.getElementById('n');
    window.__frames.push([performance.now(), e ? e.textContent : null, e ? getComputedStyle(e).visibility : null]);
    if (performance.now() < 3000) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

async function sampled(browserOrCtx, opts) {
  const ctx = await humanContext(browserOrCtx, opts);
  await ctx.addInitScript(sampleFrames);
  return ctx;
}

function get(url, headers = {}) {
  return new Promise((ok, fail) => {
    http.get(url, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', fail);
  });
}

// The first paint, DOMContentLoaded and the tracker's first swap mark, in ms since navigation.
const timings = (page) => page.evaluate(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fp = performance.getEntriesByName('first-paint')[0];
  const swap = performance.getEntriesByName('opendni:swap')[0];
  return { dcl: nav.domContentLoadedEventStart, fp: fp ? fp.startTime : null, swap: swap ? swap.startTime : null };
});

async function tracked(t, { origins = [], ttl, cooldown } = {}) {
  const routes = {};
  const fx = await fixtureServer(t, routes);
  const s = await serverWithPool(t, { origins: [fx.origin, ...origins], ttl, cooldown });
  routes['/p.html'] = { body: html(`<script src="${s.url}/dni.js" data-account="${s.accountId}" async></script>`, BODY) };
  return { s, fx, routes, url: fx.origin + '/p.html' };
}

test('no flicker: a returning visitor sees the tracking number, visible, from the first painted frame', async (t) => {
  const { url } = await tracked(t);
  const ctx = await sampled(browser);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  const first = visitAnswer(page);
  await page.goto(url);
  const number = (await first).numbers[0].number;
  const shown = parts(number);
  await page.waitForFunction((p) => document.getElementById('n').textContent.includes(p), shown[2]);

  const after = [];
  for (let i = 0; i < 5; i++) {
    const answered = visitAnswer(page);
    await page.goto(url + '?view=' + i); // a new page view of the same visitor, script from the cache
    await answered;
    await page.waitForFunction(() => window.__frames.length > 5 && performance.getEntriesByName('first-paint').length);
    const frames = await page.evaluate(() => window.__frames.filter((f) => f[1] !== null));
    const tm = await timings(page);
    assert.ok(frames.length > 0, 'frames were sampled');
    for (const [ms, text, vis] of frames) {
      assert.equal(text, `Call (${shown[0]}) ${shown[1]}-${shown[2]} today`, `frame at ${ms.toFixed(1)} ms shows ${text}`);
      assert.equal(vis, 'visible', `frame at ${ms.toFixed(1)} ms: the number is ${vis}`);
    }
    assert.ok(tm.swap !== null && tm.swap <= tm.fp, `swapped (${tm.swap} ms) before the first paint (${tm.fp} ms)`);
    after.push(tm.swap - tm.dcl);
    console.log(`returning visitor, view ${i + 1}: swap ${tm.swap.toFixed(1)} ms, DOMContentLoaded ${tm.dcl.toFixed(1)} ms ` +
      `(swap - DCL ${(tm.swap - tm.dcl).toFixed(1)} ms), first paint ${tm.fp.toFixed(1)} ms, ${frames.length} frames, all showing ${number}`);
  }
  after.sort((a, b) => a - b);
  const median = after[2];
  console.log(`swap after DOMContentLoaded, returning visitor: median ${median.toFixed(1)} ms, max ${after[4].toFixed(1)} ms (goal <= 50 ms)`);
  assert.ok(median <= 50, `median swap ${median} ms after DOMContentLoaded > 50 ms`);
});

test('anti-flicker: with the API down the static number is hidden at most ~300 ms; never for a crawler', async (t) => {
  const { s } = await tracked(t);
  const script = (await get(s.url + '/dni.js')).body;
  // A site whose opendni accepts connections but never answers the visit API.
  const hung = [];
  t.after(() => hung.forEach((r) => r.destroy()));
  const routes = {
    '/dni.js': { type: 'application/javascript', body: script },
    '/v1/visits': (req, res) => { hung.push(res); },
  };
  const fx = await fixtureServer(t, routes);
  routes['/p.html'] = { body: html(`<script src="/dni.js" data-account="${s.accountId}" async></script>`, BODY) };

  const ctx = await sampled(browser);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  await page.goto(fx.origin + '/p.html');
  await waitFor(() => hung.length > 0, 5000, 'the visit request');
  await page.waitForFunction(() => window.__frames.some((f) => f[2] == 'hidden') &&
    window.__frames.some((f, i, a) => f[2] == 'visible' && a.slice(0, i).some((g) => g[2] == 'hidden')));
  const frames = await page.evaluate(() => window.__frames.filter((f) => f[1] !== null));
  const hid = frames.find((f) => f[2] == 'hidden')[0];
  const back = frames.find((f) => f[0] > hid && f[2] == 'visible')[0];
  console.log(`API down: static number hidden from frame ${hid.toFixed(1)} ms to ${back.toFixed(1)} ms (${(back - hid).toFixed(1)} ms; cap 300 ms, the API budget is 2 s)`);
  assert.ok(back - hid < 1000, `hidden ${back - hid} ms: the 300 ms cap, not the 2 s request budget, must reveal it`);
  assert.equal(await page.textContent('#n'), 'Call (555) 555-0100 today', 'the static number stays');

  const bot = await sampled(browser, { userAgent: GOOGLEBOT_UA });
  t.after(() => bot.close());
  const bp = await bot.newPage();
  await bp.goto(fx.origin + '/p.html');
  await bp.waitForFunction(() => window.__frames.length > 20);
  const bf = await bp.evaluate(() => window.__frames.filter((f) => f[1] !== null));
  assert.ok(bf.length > 0 && bf.every((f) => f[2] == 'visible'), 'a crawler never has the number hidden');
});

test('forms: a submission is a form_submit event with the form and page, values only of marked fields', async (t) => {
  const { s, fx, routes } = await tracked(t);
  routes['/form.html'] = {
    body: html(`<script src="${s.url}/dni.js" data-account="${s.accountId}" async></script>`,
      `${BODY}<form id="quote" action="/thanks.html" method="get">
        <input name="email" value="jane@example.com"><input name="phone" value="5125550123">
        <select name="service" data-dni-capture><option value="drain" selected>Drain</option></select>
        <button id="send">Send</button></form>`),
  };
  routes['/thanks.html'] = { body: html('', '<p>Thanks</p>') };
  const ctx = await humanContext(browser);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  const seen = recordVisitApi(page);
  const answer = visitAnswer(page);
  await page.goto(fx.origin + '/form.html');
  const a = await answer;
  await page.waitForFunction(() => !document.getElementById('n').textContent.includes('0100'));
  await Promise.all([page.waitForURL(/thanks/), page.click('#send')]);
  const ev = await waitFor(() => seen.find((r) => r.path.endsWith('/events') && r.body && r.body.type == 'form_submit'), 5000, 'form_submit');
  assert.equal(ev.body.number, null);
  assert.deepEqual(JSON.parse(ev.body.detail), { form: 'quote', page: '/form.html', fields: { service: 'drain' } });
  assert.ok(!ev.body.detail.includes('jane') && !ev.body.detail.includes('5125550123'), 'unmarked field values never leave the page');
  const stored = await waitFor(async () => {
    const r = await s.api('GET', '/v1/sessions/' + a.session_id);
    return r.json.events.find((e) => e.type == 'form_submit');
  }, 5000, 'the stored event');
  assert.equal(stored.detail, ev.body.detail, 'the server kept it for reports and the journey');
});

test('GA4: the _ga client id and the GA session id are reported once as a ga_client event and kept on the session', async (t) => {
  const { s, fx, routes } = await tracked(t);
  // What gtag.js leaves: _ga (client id after GA1.1.) and _ga_<stream> (GS1 or GS2 session id).
  routes['/ga.html'] = {
    body: html(`<script>document.cookie='_ga=GA1.1.1234567890.1736870000; path=/';
      document.cookie='_ga_ABC123=GS2.1.s1736871111$o3$g1$t1736871200; path=/'</script>
      <script src="${s.url}/dni.js" data-account="${s.accountId}" async></script>`, BODY),
  };
  const ctx = await humanContext(browser);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  const seen = recordVisitApi(page);
  const answer = visitAnswer(page);
  await page.goto(fx.origin + '/ga.html');
  const a = await answer;
  const ev = await waitFor(() => seen.find((r) => r.path.endsWith('/events') && r.body && r.body.type == 'ga_client'), 5000, 'ga_client');
  assert.equal(ev.body.detail, '1234567890.1736870000 1736871111');
  const stored = await waitFor(async () => {
    const r = await s.api('GET', '/v1/sessions/' + a.session_id);
    return r.json.events.find((e) => e.type == 'ga_client');
  }, 5000, 'the stored event');
  assert.equal(stored.detail, '1234567890.1736870000 1736871111');
  // The next page view of the same session does not repeat it.
  const again = visitAnswer(page);
  await page.goto(fx.origin + '/ga.html');
  assert.equal((await again).session_id, a.session_id);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(seen.filter((r) => r.path.endsWith('/events') && r.body && r.body.type == 'ga_client').length, 1);
});

test('iframes: a widget on another origin shows the parent\'s number; a parent that is not allowed is ignored', async (t) => {
  const { s, fx, routes } = await tracked(t);
  const framed = {};
  const widget = await fixtureServer(t, framed); // another port: another origin
  framed['/widget.html'] = {
    body: html(`<script src="${s.url}/dni-frame.js" data-account="${s.accountId}"></script>`,
      `<p id="fn">Book or call <b>555.555.0100</b></p><a id="ft" href="tel:555-555-0100">call</a>`),
  };
  routes['/embed.html'] = {
    body: html(`<script src="${s.url}/dni.js" data-account="${s.accountId}" async></script>`,
      `${BODY}<iframe id="w" src="${widget.origin}/widget.html"></iframe>`),
  };
  const ctx = await humanContext(browser);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  const seen = recordVisitApi(page);
  const answer = visitAnswer(page);
  await page.goto(fx.origin + '/embed.html');
  const number = (await answer).numbers[0].number;
  const p = parts(number);
  const frame = page.frame({ url: /widget\.html/ });
  await frame.waitForFunction((want) => document.getElementById('fn').textContent == want, `Book or call ${p.join('.')}`);
  assert.equal(await frame.getAttribute('#ft', 'href'), 'tel:' + number);
  await frame.click('#ft').catch(() => {}); // the dialer may not open in headless chromium
  const ev = await waitFor(() => seen.find((r) => r.path.endsWith('/events') && r.body && r.body.type == 'tel_click'), 5000, 'the frame\'s tel_click');
  assert.equal(ev.body.number, number, 'the parent reported the frame\'s click for its session');

  // A page on an origin the account does not allow embeds the widget and posts it a number.
  const evil = {};
  const bad = await fixtureServer(t, evil);
  evil['/evil.html'] = {
    body: html('', `<iframe id="w" src="${widget.origin}/widget.html"></iframe>
      <script>addEventListener('message', function (e) {
        if (e.data && e.data.odni == 'hi') e.source.postMessage({ odni: 'nums', numbers: [{ target: '+15555550100',
          number: '+15555550199', display: '(555) 555-0199', kind: 'pool' }] }, '*');
      });</script>`),
  };
  const evilPage = await ctx.newPage();
  const con = watchConsole(evilPage);
  const said = new Promise((ok) => evilPage.on('console', (m) => { if (m.text().includes('parent origin not allowed')) ok(); }));
  await evilPage.goto(bad.origin + '/evil.html');
  await said;
  const ef = evilPage.frame({ url: /widget\.html/ });
  assert.equal(await ef.textContent('#fn'), 'Book or call 555.555.0100', 'the widget kept its static number');
  assert.equal(await ef.getAttribute('#ft', 'href'), 'tel:555-555-0100');
  assert.deepEqual(con.errors, []);
});

test('stale numbers: a number moved out of its pool is never shown again to a returning visitor', async (t) => {
  const { s, url } = await tracked(t, { ttl: 1, cooldown: 1 });
  const ctx = await sampled(browser);
  t.after(() => ctx.close());
  // No pings: a ping's renewal is stored a minute ahead (crash safety), which would keep the
  // number undeletable that long.
  await ctx.route('**/v1/visits/*/ping', (r) => r.abort());
  let page = await ctx.newPage();
  const first = visitAnswer(page);
  await page.goto(url);
  const old = (await first).numbers[0];
  await page.waitForFunction((p) => document.getElementById('n').textContent.includes(p), parts(old.number)[2]);
  // The tab stays open, its pings failing (closing it would send a beacon ping); the lease ends
  // after its 1 s ttl.

  // Move the number to another pool once its lease has ended (409 until then).
  const list = (await s.api('GET', '/v1/numbers')).json;
  const row = (list.numbers || list).find((n) => n.number == old.number);
  let last = null;
  await waitFor(async () => (last = await s.api('DELETE', '/v1/numbers/' + row.id)).status == 204, 10000, 'the lease to end')
    .catch((e) => { throw new Error(e.message + ': ' + last.text + ' ' + JSON.stringify(row)); });
  const other = await s.api('POST', '/v1/pools', { name: 'other', target: '+15555550200', forward_to: '+15555550200' });
  assert.equal((await s.api('POST', '/v1/numbers', { number: old.number, pool: other.json.id })).status, 201);

  page = await ctx.newPage();
  const again = visitAnswer(page);
  await page.goto(url + '?back=1');
  const now = (await again).numbers[0];
  assert.notEqual(now.number, old.number);
  assert.ok(POOL_NUMBERS.includes(now.number));
  assert.notEqual(now.version, old.version, 'the pool\'s version changed');
  await page.waitForFunction((p) => document.getElementById('n').textContent.includes(p), parts(now.number)[2]);
  const frames = await page.evaluate(() => window.__frames.filter((f) => f[1] !== null));
  const o = parts(old.number);
  assert.ok(frames.every((f) => !f[1].includes(`${o[1]}-${o[2]}`)), 'no frame showed the moved number');
  // Stored for the target: only its current number (the moved one now serves +15555550200).
  const stored = JSON.parse(await page.evaluate(() => localStorage.getItem('_odni_')));
  assert.deepEqual(stored.n.filter((n) => n.target == TARGET).map((n) => [n.number, n.version]), [[now.number, now.version]]);
  // The script a browser or CDN caches holds no number at all.
  const js = (await get(s.url + '/dni.js')).body.toString();
  for (const n of [TARGET, ...POOL_NUMBERS]) assert.ok(!js.includes(n.slice(2)), `the script holds no ${n}`);
});

test('size: /dni.js within 4,608 bytes gzipped, /dni-frame.js apart; both cacheable and revalidated', async (t) => {
  const { s } = await tracked(t);
  for (const [path, max] of [['/dni.js', 4608], ['/dni-frame.js', 2048]]) {
    const gz = await get(s.url + path, { 'Accept-Encoding': 'gzip' });
    assert.equal(gz.status, 200);
    assert.equal(gz.headers['content-encoding'], 'gzip');
    console.log(`${path}: ${gz.body.length} bytes gzipped (budget ${max}), ${zlib.gunzipSync(gz.body).length} minified`);
    assert.ok(gz.body.length <= max, `${path}: ${gz.body.length} bytes gzipped > ${max}`);
    assert.match(gz.headers['cache-control'], /max-age=300, stale-while-revalidate=86400/);
    assert.ok(gz.headers.etag);
  }
});
