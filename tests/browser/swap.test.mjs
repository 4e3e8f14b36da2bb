// SPDX-License-Identifier: AGPL-3.0-or-later
// Browser tests of what the tracker swaps and what it must leave alone, on fixture pages served
// from another origin than opendni (so CORS is exercised): every common number format, numbers
// split across inline elements, tel: links, [data-dni-phone], a custom selector with onSwap,
// content added later by a single-page app, and what is never touched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch, humanContext, serverWithPool, fixtureServer, parts, visitAnswer, recordVisitApi, waitFor,
  watchConsole, html, TARGET, POOL_NUMBERS,
} from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

const FORMATS = {
  paren: '(555) 555-0100',
  dash: '555-555-0100',
  dot: '555.555.0100',
  intl: '+1 555 555 0100',
  one: '1-555-555-0100',
  space: '555 555 0100',
};
// What each format must become for tracking number n, written from the format, not the tracker.
function expected(n) {
  const [a, b, c] = parts(n);
  return {
    paren: `(${a}) ${b}-${c}`, dash: `${a}-${b}-${c}`, dot: `${a}.${b}.${c}`,
    intl: `+1 ${a} ${b} ${c}`, one: `1-${a}-${b}-${c}`, space: `${a} ${b} ${c}`,
  };
}

const BODY = `
  ${Object.entries(FORMATS).map(([k, v]) => `<p id="f-${k}">Call ${v} today</p>`).join('\n')}
  <p id="split">Call <b>(555)</b> <span>555</span>-<i>01</i>00 now</p>
  <p id="two">Sales 555-555-0100, service (555) 555-0100.</p>
  <p id="hours">Open 24/7 (555) 555-0100 or 555-555-0100 24/7, since 2024-01-15</p>
  <a id="tel1" href="tel:+15555550100">Call us</a>
  <a id="tel2" href="tel:555-555-0100">(555) 555-0100</a>
  <span id="dp" data-dni-phone="+15555550100"></span>
  <span id="custom" class="phone-x">Phone</span>
  <p id="other">Fax (555) 555-0199</p>
  <div data-dni-noswap><p id="ns">555-555-0100</p><a id="nstel" href="tel:+15555550100">555-555-0100</a></div>
  <input id="inp" value="555-555-0100" placeholder="(555) 555-0100">
  <textarea id="ta">555-555-0100</textarea>
  <select id="sel"><option>555-555-0100</option></select>
  <img id="img" alt="555-555-0100" title="(555) 555-0100" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
  <p id="attr" data-number="555-555-0100" title="555-555-0100">see title</p>
  <noscript><p id="nos">555-555-0100</p></noscript>
  <script type="application/ld+json" id="ld">{"@type":"Plumber","telephone":"+1-555-555-0100"}</script>
  <div id="spa"></div>`;

const HEAD = `<title>Acme Plumbing 555-555-0100</title>
  <meta name="description" content="Call (555) 555-0100">
  <link rel="alternate" id="lnk" href="tel:+15555550100">`;

async function setup(t, extraHead = '', extraRoutes = {}) {
  const routes = {};
  const fx = await fixtureServer(t, routes);
  const s = await serverWithPool(t, { origins: [fx.origin] });
  const script = `<script src="${s.url}/dni.js" data-account="${s.accountId}" async></script>`;
  routes['/page.html'] = { body: html(HEAD + extraHead + script, BODY) };
  routes['/custom.js'] = {
    type: 'text/javascript',
    body: `window.OpenDNI = window.OpenDNI || [];
      OpenDNI.push({ selector: '.phone-x', onSwap: function (list, err) {
        (window.swaps = window.swaps || []).push({ list: list, err: err && String(err) }); } });`,
  };
  Object.assign(routes, extraRoutes);
  const ctx = await humanContext(browser);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  return { s, fx, ctx, page };
}

async function loadAndLease(page, url) {
  const answer = visitAnswer(page);
  await page.goto(url);
  const r = await answer;
  assert.equal(r.bot, false);
  assert.equal(r.numbers.length, 1);
  assert.equal(r.numbers[0].target, TARGET);
  assert.ok(POOL_NUMBERS.includes(r.numbers[0].number), 'leased a pool number: ' + r.numbers[0].number);
  return r;
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent);

test('every common format is swapped and keeps its format', async (t) => {
  const { fx, page } = await setup(t);
  const r = await loadAndLease(page, fx.origin + '/page.html');
  const want = expected(r.numbers[0].number);
  await page.waitForFunction((w) => document.querySelector('#f-paren').textContent == `Call ${w} today`, want.paren);
  for (const k of Object.keys(FORMATS)) assert.equal(await text(page, '#f-' + k), `Call ${want[k]} today`, k);
  const [a, b, c] = parts(r.numbers[0].number);
  assert.equal(await text(page, '#two'), `Sales ${a}-${b}-${c}, service (${a}) ${b}-${c}.`);
  assert.equal(await text(page, '#hours'), `Open 24/7 (${a}) ${b}-${c} or ${a}-${b}-${c} 24/7, since 2024-01-15`,
    'digits next to a number are not part of it');
  assert.equal(await text(page, '#other'), 'Fax (555) 555-0199', 'a number that is not a target');
});

test('a number split across inline elements is swapped and keeps its markup', async (t) => {
  const { fx, page } = await setup(t);
  const r = await loadAndLease(page, fx.origin + '/page.html');
  const [a, b, c] = parts(r.numbers[0].number);
  await page.waitForFunction((w) => document.querySelector('#split').textContent == w, `Call (${a}) ${b}-${c} now`);
  assert.equal(await page.$eval('#split', (e) => e.querySelectorAll('b,span,i').length), 3);
  assert.equal(await text(page, '#split b'), `(${a})`);
  assert.equal(await text(page, '#split span'), b);
  assert.equal(await text(page, '#split i'), c.slice(0, 2));
});

test('tel: links, [data-dni-phone] and a custom selector with onSwap', async (t) => {
  const { fx, page } = await setup(t, '<script src="/custom.js"></script>');
  const r = await loadAndLease(page, fx.origin + '/page.html');
  const n = r.numbers[0];
  await page.waitForFunction(() => window.swaps && window.swaps.length > 0);
  assert.equal(await page.$eval('#tel1', (e) => e.getAttribute('href')), 'tel:' + n.number);
  assert.equal(await page.$eval('#tel2', (e) => e.getAttribute('href')), 'tel:' + n.number, 'any format -> E.164');
  assert.equal(await text(page, '#tel1'), 'Call us', 'link text without a number is kept');
  assert.equal(await text(page, '#dp'), n.display, 'an empty [data-dni-phone] gets the display form');
  assert.equal(await text(page, '#custom'), n.display, 'the custom selector gets the display form');
  const swaps = await page.evaluate(() => window.swaps);
  assert.equal(swaps.length, 1, 'onSwap called once');
  assert.equal(swaps[0].err, null);
  assert.deepEqual(swaps[0].list.map((x) => [x.target, x.number]), [[TARGET, n.number]]);
});

test('structured data, head, form fields, attributes, noscript and noswap are untouched', async (t) => {
  const { fx, page } = await setup(t);
  const r = await loadAndLease(page, fx.origin + '/page.html');
  const [a, b, c] = parts(r.numbers[0].number);
  await page.waitForFunction((w) => document.querySelector('#f-dash').textContent.includes(w), `${a}-${b}-${c}`);
  assert.equal(await page.title(), 'Acme Plumbing 555-555-0100');
  assert.equal(await page.$eval('meta[name=description]', (e) => e.content), 'Call (555) 555-0100');
  assert.equal(await page.$eval('#lnk', (e) => e.getAttribute('href')), 'tel:+15555550100');
  assert.equal(JSON.parse(await text(page, '#ld')).telephone, '+1-555-555-0100');
  assert.equal(await page.$eval('#inp', (e) => e.value), '555-555-0100');
  assert.equal(await page.$eval('#inp', (e) => e.placeholder), '(555) 555-0100');
  assert.equal(await page.$eval('#ta', (e) => e.value), '555-555-0100');
  assert.equal(await text(page, '#sel option'), '555-555-0100');
  assert.equal(await page.$eval('#img', (e) => e.alt + '|' + e.title), '555-555-0100|(555) 555-0100');
  assert.equal(await page.$eval('#attr', (e) => e.dataset.number + '|' + e.title), '555-555-0100|555-555-0100');
  assert.equal(await page.$eval('noscript', (e) => e.textContent), '<p id="nos">555-555-0100</p>');
  assert.equal(await text(page, '#ns'), '555-555-0100');
  assert.equal(await page.$eval('#nstel', (e) => e.getAttribute('href') + '|' + e.textContent), 'tel:+15555550100|555-555-0100');
});

test('content added later by a single-page app is swapped, and the route change is reported', async (t) => {
  const { fx, page } = await setup(t);
  const seen = recordVisitApi(page);
  const r = await loadAndLease(page, fx.origin + '/page.html');
  const [a, b, c] = parts(r.numbers[0].number);
  await page.waitForFunction((w) => document.querySelector('#f-dash').textContent.includes(w), `${a}-${b}-${c}`);
  await page.evaluate(() => {
    history.pushState({}, '', '/contact');
    const el = document.createElement('section');
    el.innerHTML = '<h2>Contact</h2><p id="late">Call <span>555</span>.555.0100 or <a id="late-tel" href="tel:+15555550100">tap</a></p>';
    document.querySelector('#spa').appendChild(el);
  });
  await page.waitForFunction((w) => document.querySelector('#late').textContent == w, `Call ${a}.${b}.${c} or tap`);
  assert.equal(await page.$eval('#late-tel', (e) => e.getAttribute('href')), 'tel:' + r.numbers[0].number);
  // a text change inside existing content, as a framework re-render does
  await page.evaluate(() => { document.querySelector('#other').firstChild.data = 'Fax 555-555-0100'; });
  await page.waitForFunction((w) => document.querySelector('#other').textContent == w, `Fax ${a}-${b}-${c}`);
  const ping = await waitFor(() => seen.find((x) => x.path.endsWith('/ping')), 5000, 'route-change ping');
  assert.equal(ping.path, `/v1/visits/${encodeURIComponent(r.session_id)}/ping`);
  assert.equal(ping.body.url, fx.origin + '/contact');
});

test('copying a swapped number is reported as number_copy', async (t) => {
  const { fx, page } = await setup(t);
  const seen = recordVisitApi(page);
  const r = await loadAndLease(page, fx.origin + '/page.html');
  const [a, b, c] = parts(r.numbers[0].number);
  await page.waitForFunction((w) => document.querySelector('#f-paren').textContent.includes(w), `(${a}) ${b}-${c}`);
  await page.evaluate(() => {
    const range = document.createRange();
    range.selectNodeContents(document.querySelector('#f-paren'));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    document.dispatchEvent(new ClipboardEvent('copy', { bubbles: true }));
  });
  const ev = await waitFor(() => seen.find((x) => x.path.endsWith('/events')), 5000, 'number_copy event');
  assert.deepEqual(ev.body, { type: 'number_copy', number: r.numbers[0].number, detail: null });
});

test('a page without any target reports swap_miss; no exception reaches the page', async (t) => {
  const routes = {};
  const fx = await fixtureServer(t, routes);
  const s = await serverWithPool(t, { origins: [fx.origin] });
  routes['/empty.html'] = {
    body: html(`<script src="${s.url}/dni.js" data-account="${s.accountId}" async></script>`,
      '<p>Call our other office: 555-555-0177</p>'),
  };
  const ctx = await humanContext(browser);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  const con = watchConsole(page);
  const seen = recordVisitApi(page);
  const answer = visitAnswer(page);
  await page.goto(fx.origin + '/empty.html');
  const r = await answer;
  const ev = await waitFor(() => seen.find((x) => x.path.endsWith('/events')), 8000, 'swap_miss event');
  assert.equal(ev.path, `/v1/visits/${encodeURIComponent(r.session_id)}/events`);
  assert.equal(ev.body.type, 'swap_miss');
  assert.equal(ev.body.number, TARGET);
  assert.match(ev.body.detail, /empty\.html/);
  assert.equal(await page.textContent('p'), 'Call our other office: 555-555-0177');
  assert.deepEqual(con.errors, []);
});
