// SPDX-License-Identifier: AGPL-3.0-or-later
// Issue 13 (hardening): honest health (/readyz while the store cannot commit, logs that do not
// flood), slow clients (a per-address connection limit and a request deadline), and HTTP edges.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv.cleanup(); });

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.json?.error, 'object', r.text);
  if (code) assert.equal(r.json.error.code, code, r.text);
  assert.equal(typeof r.json.error.message, 'string');
  assert.ok('field' in r.json.error);
}

const faults = (f) => srv.api('POST', '/v1/test/faults', f, null);
const lines = (re) => srv.logs().split('\n').filter((l) => re.test(l)).length;

test('readyz fails while the store cannot commit, healthz stays up, the log does not flood, and it recovers without a restart', async () => {
  let r = await srv.api('GET', '/readyz', undefined, null);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { status: 'ready' });

  assert.equal((await faults({ store_readonly: true })).status, 200);
  await srv.advance(1100); /* past the readiness probe's one-second memory */
  r = await srv.api('GET', '/readyz', undefined, null);
  assertError(r, 503, 'unavailable');
  assert.match(r.json.error.message, /readonly/);
  assert.equal(r.json.error.field, 'db');
  r = await srv.api('GET', '/healthz', undefined, null);
  assert.equal(r.status, 200, 'healthz only says the process is alive');
  const pool = { name: 'p', target: '+15555550100', forward_to: '+15555550100' };
  for (let i = 0; i < 20; i++) {
    r = await srv.api('POST', '/v1/pools', { ...pool, name: `p${i}` });
    assert.equal(r.status, 500, r.text);
  }
  for (let i = 0; i < 20; i++) {
    await srv.advance(1100);
    assert.equal((await srv.api('GET', '/readyz', undefined, null)).status, 503);
  }
  /* The checkpointer runs on the real clock (every 25 ms when healthy): give it a second and a
   * half of failing, which used to log about 60 lines. */
  await sleep(1500);
  const logs = srv.logs();
  assert.ok(lines(/checkpoint failed/) <= 1, `checkpoint failures logged once per interval:\n${logs}`);
  assert.ok(lines(/ error store /) <= 3, `store errors logged once per condition and interval:\n${logs}`);
  assert.equal(lines(/not ready/), 1, logs);

  assert.equal((await faults({ store_readonly: false })).status, 200);
  await srv.advance(1100);
  r = await srv.api('GET', '/readyz', undefined, null);
  assert.equal(r.status, 200, r.text);
  assert.equal(lines(/ready again/), 1);
  r = await srv.api('POST', '/v1/pools', pool);
  assert.equal(r.status, 201, r.text);
});
