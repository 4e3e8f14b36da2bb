// SPDX-License-Identifier: AGPL-3.0-or-later
// GET /v1/calls filters (source, campaign, method, qualified, first_time, from), cursor paging
// through a filtered list, format=csv with the same filters (CSV-injection neutralised, callers
// masked for a viewer's session), bad filter values (400, field named), a viewer's session may
// not filter by caller (403); and GET /v1/app/rollup, an owner's accounts side by side.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createAccount, cli } from '../helpers/server.mjs';

const PW = 'correct horse battery';
let srv;
after(async () => { if (srv) await srv.cleanup(); });

const UTM = (campaign) => 'https://plumber.example/landing?utm_source=google&utm_medium=cpc' +
  `&utm_campaign=${encodeURIComponent(campaign)}&gclid=G1`;

function simulate(to, from, duration) {
  const r = cli(['call', 'simulate', '--to', to, '--from', from, '--duration', String(duration), '--no-wait',
    '--server', srv.url, '--db', srv.db]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
}

async function visitAndCall(campaign, from, duration) {
  const v = await srv.visit({ url: UTM(campaign) });
  assert.equal(v.status, 200, JSON.stringify(v.json));
  simulate(v.json.numbers[0].number, from, duration);
}

function addUser(email, role, account = srv.accountId) {
  const r = cli(['user', 'add', email, '--account', account, '--role', role, '--password-stdin', '--db', srv.db],
    { input: PW + '\n' });
  assert.equal(r.status, 0, r.stderr);
}

async function login(email) {
  const res = await fetch(srv.url + '/app/login', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password: PW }),
  });
  assert.equal(res.status, 200);
  return /opendni_sid=([^;]*)/.exec(res.headers.get('set-cookie'))[1];
}

async function asSession(sid, path) {
  const res = await fetch(srv.url + path, { headers: { Cookie: 'opendni_sid=' + sid } });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* CSV */ }
  return { status: res.status, json, text, headers: res.headers };
}

const ids = (r) => r.json.calls.map((c) => c.id);

test('calls filters, paging, CSV; the roll-up', async () => {
  srv = await startServer();
  const pool = await srv.api('POST', '/v1/pools', { name: 'w', target: '+15555550100' });
  for (let i = 1; i <= 6; i++)
    assert.equal((await srv.api('POST', '/v1/numbers', { number: '+1555555010' + i, pool: pool.json.id })).status, 201);
  // spring: 3 calls (two from one caller), one short; =cmd: a formula-like campaign; one unattributed
  await visitAndCall('spring', '+15125550111', 95);
  await visitAndCall('spring', '+15125550111', 20);
  await visitAndCall('spring', '+15125550122', 120);
  await visitAndCall('=cmd|calc', '+15125550133', 70);
  simulate('+15555550106', '+15125550144', 30); // no visit held it: unattributed
  const all = await srv.api('GET', '/v1/calls?limit=500');
  assert.equal(all.json.calls.length, 5);
  const byFrom = (f) => all.json.calls.filter((c) => c.from === f).map((c) => c.id);
  assert.deepEqual(all.json.calls.map((c) => c.first_time), [true, false, true, true, true]);
  assert.ok(all.json.calls.every((c) => c.recorded === false), 'recording is off by default');

  let r = await srv.api('GET', '/v1/calls?campaign=spring');
  assert.equal(r.status, 200);
  assert.equal(r.json.calls.length, 3);
  assert.ok(r.json.calls.every((c) => c.attribution.source.campaign === 'spring'));
  r = await srv.api('GET', '/v1/calls?source=google&method=exact');
  assert.equal(r.json.calls.length, 4);
  r = await srv.api('GET', '/v1/calls?method=unattributed');
  assert.deepEqual(ids(r), byFrom('+15125550144'));
  r = await srv.api('GET', '/v1/calls?qualified=true');
  assert.deepEqual(r.json.calls.map((c) => c.duration), [95, 120, 70]);
  r = await srv.api('GET', '/v1/calls?qualified=false&campaign=spring');
  assert.deepEqual(r.json.calls.map((c) => c.duration), [20]);
  r = await srv.api('GET', '/v1/calls?first_time=false');
  assert.deepEqual(ids(r), [byFrom('+15125550111')[1]]);
  r = await srv.api('GET', '/v1/calls?from=%2B15125550111');
  assert.deepEqual(ids(r), byFrom('+15125550111'));

  // paging through a filtered list: limit 1, the cursors continue it, the last is null
  const seen = [];
  let cursor = null;
  do {
    r = await srv.api('GET', '/v1/calls?qualified=true&limit=1' + (cursor ? '&cursor=' + cursor : ''));
    assert.equal(r.status, 200);
    seen.push(...ids(r));
    cursor = r.json.next_cursor;
  } while (cursor);
  assert.deepEqual(seen, all.json.calls.filter((c) => [95, 120, 70].includes(c.duration)).map((c) => c.id));

  // bad values: 400 naming the field
  for (const [q, field] of [['method=nope', 'method'], ['qualified=yes', 'qualified'], ['first_time=1', 'first_time'],
    ['format=xml', 'format']]) {
    r = await srv.api('GET', '/v1/calls?' + q);
    assert.equal(r.status, 400, q);
    assert.equal(r.json.error.field, field, q);
  }

  // CSV with the filters; a formula-like campaign is neutralised
  r = await srv.api('GET', '/v1/calls?format=csv&source=google');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/csv/);
  const lines = r.text.trim().split('\r\n');
  assert.equal(lines[0], 'id,started_at,caller,tracking_number,status,duration,first_time,qualified,method,' +
    'confidence,channel,source,medium,campaign,keyword');
  assert.equal(lines.length, 5);
  assert.ok(lines.some((l) => l.includes(",'=cmd|calc,")), r.text);
  assert.ok(lines.some((l) => l.includes('+15125550111')), 'the full caller for an API key');
  r = await srv.api('GET', '/v1/calls?format=csv&campaign=spring&qualified=true');
  assert.equal(r.text.trim().split('\r\n').length, 3);
  // the qualified column follows the account's rule (60 s) without the filter too
  r = await srv.api('GET', '/v1/calls?format=csv&campaign=spring');
  assert.deepEqual(r.text.trim().split('\r\n').slice(1).map((l) => l.split(',').slice(5, 8).join(',')),
    ['95,true,true', '20,false,false', '120,true,true']);

  // a viewer's session: callers masked in the CSV, no filtering by caller
  addUser('viewer@example.com', 'viewer');
  const viewer = await login('viewer@example.com');
  r = await asSession(viewer, '/v1/calls?format=csv');
  assert.equal(r.status, 200);
  assert.doesNotMatch(r.text, /5125550111/);
  assert.match(r.text, /0111/);
  r = await asSession(viewer, '/v1/calls?from=%2B15125550111');
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, 'forbidden');

  // a recorded call says so (the recording stays at the provider)
  assert.equal(cli(['account', 'set', srv.accountId, '--settings', '{"record_calls":true}', '--db', srv.db]).status, 0);
  simulate('+15555550105', '+15125550155', 10);
  r = await srv.api('GET', '/v1/calls?from=%2B15125550155');
  assert.equal(r.json.calls[0].recorded, true);

  // the roll-up: the owner of two accounts sees both; a viewer's accounts are not listed
  const other = createAccount(srv.db, 'Second site', ['https://other.example']);
  addUser('owner@example.com', 'owner');
  addUser('owner@example.com', 'owner', other.accountId);
  const owner = await login('owner@example.com');
  r = await asSession(owner, '/v1/app/rollup');
  assert.equal(r.status, 200, r.text);
  const rows = Object.fromEntries(r.json.accounts.map((a) => [a.id, a]));
  assert.deepEqual(Object.keys(rows).sort(), [srv.accountId, other.accountId].sort());
  assert.equal(rows[srv.accountId].calls, 6);
  assert.equal(rows[srv.accountId].qualified, 3);
  assert.equal(rows[other.accountId].calls, 0);
  assert.equal(rows[other.accountId].name, 'Second site');
  r = await asSession(viewer, '/v1/app/rollup');
  assert.deepEqual(r.json.accounts, []);
  r = await asSession(owner, '/v1/app/rollup?since=2026-13-01');
  assert.equal(r.status, 400);
  assert.equal((await srv.api('GET', '/v1/app/rollup')).status, 401, 'sessions only');
});
