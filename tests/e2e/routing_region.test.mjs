// SPDX-License-Identifier: AGPL-3.0-or-later
// Geography by the visitor's region (issue #15): a location lists the regions it serves
// ("US-TX"); a routed call credited to a visit from one of them goes to that location's target,
// ahead of the caller's area code; a call without such a visit falls back to the area code.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, freshDb } from '../helpers/server.mjs';

const TOKEN = 'routing-region-token-0123456789ab';
const SID = 'AC' + 'ab'.repeat(16);
const ORIGIN = 'https://brand.example';
let srv;
before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-routing-region-'));
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Brand', [ORIGIN]);
  const set = cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]);
  assert.equal(set.status, 0, set.stderr);
  srv = await startServer({ dir, db, account,
    args: ['--geo-header', 'X-Geo-Region', '--trust-proxy', '127.0.0.1'] });
});
after(async () => { if (srv) await srv.cleanup(); });

function sign(url, params) {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', TOKEN).update(data, 'utf8').digest('base64');
}
async function voice(to, from) {
  const p = { AccountSid: SID, CallSid: 'CA' + randomBytes(16).toString('hex'), CallStatus: 'ringing',
    Direction: 'inbound', From: from, To: to };
  const path = '/v1/telephony/twilio/voice';
  const res = await fetch(srv.url + path, { method: 'POST', body: new URLSearchParams(p).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sign(srv.url + path, p) } });
  return { status: res.status, text: await res.text(), sid: p.CallSid };
}
const dialled = (xml) => (xml.match(/<Number[^>]*>(\+\d+)<\/Number>/) || [])[1];

test('a location serving the visitor\'s region takes the call ahead of the caller\'s area code', async () => {
  const bad = await srv.api('POST', '/v1/locations', { name: 'X', time_zone: 'UTC', regions: ['Texas'] });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json.error.field, 'regions');
  const tx = await srv.api('POST', '/v1/locations', { name: 'Austin', time_zone: 'America/Chicago',
    regions: ['US-TX', 'US-OK'] });
  assert.equal(tx.status, 201, tx.text);
  assert.deepEqual(tx.json.regions, ['US-TX', 'US-OK']);
  const ca = await srv.api('POST', '/v1/locations', { name: 'Oakland', time_zone: 'America/Los_Angeles',
    area_codes: [415, 510] });
  assert.equal(ca.status, 201, ca.text);
  const pool = await srv.api('POST', '/v1/pools', { name: 'web', target: '+15555550100', forward_to: '+15555550100' });
  assert.equal(pool.status, 201, pool.text);
  for (const n of ['+15125550401', '+15125550402'])
    assert.equal((await srv.api('POST', '/v1/numbers', { number: n, pool: pool.json.id })).status, 201);
  const plan = await srv.api('POST', '/v1/routing-plans', { name: 'By region', attach: { pool: pool.json.id },
    last_resort: '+15555550999',
    targets: [{ id: 'tx', number: '+15555550301', location: tx.json.id },
      { id: 'ca', number: '+15555550302', location: ca.json.id }],
    steps: [{ type: 'distribute', method: 'geography', on_fail: 'last_resort' }] });
  assert.equal(plan.status, 201, plan.text);
  // A visitor from Texas; the caller's number is a 415 (Oakland's area code): the visit wins.
  const v = await srv.visit({ url: `${ORIGIN}/`, targets: ['+15555550100'] },
    { Origin: ORIGIN, 'X-Geo-Region': 'US-TX', 'X-Forwarded-For': '10.0.0.7' });
  assert.equal(v.status, 200, v.text);
  const shown = v.json.numbers[0].number;
  const a = await voice(shown, '+14155550177');
  assert.equal(a.status, 200, a.text);
  assert.equal(dialled(a.text), '+15555550301', a.text);
  const c = (await srv.api('GET', '/v1/calls')).json.calls.find((x) => x.from === '+14155550177');
  assert.equal(c.attribution.method, 'exact');
  assert.equal(c.routing.location, tx.json.id);
  // No visit holds the other number: the caller's area code decides.
  const other = shown === '+15125550401' ? '+15125550402' : '+15125550401';
  const b = await voice(other, '+15105550188');
  assert.equal(dialled(b.text), '+15555550302', b.text);
});
