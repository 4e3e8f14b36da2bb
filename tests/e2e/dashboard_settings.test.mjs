// SPDX-License-Identifier: AGPL-3.0-or-later
// The dashboard's Settings API with a session cookie (docs/dashboard.md "Settings"): API keys
// (create shows the key once and it works as a Bearer key; the list shows fingerprints only;
// revoke ends it; another account's key id is 404), allowed origins (validated; CORS follows at
// once), provider credentials (write-only, answered masked), users and roles (owner only: add
// with a password, change a role, remove; the last owner stays), each role's 403s, the CSRF
// token on every change, and the audit log.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createAccount, cli } from '../helpers/server.mjs';

const PW = 'correct horse battery';
let srv;
after(async () => { if (srv) await srv.cleanup(); });

function addUser(email, role, account = srv.accountId) {
  const r = cli(['user', 'add', email, '--account', account, '--role', role, '--password-stdin', '--db', srv.db],
    { input: PW + '\n' });
  assert.equal(r.status, 0, r.stderr);
}

async function login(email, password = PW) {
  const res = await fetch(srv.url + '/app/login', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) return { status: res.status };
  const me = await res.json();
  return { status: 200, sid: /opendni_sid=([^;]*)/.exec(res.headers.get('set-cookie'))[1], csrf: me.csrf };
}

async function as(sess, method, path, body, { csrf = true } = {}) {
  const headers = { Cookie: 'opendni_sid=' + sess.sid };
  if (csrf && method !== 'GET') headers['X-CSRF-Token'] = sess.csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(srv.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return { status: res.status, json, headers: res.headers };
}

test('keys, origins, provider credentials, users and roles from a session', async () => {
  srv = await startServer({ origins: ['https://www.example.com'] });
  const other = createAccount(srv.db, 'Other', ['https://other.example']);
  addUser('owner@example.com', 'owner');
  addUser('admin@example.com', 'admin');
  addUser('analyst@example.com', 'analyst');
  const owner = await login('owner@example.com');
  const admin = await login('admin@example.com');
  const analyst = await login('analyst@example.com');

  // ---- keys: admin+ ----
  assert.equal((await as(analyst, 'GET', '/v1/app/keys')).status, 403);
  assert.equal((await as(analyst, 'POST', '/v1/app/keys')).status, 403);
  let r = await as(admin, 'GET', '/v1/app/keys');
  assert.equal(r.status, 200);
  assert.equal(r.json.keys.length, 1, 'the key account create made');
  assert.match(r.json.keys[0].fingerprint, /^[0-9a-f]{8}$/);
  assert.equal(JSON.stringify(r.json).includes(srv.apiKey), false);
  assert.equal((await as(admin, 'POST', '/v1/app/keys', {}, { csrf: false })).status, 403, 'no CSRF token');
  r = await as(admin, 'POST', '/v1/app/keys', {});
  assert.equal(r.status, 201);
  const made = r.json;
  assert.match(made.key, /^odk_/);
  assert.equal(made.revoked_at, null);
  assert.equal((await srv.api('GET', '/v1/pools', undefined, made.key)).status, 200, 'the new key works');
  r = await as(admin, 'GET', '/v1/app/keys');
  assert.equal(r.json.keys.length, 2);
  assert.equal(JSON.stringify(r.json).includes(made.key), false, 'never shown again');
  // another account's key id: 404 and it keeps working
  const otherKeys = await srv.api('GET', '/v1/pools', undefined, other.apiKey);
  assert.equal(otherKeys.status, 200);
  const firstId = r.json.keys[0].id;
  assert.equal((await as(admin, 'DELETE', '/v1/app/keys/key_999999')).status, 404);
  assert.equal((await as(admin, 'DELETE', '/v1/app/keys/nope')).status, 404);
  assert.equal((await as(admin, 'DELETE', '/v1/app/keys/' + firstId)).status, 204);
  assert.equal((await srv.api('GET', '/v1/pools')).status, 401, 'the revoked key is refused');
  assert.equal((await as(admin, 'DELETE', '/v1/app/keys/' + firstId)).status, 404, 'revoked already');
  assert.equal((await srv.api('GET', '/v1/pools', undefined, other.apiKey)).status, 200);
  r = await as(admin, 'GET', '/v1/app/keys');
  assert.ok(r.json.keys.find((k) => k.id === firstId).revoked_at);

  // ---- origins: read viewer+, change admin+ ----
  r = await as(analyst, 'GET', '/v1/app/origins');
  assert.deepEqual(r.json.origins, ['https://www.example.com']);
  assert.equal((await as(analyst, 'POST', '/v1/app/origins', { origin: 'https://shop.example.com' })).status, 403);
  for (const bad of ['shop.example.com', 'https://shop.example.com/', 'https://Shop.example.com', 'ftp://x.example', 'https://x.example:99999']) {
    r = await as(admin, 'POST', '/v1/app/origins', { origin: bad });
    assert.equal(r.status, 400, bad);
    assert.equal(r.json.error.field, 'origin');
  }
  assert.equal((await as(admin, 'POST', '/v1/app/origins', { origin: 'https://x.example', path: '/' })).status, 400);
  const visit = (origin) => fetch(srv.url + '/v1/visits', {
    method: 'POST', headers: { 'Content-Type': 'application/json', Origin: origin,
      'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36' },
    body: JSON.stringify({ account: srv.accountId, url: origin + '/' }),
  });
  assert.equal((await visit('https://shop.example.com')).status, 403);
  r = await as(admin, 'POST', '/v1/app/origins', { origin: 'https://shop.example.com' });
  assert.equal(r.status, 201);
  assert.deepEqual(r.json.origins.sort(), ['https://shop.example.com', 'https://www.example.com']);
  assert.notEqual((await visit('https://shop.example.com')).status, 403, 'allowed at once');
  assert.equal((await as(admin, 'DELETE', '/v1/app/origins?origin=' + encodeURIComponent('https://other.example'))).status, 404);
  assert.equal((await as(admin, 'DELETE', '/v1/app/origins?origin=' + encodeURIComponent('https://shop.example.com'))).status, 204);
  assert.equal((await visit('https://shop.example.com')).status, 403, 'refused again at once');

  // ---- provider credentials: write-only, masked ----
  assert.equal((await as(analyst, 'GET', '/v1/app/providers')).status, 403);
  const secret = 'f3c1a9e0b7d24c6e8a5b1c2d3e4f5a6b';
  r = await as(admin, 'POST', '/v1/app/providers', { provider: 'twilio', account_sid: 'AC0123', secret });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const tw = r.json.providers.find((p) => p.provider === 'twilio');
  assert.equal(tw.account_sid, 'AC0123');
  assert.equal(tw.secret, '••••5a6b');
  r = await as(admin, 'GET', '/v1/app/providers');
  assert.equal(JSON.stringify(r.json).includes(secret), false, 'the secret is never answered');
  for (const [body, field] of [[{ provider: 'acme', secret: 'x' }, 'provider'], [{ provider: 'twilio' }, 'secret'],
    [{ provider: 'twilio', secret: '' }, 'secret'], [{ provider: 'twilio', secret: 'x', extra: 1 }, 'extra']]) {
    r = await as(admin, 'POST', '/v1/app/providers', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error.field, field);
  }

  // ---- users: owners only ----
  assert.equal((await as(admin, 'GET', '/v1/app/users')).status, 403);
  r = await as(owner, 'GET', '/v1/app/users');
  assert.deepEqual(r.json.users.map((u) => [u.email, u.role]).sort(),
    [['admin@example.com', 'admin'], ['analyst@example.com', 'analyst'], ['owner@example.com', 'owner']]);
  r = await as(owner, 'POST', '/v1/app/users', { email: 'new@example.com', role: 'viewer' });
  assert.equal(r.status, 400, 'a new user needs a password');
  r = await as(owner, 'POST', '/v1/app/users', { email: 'New@Example.com', role: 'viewer', password: 'a good long password' });
  assert.equal(r.status, 201);
  assert.equal(r.json.created, true);
  assert.equal((await login('new@example.com', 'a good long password')).status, 200);
  r = await as(owner, 'POST', '/v1/app/users', { email: 'new@example.com', role: 'analyst' });
  assert.equal(r.status, 200);
  assert.equal(r.json.created, false);
  assert.equal((await as(owner, 'POST', '/v1/app/users', { email: 'x@example.com', role: 'boss', password: PW })).status, 400);
  // the only owner cannot demote or remove themselves
  r = await as(owner, 'POST', '/v1/app/users', { email: 'owner@example.com', role: 'admin' });
  assert.equal(r.status, 409);
  assert.equal((await as(owner, 'DELETE', '/v1/app/users?email=owner%40example.com')).status, 409);
  // removing the analyst ends their session's access
  assert.equal((await as(owner, 'DELETE', '/v1/app/users?email=analyst%40example.com')).status, 204);
  assert.equal((await as(analyst, 'GET', '/v1/app/me')).status, 401);
  assert.equal((await as(owner, 'DELETE', '/v1/app/users?email=analyst%40example.com')).status, 404);
  r = await as(owner, 'GET', '/v1/app/users');
  assert.deepEqual(r.json.users.map((u) => [u.email, u.role]).sort(),
    [['admin@example.com', 'admin'], ['new@example.com', 'analyst'], ['owner@example.com', 'owner']]);

  // ---- the audit log has each change, by who made it ----
  r = await as(owner, 'GET', '/v1/app/audit');
  const actions = r.json.entries.map((e) => `${e.actor} ${e.action}`);
  for (const want of ['admin@example.com POST /v1/app/keys', 'admin@example.com DELETE /v1/app/keys/{}',
    'admin@example.com POST /v1/app/origins', 'admin@example.com DELETE /v1/app/origins',
    'admin@example.com POST /v1/app/providers', 'owner@example.com user.add', 'owner@example.com user.remove'])
    assert.ok(actions.includes(want), `${want} in ${JSON.stringify(actions)}`);
  assert.equal(JSON.stringify(r.json).includes(secret), false, 'no secret in the audit log');
  const detail = (action) => r.json.entries.filter((e) => e.action === action).map((e) => e.detail);
  assert.ok(detail('DELETE /v1/app/origins').includes('https://shop.example.com'), 'which origin went');
  assert.ok(detail('POST /v1/app/origins').includes('https://shop.example.com'));
  assert.ok(detail('DELETE /v1/app/keys/{}').includes(firstId));
  assert.deepEqual(detail('POST /v1/app/providers'), ['twilio: account id secret']);
});
