// SPDX-License-Identifier: AGPL-3.0-or-later
// Foundation: CLI, auth, tenant isolation, the admin API for pools and numbers, the error format,
// bad input changing nothing, metrics, and graceful shutdown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { startServer, createAccount, cli, BIN, sql, PG } from '../helpers/server.mjs';

let srv;
let other;
const count = (table) => Number(sql(srv.db, `select count(*) from ${table}`));

before(async () => {
  srv = await startServer();
  other = createAccount(srv.db, 'Other', ['https://other.example']);
});
after(async () => { await srv.cleanup(); });

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.json.error, 'object', r.text);
  if (code) assert.equal(r.json.error.code, code);
  assert.equal(typeof r.json.error.message, 'string');
  assert.ok('field' in r.json.error);
}

test('healthz answers ok once the store is reachable', async () => {
  const r = await srv.api('GET', '/healthz', undefined, null);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { status: 'ok' });
});

test('pools need a valid Bearer key and are invisible to other accounts', async () => {
  const body = { name: 'main', target: '+15555550100', forward_to: '+15555550100' };
  assertError(await srv.api('POST', '/v1/pools', body, null), 401, 'unauthorized');
  assertError(await srv.api('POST', '/v1/pools', body, 'odk_wrong'), 401);
  const r = await srv.api('POST', '/v1/pools', body);
  assert.equal(r.status, 201);
  assert.match(r.json.id, /^pool_/);
  assert.equal(r.json.lease_ttl, 1200);
  assert.equal(r.json.cooldown, 1800);
  assert.equal(r.json.on_exhaust, 'share');
  assertError(await srv.api('GET', `/v1/pools/${r.json.id}`, undefined, other.apiKey), 404, 'not_found');
  assertError(await srv.api('DELETE', `/v1/pools/${r.json.id}`, undefined, other.apiKey), 404);
  assertError(await srv.api('POST', '/v1/numbers', { number: '+15555550150', pool: r.json.id }, other.apiKey), 404);
  const mine = await srv.api('GET', '/v1/pools');
  assert.ok(mine.json.pools.some((p) => p.id === r.json.id));
  const theirs = await srv.api('GET', '/v1/pools', undefined, other.apiKey);
  assert.equal(theirs.json.pools.length, 0);
});

test('pool and number CRUD with validation', async () => {
  const p = (await srv.api('POST', '/v1/pools', { name: 'crud', target: '(555) 555-0170', lease_ttl: 60, cooldown: 5, on_exhaust: 'fallback', fallback_number: '555.555.0179' })).json;
  assert.equal(p.target, '+15555550170');
  assert.equal(p.fallback_number, '+15555550179');
  const n = await srv.api('POST', '/v1/numbers', { number: '1-555-555-0171', pool: p.id });
  assert.equal(n.status, 201);
  assert.equal(n.json.number, '+15555550171');
  assert.equal(n.json.display, '(555) 555-0171');
  assertError(await srv.api('POST', '/v1/numbers', { number: '+15555550171', pool: p.id }), 409, 'conflict');
  assertError(await srv.api('POST', '/v1/numbers', { number: '+15555550172', pool: 'pool_nope' }), 404);
  assertError(await srv.api('POST', '/v1/numbers', { number: 'call me', pool: p.id }), 400, 'invalid');
  assertError(await srv.api('POST', '/v1/numbers', { number: '+15555550173' }), 400);
  const src = await srv.api('POST', '/v1/numbers', { number: '+15555550199', source: { source: 'billboard', medium: 'offline', campaign: 'i95-north' }, target: '+15555550170', forward_to: '+15555550170' });
  assert.equal(src.status, 201);
  assert.deepEqual(src.json.source, { source: 'billboard', medium: 'offline', campaign: 'i95-north' });
  const upd = await srv.api('PATCH', `/v1/pools/${p.id}`, { lease_ttl: 90, name: 'renamed' });
  assert.equal(upd.status, 200);
  assert.equal(upd.json.lease_ttl, 90);
  assert.equal(upd.json.name, 'renamed');
  assert.equal(upd.json.cooldown, 5);
  assertError(await srv.api('PATCH', `/v1/pools/${p.id}`, { lease_ttl: 0 }), 400);
  assertError(await srv.api('PATCH', `/v1/pools/${p.id}`, { on_exhaust: 'panic' }), 400);
  // Channels are a typed set: shown in the canonical order, once each; [] serves none, null all.
  const ch = await srv.api('PATCH', `/v1/pools/${p.id}`, { channels: ['email', 'paid_search', 'email'] });
  assert.equal(ch.status, 200, ch.text);
  assert.deepEqual(ch.json.channels, ['paid_search', 'email']);
  assert.deepEqual((await srv.api('GET', `/v1/pools/${p.id}`)).json.channels, ['paid_search', 'email']);
  assert.deepEqual((await srv.api('PATCH', `/v1/pools/${p.id}`, { channels: [] })).json.channels, []);
  assert.equal((await srv.api('PATCH', `/v1/pools/${p.id}`, { channels: null })).json.channels, null);
  assertError(await srv.api('PATCH', `/v1/pools/${p.id}`, { channels: ['tv'] }), 400);
  const list = await srv.api('GET', `/v1/numbers?pool=${p.id}`);
  assert.deepEqual(list.json.numbers.map((x) => x.number), ['+15555550171']);
  assert.equal((await srv.api('DELETE', `/v1/numbers/${n.json.id}`)).status, 204);
  assertError(await srv.api('GET', `/v1/numbers/${n.json.id}`), 404);
  assert.equal((await srv.api('DELETE', `/v1/pools/${p.id}`)).status, 204);
  assertError(await srv.api('GET', `/v1/pools/${p.id}`), 404);
});

test('deleting a pool or number that holds a live lease is refused', async () => {
  const p = (await srv.api('POST', '/v1/pools', { name: 'busy', target: '+15555550180' })).json;
  const n = (await srv.api('POST', '/v1/numbers', { number: '+15555550181', pool: p.id })).json;
  const v = await srv.visit({ url: 'https://site.example/', targets: ['+15555550180'] });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.numbers[0].number, '+15555550181');
  assertError(await srv.api('DELETE', `/v1/numbers/${n.id}`), 409);
  assertError(await srv.api('DELETE', `/v1/pools/${p.id}`), 409);
  assert.equal((await srv.api('GET', `/v1/numbers/${n.id}`)).status, 200);
});

test('bad input gets the error format and changes nothing', async () => {
  const before = ['pools', 'numbers', 'sessions', 'leases'].map(count);
  assertError(await srv.api('POST', '/v1/pools', '{"name": "x", '), 400, 'invalid');
  assertError(await srv.api('POST', '/v1/pools', '[1,2]'), 400);
  const wrong = await srv.api('POST', '/v1/pools', { name: 7, target: '+15555550100' });
  assertError(wrong, 400);
  assert.equal(wrong.json.error.field, 'name');
  assertError(await srv.api('POST', '/v1/pools', { name: 'x', target: '+15555550100', lease_ttl: '20' }), 400);
  assertError(await srv.api('POST', '/v1/pools', { name: 'x', target: '+15555550100', surprise: 1 }), 400);
  assertError(await srv.api('POST', '/v1/pools', { name: 'x'.repeat(20000), target: '+15555550100' }), 413, 'too_large');
  assertError(await srv.api('GET', '/v1/nothing-here'), 404);
  assertError(await srv.api('PUT', '/v1/pools'), 404);
  assertError(await srv.visit({ url: 'https://x/', account: 'acc_missing' }), 404);
  const after = ['pools', 'numbers', 'sessions', 'leases'].map(count);
  assert.deepEqual(after, before);
});

test('metrics count requests by route and status', async () => {
  const r = await srv.api('GET', '/metrics', undefined, null);
  assert.equal(r.status, 200);
  assert.match(r.text, /opendni_http_requests_total\{route="\/v1\/pools",status="201"\} \d+/);
  assert.match(r.text, /opendni_http_requests_total\{route="\/v1\/pools",status="401"\} \d+/);
  assert.match(r.text, /opendni_http_request_duration_seconds_bucket\{le="\+Inf"\} \d+/);
  assert.match(r.text, /opendni_store_errors_total 0/);
});

test('API keys rotate: a second key works beside the first, then the others are revoked', async () => {
  const add = cli(['account', 'key', srv.accountId, '--json', '--db', srv.db]);
  assert.equal(add.status, 0, add.stderr);
  const fresh = JSON.parse(add.stdout).api_key;
  assert.notEqual(fresh, srv.apiKey);
  assert.equal((await srv.api('GET', '/v1/pools', undefined, fresh)).status, 200);
  assert.equal((await srv.api('GET', '/v1/pools', undefined, srv.apiKey)).status, 200);
  assert.equal(cli(['account', 'key', srv.accountId, '--revoke-others', other.apiKey, '--db', srv.db]).status, 1,
    "another account's key cannot be the one kept");
  assert.equal((await srv.api('GET', '/v1/pools', undefined, srv.apiKey)).status, 200, 'a refused revoke changes nothing');
  const rev = cli(['account', 'key', srv.accountId, '--revoke-others', fresh, '--db', srv.db]);
  assert.equal(rev.status, 0, rev.stderr);
  assert.match(rev.stdout, /revoked 1 other key/);
  assert.equal((await srv.api('GET', '/v1/pools', undefined, srv.apiKey)).status, 401);
  assert.equal((await srv.api('GET', '/v1/pools', undefined, fresh)).status, 200);
  srv.apiKey = fresh;
});

test('CLI: every command has a summary and a working --help', () => {
  const list = cli(['help']);
  assert.equal(list.status, 0);
  const commands = [...list.stdout.matchAll(/^  (\w+) +(\S.*)$/gm)].map((m) => m[1]);
  for (const c of ['account', 'call', 'export', 'init', 'serve', 'simulate', 'version']) assert.ok(commands.includes(c), c);
  for (const c of commands) {
    const r = cli([c, '--help']);
    assert.equal(r.status, 0, c);
    assert.match(r.stdout, /^usage: opendni /m, c);
  }
});

test('CLI: help, bad flags and a newer schema', () => {
  assert.equal(cli(['--help']).status, 0);
  assert.equal(cli(['serve', '--help']).status, 0);
  assert.match(cli(['serve', '--help']).stdout, /--public-url/);
  for (const args of [['serve', '--no-such-flag'], ['serve', '--threads', 'many'], ['bogus'], ['account']]) {
    const r = cli(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stderr.trim().split('\n')[0].startsWith('error:'), true, r.stderr);
  }
  const acc = srv.accountId;
  assert.equal(cli(['account', 'set', acc, '--settings', '{"record_calls":true}', '--db', srv.db]).status, 0);
  assert.equal(sql(srv.db, `select settings from accounts where ext_id = '${acc}'`), '{"record_calls":true}');
  assert.equal(cli(['account', 'set', acc, '--settings', '[1]', '--db', srv.db]).status, 2);
  // Settings are validated where they are written, by the call path's own parser.
  const bad = cli(['account', 'set', acc, '--settings', '{"conversion":{"min_duration":"60"}}', '--db', srv.db]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /min_duration/);
  assert.equal(sql(srv.db, `select settings from accounts where ext_id = '${acc}'`), '{"record_calls":true}');
  assert.equal(cli(['account', 'set', 'acc_nobody', '--twilio-auth-token', 't', '--db', srv.db]).status, 1);
  sql(srv.db, 'insert into schema_migrations values (999, 0)');
  const r = cli(['init', '--db', srv.db]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /newer than this opendni/);
  sql(srv.db, 'delete from schema_migrations where version = 999');
  assert.equal(cli(['init', '--db', srv.db]).status, 0);
});

test('SIGTERM during a burst: exit 0 within 2 s, acknowledged visits stored, store intact', async () => {
  const p = (await srv.api('POST', '/v1/pools', { name: 'burst', target: '+15555550190' })).json;
  for (let i = 1; i <= 9; i++) await srv.api('POST', '/v1/numbers', { number: `+1555555019${i}`, pool: p.id });
  const acked = [];
  let stop = false;
  const worker = async () => {
    while (!stop) {
      try {
        const r = await srv.visit({ url: 'https://site.example/?utm_source=x', targets: ['+15555550190'] });
        if (r.status === 200) acked.push(r.json.session_id);
      } catch { return; }
    }
  };
  const workers = Array.from({ length: 16 }, worker);
  await new Promise((r) => setTimeout(r, 300));
  srv.proc.kill('SIGTERM');
  const { code, ms } = await srv.waitExit(5000);
  stop = true;
  await Promise.all(workers);
  assert.equal(code, 0);
  assert.ok(ms < 2000, `exit took ${ms} ms`);
  assert.ok(acked.length > 10, `only ${acked.length} visits acknowledged`);
  // SQLite's file after the exit must be sound; PostgreSQL's files are the server's, which a
  // client's exit cannot damage (its foreign keys hold the rows together: checked below).
  if (!PG) assert.equal(sql(srv.db, 'pragma integrity_check'), 'ok');
  const stored = new Set(sql(srv.db, 'select ext_id from sessions').split('\n'));
  for (const s of acked) assert.ok(stored.has(s), `acknowledged session ${s} lost`);
  await srv.start();
});

test('test hooks live in the test binary only: the production serve --help lists no test flag', async () => {
  const prod = process.env.OPENDNI_PROD_BIN;
  if (!prod || prod === BIN) return; // a build without TEST_BINARY has one binary
  const help = spawnSync(prod, ['serve', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--public-url/);
  assert.doesNotMatch(help.stdout, /test/i);
  assert.equal(spawnSync(prod, ['serve', '--test-fail-call-store'], { encoding: 'utf8' }).status, 2);
  assert.match(cli(['serve', '--help']).stdout, /--test-fail-call-store/);
  // The test clock moves only in the test binary; the production one has no such route.
  const srv = await startServer();
  try {
    const before = Date.now();
    const now = await srv.advance(86400000);
    assert.ok(now >= before + 86400000 - 1000 && now < Date.now() + 86400000 + 5000, `clock at ${new Date(now).toISOString()}`);
    const bad = await fetch(`${srv.url}/v1/test/faults`, { method: 'POST', body: JSON.stringify({ no_such_fault: true }) });
    assert.equal(bad.status, 400);
  } finally {
    await srv.cleanup();
  }
});
