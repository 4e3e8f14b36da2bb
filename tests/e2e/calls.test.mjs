// SPDX-License-Identifier: AGPL-3.0-or-later
// The call side through the real server: signed Twilio webhooks (signed here with node:crypto
// exactly as INTERFACES.md §2.1), attribution (exact, late, shared, source, fallback, repeat),
// status callbacks and conversions, the never-drop rule, retries, the calls API, the PBX
// lookup and `opendni call simulate`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, SRC, sql as storeSql, freshDb } from '../helpers/server.mjs';

const TOKEN = 'calls-test-auth-token-0123456789';
const SID = 'AC' + 'ab'.repeat(16);
const MOBILE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 ' +
  '(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const servers = [];
after(async () => { for (const s of servers) await s.cleanup(); });

/** A server whose account has the Twilio token and AccountSid set before it starts. */
async function server(args = []) {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-calls-'));
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Plumber', ['https://plumber.example']);
  const set = cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]);
  assert.equal(set.status, 0, set.stderr);
  const s = await startServer({ dir, db, account, args });
  servers.push(s);
  return s;
}

const sql = (srv, q) => storeSql(srv.db, q);
const count = (srv, table) => Number(sql(srv, `select count(*) from ${table}`));
const callSid = () => 'CA' + randomBytes(16).toString('hex');

/** X-Twilio-Signature: base64(HMAC-SHA1(token, url + names sorted byte-wise + values)). */
function sign(token, url, params) {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', token).update(data, 'utf8').digest('base64');
}

/** POSTs a form to a webhook path; opts.sig overrides the signature (null: no header). */
async function hook(srv, path, params, opts = {}) {
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const sig = opts.sig !== undefined ? opts.sig : sign(opts.token || TOKEN, srv.url + path, params);
  if (sig !== null) headers[opts.header || 'X-Twilio-Signature'] = sig;
  const body = new URLSearchParams(opts.body || params).toString();
  const res = await fetch(srv.url + path, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

function voiceParams(to, from, sid = callSid()) {
  return { AccountSid: SID, ApiVersion: '2010-04-01', CallSid: sid, CallStatus: 'ringing',
    Called: to, Caller: from, Direction: 'inbound', From: from, To: to, FromCity: 'AUSTIN',
    FromState: 'TX' };
}
const voice = (srv, to, from, sid, opts) => hook(srv, '/v1/telephony/twilio/voice', voiceParams(to, from, sid), opts);
const completed = (srv, p, seconds, seq = 3) => hook(srv, '/v1/telephony/twilio/status',
  { ...p, CallStatus: 'completed', CallDuration: String(seconds), SequenceNumber: String(seq),
    CallbackSource: 'call-progress-events' });

/** The stored call of a CallSid, through the API. */
async function callOf(srv, sid) {
  const ext = sql(srv, `select ext_id from calls where provider_call_id = '${sid}'`);
  assert.ok(ext, `no call stored for ${sid}`);
  const r = await srv.api('GET', `/v1/calls/${ext}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function pool(srv, fields, numbers) {
  const p = await srv.api('POST', '/v1/pools', { name: `pool-${fields.target}`, ...fields });
  assert.equal(p.status, 201, p.text);
  for (const n of numbers) {
    const r = await srv.api('POST', '/v1/numbers', { number: n, pool: p.json.id });
    assert.equal(r.status, 201, r.text);
  }
  return p.json;
}

let srv;
before(async () => { srv = await server(); });

test('(a) a visit with UTMs and a gclid, then a call: exact attribution, TwiML, conversion', async () => {
  await pool(srv, { target: '+15555550100', forward_to: '+15555550109' }, ['+15555550101']);
  const url = 'https://plumber.example/landing?utm_source=google&utm_medium=cpc' +
    '&utm_campaign=spring_sale&utm_term=emergency+plumber&gclid=Cj0KCQ-test-gclid';
  const v = await srv.visit({ url, referrer: 'https://www.google.com/', targets: ['+15555550100'] },
    { 'User-Agent': MOBILE_UA });
  assert.equal(v.status, 200, v.text);
  const number = v.json.numbers[0].number;
  assert.equal(number, '+15555550101');

  const p = voiceParams(number, '+15125550123');
  const r = await hook(srv, '/v1/telephony/twilio/voice', p);
  assert.equal(r.status, 200, r.text);
  assert.match(r.type, /xml/);
  // Forwarded to the pool's forward_to, caller id passed through, duration arrives later.
  assert.match(r.text, /<Dial [^>]*callerId="\+15125550123"/);
  assert.match(r.text, new RegExp(`action="${srv.url}/v1/telephony/twilio/dial"`));
  assert.match(r.text, new RegExp(`<Number [^>]*statusCallback="${srv.url}/v1/telephony/twilio/status"[^>]*>\\+15555550109</Number>`));
  assert.doesNotMatch(r.text, /record=/, 'recording is off by default');

  const ringing = await callOf(srv, p.CallSid);
  assert.equal(ringing.status, 'ringing');
  assert.equal(ringing.conversion, null);

  assert.equal((await completed(srv, p, 95)).status, 204);
  const c = await callOf(srv, p.CallSid);
  assert.equal(c.to, number);
  assert.equal(c.from, '+15125550123');
  assert.equal(c.status, 'completed');
  assert.equal(c.duration, 95);
  assert.equal(c.forwarded_to, '+15555550109');
  const a = c.attribution;
  assert.equal(a.method, 'exact');
  assert.equal(a.confidence, 1);
  assert.equal(a.session_id, v.json.session_id);
  assert.equal(a.visitor_id, v.json.visitor_id);
  assert.deepEqual(a.source, { channel: 'paid_search', source: 'google', medium: 'cpc',
    campaign: 'spring_sale', keyword: 'emergency plumber' });
  assert.equal(a.click_ids.gclid, 'Cj0KCQ-test-gclid');
  assert.equal(a.landing_page, 'https://plumber.example/landing');
  assert.equal(a.referrer, 'https://www.google.com/');
  assert.equal(a.device, 'mobile');
  assert.equal(typeof a.reason, 'string');
  assert.equal(a.runner_up, null);
  assert.equal(a.first_touch, null);
  // Default rule: completed and >= 60 s talk time.
  assert.equal(c.conversion.name, 'Phone call');
  assert.equal(c.conversion.value, 0);
  assert.ok(Date.parse(c.conversion.at) >= Date.parse(c.started_at));

  const short = voiceParams(number, '+15125550124');
  assert.equal((await hook(srv, '/v1/telephony/twilio/voice', short)).status, 200);
  assert.equal((await completed(srv, short, 20)).status, 204);
  const s = await callOf(srv, short.CallSid);
  assert.equal(s.duration, 20);
  assert.equal(s.attribution.method, 'exact');
  assert.equal(s.conversion, null, 'a 20 s call is not a conversion');
});

test('(b) after the lease ends the call is late to the old session; a new holder gets exact', async () => {
  await pool(srv, { target: '+15555550200', lease_ttl: 1, cooldown: 0 }, ['+15555550201']);
  const a = (await srv.visit({ url: 'https://plumber.example/a', targets: ['+15555550200'] })).json;
  assert.equal(a.numbers[0].number, '+15555550201');
  await srv.advance(1300); // past lease_ttl: no live lease, nobody else took the number
  const late = voiceParams('+15555550201', '+15125550130');
  assert.equal((await hook(srv, '/v1/telephony/twilio/voice', late)).status, 200);
  const l = await callOf(srv, late.CallSid);
  assert.equal(l.attribution.method, 'late');
  assert.equal(l.attribution.session_id, a.session_id);
  // 0.9 / (1 + gap / 1 day): a gap of about a second is just under 0.9.
  assert.ok(l.attribution.confidence > 0.85 && l.attribution.confidence <= 0.9, String(l.attribution.confidence));

  const b = (await srv.visit({ url: 'https://plumber.example/b', targets: ['+15555550200'] })).json;
  assert.equal(b.numbers[0].number, '+15555550201', 'cooldown 0: the number is free again');
  const exact = voiceParams('+15555550201', '+15125550131');
  assert.equal((await hook(srv, '/v1/telephony/twilio/voice', exact)).status, 200);
  const e = await callOf(srv, exact.CallSid);
  assert.equal(e.attribution.method, 'exact');
  assert.equal(e.attribution.session_id, b.session_id);
  assert.equal(e.attribution.confidence, 1);
});

test('(b2) pings answered from memory do not hide the end of a lease: the call after it is still late', async () => {
  // Each stored renewal reaches a minute past the expiry it acknowledges (h_visit.c); attribution
  // must take the lease's real end from the engine, not the stored one.
  await pool(srv, { target: '+15555551500', lease_ttl: 1, cooldown: 60 }, ['+15555551501']);
  const a = (await srv.visit({ url: 'https://plumber.example/a', targets: ['+15555551500'] })).json;
  for (let i = 0; i < 3; i++) {
    await srv.advance(200);
    const p = await srv.api('POST', `/v1/visits/${a.session_id}/ping`, { url: null }, null);
    assert.equal(p.status, 200, p.text);
  }
  // Past lease_ttl after the last ping, but well before the stored expiry (the server's clock:
  // whole seconds, hence 2.5 s for a 1 s lease).
  const now = await srv.advance(2500);
  const stored = Number(sql(srv, `select l.expires_at from leases l join sessions s on s.id = l.session_id where s.ext_id = '${a.session_id}'`));
  assert.ok(stored > now, 'the store still says the lease runs');
  const shown = (await srv.api('GET', `/v1/sessions/${a.session_id}`)).json.leases[0].expires_at;
  assert.ok(Date.parse(shown) < now, `the session API shows the real end (${shown}), not the stored one`);
  const late = voiceParams('+15555551501', '+15125550132');
  assert.equal((await hook(srv, '/v1/telephony/twilio/voice', late)).status, 200);
  const l = await callOf(srv, late.CallSid);
  assert.equal(l.attribution.method, 'late');
  assert.equal(l.attribution.session_id, a.session_id);
});

test('(c) two sessions share a number: the one with a tel: click just before the call wins', async () => {
  await pool(srv, { target: '+15555550300' }, ['+15555550301']);
  const a = (await srv.visit({ url: 'https://plumber.example/a', targets: ['+15555550300'] })).json;
  const b = (await srv.visit({ url: 'https://plumber.example/b', targets: ['+15555550300'] })).json;
  assert.equal(a.numbers[0].number, '+15555550301');
  assert.equal(b.numbers[0].number, '+15555550301', 'exhausted 1-number pool shares');
  // The older session clicks: recency alone would favour b.
  const ev = await srv.api('POST', `/v1/visits/${a.session_id}/events`, { type: 'tel_click', number: '+15555550301' }, null);
  assert.equal(ev.status, 202, ev.text);
  const p = voiceParams('+15555550301', '+15125550140');
  assert.equal((await hook(srv, '/v1/telephony/twilio/voice', p)).status, 200);
  const c = await callOf(srv, p.CallSid);
  assert.equal(c.attribution.method, 'shared');
  assert.equal(c.attribution.session_id, a.session_id);
  assert.ok(c.attribution.confidence > 0.5, String(c.attribution.confidence));
  assert.match(c.attribution.reason, /tel: click/);
  assert.equal(c.attribution.runner_up.session_id, b.session_id);
  const sum = c.attribution.confidence + c.attribution.runner_up.confidence;
  assert.ok(Math.abs(sum - 1) < 0.001, `two candidates' shares add up to 1, got ${sum}`);
});

test('(d) a missing, wrong or tampered signature is refused with 403 and stores nothing', async () => {
  const before = count(srv, 'calls');
  const p = voiceParams('+15555550101', '+15125550150');
  assert.equal((await voice(srv, '+15555550101', '+15125550150', p.CallSid, { sig: null })).status, 403);
  assert.equal((await hook(srv, '/v1/telephony/twilio/voice', p, { token: 'not-the-token' })).status, 403);
  assert.equal((await hook(srv, '/v1/telephony/twilio/voice', p, { sig: 'x'.repeat(28) })).status, 403);
  // Signed for one caller, sent with another.
  const tampered = await hook(srv, '/v1/telephony/twilio/voice', p, { body: { ...p, From: '+15125550999' } });
  assert.equal(tampered.status, 403);
  // Signed for another URL (the signature covers the URL too).
  const otherUrl = sign(TOKEN, srv.url + '/v1/telephony/twilio/status', p);
  assert.equal((await hook(srv, '/v1/telephony/twilio/voice', p, { sig: otherUrl })).status, 403);
  assert.equal(count(srv, 'calls'), before);
  // A status callback for a stored call needs its account's signature as well.
  const good = voiceParams('+15555550101', '+15125550151');
  assert.equal((await hook(srv, '/v1/telephony/twilio/voice', good)).status, 200);
  const st = { ...good, CallStatus: 'completed', CallDuration: '300' };
  assert.equal((await hook(srv, '/v1/telephony/twilio/status', st, { token: 'nope' })).status, 403);
  assert.equal((await hook(srv, '/v1/telephony/twilio/status', st, { sig: null })).status, 403);
  const c = await callOf(srv, good.CallSid);
  assert.equal(c.status, 'ringing');
  assert.equal(c.duration, 0);
  const m = await srv.api('GET', '/metrics', undefined, null);
  assert.match(m.text, /opendni_webhook_signature_failures_total [1-9]/);
});

test('(e) with the call store failing, a valid webhook still forwards and is counted', async () => {
  const failing = await server(['--test-fail-call-store']);
  await pool(failing, { target: '+15555550400', forward_to: '+15555550499' }, ['+15555550401']);
  const r = await voice(failing, '+15555550401', '+15125550160');
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /<Dial[^>]*>.*<Number[^>]*>\+15555550499<\/Number><\/Dial>/);
  assert.equal(count(failing, 'calls'), 0);
  const m = await failing.api('GET', '/metrics', undefined, null);
  assert.match(m.text, /opendni_webhook_failures_total 1\b/);
  // A bad signature is still refused: only verified calls are forwarded.
  assert.equal((await voice(failing, '+15555550401', '+15125550160', callSid(), { token: 'x' })).status, 403);
});

test('(f) a provider retry with the same CallSid is one call with the same answer', async () => {
  const before = count(srv, 'calls');
  const p = voiceParams('+15555550101', '+15125550170');
  const first = await hook(srv, '/v1/telephony/twilio/voice', p);
  const again = await hook(srv, '/v1/telephony/twilio/voice', p);
  assert.equal(first.status, 200);
  assert.equal(again.status, 200);
  assert.equal(again.text, first.text);
  assert.equal(count(srv, 'calls'), before + 1);
  // A conversion is recorded once, however often the final callback comes.
  await completed(srv, p, 120);
  await completed(srv, p, 120);
  const id = sql(srv, `select id from calls where provider_call_id = '${p.CallSid}'`);
  assert.equal(Number(sql(srv, `select count(*) from conversions where call_id = ${id}`)), 1);
});

test('(g) opendni call simulate makes a call appear in the API (and on the stream)', async () => {
  const streamed = existsSync(join(SRC, 'src/http/handlers/h_stream.c'));
  let events = '';
  const ac = new AbortController();
  let reading = null;
  if (streamed) {
    const res = await fetch(srv.url + '/v1/stream', { headers: { Authorization: `Bearer ${srv.apiKey}` }, signal: ac.signal });
    assert.equal(res.status, 200);
    reading = (async () => {
      const dec = new TextDecoder();
      try { for await (const chunk of res.body) events += dec.decode(chunk); } catch {}
    })();
    await sleep(100);
  }
  const r = cli(['call', 'simulate', '--to', '+15555550101', '--from', '+15125550180',
    '--duration', '0', '--server', srv.url, '--db', srv.db]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /<Dial/);
  const list = await srv.api('GET', '/v1/calls?limit=500');
  const c = list.json.calls.find((x) => x.from === '+15125550180');
  assert.ok(c, 'the simulated call is listed');
  assert.equal(c.to, '+15555550101');
  assert.equal(c.status, 'completed');
  if (streamed) {
    for (let i = 0; i < 50 && !/call\.completed/.test(events); i++) await sleep(50);
    ac.abort();
    await reading;
    assert.match(events, new RegExp(`event: call\\.started\\ndata: \\{[^\\n]*"id":"${c.id}"`));
    assert.match(events, new RegExp(`event: call\\.completed\\ndata: \\{[^\\n]*"id":"${c.id}"`));
  }
});

test('call simulate gives an account without a token a random one, and signs with it', async () => {
  const other = createAccount(srv.db, 'No token', ['https://other.example']);
  const p = await srv.api('POST', '/v1/pools', { name: 'o', target: '+15555550500' }, other.apiKey);
  await srv.api('POST', '/v1/numbers', { number: '+15555550501', pool: p.json.id }, other.apiKey);
  const r = cli(['call', 'simulate', '--to', '+15555550501', '--from', '+15125550181',
    '--duration', '0', '--server', srv.url, '--db', srv.db]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stderr, /no Twilio auth token/);
  assert.notEqual(sql(srv, `select coalesce(p.secret, '') from account_providers p join accounts a on a.id = p.account_id where a.ext_id = '${other.accountId}' and p.provider = 'twilio'`), '');
  const mine = await srv.api('GET', '/v1/calls', undefined, other.apiKey);
  assert.equal(mine.json.calls.length, 1);
  assert.equal(mine.json.calls[0].attribution.method, 'unattributed');
  // Usage errors exit 2.
  assert.equal(cli(['call', 'simulate', '--to', 'nope', '--from', '+15125550181']).status, 2);
  assert.equal(cli(['call']).status, 2);
  assert.equal(cli(['call', 'simulate', '--help']).status, 0);
});

test('a number nobody owns: polite rejection stored under the signing account, else 403', async () => {
  const p = voiceParams('+15555550999', '+15125550190');
  const r = await hook(srv, '/v1/telephony/twilio/voice', p);
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /<Hangup\/>/);
  assert.doesNotMatch(r.text, /<Dial/);
  const c = await callOf(srv, p.CallSid);
  assert.equal(c.attribution.method, 'unattributed');
  assert.equal(c.forwarded_to, null);
  assert.equal(sql(srv, `select a.ext_id from calls c join accounts a on a.id = c.account_id where provider_call_id = '${p.CallSid}'`), srv.accountId);
  const before = count(srv, 'calls');
  const stranger = { ...voiceParams('+15555550998', '+15125550191'), AccountSid: 'AC' + '00'.repeat(16) };
  assert.equal((await hook(srv, '/v1/telephony/twilio/voice', stranger, { token: 'someone-else' })).status, 403);
  // The signer is found by AccountSid only, never by trying every account's token: the right
  // token under an AccountSid no account stores is refused.
  assert.equal((await hook(srv, '/v1/telephony/twilio/voice', stranger)).status, 403);
  const noSid = voiceParams('+15555550998', '+15125550192');
  delete noSid.AccountSid;
  assert.equal((await hook(srv, '/v1/telephony/twilio/voice', noSid)).status, 403);
  assert.equal(count(srv, 'calls'), before);
});

test('source numbers and a pool fallback number get source attribution', async () => {
  const src = await srv.api('POST', '/v1/numbers', { number: '+15555550601', target: '+15555550600',
    forward_to: '+15555550609', source: { source: 'billboard', medium: 'offline', campaign: 'i95-north' } });
  assert.equal(src.status, 201, src.text);
  const p = voiceParams('+15555550601', '+15125550200');
  const r = await hook(srv, '/v1/telephony/twilio/voice', p);
  assert.match(r.text, /\+15555550609<\/Number>/);
  const c = await callOf(srv, p.CallSid);
  assert.equal(c.attribution.method, 'source');
  assert.equal(c.attribution.confidence, 1);
  assert.deepEqual(c.attribution.source, { channel: 'offline', source: 'billboard', medium: 'offline', campaign: 'i95-north', keyword: null });
  assert.equal(c.attribution.session_id, null);

  await pool(srv, { name: 'search-pool', target: '+15555550700', forward_to: '+15555550709', on_exhaust: 'fallback',
    fallback_number: '+15555550799', channels: ['paid_search'] }, ['+15555550701']);
  const f = voiceParams('+15555550799', '+15125550201');
  assert.match((await hook(srv, '/v1/telephony/twilio/voice', f)).text, /\+15555550709<\/Number>/);
  const fc = await callOf(srv, f.CallSid);
  assert.equal(fc.attribution.method, 'source');
  assert.equal(fc.attribution.source.source, 'search-pool');
  assert.equal(fc.attribution.source.channel, 'paid_search');
  assert.match(fc.attribution.reason, /fallback/);
});

test('repeat callers: first touch is kept, and an otherwise unexplained call is credited to it', async () => {
  await pool(srv, { target: '+15555550800' }, ['+15555550801']);
  const v = (await srv.visit({ url: 'https://plumber.example/?utm_source=bing&utm_medium=cpc', targets: ['+15555550800'] })).json;
  const caller = '+15125550210';
  const first = voiceParams('+15555550801', caller);
  await hook(srv, '/v1/telephony/twilio/voice', first);
  assert.equal((await callOf(srv, first.CallSid)).attribution.first_touch, null);
  // Later the same caller dials a source number: last touch is the source, first touch the visit.
  const second = voiceParams('+15555550601', caller);
  await hook(srv, '/v1/telephony/twilio/voice', second);
  const s = await callOf(srv, second.CallSid);
  assert.equal(s.attribution.method, 'source');
  assert.equal(s.attribution.first_touch, v.session_id);
  // A pool number nobody was ever shown explains nothing: the repeat rule credits the visit.
  await pool(srv, { target: '+15555550900' }, ['+15555550901']);
  const third = voiceParams('+15555550901', caller);
  await hook(srv, '/v1/telephony/twilio/voice', third);
  const t = await callOf(srv, third.CallSid);
  assert.equal(t.attribution.method, 'repeat');
  assert.equal(t.attribution.session_id, v.session_id);
  assert.equal(t.attribution.confidence, 0.5);
  assert.equal(t.attribution.source.source, 'bing');
  // Without history, the same kind of call stays unattributed.
  const nobody = voiceParams('+15555550901', '+15125550211');
  await hook(srv, '/v1/telephony/twilio/voice', nobody);
  const u = await callOf(srv, nobody.CallSid);
  assert.equal(u.attribution.method, 'unattributed');
  assert.equal(u.attribution.confidence, 0);
  assert.equal(u.attribution.session_id, null);
});

test('status callbacks: out-of-order reports, the dialled leg, and the dial action', async () => {
  const p = voiceParams('+15555550601', '+15125550220');
  await hook(srv, '/v1/telephony/twilio/voice', p);
  const status = (extra) => hook(srv, '/v1/telephony/twilio/status', { ...p, ...extra });
  assert.equal((await status({ CallStatus: 'completed', CallDuration: '75', SequenceNumber: '3' })).status, 204);
  // An older report arriving late changes nothing.
  assert.equal((await status({ CallStatus: 'in-progress', SequenceNumber: '2' })).status, 204);
  let c = await callOf(srv, p.CallSid);
  assert.equal(c.status, 'completed');
  assert.equal(c.duration, 75);
  // The dialled leg's talk time (shorter: ringing excluded) wins once it is known.
  const dial = await hook(srv, '/v1/telephony/twilio/dial', { ...p, CallStatus: 'in-progress',
    DialCallSid: callSid(), DialCallStatus: 'completed', DialCallDuration: '61' });
  assert.equal(dial.status, 200);
  assert.match(dial.text, /<Response\/>/);
  c = await callOf(srv, p.CallSid);
  assert.equal(c.duration, 61);
  assert.equal(c.status, 'completed');

  // The business never picked up: the dialled leg's callback (ParentCallSid) says so.
  const q = voiceParams('+15555550601', '+15125550221');
  await hook(srv, '/v1/telephony/twilio/voice', q);
  const child = { AccountSid: SID, CallSid: callSid(), ParentCallSid: q.CallSid, CallStatus: 'no-answer',
    Direction: 'outbound-dial', From: q.From, To: '+15555550609', SequenceNumber: '2' };
  assert.equal((await hook(srv, '/v1/telephony/twilio/status', child)).status, 204);
  assert.equal((await completed(srv, q, 40)).status, 204);
  const n = await callOf(srv, q.CallSid);
  assert.equal(n.status, 'no-answer');
  assert.equal(n.duration, 0);
  assert.equal(n.conversion, null);
  // A callback for a call we never stored, correctly signed: acknowledged, nothing stored.
  const ghost = { ...voiceParams('+15555550601', '+15125550222'), CallStatus: 'completed' };
  assert.equal((await hook(srv, '/v1/telephony/twilio/status', ghost)).status, 204);
  assert.equal(sql(srv, `select count(*) from calls where provider_call_id = '${ghost.CallSid}'`), '0');
});

test('account settings: conversion rules and call recording', async () => {
  const s = await server();
  await pool(s, { target: '+15555551000', forward_to: '+15555551009' }, ['+15555551001']);
  const settings = { record_calls: true, record_notice: 'Calls are recorded & reviewed.',
    conversion: { min_duration: 30, first_time_only: true, value: 25, name: 'Qualified call',
      values: [{ channel: 'paid_search', value: 150 }] } };
  sql(s, `update accounts set settings = '${JSON.stringify(settings)}' where ext_id = '${s.accountId}'`);
  const v = (await s.visit({ url: 'https://plumber.example/?gclid=abc', targets: ['+15555551000'] })).json;
  const p = voiceParams('+15555551001', '+15125550230');
  const r = await hook(s, '/v1/telephony/twilio/voice', p);
  assert.match(r.text, /<Say[^>]*>Calls are recorded &amp; reviewed\.<\/Say><Dial [^>]*record="record-from-answer-dual"/);
  await completed(s, p, 40);
  const c = await callOf(s, p.CallSid);
  assert.equal(c.attribution.session_id, v.session_id);
  assert.deepEqual(c.conversion && { name: c.conversion.name, value: c.conversion.value }, { name: 'Qualified call', value: 150 });
  // The same caller again, long enough: not a first-time caller, so no conversion.
  const again = voiceParams('+15555551001', '+15125550230');
  await hook(s, '/v1/telephony/twilio/voice', again);
  await completed(s, again, 400);
  assert.equal((await callOf(s, again.CallSid)).conversion, null);
  // A new caller with no attribution gets the default value.
  const fresh = voiceParams('+15555559999', '+15125550231');
  const rej = await hook(s, '/v1/telephony/twilio/voice', fresh);
  assert.match(rej.text, /<Hangup\/>/);
  const sn = await s.api('POST', '/v1/numbers', { number: '+15555551099', source: { source: 'radio' }, forward_to: '+15555551009' });
  assert.equal(sn.status, 201, sn.text);
  const radio = voiceParams('+15555551099', '+15125550232');
  await hook(s, '/v1/telephony/twilio/voice', radio);
  await completed(s, radio, 31);
  assert.equal((await callOf(s, radio.CallSid)).conversion.value, 25);
});

test('GET /v1/calls pages with a cursor, filters by time, and is account-scoped', async () => {
  const s = await server();
  await pool(s, { target: '+15555551100' }, ['+15555551101']);
  const sids = [];
  for (let i = 0; i < 5; i++) {
    const p = voiceParams('+15555551101', `+1512555030${i}`);
    sids.push(p.CallSid);
    assert.equal((await hook(s, '/v1/telephony/twilio/voice', p)).status, 200);
  }
  const seen = [];
  let cursor = null;
  for (let page = 0; page < 5; page++) {
    const r = await s.api('GET', `/v1/calls?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.calls.length <= 2);
    seen.push(...r.json.calls.map((c) => c.from));
    cursor = r.json.next_cursor;
    if (!cursor) break;
  }
  assert.deepEqual(seen, [0, 1, 2, 3, 4].map((i) => `+1512555030${i}`), 'oldest first, each once');
  const all = (await s.api('GET', '/v1/calls')).json;
  assert.equal(all.calls.length, 5);
  assert.equal(all.next_cursor, null);
  const future = await s.api('GET', '/v1/calls?since=2999-01-01');
  assert.deepEqual(future.json.calls, []);
  const past = await s.api('GET', '/v1/calls?until=2000-01-01T00:00:00Z');
  assert.deepEqual(past.json.calls, []);
  const today = new Date().toISOString().slice(0, 10);
  assert.equal((await s.api('GET', `/v1/calls?since=${today}&until=${today}`)).json.calls.length, 5,
    'a date-only until covers that whole day');
  for (const bad of ['limit=0', 'limit=501', 'limit=x', 'since=yesterday', 'cursor=zzz'])
    assert.equal((await s.api('GET', `/v1/calls?${bad}`)).status, 400, bad);
  const id = all.calls[0].id;
  const other = createAccount(s.db, 'Other', ['https://x.example']);
  assert.equal((await s.api('GET', `/v1/calls/${id}`, undefined, other.apiKey)).status, 404);
  assert.deepEqual((await s.api('GET', '/v1/calls', undefined, other.apiKey)).json.calls, []);
  assert.equal((await s.api('GET', '/v1/calls', undefined, null)).status, 401);
  assert.equal((await s.api('GET', '/v1/calls/call_nope')).status, 404);
});

test('PBX lookup: forward number and attribution for a Bearer key, stored once per call_id', async () => {
  await pool(srv, { target: '+15555551200', forward_to: '+15555551209' }, ['+15555551201']);
  const v = (await srv.visit({ url: 'https://plumber.example/pbx', targets: ['+15555551200'] })).json;
  const q = '/v1/telephony/lookup?to=%2B15555551201&from=%2B15125550240&call_id=asterisk-1700000000_42';
  const r = await srv.api('GET', q);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.forward_to, '+15555551209');
  assert.match(r.json.call_id, /^call_/);
  assert.equal(r.json.attribution.method, 'exact');
  assert.equal(r.json.attribution.session_id, v.session_id);
  const again = await srv.api('GET', q);
  assert.equal(again.json.call_id, r.json.call_id, 'the same PBX call id is the same call');
  const text = await fetch(srv.url + '/v1/telephony/lookup?to=%2B15555551201&from=%2B15125550241&format=text',
    { headers: { Authorization: `Bearer ${srv.apiKey}` } });
  assert.equal(await text.text(), '+15555551209\n');
  assert.equal((await srv.api('GET', '/v1/telephony/lookup?to=%2B15555551201&from=%2B15125550240', undefined, null)).status, 401);
  assert.equal((await srv.api('GET', '/v1/telephony/lookup?to=%2B15555559876&from=%2B15125550240')).status, 404);
  assert.equal((await srv.api('GET', '/v1/telephony/lookup?to=nope&from=%2B15125550240')).status, 400);
  const other = createAccount(srv.db, 'Other PBX', ['https://y.example']);
  assert.equal((await srv.api('GET', q, undefined, other.apiKey)).status, 404);
  // Another account reusing the same PBX call id gets its own call, never the first one.
  const op = await srv.api('POST', '/v1/pools', { name: 'pbx', target: '+15555551300' }, other.apiKey);
  await srv.api('POST', '/v1/numbers', { number: '+15555551301', pool: op.json.id }, other.apiKey);
  const theirs = await srv.api('GET', q.replace('15555551201', '15555551301'), undefined, other.apiKey);
  assert.equal(theirs.status, 200, theirs.text);
  assert.notEqual(theirs.json.call_id, r.json.call_id);
  assert.equal(theirs.json.attribution.session_id, null);
});

test('SignalWire: X-SignalWire-Signature is accepted with the same algorithm', async () => {
  // SignalWire signs with the project's Signing Key, stored apart from the Twilio token; its
  // calls are stored as provider "signalwire", whichever route they arrive on.
  const KEY = 'PSK_signalwire-signing-key-0123456789';
  const PROJECT = 'f1e2d3c4-0000-4000-8000-00000000abcd';
  const set = cli(['account', 'set', srv.accountId, '--signalwire-signing-key', KEY,
    '--signalwire-project-id', PROJECT, '--db', srv.db]);
  assert.equal(set.status, 0, set.stderr);
  const sw = { header: 'X-SignalWire-Signature', token: KEY };
  const p = { ...voiceParams('+15555550101', '+15125550250', 'b3877c40-da60-4998-90ad-b792e98472af'), AccountSid: PROJECT };
  // Twilio's route (numbers set up before the SignalWire routes existed).
  const r = await hook(srv, '/v1/telephony/twilio/voice', p, sw);
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /<Dial/);
  assert.match(r.text, new RegExp(`action="${srv.url}/v1/telephony/signalwire/dial"`));
  assert.match(r.text, new RegExp(`statusCallback="${srv.url}/v1/telephony/signalwire/status"`));
  assert.equal((await callOf(srv, p.CallSid)).from, '+15125550250');
  const provider = () => sql(srv, `select provider from calls where provider_call_id = '${p.CallSid}'`);
  assert.equal(provider(), 'signalwire');
  // A retry, on either route, is the same call with the same answer.
  const again = await hook(srv, '/v1/telephony/signalwire/voice', p, sw);
  assert.equal(again.status, 200, again.text);
  assert.equal(again.text, r.text);
  assert.equal((await hook(srv, '/v1/telephony/twilio/voice', p, sw)).text, r.text);
  assert.equal(provider(), 'signalwire', 'one row: (signalwire, CallSid)');
  // Its callbacks come to its routes; X-Twilio-Signature is SignalWire's alias there.
  const done = await hook(srv, '/v1/telephony/signalwire/status', { ...p, CallStatus: 'completed',
    CallDuration: '70', SequenceNumber: '3' }, { header: 'X-Twilio-Signature', token: KEY });
  assert.equal(done.status, 204, done.text);
  const dial = await hook(srv, '/v1/telephony/signalwire/dial', { ...p, CallStatus: 'in-progress',
    DialCallSid: 'c0ffee00-da60-4998-90ad-b792e98472af', DialCallStatus: 'completed', DialCallDuration: '65' }, sw);
  assert.equal(dial.status, 200, dial.text);
  assert.match(dial.text, /<Response\/>/);
  const c = await callOf(srv, p.CallSid);
  assert.equal(c.status, 'completed');
  assert.equal(c.duration, 65);
  // The Twilio token does not sign for SignalWire, nor a wrong key.
  const other = { ...p, CallSid: 'a0000000-da60-4998-90ad-b792e98472af' };
  assert.equal((await hook(srv, '/v1/telephony/twilio/voice', other, { header: 'X-SignalWire-Signature' })).status, 403);
  assert.equal((await hook(srv, '/v1/telephony/signalwire/voice', other, { ...sw, token: 'wrong' })).status, 403);
  assert.equal((await hook(srv, '/v1/telephony/signalwire/voice', other, { sig: null })).status, 403);
  // A number nobody owns: the signer is the account with the request's project id.
  const stray = { ...p, CallSid: 'a1111111-da60-4998-90ad-b792e98472af', To: '+15555550996', Called: '+15555550996' };
  const rej = await hook(srv, '/v1/telephony/signalwire/voice', stray, sw);
  assert.equal(rej.status, 200, rej.text);
  assert.match(rej.text, /<Hangup\/>/);
  const strayOther = { ...stray, CallSid: 'a2222222-da60-4998-90ad-b792e98472af', AccountSid: SID };
  assert.equal((await hook(srv, '/v1/telephony/signalwire/voice', strayOther, sw)).status, 403);
  // Telnyx has no dial route; an unknown provider is no route at all.
  assert.equal((await hook(srv, '/v1/telephony/telnyx/dial', p, sw)).status, 404);
  assert.equal((await hook(srv, '/v1/telephony/nope/voice', p, sw)).status, 404);
});

test('bad signatures from one address: 429 with Retry-After after N a minute, others unaffected', async () => {
  const lim = await server(['--rate-limit-bad-signatures', '3', '--trust-proxy', '127.0.0.1', '--metrics-token', 'mt']);
  await pool(lim, { target: '+15555550700', forward_to: '+15555550799' }, ['+15555550701']);
  const send = (addr, opts = {}) => {
    const p = voiceParams('+15555550701', '+15125550190');
    const path = '/v1/telephony/twilio/voice';
    const sig = opts.bad ? 'bm90LWEtc2lnbmF0dXJl' : sign(TOKEN, lim.url + path, p);
    return fetch(lim.url + path, { method: 'POST', body: new URLSearchParams(p).toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sig,
        'X-Forwarded-For': addr } });
  };
  for (let i = 0; i < 3; i++)
    assert.equal((await send('203.0.113.7', { bad: true })).status, 403);
  const limited = await send('203.0.113.7'); // even a good signature: the address is cut off
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get('retry-after')) >= 1, 'Retry-After');
  const err = await limited.json();
  assert.equal(err.error.code, 'rate_limited');
  assert.ok('message' in err.error && 'field' in err.error);
  assert.equal((await send('203.0.113.8')).status, 200, 'another address is served');
  const m = await lim.api('GET', '/metrics', undefined, 'mt');
  assert.match(m.text, /opendni_webhook_signature_limited_total 1\b/);
  assert.match(m.text, /opendni_webhook_signature_failures_total 3\b/);
  await lim.advance(60_000); // a minute later the address has its tokens back
  assert.equal((await send('203.0.113.7')).status, 200);
});
