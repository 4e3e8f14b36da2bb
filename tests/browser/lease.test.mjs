// SPDX-License-Identifier: AGPL-3.0-or-later
// Browser tests of the tracker over a visit's life: the lease renewed by pings while the page is
// visible and by a beacon when it is hidden, the page following a changed number, a lost session
// starting a new visit for the same visitor, and chat widgets reporting chat_started once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch, humanContext, serverWithPool, fixtureServer, parts, visitAnswer, recordVisitApi, waitFor,
  html, TARGET,
} from './support.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

const BODY = `<p id="n">Call (555) 555-0100 today</p><a id="tel" href="tel:+15555550100">555.555.0100</a>`;

async function setup(t, { ttl = 1200, extra = '' } = {}) {
  const routes = {};
  const fx = await fixtureServer(t, routes);
  const s = await serverWithPool(t, { origins: [fx.origin], ttl, cooldown: 1 });
  routes['/cb.js'] = {
    type: 'text/javascript',
    body: `window.OpenDNI = window.OpenDNI || [];
      OpenDNI.push({ onSwap: function (list, err) { (window.swaps = window.swaps || []).push(list); } });`,
  };
  routes['/p.html'] = {
    body: html(`<script src="/cb.js"></script>${extra}<script src="${s.url}/dni.js" data-account="${s.accountId}" async></script>`, BODY),
  };
  const ctx = await humanContext(browser);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  const seen = recordVisitApi(page);
  const answer = visitAnswer(page);
  await page.goto(fx.origin + '/p.html');
  const r = await answer;
  const [a, b, c] = parts(r.numbers[0].number);
  await page.waitForFunction((w) => document.querySelector('#n').textContent == w, `Call (${a}) ${b}-${c} today`);
  return { s, fx, page, seen, r };
}

const setVisibility = (page, hidden) => page.evaluate((h) => {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
  document.dispatchEvent(new Event('visibilitychange'));
}, hidden);

test('the lease is renewed while the page is visible and pings pause while hidden', async (t) => {
  const { s, page, seen, r } = await setup(t, { ttl: 2 });
  const pings = () => seen.filter((x) => x.path.endsWith('/ping')).length;
  // With a 2 s lease and no renewal the number would be free again after 2 s.
  await page.waitForTimeout(4500);
  assert.ok(pings() >= 3, `pings while visible: ${pings()}`);
  const h = await s.api('GET', `/v1/pools/${s.poolId}/health`);
  assert.equal(h.json.leased, 1, 'still leased after twice its ttl');

  const before = pings();
  await setVisibility(page, true);
  await waitFor(() => pings() == before + 1, 3000, 'a beacon ping on hide');
  assert.equal(seen.at(-1).path, `/v1/visits/${encodeURIComponent(r.session_id)}/ping`);
  await page.waitForTimeout(2500);
  assert.equal(pings(), before + 1, 'no pings while hidden');
  await setVisibility(page, false);
  await waitFor(() => pings() == before + 2, 3000, 'a ping on show');
});

test('when a ping returns another number the page follows, links and callback included', async (t) => {
  const { page, r } = await setup(t, { ttl: 2 });
  const next = '+15555550109' == r.numbers[0].number ? '+15555550108' : '+15555550109';
  await page.route('**/ping', (route) => route.fulfill({
    status: 200,
    contentType: 'application/json',
    headers: { 'Access-Control-Allow-Origin': '*' },
    body: JSON.stringify({ expires_at: '2030-01-01T00:00:00Z', numbers: [{ target: TARGET, number: next, display: '(555) 555-' + next.slice(-4), kind: 'pool' }] }),
  }));
  const [a, b, c] = parts(next);
  await page.waitForFunction((w) => document.querySelector('#n').textContent == w, `Call (${a}) ${b}-${c} today`);
  assert.equal(await page.getAttribute('#tel', 'href'), 'tel:' + next);
  assert.equal(await page.textContent('#tel'), `${a}.${b}.${c}`);
  const swaps = await page.evaluate(() => window.swaps);
  assert.deepEqual(swaps.map((l) => l[0].number), [r.numbers[0].number, next]);
});

test('a session the server no longer knows starts a new visit for the same visitor', async (t) => {
  const { page, seen, r } = await setup(t, { ttl: 2 });
  await page.route('**/ping', (route) => route.fulfill({
    status: 404, contentType: 'application/json', headers: { 'Access-Control-Allow-Origin': '*' },
    body: '{"error":{"code":"not_found","message":"unknown session","field":null}}',
  }));
  const again = await waitFor(() => seen.filter((x) => x.path == '/v1/visits')[1], 5000, 'a second visit');
  assert.equal(again.body.session_id, null);
  assert.equal(again.body.visitor_id, r.visitor_id);
});

test('a returning page view shows its number before the server answers', async (t) => {
  const { page, r } = await setup(t);
  const [a, b, c] = parts(r.numbers[0].number);
  // The visit is held for 3 s; the swap must not wait for it (it may even come before the
  // tracker sends the visit: what matters is that no answer has arrived yet).
  let released = 0;
  await page.route('**/v1/visits', async (route) => {
    await new Promise((ok) => setTimeout(ok, 3000));
    released = Date.now();
    await route.continue().catch(() => {});
  });
  await page.reload({ waitUntil: 'commit' });
  await page.waitForFunction((w) => document.querySelector('#n')?.textContent == w, `Call (${a}) ${b}-${c} today`, { polling: 20 });
  assert.equal(released, 0, 'swapped before the visit was answered');
  assert.equal(await page.getAttribute('#tel', 'href'), 'tel:' + r.numbers[0].number);
});

test('chat widgets: one chat_started per widget, only when a chat starts', async (t) => {
  const widgets = `<script src="/widgets.js"></script>`;
  const routes = {};
  const fx = await fixtureServer(t, routes);
  const s = await serverWithPool(t, { origins: [fx.origin] });
  // Stand-ins for two vendors' documented APIs (INTERFACES.md 9.2), loaded a second late.
  routes['/widgets.js'] = {
    type: 'text/javascript',
    body: `setTimeout(function () {
      var h = {};
      window.Tawk_API = window.Tawk_API || {};
      window.LiveChatWidget = { on: function (n, f) { h[n] = f; } };
      window.fake = {
        ready: function () { return !!h.customer_status_changed && typeof Tawk_API.onChatStarted == 'function'; },
        live: function (st) { h.customer_status_changed({ status: st }); },
        tawk: function () { Tawk_API.onChatStarted({}); },
      };
    }, 800);`,
  };
  routes['/p.html'] = {
    body: html(`${widgets}<script src="${s.url}/dni.js" data-account="${s.accountId}" async></script>`, BODY),
  };
  const ctx = await humanContext(browser);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  const seen = recordVisitApi(page);
  const answer = visitAnswer(page);
  await page.goto(fx.origin + '/p.html');
  const r = await answer;
  await page.waitForFunction(() => window.fake && window.fake.ready(), null, { timeout: 5000 });
  const events = () => seen.filter((x) => x.path.endsWith('/events')).map((x) => x.body);
  await page.evaluate(() => fake.live('browsing'));
  await page.waitForTimeout(300);
  assert.deepEqual(events(), [], 'browsing is not a chat');
  await page.evaluate(() => { fake.live('chatting'); fake.live('chatting'); fake.tawk(); });
  await waitFor(() => events().length >= 2, 3000, 'chat_started events');
  await page.waitForTimeout(300);
  assert.deepEqual(events().sort((x, y) => x.detail.localeCompare(y.detail)), [
    { type: 'chat_started', number: null, detail: 'livechat' },
    { type: 'chat_started', number: null, detail: 'tawk' },
  ]);
  assert.ok(seen.filter((x) => x.path.endsWith('/events')).every((x) => x.path.includes(encodeURIComponent(r.session_id))));
});
