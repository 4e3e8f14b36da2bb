// SPDX-License-Identifier: AGPL-3.0-or-later
// A new visit's session is written with its funnel bit and its visitor's first visit (sql/0035:
// the insert writes them, the triggers only mend what it could not know). Through the real
// visit path (the group-commit writer), the funnel and the cohorts count: (a) a visitor's first
// visit, with a number; (b) the same visitor's second visit, a week later, with a number; (c) a
// visit without a lease (the pool exhausted in fallback mode), of a new visitor and of the
// returning one. Figures by hand below.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, cli } from '../helpers/server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ORIGIN = { Origin: 'https://facts.example' };
const TARGET = '+15555550700';
const NUMBER = '+15555550701';
let srv;

before(async () => {
  srv = await startServer({ origins: ['https://facts.example'] });
  const p = await srv.api('POST', '/v1/pools', { name: 'one', target: TARGET, on_exhaust: 'fallback' });
  assert.equal(p.status, 201, p.text);
  const n = await srv.api('POST', '/v1/numbers', { number: NUMBER, pool: p.json.id });
  assert.equal(n.status, 201, n.text);
});
after(async () => { await srv?.cleanup(); });

const get = async (path) => {
  const r = await srv.api('GET', path);
  assert.equal(r.status, 200, r.text);
  return r.json;
};

async function visit(visitor, page) {
  const r = await srv.visit({ url: `https://facts.example/${page}?utm_source=google&utm_medium=cpc`,
    visitor_id: visitor, targets: [TARGET] }, ORIGIN);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

test('a new session\'s funnel stage and first visit: with and without a lease, first and returning', async () => {
  const t0 = await srv.advance(0);
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);
  const range = `since=${day(t0 - 86400e3)}&until=${day(t0 + 10 * 86400e3)}`;
  const x1 = await visit('v_x', 'a'); // (a) first visit: the pool's one number
  assert.equal(x1.numbers[0].number, NUMBER);
  const y1 = await visit('v_y', 'b'); // (c) a new visitor, the pool exhausted: no lease
  assert.notEqual(y1.numbers[0].number, NUMBER);
  await srv.advance(8 * 86400e3); // a week later: the lease and the cooldown are over
  const x2 = await visit('v_x', 'c'); // (b) the visitor's second visit: the number again
  assert.equal(x2.numbers[0].number, NUMBER);
  assert.notEqual(x2.session_id, x1.session_id);
  const x3 = await visit('v_x', 'd'); // (c) the returning visitor, exhausted: no lease
  assert.notEqual(x3.numbers[0].number, NUMBER);
  assert.notEqual(x3.session_id, x2.session_id);

  // 4 visits, 2 shown a number
  const f = await get(`/v1/reports/funnel?${range}`);
  assert.deepEqual([f.totals.visits, f.totals.shown, f.totals.calls], [4, 2, 0]);
  // one cohort (v_x and v_y first seen in the first week): v_x's later sessions are not first
  // visits of a cohort of their own
  let c = await get(`/v1/reports/cohorts?${range}&weeks=3`);
  assert.equal(c.cohorts.length, 1, JSON.stringify(c));
  assert.equal(c.cohorts[0].visitors, 2);

  // a call to the number: credited to v_x's second session, counted in its cohort's week 1
  const r = cli(['call', 'simulate', '--to', NUMBER, '--from', '+15125550401', '--duration', '30',
    '--no-wait', '--server', srv.url, '--db', srv.db]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const end = Date.now() + 15000;
  for (;;) {
    c = await get(`/v1/reports/cohorts?${range}&weeks=3`);
    if (c.cohorts[0].weeks.some((w) => w.calls > 0) || Date.now() > end) break;
    await sleep(100);
  }
  assert.deepEqual(c.cohorts[0].weeks.map((w) => w.calls), [0, 1, 0]);
  const calls = (await get(`/v1/calls?${range}&limit=10`)).calls;
  assert.equal(calls.length, 1);
  assert.equal(calls[0].attribution.session_id, x2.session_id);
  const f2 = await get(`/v1/reports/funnel?${range}`);
  assert.deepEqual([f2.totals.visits, f2.totals.shown, f2.totals.calls], [4, 2, 1]);
});
