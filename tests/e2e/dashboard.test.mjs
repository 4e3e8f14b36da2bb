// SPDX-License-Identifier: AGPL-3.0-or-later
// The dashboard's users, sessions and rights through the real test binary (docs/dashboard.md):
// `opendni user …`, login (JSON and form) and its cookie, wrong passwords, the per-email rate
// limit, idle and absolute expiry on the test clock, logout, the CSRF token and the same-origin
// rule on state changes, each role's rights (403 in the error format), switching accounts,
// masked callers for viewers, the audit log, and the Secure flag behind an https public URL.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createAccount, cli } from '../helpers/server.mjs';

const PW = 'correct horse battery';
const servers = [];
after(async () => { for (const s of servers) await s.cleanup(); });

async function server(args = []) {
  const s = await startServer({ args });
  servers.push(s);
  return s;
}

function addUser(s, email, role, account = s.accountId, pw = PW) {
  const args = ['user', 'add', email, '--account', account, '--role', role, '--db', s.db];
  if (pw === null) return cli(args);
  return cli([...args, '--password-stdin'], { input: pw + '\n' });
}

async function login(s, email, password = PW, headers = {}) {
  const res = await fetch(s.url + '/app/login', {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ email, password }), redirect: 'manual',
  });
  const text = await res.text();
  const cookie = res.headers.get('set-cookie');
  const json = text ? JSON.parse(text) : null;
  return { status: res.status, json, cookie, headers: res.headers,
    sid: cookie ? /opendni_sid=([^;]*)/.exec(cookie)[1] : null };
}

/** A request as the logged-in browser sends it: the cookie, and on writes the CSRF token. */
async function as(s, sess, method, path, body, headers = {}) {
  const h = { Cookie: 'opendni_sid=' + sess.sid, ...headers };
  if (method !== 'GET' && sess.json && !('X-CSRF-Token' in headers)) h['X-CSRF-Token'] = sess.json.csrf;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(s.url + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; } /* CSV */
  return { status: res.status, json, text };
}

test('opendni user: add, a second account, bad input, list, set-password, remove', async () => {
  const s = await server();
  const other = createAccount(s.db, 'Other', ['https://other.example']);
  let r = addUser(s, 'Ann@Example.com', 'owner');
  assert.equal(r.status, 0, r.stderr);
  r = addUser(s, 'ann@example.com', 'viewer', other.accountId, null);
  assert.equal(r.status, 0, r.stderr); /* an existing user needs no password */
  assert.equal(addUser(s, 'bob@example.com', 'boss').status, 2);
  assert.equal(addUser(s, 'bob@example.com', 'viewer', s.accountId, 'short').status, 2);
  assert.equal(addUser(s, 'bob@example.com', 'viewer', 'acc_nope').status, 1);
  assert.equal(addUser(s, 'not-an-email', 'viewer').status, 2);
  assert.equal(addUser(s, 'bob@example.com', 'viewer', s.accountId, null).status, 2);
  r = cli(['user', 'list', '--db', s.db]);
  assert.equal(r.status, 0);
  assert.deepEqual(r.stdout.trim().split('\n').sort(),
    [`ann@example.com\t${s.accountId}\towner`, `ann@example.com\t${other.accountId}\tviewer`].sort());
  const sess = await login(s, 'ann@example.com');
  assert.equal(sess.status, 200);
  r = cli(['user', 'set-password', 'ann@example.com', '--password-stdin', '--db', s.db], { input: 'a brand new password\n' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await as(s, sess, 'GET', '/v1/app/me')).status, 401); /* sessions ended */
  assert.equal((await login(s, 'ann@example.com')).status, 401);
  assert.equal((await login(s, 'ann@example.com', 'a brand new password')).status, 200);
  r = cli(['user', 'remove', 'ann@example.com', '--account', other.accountId, '--db', s.db]);
  assert.equal(r.status, 0, r.stderr);
  r = cli(['user', 'remove', 'ann@example.com', '--db', s.db]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(cli(['user', 'remove', 'ann@example.com', '--db', s.db]).status, 1);
  assert.equal(cli(['user', 'list', '--db', s.db]).stdout, '');
  assert.equal(cli(['user', '--help']).status, 0);
});

test('login: the cookie, wrong passwords, the form, logout', async () => {
  const s = await server();
  assert.equal(addUser(s, 'ann@example.com', 'admin').status, 0);
  const bad = await login(s, 'ann@example.com', 'wrong password!');
  assert.equal(bad.status, 401);
  assert.equal(bad.cookie, null);
  assert.equal(bad.json.error.code, 'unauthorized');
  const unknown = await login(s, 'nobody@example.com');
  assert.equal(unknown.status, 401);
  assert.equal(unknown.json.error.message, bad.json.error.message); /* no user enumeration */
  const ok = await login(s, 'ANN@example.com');
  assert.equal(ok.status, 200);
  assert.match(ok.cookie, /HttpOnly/);
  assert.match(ok.cookie, /SameSite=Strict/);
  assert.match(ok.cookie, /Path=\//);
  assert.doesNotMatch(ok.cookie, /Secure/);
  assert.ok(ok.sid.length >= 52);
  assert.equal(ok.json.role, 'admin');
  assert.equal(ok.json.account.id, s.accountId);
  assert.deepEqual(ok.json.rights, { read: true, analyse: true, manage: true, users: false });
  assert.equal(ok.headers.get('cache-control'), 'no-store');
  // a plain HTML form post: a redirect, with the cookie on success
  const form = (pw) => fetch(s.url + '/app/login', { method: 'POST', redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: 'ann@example.com', password: pw }).toString() });
  let r = await form(PW);
  assert.equal(r.status, 303);
  assert.equal(r.headers.get('location'), '/app/');
  assert.match(r.headers.get('set-cookie'), /opendni_sid=ods_/);
  r = await form('wrong password!');
  assert.equal(r.status, 303);
  assert.equal(r.headers.get('location'), '/app/?login=failed');
  assert.equal(r.headers.get('set-cookie'), null);
  // malformed bodies: 400 in the error format
  r = await fetch(s.url + '/app/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"email":1}' });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.code, 'invalid');
  // logout needs the CSRF token, then ends the session
  assert.equal((await as(s, ok, 'POST', '/app/logout', undefined, { 'X-CSRF-Token': '' })).status, 403);
  assert.equal((await as(s, ok, 'GET', '/v1/app/me')).status, 200);
  assert.equal((await as(s, ok, 'POST', '/app/logout')).status, 204);
  assert.equal((await as(s, ok, 'GET', '/v1/app/me')).status, 401);
  assert.equal((await as(s, ok, 'GET', '/v1/calls')).status, 401);
});

test('logins are rate limited per email (429 with Retry-After)', async () => {
  const s = await server();
  assert.equal(addUser(s, 'ann@example.com', 'viewer').status, 0);
  // 10 a minute, refilled one every 6 s: on a loaded machine ten scrypt logins can take longer
  // than that, so the attempts allowed are counted against the time they took
  const t0 = Date.now();
  let wrong = 0;
  let first;
  while ((first = await login(s, 'ann@example.com', 'wrong password!')).status === 401 && wrong < 30) wrong++;
  assert.equal(first.status, 429);
  const refilled = Math.floor((Date.now() - t0) / 6000);
  assert.ok(wrong >= 10 && wrong <= 10 + refilled, `${wrong} wrong passwords before 429 in ${Date.now() - t0} ms`);
  const r = await login(s, 'ann@example.com'); // the right password, while limited
  assert.equal(r.status, 429);
  assert.ok(Number(r.headers.get('retry-after')) > 0);
  assert.equal(r.cookie, null);
});

test('sessions expire when idle and at their absolute end (test clock)', async () => {
  const s = await server(['--session-idle', '600', '--session-max', '1800']);
  assert.equal(addUser(s, 'ann@example.com', 'viewer').status, 0);
  // steps leave tens of seconds of room: the test clock runs on with real time, and a scrypt
  // login under the sanitizers takes seconds
  let sess = await login(s, 'ann@example.com');
  for (let i = 0; i < 3; i++) {
    await s.advance(500 * 1000);
    assert.equal((await as(s, sess, 'GET', '/v1/app/me')).status, 200); /* activity extends it */
  }
  await s.advance(400 * 1000); /* idle 400 s of 600, but 1,900 s since the login: over */
  assert.equal((await as(s, sess, 'GET', '/v1/app/me')).status, 401);
  sess = await login(s, 'ann@example.com');
  await s.advance(500 * 1000);
  assert.equal((await as(s, sess, 'GET', '/v1/app/me')).status, 200);
  await s.advance(640 * 1000);
  assert.equal((await as(s, sess, 'GET', '/v1/calls')).status, 401); /* idle */
});

test('rights per role, CSRF and same-origin on writes, switching accounts, the audit log', async () => {
  const s = await server();
  const other = createAccount(s.db, 'Other', ['https://other.example']);
  for (const [email, role] of [['owner@example.com', 'owner'], ['admin@example.com', 'admin'],
    ['analyst@example.com', 'analyst'], ['viewer@example.com', 'viewer']]) {
    assert.equal(addUser(s, email, role).status, 0);
  }
  assert.equal(addUser(s, 'viewer@example.com', 'admin', other.accountId, null).status, 0);
  const [owner, admin, analyst, viewer] = await Promise.all(
    ['owner', 'admin', 'analyst', 'viewer'].map((r) => login(s, r + '@example.com')));
  const pool = { name: 'web', target: '+15555550100', forward_to: '+15555550100' };
  // viewer: reads, nothing else
  assert.equal((await as(s, viewer, 'GET', '/v1/calls')).status, 200);
  assert.equal((await as(s, viewer, 'GET', '/v1/pools')).status, 200);
  let r = await as(s, viewer, 'POST', '/v1/pools', pool);
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, 'forbidden');
  assert.equal((await as(s, viewer, 'GET', '/v1/reports/calls')).status, 403);
  assert.equal((await as(s, viewer, 'GET', '/v1/app/audit')).status, 403);
  // analyst: reports and exports, no pools
  assert.equal((await as(s, analyst, 'GET', '/v1/reports/calls')).status, 200);
  assert.equal((await as(s, analyst, 'GET', '/v1/exports/google-ads/call-conversions.csv')).status, 200);
  assert.equal((await as(s, analyst, 'POST', '/v1/pools', pool)).status, 403);
  // admin: pools, but only with the CSRF token and from this origin
  assert.equal((await as(s, admin, 'POST', '/v1/pools', pool, { 'X-CSRF-Token': 'nope' })).status, 403);
  assert.equal((await as(s, admin, 'POST', '/v1/pools', pool, { Origin: 'https://evil.example' })).status, 403);
  assert.equal((await as(s, admin, 'POST', '/v1/pools', pool, { 'Sec-Fetch-Site': 'cross-site' })).status, 403);
  assert.equal((await as(s, admin, 'POST', '/v1/pools', pool, { 'X-CSRF-Token': owner.json.csrf })).status, 403);
  r = await as(s, admin, 'POST', '/v1/pools', pool, { Origin: s.url, 'Sec-Fetch-Site': 'same-origin' });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  assert.equal((await s.api('GET', '/v1/pools')).json.pools.length, 1); /* the API key sees it */
  assert.equal((await as(s, admin, 'GET', '/v1/app/audit')).status, 403);
  // the owner reads the audit log: the CLI's additions and the admin's pool
  r = await as(s, owner, 'GET', '/v1/app/audit');
  assert.equal(r.status, 200);
  const actions = r.json.entries.map((e) => `${e.actor} ${e.action}`);
  assert.equal(actions[0], 'admin@example.com POST /v1/pools');
  assert.equal(actions.filter((a) => a === 'cli user.add').length, 4);
  // switching: the viewer is an admin of the other account
  assert.equal((await as(s, viewer, 'POST', '/v1/app/account', { account: 'acc_nope' })).status, 404);
  assert.equal((await as(s, owner, 'POST', '/v1/app/account', { account: other.accountId })).status, 404);
  r = await as(s, viewer, 'POST', '/v1/app/account', { account: other.accountId });
  assert.equal(r.status, 200);
  assert.equal(r.json.role, 'admin');
  assert.equal(r.json.accounts.length, 2);
  assert.equal((await as(s, viewer, 'GET', '/v1/pools')).json.pools.length, 0); /* the other one's */
  assert.equal((await as(s, viewer, 'POST', '/v1/pools', pool)).status, 201);
  // Bearer keys keep working as before, with every right
  assert.equal((await s.api('GET', '/v1/reports/calls')).status, 200);
});

test('behind an https public URL the cookie is Secure', async () => {
  const s = await server(['--public-url', 'https://dash.example']);
  assert.equal(addUser(s, 'ann@example.com', 'viewer').status, 0);
  const r = await login(s, 'ann@example.com');
  assert.equal(r.status, 200);
  assert.match(r.cookie, /; Secure/);
  // an Origin that is not the public URL is another site
  assert.equal((await login(s, 'ann@example.com', PW, { Origin: s.url })).status, 403);
  assert.equal((await login(s, 'ann@example.com', PW, { Origin: 'https://dash.example' })).status, 200);
});
