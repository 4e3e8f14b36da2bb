// SPDX-License-Identifier: AGPL-3.0-or-later
// The AMP call-tracking config (GET /v1/amp/call-tracking) through the real server: AMP's JSON,
// AMP's CORS rules (__amp_source_origin, the AMP cache origin, AMP-Same-Origin), CLIENT_ID as the
// visitor so repeat views keep one lease, bots, bad input; the iframe bridge's GET /v1/origins;
// and the pool version in visit answers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.mjs';

const SITE = 'https://www.example-plumbing.com';
const CACHE = 'https://www-example--plumbing-com.cdn.ampproject.org';
const TARGET = '+15555550100';
const UA = 'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36';
const servers = [];
after(async () => { for (const s of servers) await s.cleanup(); });

async function setup() {
  const s = await startServer({ origins: [SITE] });
  servers.push(s);
  const p = (await s.api('POST', '/v1/pools', { name: 'amp', target: TARGET, forward_to: TARGET })).json;
  for (let i = 1; i <= 5; i++) {
    const r = await s.api('POST', '/v1/numbers', { number: `+1555555010${i}`, pool: p.id });
    assert.equal(r.status, 201, r.text);
  }
  s.pool = p;
  return s;
}

function amp(s, params, headers = { Origin: SITE }) {
  const q = new URLSearchParams({ account: s.accountId, __amp_source_origin: SITE, ...params });
  for (const [k, v] of Object.entries(params)) if (v === undefined) q.delete(k);
  return s.api('GET', '/v1/amp/call-tracking?' + q, undefined, null, { 'User-Agent': UA, ...headers });
}

const leased = async (s) => (await s.api('GET', `/v1/pools/${s.pool.id}/health`)).json.leased;

test('AMP config: phoneNumber and formattedPhoneNumber, AMP CORS headers, one lease per CLIENT_ID', async () => {
  const s = await setup();
  const a = await amp(s, { client_id: 'amp-Xk2abcDEF_123', url: SITE + '/amp/?utm_source=google&utm_medium=cpc' });
  assert.equal(a.status, 200, a.text);
  assert.match(a.json.phoneNumber, /^\+1555555010[1-5]$/);
  assert.match(a.json.formattedPhoneNumber, /^\(555\) 555-010[1-5]$/);
  assert.deepEqual(Object.keys(a.json).sort(), ['formattedPhoneNumber', 'phoneNumber']);
  assert.equal(a.headers.get('access-control-allow-origin'), SITE);
  assert.equal(a.headers.get('access-control-allow-credentials'), 'true');
  assert.equal(a.headers.get('amp-access-control-allow-source-origin'), SITE);
  assert.match(a.headers.get('access-control-expose-headers'), /AMP-Access-Control-Allow-Source-Origin/i);
  assert.match(a.headers.get('cache-control'), /no-store/);
  // Repeat views of the same AMP client (also through the AMP cache) keep the one lease.
  for (let i = 0; i < 3; i++) {
    const again = await amp(s, { client_id: 'amp-Xk2abcDEF_123' }, { Origin: i == 2 ? CACHE : SITE });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.phoneNumber, a.json.phoneNumber, 'same CLIENT_ID, same number');
  }
  assert.equal(await leased(s), 1, 'four views of one AMP client hold one lease');
  const b = await amp(s, { client_id: 'amp-another-client', target: TARGET });
  assert.equal(b.status, 200, b.text);
  assert.notEqual(b.json.phoneNumber, a.json.phoneNumber, 'another client, another number');
  assert.equal(await leased(s), 2);
});

test('AMP config: same-origin requests, bots, and AMP CORS refusals in the error format', async () => {
  const s = await setup();
  const same = await amp(s, { client_id: 'c1' }, { 'AMP-Same-Origin': 'true' });
  assert.equal(same.status, 200, same.text);
  assert.equal(same.headers.get('access-control-allow-origin'), null);
  assert.equal(same.headers.get('amp-access-control-allow-source-origin'), SITE);
  const bot = await amp(s, { client_id: 'c2' }, { Origin: SITE, 'User-Agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' });
  assert.equal(bot.status, 200, bot.text);
  assert.equal(bot.json.phoneNumber, TARGET, 'a crawler sees the real number');
  assert.equal(await leased(s), 1, 'the crawler leased nothing');

  const bad = [
    [await amp(s, { client_id: 'c3' }, {}), 403, null],                                       // no Origin, no AMP-Same-Origin
    [await amp(s, { client_id: 'c3' }, { Origin: 'https://evil.example' }), 403, null],
    [await amp(s, { client_id: 'c3' }, { Origin: 'https://evil-example.cdn.ampproject.org' }), 403, null],
    [await amp(s, { client_id: 'c3', __amp_source_origin: 'https://evil.example' }, { Origin: 'https://evil.example' }), 403, null],
    [await amp(s, { client_id: 'c3', __amp_source_origin: undefined }), 400, '__amp_source_origin'],
    [await amp(s, { client_id: undefined }), 400, 'client_id'],
    [await amp(s, { client_id: 'has space' }), 400, 'client_id'],
    [await amp(s, { client_id: 'c3', target: 'not-a-number' }), 400, 'target'],
    [await amp(s, { client_id: 'c3', account: 'acc_nope' }), 404, 'account'],
    [await amp(s, { client_id: 'c3', account: undefined }), 400, 'account'],
  ];
  for (const [r, status, field] of bad) {
    assert.equal(r.status, status, r.text);
    assert.equal(typeof r.json.error.code, 'string');
    assert.equal(typeof r.json.error.message, 'string');
    assert.equal(r.json.error.field, field, r.text);
  }
  assert.equal(await leased(s), 1, 'refused requests leased nothing');
});

test('GET /v1/origins: the account\'s allowed origins, public; 400 and 404 in the error format', async () => {
  const s = await setup();
  const r = await s.api('GET', '/v1/origins?account=' + s.accountId, undefined, null);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { origins: [SITE] });
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  assert.equal((await s.api('GET', '/v1/origins?account=acc_nope', undefined, null)).status, 404);
  const missing = await s.api('GET', '/v1/origins', undefined, null);
  assert.equal(missing.status, 400);
  assert.equal(missing.json.error.field, 'account');
});

test('visit answers carry the pool version; it changes when the pool\'s numbers change', async () => {
  const s = await setup();
  const v1 = await s.visit({ url: SITE + '/' }, { Origin: SITE });
  assert.equal(v1.status, 200, v1.text);
  const n1 = v1.json.numbers[0];
  assert.match(n1.version, /^[0-9a-f]{12}$/);
  const again = await s.visit({ url: SITE + '/' }, { Origin: SITE });
  assert.equal(again.json.numbers[0].version, n1.version, 'same pool, same version');
  const add = await s.api('POST', '/v1/numbers', { number: '+15555550109', pool: s.pool.id });
  assert.equal(add.status, 201, add.text);
  const v2 = await s.visit({ url: SITE + '/' }, { Origin: SITE });
  assert.notEqual(v2.json.numbers[0].version, n1.version, 'a number joined: a new version');
  const ping = await s.api('POST', `/v1/visits/${v1.json.session_id}/ping`, { url: null }, null, { 'User-Agent': UA, Origin: SITE });
  assert.equal(ping.status, 200, ping.text);
  assert.equal(ping.json.numbers[0].version, v2.json.numbers[0].version, 'pings answer the current version');
  const free = (await s.api('GET', '/v1/numbers')).json;
  const del = (free.numbers || free).find((n) => n.number == '+15555550109');
  assert.equal((await s.api('DELETE', '/v1/numbers/' + del.id)).status, 204);
  const v3 = await s.visit({ url: SITE + '/' }, { Origin: SITE });
  assert.notEqual(v3.json.numbers[0].version, v2.json.numbers[0].version, 'a number left: a new version');
});
