// SPDX-License-Identifier: AGPL-3.0-or-later
// Call routing (issue #15; docs/routing.md) through the real server with signed Twilio webhooks:
// locations and plans through the API, an IVR choice reaching the right location, a waterfall,
// round robin 10/10/10 over 30 calls, a weighted split over 1,000 calls, an after-hours call to
// voicemail with its recording stored, a blocked caller rejected, an internal failure mid-plan
// that still dials the last resort, and the routing report adding up to the calls log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes, generateKeyPairSync, sign as edSign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, sql as storeSql, freshDb } from '../helpers/server.mjs';

const TOKEN = 'routing-test-auth-token-0123456789';
const SID = 'AC' + 'cd'.repeat(16);
const LAST = '+15555550999';
const TELNYX = generateKeyPairSync('ed25519');
const TELNYX_KEY = TELNYX.publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');
let srv;
before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-routing-'));
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Brand', ['https://brand.example']);
  const set = cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]);
  assert.equal(set.status, 0, set.stderr);
  const tx = cli(['account', 'set', account.accountId, '--telnyx-public-key', TELNYX_KEY,
    '--telnyx-account-sid', 'b3877c40-da60-4998-90ad-b792e98472af', '--db', db]);
  assert.equal(tx.status, 0, tx.stderr);
  srv = await startServer({ dir, db, account });
});
after(async () => { if (srv) await srv.cleanup(); });

const callSid = () => 'CA' + randomBytes(16).toString('hex');
function sign(url, params) {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', TOKEN).update(data, 'utf8').digest('base64');
}
async function hook(pathAndQuery, params, sig) {
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded',
    'X-Twilio-Signature': sig || sign(srv.url + pathAndQuery, params) };
  const res = await fetch(srv.url + pathAndQuery, { method: 'POST', headers,
    body: new URLSearchParams(params).toString() });
  return { status: res.status, text: await res.text() };
}
const base = (to, from, sid) => ({ AccountSid: SID, CallSid: sid, CallStatus: 'in-progress',
  Direction: 'inbound', From: from, To: to });
const voice = (to, from, sid, extra = {}) =>
  hook('/v1/telephony/twilio/voice', { ...base(to, from, sid), CallStatus: 'ringing', ...extra });
/** The callback URL an answer asks for (attribute, XML-unescaped), as a path and query. */
function callback(xml, attr = 'action') {
  const m = xml.match(new RegExp(`${attr}="([^"]+)"`));
  assert.ok(m, `no ${attr} in ${xml}`);
  return m[1].replaceAll('&amp;', '&').slice(srv.url.length);
}
const dialled = (xml) => (xml.match(/<Number[^>]*>(\+\d+)<\/Number>/) || [])[1];
async function callOf(sid) {
  const ext = storeSql(srv.db, `select ext_id from calls where provider_call_id = '${sid}'`);
  assert.ok(ext, `no call stored for ${sid}`);
  const r = await srv.api('GET', `/v1/calls/${ext}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}
async function number(n) {
  const r = await srv.api('POST', '/v1/numbers', { number: n, target: '+15555550100',
    forward_to: '+15555550100', source: { source: 'billboard', medium: 'offline', campaign: 'i95' } });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
}
async function plan(body) {
  const r = await srv.api('POST', '/v1/routing-plans', body);
  assert.equal(r.status, 201, r.text);
  return r.json;
}
const target = (id, n, extra = {}) => ({ id, number: n, ...extra });

// Runs first, while the account has no plan: its snapshot (which the voice webhook reads instead
// of the routing documents) is loaded without one, and a plan made or deleted through the API
// applies to the next call at once.
test('the first plan applies to the next call, and after its deletion calls forward as before', async () => {
  const num = await number('+15125550299');
  const first = await voice('+15125550299', '+13125550190', callSid());
  assert.equal(first.status, 200, first.text);
  assert.equal(dialled(first.text), '+15555550100'); // no plan: the number's own forwarding
  const p = await plan({ name: 'First', attach: { number: num }, last_resort: LAST,
    targets: [target('f', '+15555550291')], steps: [{ type: 'distribute' }] });
  const routed = await voice('+15125550299', '+13125550191', callSid());
  assert.equal(dialled(routed.text), '+15555550291');
  assert.equal((await srv.api('DELETE', `/v1/routing-plans/${p.id}`)).status, 204);
  const after = await voice('+15125550299', '+13125550192', callSid());
  assert.equal(dialled(after.text), '+15555550100');
});

let north, south;
test('locations and plans: CRUD, validation (400 changes nothing), admin key scoping', async () => {
  const bad = await srv.api('POST', '/v1/locations', { name: 'X', time_zone: 'Mars/Olympus' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.field, 'time_zone');
  const n = await srv.api('POST', '/v1/locations', { name: 'North', address: '1 Main St',
    time_zone: 'America/New_York', business_line: '+15555550110', area_codes: [212, 718],
    hours: { weekly: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], open: '09:00', close: '17:00' }] } });
  assert.equal(n.status, 201, n.text);
  north = n.json.id;
  assert.match(north, /^loc_/);
  const s = await srv.api('POST', '/v1/locations', { name: 'South', time_zone: 'America/Chicago',
    area_codes: [415] });
  assert.equal(s.status, 201, s.text);
  south = s.json.id;
  const list = await srv.api('GET', '/v1/locations');
  assert.deepEqual(list.json.locations.map((l) => l.name), ['North', 'South']);
  const put = await srv.api('PUT', `/v1/locations/${south}`, { name: 'South (Austin)',
    time_zone: 'America/Chicago', area_codes: [415, 512] });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.name, 'South (Austin)');
  // A plan naming a target that does not exist, or a location that does not: 400, nothing stored.
  const before = (await srv.api('GET', '/v1/routing-plans')).json.routing_plans.length;
  for (const body of [
    { name: 'p', last_resort: LAST, steps: [{ type: 'distribute', targets: ['nope'] }] },
    { name: 'p', last_resort: LAST, targets: [target('a', '+15555550001', { location: 'loc_x' })],
      steps: [{ type: 'distribute' }] },
    { name: 'p', steps: [{ type: 'distribute' }] },
    { name: 'p', last_resort: LAST, steps: [{ type: 'teleport' }] },
    { name: 'p', last_resort: LAST, steps: [{ type: 'menu', options: { 1: { goto: 7 } } }] },
    { name: 'p', last_resort: LAST, attach: { location: 'loc_nope' }, steps: [{ type: 'distribute' }] },
    { name: 'p', last_resort: LAST, attach: { number: 'num_nope' }, steps: [{ type: 'distribute' }] },
  ]) {
    const r = await srv.api('POST', '/v1/routing-plans', body);
    assert.equal(r.status, 400, JSON.stringify(body));
  }
  assert.equal((await srv.api('GET', '/v1/routing-plans')).json.routing_plans.length, before);
  assert.equal((await srv.api('GET', '/v1/routing-plans/plan_nope')).status, 404);
  assert.equal((await srv.api('DELETE', `/v1/locations/${south}`, undefined, 'wrong-key')).status, 401);
});

test('an IVR choice reaches the right location; the digits are on the call', async () => {
  const num = await number('+15125550201');
  await plan({ name: 'Brand menu', attach: { number: num }, last_resort: LAST,
    targets: [target('n1', '+15555550111', { location: north }),
      target('s1', '+15555550122', { location: south })],
    steps: [{ type: 'menu', say: 'Press 1 for New York, 2 for Austin.', options: {
      1: { goto: 1, location: north }, 2: { goto: 1, location: south } }, tries: 2 },
    { type: 'distribute', method: 'priority', on_fail: 'last_resort' }] });
  const sid = callSid();
  const v = await voice('+15125550201', '+13125550100', sid);
  assert.equal(v.status, 200, v.text);
  assert.match(v.text, /<Gather numDigits="1"[^>]*><Say>Press 1 for New York, 2 for Austin.<\/Say><\/Gather><Redirect/);
  const g = await hook(callback(v.text), { ...base('+15125550201', '+13125550100', sid), Digits: '2' });
  assert.equal(g.status, 200, g.text);
  assert.equal(dialled(g.text), '+15555550122');
  assert.match(g.text, /action="[^"]*\/v1\/telephony\/twilio\/route\?ev=dial/);
  const c = await callOf(sid);
  assert.equal(c.routing.location, south);
  assert.equal(c.routing.digits, '2');
  assert.equal(c.routing.target, 's1');
  assert.equal(c.routing.outcome, 'dialing');
  assert.equal(c.forwarded_to, '+15555550100'); // stored before the choice: the number's line
  // A route callback with a bad signature: 403, nothing changes.
  const forged = await hook(callback(v.text), { ...base('+15125550201', '+13125550100', sid), Digits: '1' }, 'AAAA' + 'a'.repeat(24));
  assert.equal(forged.status, 403);
  assert.equal((await callOf(sid)).routing.digits, '2');
});

test('a waterfall: the first target does not answer, the second does (billable)', async () => {
  const num = await number('+15125550202');
  await plan({ name: 'Waterfall', attach: { number: num }, last_resort: LAST,
    targets: [target('a', '+15555550201', { priority: 1, timeout: 10 }),
      target('b', '+15555550202', { priority: 2, min_duration: 60, payout: 500,
        whisper: 'Call from {source}' })],
    steps: [{ type: 'distribute', method: 'priority' }] });
  const sid = callSid();
  const p = base('+15125550202', '+13125550101', sid);
  const v = await voice('+15125550202', '+13125550101', sid);
  assert.equal(dialled(v.text), '+15555550201');
  assert.match(v.text, /timeout="10"/);
  const d1 = await hook(callback(v.text), { ...p, DialCallStatus: 'no-answer', DialCallDuration: '0' });
  assert.equal(dialled(d1.text), '+15555550202');
  assert.match(d1.text, /<Number url="[^"]*ev=whisper/);
  const w = await hook(callback(d1.text, 'url'), { ...p });
  assert.match(w.text, /<Say>Call from billboard<\/Say>/);
  const d2 = await hook(callback(d1.text), { ...p, DialCallStatus: 'completed', DialCallDuration: '95' });
  assert.match(d2.text, /<Hangup\/>/);
  const c = await callOf(sid);
  assert.equal(c.routing.target, 'b');
  assert.equal(c.routing.outcome, 'connected');
  assert.equal(c.routing.payout, 500);
  assert.equal(c.routing.steps.length, 3);
});

test('caps: a target at its concurrency cap or its daily cap is skipped', async () => {
  const num = await number('+15125550208');
  await plan({ name: 'Caps', attach: { number: num }, last_resort: LAST,
    targets: [target('one', '+15555550801', { priority: 1, max_concurrent: 1 }),
      target('day', '+15555550802', { priority: 2, max_daily: 1 }),
      target('spare', '+15555550803', { priority: 3 })],
    steps: [{ type: 'distribute', method: 'priority' }] });
  const first = callSid();
  const v1 = await voice('+15125550208', '+13125550110', first);
  assert.equal(dialled(v1.text), '+15555550801');
  // While the first call rings "one", the next goes to "day", then to "spare" (day used up).
  assert.equal(dialled((await voice('+15125550208', '+13125550111', callSid())).text), '+15555550802');
  assert.equal(dialled((await voice('+15125550208', '+13125550112', callSid())).text), '+15555550803');
  // The first call ends: "one" is free again.
  const done = await hook(callback(v1.text), { ...base('+15125550208', '+13125550110', first),
    DialCallStatus: 'completed', DialCallDuration: '30' });
  assert.match(done.text, /<Hangup\/>/);
  assert.equal(dialled((await voice('+15125550208', '+13125550113', callSid())).text), '+15555550801');
});

test('recording on: the caller hears the notice, and so does the answering party', async () => {
  const num = await number('+15125550209');
  await plan({ name: 'Recorded', attach: { number: num }, last_resort: LAST, record: true,
    notice: 'This call is recorded for quality.',
    targets: [target('r', '+15555550901', { whisper: 'Lead from {campaign}.' })],
    steps: [{ type: 'distribute' }] });
  const sid = callSid();
  const v = await voice('+15125550209', '+13125550114', sid);
  assert.match(v.text, /<Response><Say>This call is recorded for quality.<\/Say><Dial [^>]*record="record-from-answer-dual"/);
  const w = await hook(callback(v.text, 'url'), { ...base('+15125550209', '+13125550114', sid) });
  assert.match(w.text, /<Say>This call is recorded for quality. Lead from i95.<\/Say>/);
});

test('round robin over three targets spreads 30 calls 10/10/10', async () => {
  const num = await number('+15125550203');
  await plan({ name: 'Round robin', attach: { number: num }, last_resort: LAST,
    targets: [target('x', '+15555550301'), target('y', '+15555550302'), target('z', '+15555550303')],
    steps: [{ type: 'distribute', method: 'round_robin' }] });
  const n = {};
  for (let i = 0; i < 30; i++) {
    const v = await voice('+15125550203', '+13125550102', callSid());
    n[dialled(v.text)] = (n[dialled(v.text)] || 0) + 1;
  }
  assert.deepEqual(n, { '+15555550301': 10, '+15555550302': 10, '+15555550303': 10 });
  // A provider retry (same CallSid) gets the same dial and claims no turn: the next call
  // gets the next target.
  const sid = callSid();
  const first = dialled((await voice('+15125550203', '+13125550102', sid)).text);
  const again = await voice('+15125550203', '+13125550102', sid);
  assert.equal(again.status, 200, again.text);
  assert.equal(dialled(again.text), first);
  const next = dialled((await voice('+15125550203', '+13125550102', callSid())).text);
  const order = ['+15555550301', '+15555550302', '+15555550303'];
  assert.equal(next, order[(order.indexOf(first) + 1) % 3]);
  assert.equal((await callOf(sid)).routing.steps.length, 1, 'the retry wrote nothing');
});

test('weighted: 1,000 calls split 50/30/20 within ±10 %', async () => {
  const num = await number('+15125550204');
  await plan({ name: 'Weighted', attach: { number: num }, last_resort: LAST,
    targets: [target('h', '+15555550401', { weight: 50 }), target('m', '+15555550402', { weight: 30 }),
      target('l', '+15555550403', { weight: 20 })],
    steps: [{ type: 'distribute', method: 'weighted' }] });
  const n = { '+15555550401': 0, '+15555550402': 0, '+15555550403': 0 };
  for (let i = 0; i < 1000; i += 10) {
    const batch = await Promise.all(Array.from({ length: 10 }, () =>
      voice('+15125550204', '+13125550103', callSid())));
    for (const v of batch) n[dialled(v.text)]++;
  }
  const want = { '+15555550401': 500, '+15555550402': 300, '+15555550403': 200 };
  for (const [k, w] of Object.entries(want))
    assert.ok(Math.abs(n[k] - w) <= w * 0.1, `${k}: ${n[k]} calls, want ${w} ± 10 %`);
});

test('an after-hours call reaches voicemail and its recording is stored', async () => {
  const num = await number('+15125550205');
  // Open every day, but today and tomorrow (UTC) are holidays: closed now, even across midnight.
  const day = (d) => new Date(Date.now() + d * 86400000).toISOString().slice(0, 10);
  const every = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
  await plan({ name: 'Agency', attach: { number: num }, last_resort: LAST, time_zone: 'UTC',
    targets: [target('desk', '+15555550501')],
    steps: [{ type: 'schedule', hours: { weekly: [{ days: every, open: '00:00', close: '24:00' }],
      holidays: [day(0), day(1)] }, on_closed: 2 },
    { type: 'distribute', on_fail: 2 },
    { type: 'voicemail', say: 'We are closed. Leave a message.', max_length: 90 }] });
  const sid = callSid();
  const p = base('+15125550205', '+13125550104', sid);
  const v = await voice('+15125550205', '+13125550104', sid);
  assert.match(v.text, /<Say>We are closed. Leave a message.<\/Say><Record maxLength="90"/);
  const rec = await hook(callback(v.text, 'recordingStatusCallback'), { ...p, RecordingSid: 'RE1',
    RecordingUrl: 'https://api.twilio.com/rec/RE1', RecordingStatus: 'completed', RecordingDuration: '17' });
  assert.equal(rec.status, 204, rec.text);
  const done = await hook(callback(v.text), { ...p, RecordingUrl: 'https://api.twilio.com/rec/RE1',
    RecordingDuration: '17' });
  assert.match(done.text, /<Hangup\/>/);
  const c = await callOf(sid);
  assert.equal(c.routing.outcome, 'voicemail');
  assert.deepEqual(c.routing.recording, { url: 'https://api.twilio.com/rec/RE1', duration: 17 });
});

test('a blocked caller is rejected; StirVerstat is kept on the call', async () => {
  const num = await number('+15125550206');
  await plan({ name: 'Spam guard', attach: { number: num }, last_resort: LAST,
    blocked: ['+19005550100', '+1888*'], reject_failed_verification: true,
    targets: [target('t', '+15555550601')], steps: [{ type: 'distribute' }] });
  for (const from of ['+19005550100', '+18885550123']) {
    const sid = callSid();
    const v = await voice('+15125550206', from, sid);
    assert.match(v.text, /<Reject reason="rejected"\/>/);
    assert.equal((await callOf(sid)).routing.outcome, 'rejected');
  }
  const sid = callSid();
  const failed = await voice('+15125550206', '+13125550105', sid, { StirVerstat: 'TN-Validation-Failed' });
  assert.match(failed.text, /<Reject/);
  assert.equal((await callOf(sid)).routing.verstat, 'TN-Validation-Failed');
  const ok = callSid();
  const v = await voice('+15125550206', '+13125550106', ok, { StirVerstat: 'TN-Validation-Passed-A' });
  assert.equal(dialled(v.text), '+15555550601');
  assert.equal((await callOf(ok)).routing.verstat, 'TN-Validation-Passed-A');
});

test('an internal failure mid-plan still forwards to the last-resort line, recorded', async () => {
  const num = await number('+15125550207');
  await plan({ name: 'Fragile', attach: { number: num }, last_resort: LAST,
    targets: [target('t', '+15555550701')],
    steps: [{ type: 'screen', say: 'Press 1 to be connected.' }, { type: 'distribute' }] });
  const sid = callSid();
  const v = await voice('+15125550207', '+13125550107', sid);
  assert.match(v.text, /<Gather/);
  const on = await srv.api('POST', '/v1/test/faults', { route: true }, null);
  assert.equal(on.status, 200, on.text);
  try {
    const g = await hook(callback(v.text), { ...base('+15125550207', '+13125550107', sid), Digits: '1' });
    assert.equal(g.status, 200, g.text);
    assert.equal(dialled(g.text), LAST);
  } finally {
    await srv.api('POST', '/v1/test/faults', { route: false }, null);
  }
  const c = await callOf(sid);
  assert.equal(c.routing.outcome, 'last_resort');
  assert.match(c.routing.steps.at(-1), /last resort/);
});

test('a location owns numbers and pools: its plan routes their calls, which carry the location', async () => {
  const own = await number('+15125550230');
  const other = await number('+15125550231');
  const pool = await srv.api('POST', '/v1/pools', { name: 'north pool', target: '+15555550100',
    forward_to: '+15555550100' });
  assert.equal(pool.status, 201, pool.text);
  const inPool = await srv.api('POST', '/v1/numbers', { number: '+15125550232', pool: pool.json.id });
  assert.equal(inPool.status, 201, inPool.text);
  // Unknown ids are 400; a number another location owns is 409; nothing changes either way.
  const loc = (await srv.api('GET', `/v1/locations/${north}`)).json;
  const doc = { name: loc.name, time_zone: loc.time_zone, area_codes: loc.area_codes };
  const unknown = await srv.api('PUT', `/v1/locations/${north}`, { ...doc, numbers: ['num_nope'] });
  assert.equal(unknown.status, 400, unknown.text);
  assert.equal(unknown.json.error.field, 'numbers');
  const put = await srv.api('PUT', `/v1/locations/${north}`, { ...doc, numbers: [own], pools: [pool.json.id] });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.json.numbers, [own]);
  const twice = await srv.api('POST', '/v1/locations', { name: 'Elsewhere', time_zone: 'UTC', numbers: [own] });
  assert.equal(twice.status, 409, twice.text);
  assert.equal(twice.json.error.field, 'numbers');
  // A plan attached to the location routes the calls of its numbers and pools (not others').
  const lp = await plan({ name: 'North line', attach: { location: north }, last_resort: LAST,
    targets: [target('front', '+15555550160')], steps: [{ type: 'distribute' }] });
  assert.equal(lp.attach.location, north);
  for (const to of ['+15125550230', '+15125550232']) {
    const sid = callSid();
    const v = await voice(to, '+13125550150', sid);
    assert.equal(dialled(v.text), '+15555550160', to);
    const c = await callOf(sid);
    assert.equal(c.routing.plan, lp.id);
    assert.equal(c.routing.location, north);
  }
  const sid = callSid();
  const v = await voice('+15125550231', '+13125550151', sid);
  assert.equal(dialled(v.text), '+15555550100'); // the number's own forwarding: no plan
  assert.ok(other);
  // A second plan on the same location: 409.
  const dup = await srv.api('POST', '/v1/routing-plans', { name: 'again', attach: { location: north },
    last_resort: LAST, steps: [{ type: 'distribute' }] });
  assert.equal(dup.status, 409, dup.text);
  // A location no plan is attached to: its number's call is forwarded as before, no routing
  // record, and still carries the location.
  const westNum = await number('+15125550233');
  const west = await srv.api('POST', '/v1/locations', { name: 'West', time_zone: 'America/Denver', numbers: [westNum] });
  assert.equal(west.status, 201, west.text);
  const ws = callSid();
  const wv = await voice('+15125550233', '+13125550152', ws);
  assert.equal(dialled(wv.text), '+15555550100');
  const wc = await callOf(ws);
  assert.equal(wc.routing, null);
  assert.equal(wc.location, west.json.id);
});

test('the routing report groups by target and by location and adds up to the calls log', async () => {
  const calls = [];
  for (let cursor = ''; ;) {
    const r = await srv.api('GET', `/v1/calls?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    calls.push(...r.json.calls);
    if (!r.json.next_cursor) break;
    cursor = r.json.next_cursor;
  }
  const routed = calls.filter((c) => c.routing);
  for (const g of ['target', 'location', 'digits']) {
    const r = await srv.api('GET', `/v1/reports/routing?group_by=${g}`);
    assert.equal(r.status, 200, r.text);
    const total = r.json.rows.reduce((s, x) => s + x.calls, 0);
    assert.equal(total, routed.length, `by ${g}`);
    for (const row of r.json.rows) {
      const mine = routed.filter((c) => (c.routing[g] || null) === row[g]);
      assert.equal(row.calls, mine.length, `${g} ${row[g]}`);
      assert.equal(row.payout, mine.reduce((s, c) => s + c.routing.payout, 0));
    }
  }
  const byLoc = (await srv.api('GET', '/v1/reports/routing?group_by=location')).json.rows;
  assert.equal(byLoc.find((x) => x.location === south).calls, 1);
  // The calls report carries each call's location (its name: where the plan took it, else the
  // one stored with the call, routed or not), and its rows add up to the calls log, call by call.
  const rep = await srv.api('GET', '/v1/reports/calls?group_by=location&include=call_ids');
  assert.equal(rep.status, 200, rep.text);
  assert.equal(rep.json.rows.find((x) => x.key.location === 'South (Austin)').calls, 1);
  assert.equal(rep.json.rows.reduce((s, x) => s + x.calls, 0), calls.length);
  const names = Object.fromEntries((await srv.api('GET', '/v1/locations')).json.locations.map((l) => [l.id, l.name]));
  for (const row of rep.json.rows) {
    const mine = calls.filter((c) => (c.location ? names[c.location] : null) === row.key.location);
    assert.deepEqual([...row.call_ids].sort(), mine.map((c) => c.id).sort(), `location ${row.key.location}`);
  }
  for (const c of routed) if (c.routing.location) assert.equal(c.location, c.routing.location, c.id);
  // A location's number that no plan routes still carries it (North's own number, unrouted).
  const unrouted = calls.filter((c) => !c.routing && c.location);
  assert.ok(unrouted.length >= 1, 'an unrouted call of a location');
  assert.ok(rep.json.rows.some((x) => x.key.location === names[unrouted[0].location]));
  assert.equal((await srv.api('GET', '/v1/reports/routing?group_by=campaign')).status, 400);
});

test('`opendni call simulate` walks a plan: a digit, a busy target, then the last resort', async () => {
  const r = cli(['call', 'simulate', '--to', '+15125550201', '--from', '+13125550199',
    '--digits', '2', '--dial-results', 'busy,completed', '--duration', '42', '--no-wait',
    '--server', srv.url, '--token', TOKEN, '--account-sid', SID]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const posts = r.stdout.split('\n').filter((l) => l.startsWith('POST '));
  assert.equal(posts.length, 5, r.stdout); // voice, gather, dial busy, dial completed, status
  assert.match(posts[1], /route\?ev=gather/);
  assert.match(r.stdout, /<Number[^>]*>\+15555550122<\/Number>/);
  assert.match(r.stdout, new RegExp(`<Number[^>]*>\\${LAST}</Number>`));
  const sid = r.stdout.match(/^call (CA[0-9a-f]{32})/)[1];
  const c = await callOf(sid);
  assert.equal(c.routing.digits, '2');
  assert.equal(c.routing.outcome, 'last_resort');
  assert.equal(c.routing.location, south);
  assert.equal(c.status, 'completed');
  assert.equal(cli(['call', 'simulate', '--to', '+15125550201', '--from', '+13125550199',
    '--digits', '2x', '--server', srv.url, '--token', TOKEN]).status, 2);
});

test('Telnyx TeXML: the same plan through /v1/telephony/telnyx/route', async () => {
  const post = async (path, params) => {
    const body = new URLSearchParams(params).toString();
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = edSign(null, Buffer.from(`${ts}|${body}`), TELNYX.privateKey).toString('base64');
    const res = await fetch(srv.url + path, { method: 'POST', body, headers: {
      'Content-Type': 'application/x-www-form-urlencoded', 'telnyx-timestamp': ts,
      'telnyx-signature-ed25519': sig } });
    return { status: res.status, text: await res.text() };
  };
  const sid = 'v3:' + randomBytes(24).toString('base64url');
  const p = { AccountSid: 'b3877c40-da60-4998-90ad-b792e98472af', CallSid: sid,
    CallStatus: 'ringing', Direction: 'inbound', From: '+13125550120', To: '+15125550201' };
  const v = await post('/v1/telephony/telnyx/voice', p);
  assert.equal(v.status, 200, v.text);
  assert.match(v.text, /<Gather [^>]*action="[^"]*\/v1\/telephony\/telnyx\/route\?ev=gather/);
  const g = await post(callback(v.text), { ...p, CallStatus: 'in-progress', Digits: '2' });
  assert.equal(g.status, 200, g.text);
  assert.equal(dialled(g.text), '+15555550122'); // South has no hours (North's may be closed now)
  const ext = storeSql(srv.db, `select ext_id from calls where provider_call_id = '${sid}'`);
  const c = (await srv.api('GET', `/v1/calls/${ext}`)).json;
  assert.equal(c.routing.location, south);
  assert.equal(c.routing.digits, '2');
});
