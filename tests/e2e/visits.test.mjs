// SPDX-License-Identifier: AGPL-3.0-or-later
// The visit API and the lease engine through the real server: distinct numbers then sharing,
// fallback, renewal, expiry and cooldown, idle-longest reuse, kill -9 durability, bots, CORS,
// rate limits, bad input, and source classification.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, sql, PG } from '../helpers/server.mjs';

const servers = [];
after(async () => { for (const s of servers) await s.cleanup(); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function server(opts) {
  const s = await startServer(opts);
  servers.push(s);
  return s;
}

/** A pool with n numbers +1555555{base+1..}; returns the pool. */
async function pool(srv, target, n, extra = {}) {
  const p = (await srv.api('POST', '/v1/pools', { name: `p${target}`, target, ...extra })).json;
  assert.ok(p.id, JSON.stringify(p));
  const base = Number(target.slice(-4));
  for (let i = 1; i <= n; i++) {
    const r = await srv.api('POST', '/v1/numbers', { number: `+1555555${String(base + i).padStart(4, '0')}`, pool: p.id });
    assert.equal(r.status, 201, r.text);
  }
  return p;
}

const count = (srv, table) => Number(sql(srv.db, `select count(*) from ${table}`));

test('20 visits to a 10-number pool: 10 distinct numbers, then shared ones counted as exhaustion', async () => {
  const srv = await server();
  const p = await pool(srv, '+15555550100', 10);
  const got = [];
  for (let i = 0; i < 20; i++) {
    const r = await srv.visit({ url: 'https://site.example/', targets: ['+15555550100'] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.numbers[0].kind, 'pool');
    got.push(r.json.numbers[0].number);
  }
  assert.equal(new Set(got.slice(0, 10)).size, 10);
  for (const n of got.slice(10)) assert.ok(got.slice(0, 10).includes(n));
  const h = (await srv.api('GET', `/v1/pools/${p.id}/health`)).json;
  assert.equal(h.size, 10);
  assert.equal(h.leased, 10);
  assert.equal(h.exhaustion_events, 10);
  assert.equal(h.peak_concurrent, 20);
  assert.ok(h.recommended_size > 10, JSON.stringify(h));
});

test('fallback mode: the 11th visit gets the fallback number with kind fallback', async () => {
  const srv = await server();
  await pool(srv, '+15555550200', 10, { on_exhaust: 'fallback', fallback_number: '+15555550299' });
  const kinds = [];
  for (let i = 0; i < 11; i++) {
    const r = await srv.visit({ url: 'https://site.example/' });
    kinds.push([r.json.numbers[0].kind, r.json.numbers[0].number]);
  }
  assert.equal(new Set(kinds.slice(0, 10).map((k) => k[1])).size, 10);
  assert.deepEqual(kinds[10], ['fallback', '+15555550299']);
});

test('a lease renews on ping and on a repeat visit; it expires after lease_ttl and cools', async () => {
  const srv = await server();
  await pool(srv, '+15555550300', 2, { lease_ttl: 1, cooldown: 3 });
  const a = (await srv.visit({ url: 'https://site.example/' })).json;
  const n1 = a.numbers[0].number;
  for (let i = 0; i < 3; i++) {
    await srv.advance(500);
    const ping = await srv.api('POST', `/v1/visits/${a.session_id}/ping`, { url: null }, null);
    assert.equal(ping.status, 200, ping.text);
    assert.equal(ping.json.numbers[0].number, n1);
  }
  await srv.advance(500);
  const again = (await srv.visit({ url: 'https://site.example/page2', session_id: a.session_id, visitor_id: a.visitor_id })).json;
  assert.equal(again.session_id, a.session_id);
  assert.equal(again.numbers[0].number, n1);
  // No activity for longer than lease_ttl: n1 is cooling, so a new visitor gets the other number.
  await srv.advance(1300);
  const b = (await srv.visit({ url: 'https://site.example/' })).json;
  assert.notEqual(b.numbers[0].number, n1);
  assert.equal((await srv.api('POST', '/v1/visits/s_unknown/ping', {}, null)).status, 404);
  // A ping's body, when there is one, is {"url": string or null}: anything else is a 400.
  const bad = await srv.api('POST', `/v1/visits/${b.session_id}/ping`, { url: 5 }, null);
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json.error.field, 'url');
  for (const body of [{ url: 'https://site.example/caf\u00e9?q="x"' }, { url: null, extra: [1] }]) {
    const ok = await srv.api('POST', `/v1/visits/${b.session_id}/ping`, body, null);
    assert.equal(ok.status, 200, ok.text);
  }
});

test('a ping after the lease expired leases again, getting the old number back when it is free', async () => {
  const srv = await server();
  const p = await pool(srv, '+15555551200', 2, { lease_ttl: 1, cooldown: 60 });
  const a = (await srv.visit({ url: 'https://site.example/' })).json;
  await srv.advance(1300);
  assert.equal((await srv.api('GET', `/v1/pools/${p.id}/health`)).json.live_leases, 0);
  const ping = await srv.api('POST', `/v1/visits/${a.session_id}/ping`, {}, null);
  assert.equal(ping.status, 200, ping.text);
  assert.deepEqual(ping.json.numbers.map((n) => [n.number, n.kind]), [[a.numbers[0].number, 'pool']]);
  const h = (await srv.api('GET', `/v1/pools/${p.id}/health`)).json;
  assert.equal(h.live_leases, 1);
  assert.equal(h.exhaustion_events, 0, 'its own cooling number is not an exhaustion');
});

test('the number idle longest is the one picked', async () => {
  const srv = await server();
  await pool(srv, '+15555550400', 3, { lease_ttl: 1, cooldown: 1 });
  const order = [];
  for (let i = 0; i < 3; i++) {
    order.push((await srv.visit({ url: 'https://site.example/' })).json.numbers[0].number);
    await srv.advance(250);
  }
  await srv.advance(2200); // all expired and past cooldown, released in visit order
  const next = [];
  for (let i = 0; i < 3; i++) next.push((await srv.visit({ url: 'https://site.example/' })).json.numbers[0].number);
  assert.deepEqual(next, order);
});

test('after kill -9 and a restart every acknowledged session keeps its number', async () => {
  const srv = await server();
  await pool(srv, '+15555550500', 60);
  const acked = [];
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let i = 0; i < 6; i++) {
      const r = await srv.visit({ url: 'https://site.example/?utm_source=a' });
      if (r.status === 200) acked.push([r.json.session_id, r.json.numbers[0].number]);
    }
  }));
  assert.equal(acked.length, 48);
  await srv.kill9();
  await srv.start();
  for (const [sid, number] of acked) {
    const r = await srv.visit({ url: 'https://site.example/', session_id: sid });
    assert.equal(r.json.session_id, sid);
    assert.equal(r.json.numbers[0].number, number, `session ${sid} lost its number`);
  }
  // and a new visitor gets a number nobody holds
  const fresh = (await srv.visit({ url: 'https://site.example/' })).json.numbers[0].number;
  assert.ok(!acked.some(([, n]) => n === fresh));
});

test('pings answered from memory stay durable: after kill -9 the stored lease covers every acknowledged expiry', async () => {
  const srv = await server();
  await pool(srv, '+15555551400', 3, { lease_ttl: 30, cooldown: 60 });
  const a = (await srv.visit({ url: 'https://site.example/' })).json;
  let acked = 0;
  for (let i = 0; i < 8; i++) {
    await sleep(200);
    const p = await srv.api('POST', `/v1/visits/${a.session_id}/ping`, { url: null }, null);
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json.numbers[0].number, a.numbers[0].number);
    assert.ok(Date.parse(p.json.expires_at) >= acked, 'no ping moves the expiry back');
    acked = Date.parse(p.json.expires_at);
  }
  assert.ok(acked > Date.parse(a.expires_at), 'the pings renewed the lease');
  await srv.kill9();
  await srv.start();
  const stored = Number(sql(srv.db, `select l.expires_at from leases l join sessions s on s.id = l.session_id where s.ext_id = '${a.session_id}'`));
  assert.ok(stored >= acked, `stored expiry ${stored} is before the acknowledged ${acked}`);
  const s = (await srv.api('GET', `/v1/sessions/${a.session_id}`)).json;
  assert.equal(s.leases.length, 1);
  assert.ok(Date.parse(s.leases[0].expires_at) >= acked, 'the rebuilt engine keeps the lease as long');
  // The rebuilt engine still holds the lease: a new visitor gets another number.
  const b = (await srv.visit({ url: 'https://site.example/' })).json;
  assert.notEqual(b.numbers[0].number, a.numbers[0].number);
  const again = await srv.api('POST', `/v1/visits/${a.session_id}/ping`, { url: null }, null);
  assert.equal(again.json.numbers[0].number, a.numbers[0].number);
});

test('a ping durably renews every lease of a two-pool session, whatever the last page view leased', async () => {
  const srv = await server();
  await pool(srv, '+15555551600', 2, { lease_ttl: 30 });
  await pool(srv, '+15555551700', 2, { lease_ttl: 10 });
  const a = (await srv.visit({ url: 'https://site.example/' })).json;
  assert.equal(a.numbers.length, 2, JSON.stringify(a.numbers));
  await sleep(300);
  // A page view that shows only the first target renews only that pool's lease.
  const b = await srv.visit({ url: 'https://site.example/two', session_id: a.session_id, targets: ['+15555551600'] });
  assert.equal(b.status, 200, b.text);
  await sleep(300);
  const before = Date.now();
  const p = await srv.api('POST', `/v1/visits/${a.session_id}/ping`, { url: null }, null);
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.numbers.length, 2);
  await srv.kill9();
  await srv.start();
  const rows = sql(srv.db, `select p.lease_ttl, l.expires_at from leases l join pools p on p.id = l.pool_id
    join sessions s on s.id = l.session_id where s.ext_id = '${a.session_id}' order by p.lease_ttl`).split('\n');
  assert.equal(rows.length, 2);
  for (const row of rows) {
    const [ttl, expires] = row.split('|').map(Number);
    assert.ok(expires >= before + ttl * 1000, `the ${ttl} s pool's lease was stored to ${expires}, before the ping's renewal`);
  }
});

test('crawlers get bot:true, static numbers and no session', async () => {
  const srv = await server();
  await pool(srv, '+15555550600', 2);
  const before = count(srv, 'sessions');
  const r = await srv.visit({ url: 'https://site.example/' }, { 'User-Agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' });
  assert.equal(r.status, 200);
  assert.equal(r.json.bot, true);
  assert.equal(r.json.session_id, null);
  assert.deepEqual(r.json.numbers.map((n) => [n.target, n.number, n.kind]), [['+15555550600', '+15555550600', 'static']]);
  assert.equal(count(srv, 'sessions'), before);
  assert.equal(count(srv, 'leases'), 0);
});

test('CORS: only allowed origins get Access-Control-Allow-Origin', async () => {
  const srv = await server({ origins: ['https://shop.example'] });
  await pool(srv, '+15555550700', 2);
  const ok = await srv.visit({ url: 'https://shop.example/' }, { Origin: 'https://shop.example' });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('access-control-allow-origin'), 'https://shop.example');
  const bad = await srv.visit({ url: 'https://evil.example/' }, { Origin: 'https://evil.example' });
  assert.equal(bad.headers.get('access-control-allow-origin'), null);
  assert.equal(bad.status, 403);
  const pre = await fetch(`${srv.url}/v1/visits`, { method: 'OPTIONS', headers: { Origin: 'https://shop.example', 'Access-Control-Request-Method': 'POST' } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://shop.example');
  const pre2 = await fetch(`${srv.url}/v1/visits`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example' } });
  assert.equal(pre2.headers.get('access-control-allow-origin'), null);
});

test('2,000 rapid visits from one address are cut by 429 with Retry-After', async () => {
  const srv = await server();
  await pool(srv, '+15555550800', 5);
  const statuses = [];
  let retry = null;
  await Promise.all(Array.from({ length: 20 }, async () => {
    for (let i = 0; i < 100; i++) {
      const r = await srv.visit({ url: 'https://site.example/' });
      statuses.push(r.status);
      if (r.status === 429) retry = r.headers.get('retry-after');
    }
  }));
  const limited = statuses.filter((s) => s === 429).length;
  assert.ok(limited >= 1300, `${limited} of 2000 were limited`);
  assert.equal(statuses.filter((s) => s === 200).length, 2000 - limited);
  assert.ok(Number(retry) >= 1);
  assert.equal(count(srv, 'sessions'), 2000 - limited);
});

test('bad visits get 400/400/413/404 and store nothing', async () => {
  const srv = await server();
  await pool(srv, '+15555550900', 2);
  const before = [count(srv, 'sessions'), count(srv, 'leases')];
  const malformed = await srv.api('POST', '/v1/visits', '{"account": ', null);
  assert.equal(malformed.status, 400);
  assert.equal(malformed.json.error.code, 'invalid');
  const wrong = await srv.visit({ url: 42 });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.json.error.field, 'url');
  const big = await srv.visit({ url: 'https://site.example/?q=' + 'x'.repeat(9 * 1024) });
  assert.equal(big.status, 413);
  const unknown = await srv.visit({ url: 'https://site.example/', account: 'acc_nobody' });
  assert.equal(unknown.status, 404);
  assert.equal((await srv.visit({ url: 'https://site.example/', targets: 'all' })).status, 400);
  assert.equal((await srv.visit({ url: 'javascript:alert(1)' })).status, 400);
  assert.deepEqual([count(srv, 'sessions'), count(srv, 'leases')], before);
});

test('sources classify as a marketer expects', async () => {
  const srv = await server();
  await pool(srv, '+15555551000', 3);
  const cases = [
    [{ url: 'https://s.example/l?utm_source=google&utm_medium=cpc&utm_campaign=spring&utm_term=emergency+plumber&gclid=TEST123' },
      { channel: 'paid_search', source: 'google', medium: 'cpc', campaign: 'spring', keyword: 'emergency plumber' }, { gclid: 'TEST123' }],
    [{ url: 'https://s.example/', referrer: 'https://www.google.com/' }, { channel: 'organic_search', source: 'google' }, {}],
    [{ url: 'https://s.example/?fbclid=IwAR123' }, { channel: 'paid_social' }, { fbclid: 'IwAR123' }],
    [{ url: 'https://s.example/', referrer: 'https://www.facebook.com/' }, { channel: 'organic_social' }, {}],
    [{ url: 'https://s.example/?utm_source=newsletter&utm_medium=email&utm_campaign=nov' }, { channel: 'email', campaign: 'nov' }, {}],
    [{ url: 'https://s.example/', referrer: 'https://blog.partner.example/post' }, { channel: 'referral' }, {}],
    [{ url: 'https://s.example/' }, { channel: 'direct' }, {}],
    [{ url: 'https://s.example/?msclkid=abc&utm_source=bing&utm_medium=cpc' }, { channel: 'paid_search', source: 'bing' }, { msclkid: 'abc' }],
  ];
  for (const [visit, want, ids] of cases) {
    const r = await srv.visit(visit);
    assert.equal(r.status, 200, r.text);
    for (const [k, v] of Object.entries(want)) assert.equal(r.json.source[k], v, `${visit.url} ${visit.referrer || ''}: ${k}`);
    assert.deepEqual(r.json.source.click_ids, ids);
  }
});

test('a rule overrides the default classification and picks a source number', async () => {
  const srv = await server();
  await pool(srv, '+15555551100', 2);
  const src = (await srv.api('POST', '/v1/numbers', { number: '+15555551199', source: { source: 'yelp', medium: 'referral' }, target: '+15555551100', forward_to: '+15555551100' })).json;
  const rule = await srv.api('POST', '/v1/rules', { field: 'referrer_host', op: 'contains', value: 'yelp.com', channel: 'referral', source: 'yelp', number: src.id });
  assert.equal(rule.status, 201, rule.text);
  const r = (await srv.visit({ url: 'https://s.example/', referrer: 'https://www.yelp.com/biz/x' })).json;
  assert.equal(r.source.source, 'yelp');
  assert.deepEqual(r.numbers.map((n) => [n.number, n.kind]), [['+15555551199', 'source']]);
  const other = (await srv.visit({ url: 'https://s.example/' })).json;
  assert.equal(other.numbers[0].kind, 'pool');
});

test('behind a trusted proxy: the region header is kept, and spoofed X-Forwarded-For entries do not dodge the limit', async () => {
  const srv = await server({ args: ['--geo-header', 'X-Geo-Region', '--trust-proxy', '127.0.0.1', '--rate-limit-visits', '5'] });
  await pool(srv, '+15555551300', 3);
  const tx = (await srv.visit({ url: 'https://site.example/' }, { 'X-Geo-Region': 'US-TX', 'X-Forwarded-For': '10.0.0.1' })).json;
  assert.equal((await srv.api('GET', `/v1/sessions/${tx.session_id}`)).json.region, 'US-TX');
  const bad = (await srv.visit({ url: 'https://site.example/' }, { 'X-Geo-Region': 'US-TX"><b>', 'X-Forwarded-For': '10.0.0.2' })).json;
  assert.equal((await srv.api('GET', `/v1/sessions/${bad.session_id}`)).json.region, null);
  const statuses = [];
  for (let i = 0; i < 7; i++) {
    const r = await srv.visit({ url: 'https://site.example/' }, { 'X-Forwarded-For': `203.0.113.${i}, 198.51.100.7` });
    statuses.push(r.status);
  }
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
  const other = await srv.visit({ url: 'https://site.example/' }, { 'X-Forwarded-For': '198.51.100.8' });
  assert.equal(other.status, 200, 'another client address has its own budget');
});
