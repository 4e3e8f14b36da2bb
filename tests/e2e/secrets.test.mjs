// SPDX-License-Identifier: AGPL-3.0-or-later
// Secrets and files (issue #13 item 3): the store and everything beside it private (0600, a
// directory opendni creates 0700), provider secrets sealed at rest with a key kept outside the
// database (a key file or OPENDNI_SECRETS_KEY; no key = a clear error, never clear text),
// clear rows of older versions sealed by `opendni init`, key rotation by `opendni secrets
// rotate` in one transaction, and secrets read from a file or standard input.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, BIN, sql as storeSql, freshDb, PG } from '../helpers/server.mjs';
import { makeTestCa, httpsReceiver, verifySignature } from '../helpers/receivers.mjs';

const SID = 'AC' + 'ef'.repeat(16);
const dirs = [];
const servers = [];
after(async () => {
  for (const s of servers) await s.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'opendni-secrets-')); dirs.push(d); return d; };
const mode = (p) => (statSync(p).mode & 0o777).toString(8);
const sql = (db, q) => storeSql(db, q);
// The environment without this run's key (undefined unsets a variable for spawn).
const noKey = () => ({ ...process.env, OPENDNI_SECRETS_KEY: undefined, OPENDNI_SECRETS_KEY_FILE: undefined });
const run = (args, opts = {}) => {
  const r = spawnSync(BIN, args, { encoding: 'utf8', ...opts });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
const storedSecret = (db, provider = 'twilio') => sql(db, `select secret from account_providers where provider = '${provider}'`);

function keygen(dir, name) {
  const file = join(dir, name);
  const r = run(['secrets', 'keygen', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(mode(file), '600');
  return file;
}

function sign(token, url, params) {
  let data = url;
  for (const k of Object.keys(params).sort()) data += k + params[k];
  return createHmac('sha1', token).update(data, 'utf8').digest('base64');
}

/** A voice webhook to a number nobody owns, signed with token: 200 (refused politely) if the
 * server verified it with the stored token. */
async function unknownTo(srv, token) {
  const p = { AccountSid: SID, CallSid: 'CA' + randomBytes(16).toString('hex'), CallStatus: 'ringing',
    From: '+15125550100', To: '+15555559876' };
  const path = '/v1/telephony/twilio/voice';
  const res = await fetch(srv.url + path, { method: 'POST', body: new URLSearchParams(p).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sign(token, srv.url + path, p) } });
  return { status: res.status, text: await res.text() };
}

// SQLite only: on PostgreSQL opendni creates no file; the database's files are the server's
// (initdb makes its data directory 0700).
test('the store, its WAL and lock files are 0600; a directory opendni creates is 0700', { skip: PG && 'PostgreSQL: opendni creates no file' }, async () => {
  const dir = tmp();
  const db = join(dir, 'new', 'deeper', 'store.db');
  const old = process.umask(0o022);
  try {
    const r = cli(['init', '--db', db]);
    assert.equal(r.status, 0, r.stderr);
  } finally { process.umask(old); }
  assert.equal(mode(db), '600');
  assert.equal(mode(join(dir, 'new')), '700');
  assert.equal(mode(join(dir, 'new', 'deeper')), '700');
  const srv = await startServer({ dir, db });
  servers.push(srv);
  assert.equal((await srv.visit({ url: 'http://127.0.0.1/' })).status, 200);
  for (const f of [db + '-wal', db + '-shm', db + '.lock']) assert.equal(mode(f), '600', f);
  await srv.stop();
  // A store an older opendni left world-readable is made private by init.
  chmodSync(db, 0o644);
  assert.equal(cli(['init', '--db', db]).status, 0);
  assert.equal(mode(db), '600');
});

test('secrets are sealed at rest, read from a file or stdin, and need the key', async () => {
  const dir = tmp();
  const key = keygen(dir, 'secrets.key');
  const db = freshDb(dir);
  const env = { ...noKey(), OPENDNI_SECRETS_KEY_FILE: key };
  assert.equal(run(['init', '--db', db], { env }).status, 0);
  const account = createAccount(db, 'Sealed', ['https://sealed.example']);
  // The token from standard input: never on the command line.
  const token = 'stdin-token-' + randomBytes(8).toString('hex');
  let r = run(['account', 'set', account.accountId, '--db', db, '--twilio-auth-token-file', '-',
    '--twilio-account-sid', SID], { env, input: token + '\n' });
  assert.equal(r.status, 0, r.stderr);
  const stored = storedSecret(db);
  assert.match(stored, /^enc1:[0-9a-f]{16}:[A-Za-z0-9+/]+=*$/);
  assert.ok(!stored.includes(token), 'the token is not stored in clear');
  // nor anywhere in the file (SQLite) or the database's dump (PostgreSQL)
  const whole = PG ? execFileSync('pg_dump', ['-d', db]) : execFileSync('strings', [db]);
  assert.ok(!whole.toString().includes(token), 'nor anywhere in the store');

  // Without the key: a secret is neither written nor read, with a clear message.
  r = run(['account', 'set', account.accountId, '--db', db, '--twilio-auth-token', 'x'], { env: noKey() });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /secrets-key-file|OPENDNI_SECRETS_KEY/);
  assert.equal(storedSecret(db), stored, 'nothing changed');
  const bare = await startServer({ dir, db, account, env: noKey() });
  servers.push(bare);
  const refused = await unknownTo(bare, token);
  assert.ok(refused.status >= 500, `no key: ${refused.status} ${refused.text}`);
  assert.match(bare.logs(), /no secrets key|secrets key is configured|OPENDNI_SECRETS_KEY/);
  await bare.stop();

  // With the key (a file, as production runs it): verified.
  const srv = await startServer({ dir, db, account, env: noKey(), args: ['--secrets-key-file', key] });
  servers.push(srv);
  assert.equal((await unknownTo(srv, token)).status, 200);
  assert.equal((await unknownTo(srv, 'wrong-token')).status, 403);
  await srv.stop();

  // From a file; both forms of one secret at once are refused.
  const file = join(dir, 'token.txt');
  writeFileSync(file, 'file-token-0123\n', { mode: 0o600 });
  r = run(['account', 'set', account.accountId, '--db', db, '--twilio-auth-token-file', file], { env });
  assert.equal(r.status, 0, r.stderr);
  assert.notEqual(storedSecret(db), stored);
  r = run(['account', 'set', account.accountId, '--db', db, '--twilio-auth-token-file', file,
    '--twilio-auth-token', 'x'], { env });
  assert.equal(r.status, 2);
  r = run(['account', 'set', account.accountId, '--db', db, '--twilio-auth-token-file', join(dir, 'none')], { env });
  assert.equal(r.status, 2);
  const srv2 = await startServer({ dir, db, account, env: { ...noKey(), OPENDNI_SECRETS_KEY_FILE: key } });
  servers.push(srv2);
  assert.equal((await unknownTo(srv2, 'file-token-0123')).status, 200);
  await srv2.stop();
  // A key file others can read is refused.
  chmodSync(key, 0o644);
  r = run(['init', '--db', db, '--secrets-key-file', key], { env: noKey() });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /chmod 600/);
});

test('init seals the clear rows an older opendni wrote', async () => {
  const dir = tmp();
  const db = freshDb(dir);
  assert.equal(run(['init', '--db', db], { env: noKey() }).status, 0);
  const account = createAccount(db, 'Legacy', ['https://legacy.example']);
  sql(db, `insert into account_providers select id, 'twilio', '${SID}', 'legacy-token', 0 from accounts`);
  let r = run(['init', '--db', db], { env: noKey() });
  assert.equal(r.status, 0, 'init without a key still migrates');
  assert.match(r.stderr, /1 secret\(s\) stored in clear/);
  assert.equal(storedSecret(db), 'legacy-token');
  const key = keygen(dir, 'k');
  r = run(['init', '--db', db, '--secrets-key-file', key], { env: noKey() });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /sealed 1 secret/);
  assert.match(storedSecret(db), /^enc1:/);
  const srv = await startServer({ dir, db, account, env: noKey(), args: ['--secrets-key-file', key] });
  servers.push(srv);
  assert.equal((await unknownTo(srv, 'legacy-token')).status, 200);
  await srv.stop();
});

test('rotation re-seals every secret with the new key in one transaction', async () => {
  const dir = tmp();
  const oldKey = keygen(dir, 'old.key');
  const newKey = keygen(dir, 'new.key');
  const stray = keygen(dir, 'stray.key');
  const db = freshDb(dir);
  const withOld = { ...noKey(), OPENDNI_SECRETS_KEY_FILE: oldKey };
  assert.equal(run(['init', '--db', db], { env: withOld }).status, 0);
  const a = createAccount(db, 'A', ['https://a.example']);
  const b = createAccount(db, 'B', ['https://b.example']);
  assert.equal(run(['account', 'set', a.accountId, '--db', db, '--twilio-auth-token', 'token-a',
    '--twilio-account-sid', SID], { env: withOld }).status, 0);
  assert.equal(run(['account', 'set', b.accountId, '--db', db, '--signalwire-signing-key', 'key-b'], { env: withOld }).status, 0);
  const before = sql(db, 'select secret from account_providers order by account_id, provider');
  // The wrong old key: refused, nothing changes.
  let r = run(['secrets', 'rotate', '--db', db, '--old-key-file', stray, '--new-key-file', newKey], { env: noKey() });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nothing changed/);
  assert.equal(sql(db, 'select secret from account_providers order by account_id, provider'), before);
  r = run(['secrets', 'rotate', '--db', db, '--old-key-file', oldKey, '--new-key-file', newKey], { env: noKey() });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /re-sealed 2 secret/);
  const kids = sql(db, "select distinct substr(secret, 6, 16) from account_providers").split('\n');
  assert.equal(kids.length, 1, 'every row under one key');
  // The old key opens nothing any more; the new one opens everything.
  const old = await startServer({ dir, db, account: a, env: noKey(), args: ['--secrets-key-file', oldKey] });
  servers.push(old);
  assert.ok((await unknownTo(old, 'token-a')).status >= 500);
  await old.stop();
  const srv = await startServer({ dir, db, account: a, env: noKey(), args: ['--secrets-key-file', newKey] });
  servers.push(srv);
  assert.equal((await unknownTo(srv, 'token-a')).status, 200);
  await srv.stop();
  // Rotating again with the same pair is a no-op.
  r = run(['secrets', 'rotate', '--db', db, '--old-key-file', oldKey, '--new-key-file', newKey], { env: noKey() });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /re-sealed 0 /);
});

test('rotation re-seals webhook signing secrets too: the webhook signs with the new key alone', async () => {
  const dir = tmp();
  const oldKey = keygen(dir, 'old.key');
  const newKey = keygen(dir, 'new.key');
  const tls = makeTestCa(dir);
  const rx = await httpsReceiver(tls);
  try {
    const db = freshDb(dir);
    const withOld = { ...noKey(), OPENDNI_SECRETS_KEY_FILE: oldKey };
    assert.equal(run(['init', '--db', db], { env: withOld }).status, 0);
    const a = createAccount(db, 'A', ['https://a.example']);
    const outbound = ['--outbound-allow-private', '--test-outbound-ca', tls.caFile];
    let srv = await startServer({ dir, db, account: a, env: noKey(), args: ['--secrets-key-file', oldKey, ...outbound] });
    servers.push(srv);
    const w = await srv.api('POST', '/v1/webhooks', { url: rx.url + '/hook', events: ['call.completed'] });
    assert.equal(w.status, 201, w.text);
    await srv.stop();
    const sealedBefore = sql(db, 'select secret from destinations');
    const r = run(['secrets', 'rotate', '--db', db, '--old-key-file', oldKey, '--new-key-file', newKey], { env: noKey() });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /re-sealed 1 secret/);
    const sealedAfter = sql(db, 'select secret from destinations');
    assert.notEqual(sealedAfter, sealedBefore);
    assert.doesNotMatch(sealedAfter, new RegExp(w.json.secret), 'never in clear');
    // The old key is gone from the server; the test send still carries a valid signature made
    // with the secret shown at creation.
    srv = await startServer({ dir, db, account: a, env: noKey(), args: ['--secrets-key-file', newKey, ...outbound] });
    servers.push(srv);
    const t = await srv.api('POST', `/v1/webhooks/${w.json.id}/test`);
    assert.equal(t.status, 202, t.text);
    for (let i = 0; i < 200 && !rx.requests.length; i++) await new Promise((res) => setTimeout(res, 50));
    assert.equal(rx.requests.length, 1);
    const got = rx.requests[0];
    assert.ok(verifySignature(w.json.secret, got.headers['opendni-signature'], got.body, null));
    await srv.stop();
  } finally {
    await rx.close();
  }
});

test('rotation re-seals ping-post buyers\' signing secrets: the ping is signed under the new key alone', async () => {
  const dir = tmp();
  const oldKey = keygen(dir, 'old.key');
  const newKey = keygen(dir, 'new.key');
  const tls = makeTestCa(dir);
  const token = 'rotation-buyer-token-0123456789';
  let secret = null;
  const signed = (req) => {
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(req.headers['opendni-signature'] || '');
    return !!m && secret !== null &&
      createHmac('sha256', secret).update(`${m[1]}.${req.body}`).digest('hex') === m[2];
  };
  // The buyer refuses a ping it cannot verify (401) and passes on one it can (204: no bid).
  const rx = await httpsReceiver(tls, (req) => ({ status: signed(req) ? 204 : 401 }));
  try {
    const db = freshDb(dir);
    const withOld = { ...noKey(), OPENDNI_SECRETS_KEY_FILE: oldKey };
    assert.equal(run(['init', '--db', db], { env: withOld }).status, 0);
    const a = createAccount(db, 'A', ['https://a.example']);
    const set = run(['account', 'set', a.accountId, '--db', db, '--twilio-auth-token', token,
      '--twilio-account-sid', SID], { env: withOld });
    assert.equal(set.status, 0, set.stderr);
    const outbound = ['--outbound-allow-private', '--test-outbound-ca', tls.caFile];
    let srv = await startServer({ dir, db, account: a, env: noKey(), args: ['--secrets-key-file', oldKey, ...outbound] });
    servers.push(srv);
    const num = await srv.api('POST', '/v1/numbers', { number: '+15125550777', target: '+15555550100',
      forward_to: '+15555550100', source: { source: 'radio', medium: 'offline', campaign: 'am' } });
    assert.equal(num.status, 201, num.text);
    const plan = await srv.api('POST', '/v1/routing-plans', { name: 'Leads', attach: { number: num.json.id },
      last_resort: '+15555550999', targets: [{ id: 'acme', number: '+15555550301', bid_url: `${rx.url}/ping`,
        post_url: `${rx.url}/post` }], steps: [{ type: 'distribute', method: 'ping_post', deadline_ms: 2000 }] });
    assert.equal(plan.status, 201, plan.text);
    secret = plan.json.targets[0].signing_secret;
    assert.match(secret, /^bsec_/);
    await srv.stop();
    const body = () => sql(db, `select body from route_docs where ext_id = '${plan.json.id}'`);
    const before = body();
    const r = run(['secrets', 'rotate', '--db', db, '--old-key-file', oldKey, '--new-key-file', newKey], { env: noKey() });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /re-sealed 2 secret/, 'the Twilio token and the buyer\'s secret');
    const after = body();
    assert.notEqual(after, before);
    assert.ok(!after.includes(secret), 'never in clear');
    assert.equal(JSON.parse(after).name, 'Leads', 'the rest of the plan kept');
    // Rotating again changes nothing: everything is sealed with the new key already.
    const again = run(['secrets', 'rotate', '--db', db, '--old-key-file', oldKey, '--new-key-file', newKey], { env: noKey() });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /re-sealed 0 secret/);
    assert.equal(body(), after);
    // The old key is gone from the server: the auction's ping still carries a valid signature.
    srv = await startServer({ dir, db, account: a, env: noKey(), args: ['--secrets-key-file', newKey, ...outbound] });
    servers.push(srv);
    const p = { AccountSid: SID, CallSid: 'CA' + randomBytes(16).toString('hex'), CallStatus: 'ringing',
      Direction: 'inbound', From: '+15125550100', To: '+15125550777' };
    const path = '/v1/telephony/twilio/voice';
    const res = await fetch(srv.url + path, { method: 'POST', body: new URLSearchParams(p).toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sign(token, srv.url + path, p) } });
    assert.equal(res.status, 200, await res.text());
    const pings = rx.requests.filter((q) => q.path === '/ping');
    assert.equal(pings.length, 1);
    assert.equal(pings[0].status, 204, 'the buyer verified the ping');
    await srv.stop();
  } finally {
    await rx.close();
  }
});
