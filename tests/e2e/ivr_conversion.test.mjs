// SPDX-License-Identifier: AGPL-3.0-or-later
// IVR digits in conversion rules (issue #15; docs/telephony.md "conversion.ivr_digits"): with
// "ivr_digits":"1", a routed call whose caller pressed 1 at the menu converts, one who pressed 2
// does not, through signed Twilio webhooks (voice, the menu's callback, the status callback).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, sql as storeSql, freshDb } from '../helpers/server.mjs';

const TOKEN = 'ivr-conversion-auth-token-0123456789';
const SID = 'AC' + '12'.repeat(16);
let srv;
before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-ivrconv-'));
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Clinic', ['https://clinic.example']);
  const set = cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]);
  assert.equal(set.status, 0, set.stderr);
  // A bad ivr_digits is refused when set, and changes nothing.
  const bad = cli(['account', 'set', account.accountId, '--settings',
    JSON.stringify({ conversion: { ivr_digits: '1a' } }), '--db', db]);
  assert.equal(bad.status, 2, bad.stderr);
  const ok = cli(['account', 'set', account.accountId, '--settings',
    JSON.stringify({ conversion: { min_duration: 30, ivr_digits: '1', name: 'New patient' } }), '--db', db]);
  assert.equal(ok.status, 0, ok.stderr);
  srv = await startServer({ dir, db, account });
});
after(async () => { if (srv) await srv.cleanup(); });

function sign(url, params) {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', TOKEN).update(data, 'utf8').digest('base64');
}
async function hook(pathAndQuery, params) {
  const res = await fetch(srv.url + pathAndQuery, { method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded',
      'X-Twilio-Signature': sign(srv.url + pathAndQuery, params) },
    body: new URLSearchParams(params).toString() });
  return { status: res.status, text: await res.text() };
}
const action = (xml) => xml.match(/action="([^"]+)"/)[1].replaceAll('&amp;', '&').slice(srv.url.length);

test('a conversion rule with ivr_digits counts only the callers who pressed them', async () => {
  const n = await srv.api('POST', '/v1/numbers', { number: '+15125550500', target: '+15555550100',
    forward_to: '+15555550100', source: { source: 'mailer', medium: 'offline' } });
  assert.equal(n.status, 201, n.text);
  const p = await srv.api('POST', '/v1/routing-plans', { name: 'Clinic menu', attach: { number: n.json.id },
    last_resort: '+15555550999', targets: [{ id: 'desk', number: '+15555550501' }],
    steps: [{ type: 'menu', say: 'Press 1 for new patients, 2 for billing.',
      options: { 1: { goto: 1 }, 2: { goto: 1 } } }, { type: 'distribute' }] });
  assert.equal(p.status, 201, p.text);
  const conversions = {};
  for (const digit of ['1', '2']) {
    const sid = 'CA' + randomBytes(16).toString('hex');
    const base = { AccountSid: SID, CallSid: sid, Direction: 'inbound', From: `+1312555010${digit}`,
      To: '+15125550500' };
    const v = await hook('/v1/telephony/twilio/voice', { ...base, CallStatus: 'ringing' });
    assert.match(v.text, /<Gather/);
    const g = await hook(action(v.text), { ...base, CallStatus: 'in-progress', Digits: digit });
    assert.match(g.text, /<Number[^>]*>\+15555550501<\/Number>/);
    const d = await hook(action(g.text), { ...base, CallStatus: 'in-progress', DialCallStatus: 'completed',
      DialCallDuration: '95' });
    assert.equal(d.status, 200, d.text);
    const s = await hook('/v1/telephony/twilio/status', { ...base, CallStatus: 'completed',
      CallDuration: '100', SequenceNumber: '3', CallbackSource: 'call-progress-events' });
    assert.equal(s.status, 204, s.text);
    const ext = storeSql(srv.db, `select ext_id from calls where provider_call_id = '${sid}'`);
    const c = await srv.api('GET', `/v1/calls/${ext}`);
    assert.equal(c.json.routing.digits, digit);
    assert.equal(c.json.status, 'completed');
    conversions[digit] = c.json.conversion && c.json.conversion.name;
  }
  assert.deepEqual(conversions, { 1: 'New patient', 2: null });
});
