// SPDX-License-Identifier: AGPL-3.0-or-later
// POST /v1/pools/{id}/simulate, the pool page's one-click sweep: the pool's own history (real
// visits and signed Twilio calls through the server) replayed by the simulator; the figures are
// exactly what `opendni export trace` + `opendni simulate --json` give for the same sizes; the
// recommended size is the smallest reaching the target; bad input is a 400; another account's
// pool a 404; the roles (analyst and up) and the audit log.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, cli, createAccount, freshDb, sql } from '../helpers/server.mjs';

const TOKEN = 'poolsim-test-auth-token-0123456789';
const SID = 'AC' + 'cd'.repeat(16);
const PW = 'correct horse battery';
const servers = [];
after(async () => { for (const s of servers) await s.cleanup(); });

async function server() {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-poolsim-'));
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Plumber', ['https://plumber.example']);
  const set = cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]);
  assert.equal(set.status, 0, set.stderr);
  const s = await startServer({ dir, db, account });
  servers.push(s);
  return s;
}

function sign(url, params) {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', TOKEN).update(data, 'utf8').digest('base64');
}

async function call(srv, to, from) {
  const params = { AccountSid: SID, CallSid: 'CA' + randomBytes(16).toString('hex'), CallStatus: 'ringing',
    Direction: 'inbound', From: from, To: to };
  const path = '/v1/telephony/twilio/voice';
  const res = await fetch(srv.url + path, { method: 'POST', body: new URLSearchParams(params).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sign(srv.url + path, params) } });
  assert.equal(res.status, 200, await res.text());
}

/** A 3-number pool (ttl 60 s, cooldown 0) and a few rounds of traffic: 5 visitors at once (more
 * than the pool holds), 3 of whom call. */
async function history(srv) {
  const p = (await srv.api('POST', '/v1/pools', { name: 'main', target: '+15125550100', lease_ttl: 60, cooldown: 0 })).json;
  for (let i = 1; i <= 3; i++) {
    const r = await srv.api('POST', '/v1/numbers', { number: `+151255501${String(i).padStart(2, '0')}`, pool: p.id });
    assert.equal(r.status, 201, r.text);
  }
  let caller = 1000;
  for (let round = 0; round < 4; round++) {
    const shown = [];
    for (let i = 0; i < 5; i++) {
      const v = await srv.visit({ url: `https://plumber.example/?utm_source=google&gclid=G${round}x${i}` });
      assert.equal(v.status, 200, v.text);
      shown.push(v.json.numbers[0].number);
      await srv.advance(1_000);
    }
    for (const i of [0, 2, 4]) {
      await srv.advance(10_000);
      await call(srv, shown[i], `+1512555${caller++}`);
    }
    await srv.advance(300_000);
  }
  return p;
}

test('the sweep replays the pool\'s history: the CLI\'s figures, the recommended size, the current size', async () => {
  const srv = await server();
  const p = await history(srv);
  const r = await srv.api('POST', `/v1/pools/${p.id}/simulate`, { days: 2, target_accuracy: 0.9 });
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /"target_accuracy":0\.9,/); // written as given, not 0.90000000000000002
  const b = r.json;
  assert.equal(b.pool, p.id);
  assert.equal(b.days, 2);
  assert.equal(b.current_size, 3);
  assert.equal(b.target_accuracy, 0.9);
  assert.deepEqual(b.policy, { ttl: 60, cooldown: 0, on_exhaust: 'share' });
  assert.equal(b.history.sessions, 20);
  assert.equal(b.history.calls, 12);
  const sizes = b.results.map((x) => x.pool_size);
  assert.ok(sizes.includes(3), 'the pool\'s own size is simulated');
  assert.deepEqual(sizes, [...sizes].sort((x, y) => x - y));
  assert.equal(sizes[0], 1);
  for (const x of b.results) {
    assert.deepEqual(Object.keys(x), ['pool_size', 'calls', 'attributable', 'correct', 'accuracy',
      'accuracy_within_30min', 'misattributed', 'unattributed', 'by_method', 'exhaustion_events']);
    assert.equal(x.calls, 12);
    assert.equal(x.attributable, 12); // every call came from a tracked visit
  }
  console.log('sweep:', b.results.map((x) => `${x.pool_size}:${x.accuracy}`).join(' '), 'recommended', b.recommended_pool_size);
  const reaching = b.results.find((x) => x.accuracy !== null && x.accuracy >= 0.9);
  assert.equal(b.recommended_pool_size, reaching ? reaching.pool_size : null);
  assert.equal(b.rules_of_thumb.length, 4);
  // the same history through the CLI: export trace, then simulate with the pool's settings
  const out = join(srv.dir, 'trace.csv');
  const since = b.since.slice(0, 10);
  const e = cli(['export', 'trace', '--db', srv.db, '--since', since, '--account', srv.accountId, '--out', out]);
  assert.equal(e.status, 0, e.stderr);
  for (const size of [1, 3, sizes[sizes.length - 1]]) {
    const s = cli(['simulate', '--policy', 'old', '--trace', out, '--pool-size', String(size), '--ttl', '60',
      '--cooldown', '0', '--json']);
    assert.equal(s.status, 0, s.stderr);
    assert.deepEqual(JSON.parse(s.stdout.trim()), b.results.find((x) => x.pool_size === size), `size ${size}`);
  }
  // smaller pools credit fewer calls right than a pool with a number per visitor
  const small = b.results[0];
  const big = b.results[b.results.length - 1];
  assert.ok(big.correct > small.correct, JSON.stringify([small, big]));
  assert.ok(small.exhaustion_events > 0 && big.exhaustion_events === 0, JSON.stringify([small, big]));
});

test('bad input, another account\'s pool, an empty history, roles and the audit log', async () => {
  const srv = await server();
  const p = (await srv.api('POST', '/v1/pools', { name: 'empty', target: '+15125550200' })).json;
  for (const [body, field] of [[{ days: 0 }, 'days'], [{ days: 91 }, 'days'], [{ days: 'x' }, 'days'],
    [{ target_accuracy: 0 }, 'target_accuracy'], [{ target_accuracy: 1.5 }, 'target_accuracy'], [{ nope: 1 }, null]]) {
    const r = await srv.api('POST', `/v1/pools/${p.id}/simulate`, body);
    assert.equal(r.status, 400, JSON.stringify(body) + r.text);
    if (field) assert.equal(r.json.error.field, field);
  }
  assert.equal((await srv.api('POST', `/v1/pools/pool_nope/simulate`, {})).status, 404);
  const other = createAccount(srv.db, 'Other', ['https://other.example']);
  assert.equal((await srv.api('POST', `/v1/pools/${p.id}/simulate`, {}, other.apiKey)).status, 404);
  // no history: every size has nothing to measure, no recommendation (an empty body is fine)
  const r = await srv.api('POST', `/v1/pools/${p.id}/simulate`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.history.calls, 0);
  assert.equal(r.json.recommended_pool_size, null);
  assert.ok(r.json.results.every((x) => x.accuracy === null));
  // a dashboard session: analysts may run it (audited), viewers may not
  for (const [email, role] of [['ana@example.com', 'analyst'], ['vic@example.com', 'viewer']]) {
    const u = cli(['user', 'add', email, '--account', srv.accountId, '--role', role, '--db', srv.db, '--password-stdin'], { input: PW + '\n' });
    assert.equal(u.status, 0, u.stderr);
  }
  const as = async (email) => {
    const res = await fetch(srv.url + '/app/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password: PW }) });
    const me = await res.json();
    const sid = /opendni_sid=([^;]*)/.exec(res.headers.get('set-cookie'))[1];
    return fetch(`${srv.url}/v1/pools/${p.id}/simulate`, { method: 'POST',
      headers: { Cookie: 'opendni_sid=' + sid, 'X-CSRF-Token': me.csrf, 'Content-Type': 'application/json' }, body: '{}' });
  };
  assert.equal((await as('ana@example.com')).status, 200);
  assert.equal((await as('vic@example.com')).status, 403);
  const audit = sql(srv.db, 'select actor, action from audit_log order by id');
  assert.match(audit, /ana@example\.com\|POST \/v1\/pools\/\{\}\/simulate/);
});
