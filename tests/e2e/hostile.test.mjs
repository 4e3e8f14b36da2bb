// SPDX-License-Identifier: AGPL-3.0-or-later
// Hostile traffic on the public visit path (issue #12): a visit that is not acknowledged leaves
// no lease and no count behind; floods from one or several addresses cannot drain a pool, spend
// the account's new-session budget or move the sizing statistics.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.mjs';

const servers = [];
after(async () => { for (const s of servers) await s.cleanup(); });

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

const health = async (srv, p) => (await srv.api('GET', `/v1/pools/${p.id}/health`)).json;
const faults = async (srv, f) => assert.equal((await srv.api('POST', '/v1/test/faults', f, null)).status, 200);

test('a failed commit leaves no lease and no count behind; the next visitors get free numbers', async () => {
  const srv = await server();
  const p = await pool(srv, '+15555552000', 4);
  const fb = await pool(srv, '+15555552100', 1, { on_exhaust: 'fallback', fallback_number: '+15555552199' });
  const first = await srv.visit({ url: 'https://site.example/', targets: ['+15555552000', '+15555552100'] });
  assert.equal(first.status, 200, first.text);
  await faults(srv, { visit_commit: true });
  for (let i = 0; i < 12; i++) {
    const r = await srv.visit({ url: 'https://site.example/', targets: ['+15555552000', '+15555552100'] });
    assert.equal(r.status, 500, r.text);
    assert.equal(r.json.error.code, 'store_error');
  }
  const renewed = await srv.visit({ url: 'https://site.example/b', session_id: first.json.session_id, targets: ['+15555552000'] });
  assert.equal(renewed.status, 500);
  await faults(srv, { visit_commit: false });
  const h = await health(srv, p);
  assert.deepEqual([h.leased, h.free, h.exhaustion_events, h.peak_concurrent], [1, 3, 0, 1], JSON.stringify(h));
  const hf = await health(srv, fb);
  assert.deepEqual([hf.leased, hf.exhaustion_events, hf.peak_concurrent], [1, 0, 1], JSON.stringify(hf));
  // the renewal whose commit failed kept the acknowledged lease
  const ping = await srv.api('POST', `/v1/visits/${first.json.session_id}/ping`, { url: null }, null);
  assert.equal(ping.status, 200, ping.text);
  assert.equal(ping.json.numbers.find((n) => n.target === '+15555552000').number, first.json.numbers[0].number);
  const got = [];
  for (let i = 0; i < 3; i++) {
    const r = await srv.visit({ url: 'https://site.example/', targets: ['+15555552000'] }, { 'X-Forwarded-For': `198.51.100.${i}` });
    assert.equal(r.status, 200, r.text);
    got.push(r.json.numbers[0].number);
  }
  assert.equal(new Set([first.json.numbers[0].number, ...got]).size, 4, 'every visitor gets a number of its own');
  const after = await health(srv, p);
  assert.deepEqual([after.leased, after.free, after.exhaustion_events], [4, 0, 0], JSON.stringify(after));
});
