// SPDX-License-Identifier: AGPL-3.0-or-later
// GET /v1/calls/{id}/recording: a voicemail's recording (its URL and duration stored from
// Twilio's recording callback) relayed from a local HTTPS "provider" (a test CA, serve
// --test-outbound-ca) that checks the account's Basic credentials and the .mp3 rendition; the
// provider's refusals and missing recordings; a call without one; roles (analyst and up) and the
// audit log; the app's CSP lets it play from its own origin only. A call forwarded without a
// plan under record_calls: its <Dial> names our recording route, the signed callback stores the
// recording on the call (CALL.recording), the endpoint relays it; forged, unfinished, unknown and
// malformed callbacks store nothing; a callback the store cannot take is spooled and written.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, sql, freshDb } from '../helpers/server.mjs';
import { makeTestCa, httpsReceiver } from '../helpers/receivers.mjs';

const TOKEN = 'recording-test-auth-token-0123456789';
const SID = 'AC' + 'ef'.repeat(16);
const PW = 'correct horse battery';
const AUDIO = Buffer.concat([Buffer.from('ID3\x04\x00\x00'), randomBytes(70000)]);
const dir = mkdtempSync(join(tmpdir(), 'opendni-recording-'));
const tls = makeTestCa(dir);
let srv;
let provider;

before(async () => {
  provider = await httpsReceiver(tls, (req) => {
    const auth = 'Basic ' + Buffer.from(`${SID}:${TOKEN}`).toString('base64');
    if (req.headers.authorization !== auth) return { status: 401, body: 'authenticate' };
    if (req.path.endsWith('/Recordings/RE1.mp3') || req.path.endsWith('/Recordings/REplain.mp3')) return { status: 200, headers: { 'Content-Type': 'audio/mpeg' }, body: AUDIO };
    if (req.path.endsWith('/Recordings/REhtml.mp3')) return { status: 200, headers: { 'Content-Type': 'text/html' }, body: '<p>hi</p>' };
    return { status: 404, body: 'no such recording' };
  });
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Brand', ['https://brand.example']);
  const set = cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN, '--twilio-account-sid', SID, '--db', db]);
  assert.equal(set.status, 0, set.stderr);
  srv = await startServer({ dir: mkdtempSync(join(tmpdir(), 'opendni-recording-srv-')), db, account,
    args: ['--outbound-allow-private', '--test-outbound-ca', tls.caFile] });
});
after(async () => {
  if (srv) await srv.cleanup();
  if (provider) await provider.close();
  rmSync(dir, { recursive: true, force: true });
});

function sign(url, params) {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', TOKEN).update(data, 'utf8').digest('base64');
}
async function hook(pathAndQuery, params) {
  const res = await fetch(srv.url + pathAndQuery, { method: 'POST', body: new URLSearchParams(params).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sign(srv.url + pathAndQuery, params) } });
  return { status: res.status, text: await res.text() };
}
const attr = (xml, name) => xml.match(new RegExp(`${name}="([^"]+)"`))[1].replaceAll('&amp;', '&').slice(srv.url.length);
const base = (to, sid) => ({ AccountSid: SID, CallSid: sid, CallStatus: 'in-progress', Direction: 'inbound',
  From: '+13125550104', To: to });

let voicemailNumber;
/** A call to the voicemail number whose recording is at the provider under recordingId; its id. */
async function voicemail(recordingId) {
  if (!voicemailNumber) {
    const n = await srv.api('POST', '/v1/numbers', { number: '+15125550205', target: '+15555550100',
      forward_to: '+15555550100', source: { source: 'billboard', medium: 'offline', campaign: 'i95' } });
    assert.equal(n.status, 201, n.text);
    const p = await srv.api('POST', '/v1/routing-plans', { name: 'VM', attach: { number: n.json.id },
      last_resort: '+15555550999', steps: [{ type: 'voicemail', say: 'Leave a message.', max_length: 60 }] });
    assert.equal(p.status, 201, p.text);
    voicemailNumber = '+15125550205';
  }
  const sid = 'CA' + randomBytes(16).toString('hex');
  const v = await hook('/v1/telephony/twilio/voice', { ...base(voicemailNumber, sid), CallStatus: 'ringing' });
  assert.match(v.text, /<Record /, v.text);
  const url = `${provider.url}/2010-04-01/Accounts/${SID}/Recordings/${recordingId}`;
  const rec = await hook(attr(v.text, 'recordingStatusCallback'), { ...base(voicemailNumber, sid), RecordingSid: recordingId,
    RecordingUrl: url, RecordingStatus: 'completed', RecordingDuration: '17' });
  assert.equal(rec.status, 204, rec.text);
  const ext = sql(srv.db, `select ext_id from calls where provider_call_id = '${sid}'`);
  assert.ok(ext);
  const c = await srv.api('GET', `/v1/calls/${ext}`);
  assert.deepEqual(c.json.routing.recording, { url, duration: 17 });
  assert.deepEqual(c.json.recording, { url, duration: 17 }, 'CALL.recording mirrors the routed one');
  return ext;
}

async function get(path, headers = {}) {
  const res = await fetch(srv.url + path, { headers });
  return { status: res.status, type: res.headers.get('content-type'), length: res.headers.get('content-length'),
    cache: res.headers.get('cache-control'), body: Buffer.from(await res.arrayBuffer()) };
}
const key = () => ({ Authorization: 'Bearer ' + srv.apiKey });

test('a recorded call\'s audio comes through the server, fetched with the account\'s credentials', async () => {
  const id = await voicemail('RE1');
  const before = provider.requests.length;
  const r = await get(`/v1/calls/${id}/recording`, key());
  assert.equal(r.status, 200, r.body.toString());
  assert.equal(r.type, 'audio/mpeg');
  assert.equal(Number(r.length), AUDIO.length);
  assert.ok(r.body.equals(AUDIO), 'the provider\'s bytes, unchanged');
  assert.match(r.cache, /no-store/);
  const asked = provider.requests.slice(before);
  assert.equal(asked.length, 1);
  assert.equal(asked[0].path, `/2010-04-01/Accounts/${SID}/Recordings/RE1.mp3`, 'the MP3 rendition');
  assert.equal(asked[0].headers.authorization, 'Basic ' + Buffer.from(`${SID}:${TOKEN}`).toString('base64'));
  // audited, with the key as the actor
  const audit = sql(srv.db, 'select actor, action, detail from audit_log order by id');
  assert.match(audit, new RegExp(`api\\|GET /v1/calls/\\{\\}/recording\\|recording of ${id} \\(twilio\\)`));
});

test('what the provider answers: a gone recording is 404, a refusal or a non-audio answer 502', async () => {
  const gone = await voicemail('REgone');
  let r = await srv.api('GET', `/v1/calls/${gone}/recording`);
  assert.equal(r.status, 404, r.text);
  assert.match(r.json.error.message, /no longer has this recording/);
  const html = await voicemail('REhtml');
  r = await srv.api('GET', `/v1/calls/${html}/recording`);
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json.error.code, 'provider_error');
  // the account's token changed at the provider: refused
  const set = cli(['account', 'set', srv.accountId, '--twilio-auth-token', 'a-wrong-token-0123456789abcdef', '--db', srv.db]);
  assert.equal(set.status, 0, set.stderr);
  const ok = await voicemail('RE1').catch(() => null); // webhooks now fail their signature: use the stored call
  assert.equal(ok, null);
  const first = sql(srv.db, `select c.ext_id from calls c join call_routes r on r.call_sid = c.provider_call_id
    where r.recording_url like '%/RE1' order by c.id limit 1`);
  r = await srv.api('GET', `/v1/calls/${first}/recording`);
  assert.equal(r.status, 502, r.text);
  assert.match(r.json.error.message, /refused the account's credentials \(HTTP 401\)/);
  const back = cli(['account', 'set', srv.accountId, '--twilio-auth-token', TOKEN, '--db', srv.db]);
  assert.equal(back.status, 0, back.stderr);
});

test('no recording, another account, roles, and the app\'s CSP', async () => {
  const id = await voicemail('RE1');
  // a call with no recording
  const plain = sql(srv.db, `select c.ext_id from calls c where not exists (select 1 from call_routes r
    where r.call_sid = c.provider_call_id and r.recording_url <> '') order by c.id limit 1`);
  if (plain) assert.equal((await srv.api('GET', `/v1/calls/${plain}/recording`)).status, 404);
  assert.equal((await srv.api('GET', '/v1/calls/call_nope/recording')).status, 404);
  const other = createAccount(srv.db, 'Other', ['https://other.example']);
  assert.equal((await srv.api('GET', `/v1/calls/${id}/recording`, undefined, other.apiKey)).status, 404);
  assert.equal((await srv.api('GET', `/v1/calls/${id}/recording`, undefined, null)).status, 401);
  for (const [email, role] of [['ana@example.com', 'analyst'], ['vic@example.com', 'viewer']]) {
    const u = cli(['user', 'add', email, '--account', srv.accountId, '--role', role, '--db', srv.db, '--password-stdin'], { input: PW + '\n' });
    assert.equal(u.status, 0, u.stderr);
  }
  const cookie = async (email) => {
    const res = await fetch(srv.url + '/app/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password: PW }) });
    assert.equal(res.status, 200);
    return 'opendni_sid=' + /opendni_sid=([^;]*)/.exec(res.headers.get('set-cookie'))[1];
  };
  const ana = await get(`/v1/calls/${id}/recording`, { Cookie: await cookie('ana@example.com') });
  assert.equal(ana.status, 200);
  assert.ok(ana.body.equals(AUDIO));
  const vic = await get(`/v1/calls/${id}/recording`, { Cookie: await cookie('vic@example.com') });
  assert.equal(vic.status, 403);
  const audit = sql(srv.db, 'select actor, action from audit_log order by id');
  assert.match(audit, /ana@example\.com\|GET \/v1\/calls\/\{\}\/recording/);
  assert.doesNotMatch(audit, /vic@example\.com\|GET/);
  const page = await fetch(srv.url + '/app/');
  assert.match(page.headers.get('content-security-policy'), /media-src 'self'/);
});

/** A plain forward (no routing plan) under record_calls; its CallSid, call id and TwiML. */
let plainNumber;
async function recordedForward() {
  if (!plainNumber) {
    const n = await srv.api('POST', '/v1/numbers', { number: '+15125550206', target: '+15555550100',
      forward_to: '+15555550100', source: { source: 'flyer', medium: 'offline', campaign: 'spring' } });
    assert.equal(n.status, 201, n.text);
    plainNumber = '+15125550206';
  }
  const sid = 'CA' + randomBytes(16).toString('hex');
  const v = await hook('/v1/telephony/twilio/voice', { ...base(plainNumber, sid), CallStatus: 'ringing' });
  assert.equal(v.status, 200, v.text);
  const ext = sql(srv.db, `select ext_id from calls where provider_call_id = '${sid}'`);
  assert.ok(ext);
  return { sid, ext, twiml: v.text };
}
const recParams = (sid, over = {}) => ({ AccountSid: SID, CallSid: sid, RecordingSid: 'REplain',
  RecordingUrl: `${provider.url}/2010-04-01/Accounts/${SID}/Recordings/REplain`, RecordingStatus: 'completed',
  RecordingDuration: '23', RecordingChannels: '2', RecordingSource: 'DialVerb', ...over });
const storedRecording = (sid) => sql(srv.db, `select recording_url || '|' || coalesce(recording_duration, -1) from calls
  where provider_call_id = '${sid}'`);

test('a call forwarded without a plan under record_calls: its recording callback is stored and played', async () => {
  const set = cli(['account', 'set', srv.accountId, '--settings', '{"record_calls":true}', '--db', srv.db]);
  assert.equal(set.status, 0, set.stderr);
  try {
    const { sid, ext, twiml } = await recordedForward();
    assert.match(twiml, /<Dial [^>]*record="record-from-answer-dual"/, twiml);
    assert.equal(attr(twiml, 'recordingStatusCallback'), '/v1/telephony/twilio/recording');
    assert.match(twiml, /recordingStatusCallbackMethod="POST"/);
    assert.doesNotMatch(twiml, /<Record /, 'a forward, not a voicemail');
    let c = await srv.api('GET', `/v1/calls/${ext}`);
    assert.equal(c.json.recorded, true);
    assert.equal(c.json.recording, null, 'nothing until the callback');
    assert.equal((await srv.api('GET', `/v1/calls/${ext}/recording`)).status, 404);

    // a forged callback: 403, nothing stored
    const forged = await fetch(srv.url + '/v1/telephony/twilio/recording', { method: 'POST',
      body: new URLSearchParams(recParams(sid)).toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded',
        'X-Twilio-Signature': sign(srv.url + '/v1/telephony/twilio/recording', recParams(sid, { RecordingDuration: '24' })) } });
    assert.equal(forged.status, 403);
    assert.equal(storedRecording(sid), '|-1');
    // not finished (in-progress, absent): acknowledged, nothing stored
    for (const status of ['in-progress', 'absent']) {
      const r = await hook('/v1/telephony/twilio/recording', recParams(sid, { RecordingStatus: status }));
      assert.equal(r.status, 204, r.text);
    }
    assert.equal(storedRecording(sid), '|-1');
    // malformed: 400 naming the field, nothing stored
    let bad = await hook('/v1/telephony/twilio/recording', recParams(sid, { RecordingUrl: 'javascript:alert(1)' }));
    assert.equal(bad.status, 400, bad.text);
    assert.equal(JSON.parse(bad.text).error.field, 'RecordingUrl');
    bad = await hook('/v1/telephony/twilio/recording', recParams(sid, { RecordingDuration: '2x' }));
    assert.equal(bad.status, 400, bad.text);
    assert.equal(JSON.parse(bad.text).error.field, 'RecordingDuration');
    assert.equal(storedRecording(sid), '|-1');

    // the signed, completed callback: stored; a repeat changes nothing
    const url = recParams(sid).RecordingUrl;
    for (let i = 0; i < 2; i++) {
      const r = await hook('/v1/telephony/twilio/recording', recParams(sid));
      assert.equal(r.status, 204, r.text);
      assert.equal(storedRecording(sid), `${url}|23`);
    }
    c = await srv.api('GET', `/v1/calls/${ext}`);
    assert.deepEqual(c.json.recording, { url, duration: 23 });
    assert.equal(c.json.routing, null, 'no routing plan');
    const listed = await srv.api('GET', '/v1/calls?limit=500');
    assert.deepEqual(listed.json.calls.find((x) => x.id === ext).recording, { url, duration: 23 });

    // played through the server with the account's credentials
    const before = provider.requests.length;
    const r = await get(`/v1/calls/${ext}/recording`, key());
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.type, 'audio/mpeg');
    assert.ok(r.body.equals(AUDIO));
    const asked = provider.requests.slice(before);
    assert.equal(asked.length, 1);
    assert.equal(asked[0].path, `/2010-04-01/Accounts/${SID}/Recordings/REplain.mp3`);
    assert.equal(asked[0].headers.authorization, 'Basic ' + Buffer.from(`${SID}:${TOKEN}`).toString('base64'));

    // an unknown CallSid: acknowledged, nothing stored anywhere
    const count = sql(srv.db, "select count(*) from calls where recording_url <> ''");
    const unknown = await hook('/v1/telephony/twilio/recording', { ...recParams('CA' + 'f'.repeat(32)), To: plainNumber });
    assert.equal(unknown.status, 204, unknown.text);
    assert.equal(sql(srv.db, "select count(*) from calls where recording_url <> ''"), count);
    // another account's key sees neither the call nor its recording
    const other = createAccount(srv.db, 'Other2', ['https://other2.example']);
    assert.equal((await srv.api('GET', `/v1/calls/${ext}/recording`, undefined, other.apiKey)).status, 404);
  } finally {
    assert.equal(cli(['account', 'set', srv.accountId, '--settings', '{}', '--db', srv.db]).status, 0);
  }
});

test('a recording callback the store cannot take is spooled, acknowledged, and written once it can', async () => {
  const set = cli(['account', 'set', srv.accountId, '--settings', '{"record_calls":true}', '--db', srv.db]);
  assert.equal(set.status, 0, set.stderr);
  try {
    const { sid, ext } = await recordedForward();
    const on = await srv.api('POST', '/v1/test/faults', { store_full: true }, null);
    assert.equal(on.status, 200, on.text);
    let r;
    try {
      r = await hook('/v1/telephony/twilio/recording', recParams(sid, { RecordingDuration: '31' }));
      assert.equal(storedRecording(sid), '|-1', 'not written while the store refuses writes');
    } finally {
      assert.equal((await srv.api('POST', '/v1/test/faults', { store_full: false }, null)).status, 200);
    }
    assert.equal(r.status, 204, r.text);
    // the spool's thread writes it once the store commits again (it retries every few seconds)
    let stored = storedRecording(sid);
    for (let i = 0; i < 100 && stored === '|-1'; i++) {
      await new Promise((res) => setTimeout(res, 200));
      stored = storedRecording(sid);
    }
    assert.equal(stored, `${recParams(sid).RecordingUrl}|31`);
    const c = await srv.api('GET', `/v1/calls/${ext}`);
    assert.equal(c.json.recording.duration, 31);
  } finally {
    assert.equal(cli(['account', 'set', srv.accountId, '--settings', '{}', '--db', srv.db]).status, 0);
  }
});

test('opendni call simulate sends a recorded forward\'s recording callback after the call', async () => {
  const set = cli(['account', 'set', srv.accountId, '--settings', '{"record_calls":true}', '--db', srv.db]);
  assert.equal(set.status, 0, set.stderr);
  try {
    if (!plainNumber) await recordedForward();
    const r = cli(['call', 'simulate', '--to', plainNumber, '--from', '+15125550181', '--duration', '7', '--no-wait',
      '--server', srv.url, '--db', srv.db]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /\/v1\/telephony\/twilio\/recording/);
    const id = sql(srv.db, "select ext_id from calls where from_number = '+15125550181'");
    const c = await srv.api('GET', `/v1/calls/${id}`);
    assert.equal(c.json.status, 'completed');
    assert.match(c.json.recording.url, /^https:\/\/api\.twilio\.com\/recordings\/RE[0-9a-f]{32}$/);
    assert.equal(c.json.recording.duration, 7);
  } finally {
    assert.equal(cli(['account', 'set', srv.accountId, '--settings', '{}', '--db', srv.db]).status, 0);
  }
});
