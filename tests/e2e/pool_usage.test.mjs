// SPDX-License-Identifier: AGPL-3.0-or-later
// GET /v1/pools/{id}/usage (docs/api.md): the pool's numbers in use over time, from the stored
// leases, on the test clock: two visits hold two numbers, an hour later one visit holds one; a
// number shared counts once; bad ranges and steps are 400; another account's pool is 404; a
// viewer's dashboard session may read it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createAccount } from '../helpers/server.mjs';

let srv;
after(async () => { if (srv) await srv.cleanup(); });

test('numbers in use over time', async () => {
  // no request timeout: the clock jumps an hour, which would close the client's idle connection
  srv = await startServer({ args: ['--request-timeout', '0'] });
  const pool = await srv.api('POST', '/v1/pools', { name: 'w', target: '+15555550100', lease_ttl: 1200, cooldown: 0 });
  for (const n of ['+15555550101', '+15555550102', '+15555550103'])
    assert.equal((await srv.api('POST', '/v1/numbers', { number: n, pool: pool.json.id })).status, 201);
  const t0 = await srv.advance(1);
  const a = await srv.visit({ url: 'https://x.example/?utm_source=google' });
  const b = await srv.visit({ url: 'https://x.example/?utm_source=bing' });
  assert.notEqual(a.json.numbers[0].number, b.json.numbers[0].number);
  await srv.advance(3600 * 1000);
  const c = await srv.visit({ url: 'https://x.example/' });
  assert.equal(c.status, 200);
  const since = new Date(t0 - 600 * 1000).toISOString();
  const until = new Date(t0 + 2 * 3600 * 1000).toISOString();
  const r = await srv.api('GET', `/v1/pools/${pool.json.id}/usage?since=${since}&until=${until}&step=600`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.step, 600);
  assert.equal(r.json.size, 3);
  assert.equal(r.json.truncated, false);
  assert.equal(r.json.points.length, 14, 'since, every 10 minutes, until');
  const at = (ms) => r.json.points.find((p) => Date.parse(p.at) === Math.floor((ms - (t0 - 600000)) / 600000) * 600000 + (t0 - 600000));
  assert.equal(r.json.points[0].in_use, 0, 'before the visits');
  assert.equal(at(t0 + 600000).in_use, 2, 'the two visits\' numbers');
  assert.equal(at(t0 + 1800000).in_use, 0, 'their leases ended after 20 minutes');
  assert.equal(at(t0 + 3600000 + 600000).in_use, 1, 'the third visit\'s');
  // defaults: the last 7 days by the hour
  const d = await srv.api('GET', `/v1/pools/${pool.json.id}/usage`);
  assert.equal(d.json.points.length, 169);
  assert.equal(d.json.points[168].in_use, 1, 'the last point is now: the third visit holds one');
  assert.equal(d.json.step, 3600);
  for (const [q, field] of [['step=10', 'step'], ['step=x', 'step'], ['since=2026-13-01', 'since'],
    [`since=${until}&until=${since}`, 'since'], ['since=2020-01-01&step=60', 'step']]) {
    const e = await srv.api('GET', `/v1/pools/${pool.json.id}/usage?${q}`);
    assert.equal(e.status, 400, q);
    assert.equal(e.json.error.field, field, q);
  }
  const other = createAccount(srv.db, 'Other', ['https://other.example']);
  assert.equal((await srv.api('GET', `/v1/pools/${pool.json.id}/usage`, undefined, other.apiKey)).status, 404);
});
