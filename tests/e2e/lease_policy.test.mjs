// SPDX-License-Identifier: AGPL-3.0-or-later
// The account setting lease_policy (issue 20): "new" rests a number longer after its holder
// tapped or copied it (store_lease_note, core/pool), and credits a call on a pool number with
// the likelihood model over the number's past holders (core/attrib attrib_decide_model), the
// same policy `opendni simulate --policy new` replays, with the signals that decided in the
// reason; "old" (the default) leases idle-longest and keeps the rules exact / shared / late.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, sql as storeSql, freshDb } from '../helpers/server.mjs';

const TOKEN = 'policy-test-auth-token-0123456789';
const SID = 'AC' + 'cd'.repeat(16);
const MOBILE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 ' +
  '(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const DESKTOP_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Chrome/120.0 Safari/537.36';
const servers = [];
after(async () => { for (const s of servers) await s.cleanup(); });

async function server(policy) {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-policy-'));
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Plumber', ['https://plumber.example']);
  const settings = policy ? ['--settings', JSON.stringify({ lease_policy: policy })] : [];
  const set = cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, ...settings, '--db', db]);
  assert.equal(set.status, 0, set.stderr);
  const s = await startServer({ dir, db, account });
  servers.push(s);
  return s;
}

const sql = (srv, q) => storeSql(srv.db, q);

function sign(url, params) {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', TOKEN).update(data, 'utf8').digest('base64');
}

/** An inbound call to `to` from `from`; returns its stored attribution. */
async function call(srv, to, from) {
  const params = { AccountSid: SID, ApiVersion: '2010-04-01', CallSid: 'CA' + randomBytes(16).toString('hex'),
    CallStatus: 'ringing', Called: to, Caller: from, Direction: 'inbound', From: from, To: to };
  const path = '/v1/telephony/twilio/voice';
  const res = await fetch(srv.url + path, { method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sign(srv.url + path, params) },
    body: new URLSearchParams(params).toString() });
  assert.equal(res.status, 200, await res.text());
  const ext = sql(srv, `select ext_id from calls where provider_call_id = '${params.CallSid}'`);
  const r = await srv.api('GET', `/v1/calls/${ext}`);
  assert.equal(r.status, 200, r.text);
  return r.json.attribution;
}

/** A one-number pool whose number every visitor gets in turn (lease 1 s, no cooldown), held
 * first by a mobile visitor who tapped and copied it, then by a desktop visitor who bounced. */
async function twoHolders(srv, target, number) {
  const p = await srv.api('POST', '/v1/pools', { name: `pool-${target}`, target, lease_ttl: 1, cooldown: 0 });
  assert.equal(p.status, 201, p.text);
  const n = await srv.api('POST', '/v1/numbers', { number, pool: p.json.id });
  assert.equal(n.status, 201, n.text);
  const a = (await srv.visit({ url: 'https://plumber.example/a', targets: [target] }, { 'User-Agent': MOBILE_UA })).json;
  assert.equal(a.numbers[0].number, number);
  for (const type of ['tel_click', 'number_copy']) {
    const ev = await srv.api('POST', `/v1/visits/${a.session_id}/events`, { type, number }, null);
    assert.equal(ev.status, 202, ev.text);
  }
  await srv.advance(1500); // a's lease ends
  const b = (await srv.visit({ url: 'https://plumber.example/b', targets: [target] }, { 'User-Agent': DESKTOP_UA })).json;
  assert.equal(b.numbers[0].number, number, 'no cooldown: the number goes to the next visitor');
  await srv.advance(10 * 60 * 1000); // both leases ended long ago
  return { a, b };
}

test('lease_policy new: a late call goes to the past holder who tapped and copied, with the reasons', async () => {
  const srv = await server('new');
  const { a, b } = await twoHolders(srv, '+15555552100', '+15555552101');
  const at = await call(srv, '+15555552101', '+15125552100');
  assert.equal(at.method, 'late');
  assert.equal(at.session_id, a.session_id, 'the holder who tapped and copied, not the last one');
  assert.match(at.reason, /^most likely of 2 holders \(past holder, \d+ %\)/);
  assert.match(at.reason, /tel: click/);
  assert.match(at.reason, /copied the number/);
  assert.match(at.reason, /mobile/);
  assert.ok(at.confidence > 0.5 && at.confidence < 1, String(at.confidence));
  assert.equal(at.runner_up.session_id, b.session_id);
});

test('lease_policy old (the default): the same late call goes to the last holder', async () => {
  const srv = await server();
  const { b } = await twoHolders(srv, '+15555552200', '+15555552201');
  const at = await call(srv, '+15555552201', '+15125552200');
  assert.equal(at.method, 'late');
  assert.equal(at.session_id, b.session_id);
  assert.doesNotMatch(at.reason, /most likely/);
});

test('lease_policy: a value other than old or new is refused, and stored anyway it means the defaults', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-policy-'));
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Plumber', ['https://plumber.example']);
  const bad = cli(['account', 'set', account.accountId, '--settings', '{"lease_policy":"newest"}', '--db', db]);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /lease_policy/);
  assert.equal(cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]).status, 0);
  storeSql(db, `update accounts set settings = '{"lease_policy":"newest"}' where ext_id = '${account.accountId}'`);
  const srv = await startServer({ dir, db, account });
  servers.push(srv);
  const { b } = await twoHolders(srv, '+15555552300', '+15555552301');
  const at = await call(srv, '+15555552301', '+15125552300');
  assert.equal(at.session_id, b.session_id, 'settings that do not parse: the defaults (old)');
});

/** Two numbers: a mobile visitor gets the first and taps it, a second visitor the other; both
 * leases end; then a newcomer arrives, and later the first visitor calls back. */
async function tapThenNewcomer(srv, target, n1, n2) {
  const p = await srv.api('POST', '/v1/pools', { name: `pool-${target}`, target, lease_ttl: 1, cooldown: 0 });
  assert.equal(p.status, 201, p.text);
  for (const number of [n1, n2]) {
    const r = await srv.api('POST', '/v1/numbers', { number, pool: p.json.id });
    assert.equal(r.status, 201, r.text);
  }
  const a = (await srv.visit({ url: 'https://plumber.example/a', targets: [target] }, { 'User-Agent': MOBILE_UA })).json;
  assert.equal(a.numbers[0].number, n1);
  const ev = await srv.api('POST', `/v1/visits/${a.session_id}/events`, { type: 'tel_click', number: n1 }, null);
  assert.equal(ev.status, 202, ev.text);
  await srv.advance(300);
  const b = (await srv.visit({ url: 'https://plumber.example/b', targets: [target] }, { 'User-Agent': DESKTOP_UA })).json;
  assert.equal(b.numbers[0].number, n2);
  await srv.advance(1500); // both leases ended; the first number was released first
  const c = (await srv.visit({ url: 'https://plumber.example/c', targets: [target] }, { 'User-Agent': DESKTOP_UA })).json;
  await srv.advance(500);
  const callback = await call(srv, n1, '+15125552400');
  return { a, c, callback };
}

test('lease_policy new: a tapped number rests, so a newcomer gets the other one and the call back finds its visitor', async () => {
  const srv = await server('new');
  const { a, c, callback } = await tapThenNewcomer(srv, '+15555552400', '+15555552401', '+15555552402');
  assert.equal(c.numbers[0].number, '+15555552402', 'the tapped number rests: the newcomer gets the other');
  assert.equal(callback.method, 'late');
  assert.equal(callback.session_id, a.session_id);
  assert.match(callback.reason, /tel: click/);
});

test('lease_policy old: the same newcomer gets the tapped number (idle longest) and takes the call back', async () => {
  const srv = await server();
  const { a, c, callback } = await tapThenNewcomer(srv, '+15555552500', '+15555552501', '+15555552502');
  assert.equal(c.numbers[0].number, '+15555552501', 'idle-longest: the number released first');
  assert.equal(callback.method, 'exact');
  assert.equal(callback.session_id, c.session_id, 'the collision: the newcomer is credited');
  assert.notEqual(callback.session_id, a.session_id);
});

test('lease_policy new: a tapped number still rests after a restart', async () => {
  const srv = await server('new');
  const target = '+15555552600';
  const p = await srv.api('POST', '/v1/pools', { name: 'pool-restart', target, lease_ttl: 1, cooldown: 0 });
  assert.equal(p.status, 201, p.text);
  for (const number of ['+15555552601', '+15555552602']) {
    const r = await srv.api('POST', '/v1/numbers', { number, pool: p.json.id });
    assert.equal(r.status, 201, r.text);
  }
  const a = (await srv.visit({ url: 'https://plumber.example/a', targets: [target] }, { 'User-Agent': MOBILE_UA })).json;
  assert.equal(a.numbers[0].number, '+15555552601');
  const ev = await srv.api('POST', `/v1/visits/${a.session_id}/events`, { type: 'number_copy', number: '+15555552601' }, null);
  assert.equal(ev.status, 202, ev.text);
  await srv.advance(300);
  const b = (await srv.visit({ url: 'https://plumber.example/b', targets: [target] })).json;
  assert.equal(b.numbers[0].number, '+15555552602');
  await srv.advance(1500);
  await srv.restart(); // the test clock starts again from the real time: move past both leases
  await srv.advance(5000);
  const c = (await srv.visit({ url: 'https://plumber.example/c', targets: [target] })).json;
  assert.equal(c.numbers[0].number, '+15555552602', 'the copied number still rests after the restart');
});
