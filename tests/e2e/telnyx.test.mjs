// SPDX-License-Identifier: AGPL-3.0-or-later
// Telnyx TeXML through the real server: the account's Ed25519 public key in its settings (set
// with the CLI), webhooks signed here with node:crypto over "<telnyx-timestamp>|<raw body>"
// (INTERFACES.md §3.4), the TeXML <Dial> answer, attribution, the status callback and its
// conversion, and the 403s for a bad signature and a stale timestamp.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, sql as storeSql, freshDb } from '../helpers/server.mjs';

const ACCOUNT_SID = 'b3877c40-da60-4998-90ad-b792e98472af';
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
// The raw key is the last 32 bytes of the SPKI DER, as the Mission Control Portal shows it.
const RAW_KEY = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');

let srv;
after(async () => { if (srv) await srv.cleanup(); });

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-telnyx-'));
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Plumber', ['https://plumber.example']);
  // The key is stored with the account's provider secrets, apart from its settings.
  assert.equal(cli(['account', 'set', account.accountId, '--db', db, '--settings', '{"record_calls":false}']).status, 0);
  const bad = cli(['account', 'set', account.accountId, '--db', db, '--telnyx-public-key', 'not-a-key']);
  assert.equal(bad.status, 2, 'a key that is not base64 of 32 bytes is refused');
  assert.match(bad.stderr, /^error: --telnyx-public-key/);
  const set = cli(['account', 'set', account.accountId, '--db', db, '--telnyx-public-key', RAW_KEY]);
  assert.equal(set.status, 0, set.stderr);
  const q = (text) => storeSql(db, text);
  assert.deepEqual(JSON.parse(q(`select settings from accounts where ext_id = '${account.accountId}'`)), { record_calls: false });
  // Stored sealed (docs/operations.md "Security"), never as given.
  const stored = q(`select p.secret from account_providers p join accounts a on a.id = p.account_id where a.ext_id = '${account.accountId}' and p.provider = 'telnyx'`);
  assert.match(stored, /^enc1:[0-9a-f]{16}:/);
  assert.ok(!stored.includes(RAW_KEY));
  srv = await startServer({ dir, db, account });
});

const sql = (q) => storeSql(srv.db, q);
const callCount = () => Number(sql('select count(*) from calls'));
const callSid = () => 'v3:' + randomBytes(24).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** POSTs a signed TeXML form; opts: {ts, key (private), sig (overrides), body (sent instead)}. */
async function hook(path, params, opts = {}) {
  const body = new URLSearchParams(params).toString();
  const ts = String(opts.ts ?? now());
  const sig = opts.sig ?? sign(null, Buffer.from(`${ts}|${body}`), opts.key || privateKey)
    .toString('base64');
  const res = await fetch(srv.url + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'telnyx-timestamp': ts,
      'telnyx-signature-ed25519': sig },
    body: opts.body ?? body,
  });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

const voiceParams = (to, from, sid = callSid()) => ({ AccountSid: ACCOUNT_SID, CallSid: sid,
  CallSidLegacy: sid, CallStatus: 'ringing', ConnectionId: '1234567890', Direction: 'inbound',
  From: from, To: to, CallbackSource: 'call-progress-events', SequenceNumber: '1',
  Timestamp: new Date().toISOString() });
const voice = (p, opts) => hook('/v1/telephony/telnyx/voice', p, opts);
const status = (p, fields) => hook('/v1/telephony/telnyx/status', { ...p, ...fields,
  Timestamp: new Date().toISOString() });

async function callOf(sid) {
  const ext = sql(`select ext_id from calls where provider = 'telnyx' and provider_call_id = '${sid}'`);
  assert.ok(ext, `no telnyx call stored for ${sid}`);
  const r = await srv.api('GET', `/v1/calls/${ext}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

let number;
test('a visit, then a signed TeXML call: <Dial> to the forward number, exact attribution', async () => {
  const p = await srv.api('POST', '/v1/pools', { name: 'telnyx', target: '+15555550100',
    forward_to: '+15555550109' });
  assert.equal(p.status, 201, p.text);
  const n = await srv.api('POST', '/v1/numbers', { number: '+15555550101', pool: p.json.id });
  assert.equal(n.status, 201, n.text);
  const url = 'https://plumber.example/landing?utm_source=google&utm_medium=cpc' +
    '&utm_campaign=spring_sale&gclid=telnyx-gclid';
  const v = await srv.visit({ url, referrer: 'https://www.google.com/', targets: ['+15555550100'] });
  assert.equal(v.status, 200, v.text);
  number = v.json.numbers[0].number;
  assert.equal(number, '+15555550101');

  const params = voiceParams(number, '+15125550123');
  const r = await voice(params);
  assert.equal(r.status, 200, r.text);
  assert.match(r.type, /xml/);
  assert.match(r.text, /^<\?xml/);
  assert.match(r.text, /<Dial [^>]*callerId="\+15125550123"/);
  // Both the <Dial action> and the leg's callbacks come back to the Telnyx status route.
  assert.match(r.text, new RegExp(`<Dial [^>]*action="${srv.url}/v1/telephony/telnyx/status"`));
  assert.match(r.text, new RegExp(`<Number [^>]*statusCallback="${srv.url}/v1/telephony/telnyx/status"[^>]*>\\+15555550109</Number>`));
  assert.doesNotMatch(r.text, /twilio/);

  const c = await callOf(params.CallSid);
  assert.equal(c.to, number);
  assert.equal(c.from, '+15125550123');
  assert.equal(c.status, 'ringing');
  assert.equal(c.forwarded_to, '+15555550109');
  const a = c.attribution;
  assert.equal(a.method, 'exact');
  assert.equal(a.confidence, 1);
  assert.equal(a.session_id, v.json.session_id);
  assert.equal(a.source.channel, 'paid_search');
  assert.equal(a.source.campaign, 'spring_sale');
  assert.equal(a.click_ids.gclid, 'telnyx-gclid');

  const list = await srv.api('GET', '/v1/calls');
  assert.equal(list.status, 200, list.text);
  assert.ok(list.json.calls.some((x) => x.id === c.id && x.attribution.method === 'exact'));

  // A retry of the same webhook is the same call.
  const again = await voice(params);
  assert.equal(again.status, 200, again.text);
  assert.equal(Number(sql(`select count(*) from calls where provider_call_id = '${params.CallSid}'`)), 1);

  // Completed after 95 s of talk: the default rule (completed, >= 60 s) makes it a conversion.
  const done = await status(params, { CallStatus: 'completed', CallDuration: '95', SequenceNumber: '3' });
  assert.equal(done.status, 204, done.text);
  const after95 = await callOf(params.CallSid);
  assert.equal(after95.status, 'completed');
  assert.equal(after95.duration, 95);
  assert.equal(after95.conversion.name, 'Phone call');
  assert.equal(after95.conversion.value, 0);
});

test('the TeXML <Dial action> (DialCallStatus) on the status route answers TeXML', async () => {
  const params = voiceParams(number, '+15125550124');
  assert.equal((await voice(params)).status, 200);
  const r = await status(params, { DialCallStatus: 'busy', DialCallDuration: '0' });
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /<Response\s*\/>|<Response><\/Response>/);
  const c = await callOf(params.CallSid);
  assert.equal(c.status, 'busy');
  assert.equal(c.conversion, null);
});

test('a bad signature is 403 and stores nothing', async () => {
  const before = callCount();
  const params = voiceParams(number, '+15125550150');
  const other = generateKeyPairSync('ed25519').privateKey;
  assert.equal((await voice(params, { key: other })).status, 403);
  // Signed body, another body sent.
  const tampered = new URLSearchParams({ ...params, From: '+15125550999' }).toString();
  assert.equal((await voice(params, { body: tampered })).status, 403);
  assert.equal((await voice(params, { sig: 'not-base64!' })).status, 403);
  const noSig = await fetch(srv.url + '/v1/telephony/telnyx/voice', { method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString() });
  assert.equal(noSig.status, 403);
  // A status callback with a bad signature changes nothing either.
  assert.equal((await hook('/v1/telephony/telnyx/status', { ...params, CallStatus: 'completed' },
    { key: other })).status, 403);
  assert.equal(callCount(), before);
});

test('a timestamp 301 s old is 403 even when correctly signed', async () => {
  const before = callCount();
  const params = voiceParams(number, '+15125550160');
  assert.equal((await voice(params, { ts: now() - 301 })).status, 403);
  // a future one with room: the request may reach the server seconds after ts was computed (a
  // loaded machine), which brings a timestamp 301 s ahead back within the tolerance
  assert.equal((await voice(params, { ts: now() + 330 })).status, 403);
  assert.equal(callCount(), before);
  // The same request signed now goes through.
  assert.equal((await voice(params)).status, 200);
  assert.equal(callCount(), before + 1);
});

test('a number nobody owns: refused politely for the account whose key signed, else 403', async () => {
  // Telnyx's AccountSid is not stored: the accounts holding a Telnyx key are tried.
  const params = voiceParams('+15555550977', '+15125550170');
  const r = await voice(params);
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /<Hangup\/>/);
  assert.equal((await callOf(params.CallSid)).attribution.method, 'unattributed');
  const before = callCount();
  const other = generateKeyPairSync('ed25519').privateKey;
  assert.equal((await voice(voiceParams('+15555550977', '+15125550171'), { key: other })).status, 403);
  assert.equal(callCount(), before);
});

test('an unknown To is verified by the account stored with the request\'s AccountSid, not by a scan', async () => {
  const keyOf = (pub) => pub.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');
  const b = generateKeyPairSync('ed25519');
  const c = generateKeyPairSync('ed25519');
  const accB = createAccount(srv.db, 'Telnyx B', ['https://b.example']);
  const accC = createAccount(srv.db, 'Telnyx C', ['https://c.example']);
  const SID_B = '11111111-2222-4333-8444-555555555555';
  const SID_C = '66666666-7777-4888-9999-000000000000';
  for (const [acc, pair, sid] of [[accB, b, SID_B], [accC, c, SID_C]]) {
    const set = cli(['account', 'set', acc.accountId, '--db', srv.db, '--telnyx-public-key',
      keyOf(pair.publicKey), '--telnyx-account-sid', sid]);
    assert.equal(set.status, 0, set.stderr);
  }
  // B's key and B's AccountSid: found through the index, stored under B.
  const ok = voiceParams('+15555550978', '+15125550180');
  ok.AccountSid = SID_B;
  const r = await voice(ok, { key: b.privateKey });
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /<Hangup\/>/);
  assert.equal(sql(`select a.ext_id from calls c join accounts a on a.id = c.account_id
    where c.provider_call_id = '${ok.CallSid}'`), accB.accountId);
  // B's key with C's AccountSid: only C (and the accounts that stored no id) are tried.
  const before = callCount();
  const wrong = voiceParams('+15555550978', '+15125550181');
  wrong.AccountSid = SID_C;
  assert.equal((await voice(wrong, { key: b.privateKey })).status, 403);
  // B's key with an AccountSid nobody stored: B is not among the accounts without an id.
  const unknown = voiceParams('+15555550978', '+15125550182');
  unknown.AccountSid = 'no-such-telnyx-account';
  assert.equal((await voice(unknown, { key: b.privateKey })).status, 403);
  assert.equal(callCount(), before);
  // The first account stored its key without an id: still found, whatever AccountSid says.
  const legacy = voiceParams('+15555550978', '+15125550183');
  legacy.AccountSid = SID_C;
  assert.equal((await voice(legacy)).status, 200);
  assert.equal(callCount(), before + 1);
});

test('record_calls: the TeXML <Dial> posts its recording to the Telnyx recording route, where a signed callback is stored', async () => {
  assert.equal(cli(['account', 'set', srv.accountId, '--db', srv.db, '--settings', '{"record_calls":true}']).status, 0);
  try {
    const p = voiceParams(number, '+14155550188');
    const r = await voice(p);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /record="record-from-answer-dual"/);
    assert.ok(r.text.includes(`recordingStatusCallback="${srv.url}/v1/telephony/telnyx/recording"`), r.text);
    assert.match(r.text, /recordingStatusCallbackMethod="POST"/);
    const rec = { AccountSid: ACCOUNT_SID, CallSid: p.CallSid, RecordingSid: randomBytes(8).toString('hex'),
      RecordingUrl: 'https://recordings.telnyx.example/abc.mp3?X-Amz-Signature=1', RecordingStatus: 'completed',
      RecordingDuration: '12' };
    const forged = await hook('/v1/telephony/telnyx/recording', rec, { key: generateKeyPairSync('ed25519').privateKey });
    assert.equal(forged.status, 403, forged.text);
    assert.equal((await callOf(p.CallSid)).recording, null);
    const ok = await hook('/v1/telephony/telnyx/recording', rec);
    assert.equal(ok.status, 204, ok.text);
    assert.deepEqual((await callOf(p.CallSid)).recording, { url: rec.RecordingUrl, duration: 12 });
  } finally {
    assert.equal(cli(['account', 'set', srv.accountId, '--db', srv.db, '--settings', '{"record_calls":false}']).status, 0);
  }
});
