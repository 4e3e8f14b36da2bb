// SPDX-License-Identifier: AGPL-3.0-or-later
// The journey's page views (issue #14): a session's landing page, then each later page load and
// each page a ping reports (a single-page app's navigation), in order, with the titles the
// tracker sent; a heartbeat repeating the page adds nothing; user-written titles come back as
// data; the visitor's erasure takes them away; a session keeps at most 200 page views.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, sql } from '../helpers/server.mjs';

const servers = [];
after(async () => { for (const s of servers) await s.cleanup(); });

async function server(opts) {
  const s = await startServer(opts);
  servers.push(s);
  return s;
}

async function pool(srv) {
  const p = (await srv.api('POST', '/v1/pools', { name: 'main', target: '+15555550100' })).json;
  for (let i = 1; i <= 2; i++) {
    const r = await srv.api('POST', '/v1/numbers', { number: `+155555501${String(i).padStart(2, '0')}`, pool: p.id });
    assert.equal(r.status, 201, r.text);
  }
  return p;
}

const ping = (srv, sid, body) => srv.api('POST', `/v1/visits/${sid}/ping`, body, null);
const pages = async (srv, sid) => {
  const r = await srv.api('GET', `/v1/sessions/${sid}`);
  assert.equal(r.status, 200, r.text);
  return r.json.page_views;
};

test('page views: landing, page loads and a single-page app\'s navigation, in order, deduplicated', async () => {
  const srv = await server();
  await pool(srv);
  const first = await srv.visit({ url: 'https://site.example/landing?utm_source=google&gclid=G1#top', title: 'Welcome' });
  assert.equal(first.status, 200, first.text);
  const sid = first.json.session_id;
  // a heartbeat of the landing page: nothing new
  assert.equal((await ping(srv, sid, { url: 'https://site.example/landing?utm_source=google&gclid=G1' })).status, 200);
  await srv.advance(5000);
  // the next page load of the same session
  const again = await srv.visit({ url: 'https://site.example/pricing?plan=pro', title: 'Pricing', session_id: sid, visitor_id: first.json.visitor_id });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.session_id, sid);
  await srv.advance(5000);
  // a single-page app moves to /contact: its ping reports it (title written by the site: data)
  const evil = '<img src=x onerror=alert(1)>';
  assert.equal((await ping(srv, sid, { url: 'https://site.example/contact', title: evil })).status, 200);
  assert.equal((await ping(srv, sid, { url: 'https://site.example/contact', title: evil })).status, 200);
  assert.equal((await ping(srv, sid, {})).status, 200); // no url: no page
  await srv.advance(5000);
  // a reload of /pricing is a page view again
  await srv.visit({ url: 'https://site.example/pricing', title: 'Pricing', session_id: sid });
  const pv = await pages(srv, sid);
  assert.deepEqual(pv.map((p) => [p.path, p.title, p.landing]), [
    ['/landing', null, true],
    ['/pricing', 'Pricing', false],
    ['/contact', evil, false],
    ['/pricing', 'Pricing', false],
  ]);
  const at = pv.map((p) => Date.parse(p.at));
  for (let i = 1; i < at.length; i++) assert.ok(at[i] > at[i - 1], JSON.stringify(pv));
  // nothing of the query or fragment is kept
  assert.ok(!JSON.stringify(pv).includes('plan=pro'));
  // after a restart (the session cache is empty), a heartbeat of the latest page adds nothing
  await srv.restart();
  assert.equal((await ping(srv, sid, { url: 'https://site.example/pricing' })).status, 200);
  assert.equal((await pages(srv, sid)).length, 4);
  // a title that is not a string is refused, and nothing changes
  const bad = await ping(srv, sid, { url: 'https://site.example/x', title: 7 });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json.error.field, 'title');
  assert.equal((await pages(srv, sid)).length, 4);
  // stored: the three pages after the landing page (the landing is the session's own row)
  const count = Number(sql(srv.db, `select count(*) from page_views`));
  assert.equal(count, 3);
});

test('page views are bounded per session and go with the visitor\'s erasure', async () => {
  const srv = await server();
  await pool(srv);
  const first = await srv.visit({ url: 'https://site.example/', title: 'Home' });
  const sid = first.json.session_id;
  for (let i = 0; i < 205; i++) {
    const r = await ping(srv, sid, { url: `https://site.example/p${i}` });
    assert.equal(r.status, 200, r.text);
  }
  const pv = await pages(srv, sid);
  assert.equal(pv.length, 200); // the landing page and the next 199
  assert.equal(pv[199].path, '/p198');
  const e = await srv.api('POST', '/v1/erasures', { visitor_id: first.json.visitor_id });
  assert.equal(e.status, 201, e.text);
  assert.ok(e.json.erased.events >= 199, e.text);
  const left = await pages(srv, sid);
  assert.deepEqual(left.map((p) => p.path), ['/']);
});
