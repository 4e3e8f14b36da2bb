// SPDX-License-Identifier: AGPL-3.0-or-later
// Faults on purpose (issue #13 item 7): the test binary's store faults (base/testhooks.h,
// checked in src/store/store.c) switched on and off through POST /v1/test/faults while one
// server runs. For each — store_busy (begin), store_full (every write), store_io (commit, nothing
// written), store_commit (commit written, failure reported) — visits get a clean 5xx in the error
// format, voice webhooks are still forwarded to the business line, the call and its status
// callback are acknowledged once they are in the node's spool (app/offline.h), and once the
// fault is off the same server recovers: the retried webhook is one call, its conversion is
// recorded once, and no number is held by two live leases.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, sql as storeSql, freshDb } from '../helpers/server.mjs';

const TOKEN = 'faults-test-auth-token-0123456789';
const SID = 'AC' + 'cd'.repeat(16);
const FORWARD = '+15555550909';
let srv;

const sql = (q) => storeSql(srv.db, q);
const callSid = () => 'CA' + randomBytes(16).toString('hex');

function sign(url, params) {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', TOKEN).update(data, 'utf8').digest('base64');
}

async function hook(path, params) {
  const res = await fetch(srv.url + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded',
      'X-Twilio-Signature': sign(srv.url + path, params) },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const voiceParams = (to, sid) => ({ AccountSid: SID, CallSid: sid, CallStatus: 'ringing',
  Direction: 'inbound', From: '+15125550111', To: to });
const completedParams = (to, sid) => ({ ...voiceParams(to, sid), CallStatus: 'completed',
  CallDuration: '90', SequenceNumber: '3' });

const fault = async (name, on) => {
  const r = await srv.api('POST', '/v1/test/faults', { [name]: on }, null);
  assert.equal(r.status, 200, `fault ${name}: ${r.text}`);
};

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-faults-'));
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Faults', ['https://faults.example']);
  const set = cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]);
  assert.equal(set.status, 0, set.stderr);
  srv = await startServer({ dir, db, account, args: ['--rate-limit-visits', '0'] });
  const p = await srv.api('POST', '/v1/pools', { name: 'main', target: '+15555550900',
    forward_to: FORWARD, lease_ttl: 3600, cooldown: 60 });
  assert.equal(p.status, 201, p.text);
  for (let i = 1; i <= 12; i++) {
    const n = await srv.api('POST', '/v1/numbers',
      { number: `+155555509${String(i).padStart(2, '0')}`, pool: p.json.id });
    assert.equal(n.status, 201, n.text);
  }
});
after(async () => { await srv.cleanup(); });

/** No number is held by two live leases, and every lease belongs to a stored session. */
function assertLeasesSound() {
  const dup = sql('select number_id from leases where expires_at > (select max(leased_at) from leases)' +
    ' group by number_id having count(*) > 1');
  assert.equal(dup, '', 'a number is held by two live leases');
  assert.equal(sql('select count(*) from leases where session_id not in (select id from sessions)'), '0');
}

for (const name of ['store_busy', 'store_full', 'store_io', 'store_commit']) {
  test(`${name}: clean 5xx for visits, calls forwarded, one call after the retry, recovery`, async () => {
    const pid = srv.proc.pid;
    const to = '+15555550901'; // a pool number: owned, so the call is attributed and stored
    const sid = callSid();
    const sessionsBefore = Number(sql('select count(*) from sessions'));
    await fault(name, true);
    try {
      const v = await srv.visit({ url: 'https://faults.example/', targets: ['+15555550900'] });
      assert.ok(v.status >= 500 && v.status < 600, `visit: ${v.status} ${v.text}`);
      assert.ok(v.json && v.json.error && typeof v.json.error.code === 'string', v.text);
      assert.ok('message' in v.json.error && 'field' in v.json.error, v.text);

      const r = await hook('/v1/telephony/twilio/voice', voiceParams(to, sid));
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, new RegExp(`<Dial[^>]*>.*<Number[^>]*>\\${FORWARD}</Number></Dial>`));

      // acknowledged: the report is kept in the spool (its call waits there, or the update
      // the store refused does) and written once the store takes writes again
      const st = await hook('/v1/telephony/twilio/status', completedParams(to, sid));
      assert.equal(st.status, 204, `status: ${st.status} ${st.text}`);

      const stored = Number(sql(`select count(*) from calls where provider_call_id = '${sid}'`));
      assert.equal(stored, name === 'store_commit' ? 1 : 0, 'rows on disk after the fault');
      if (name !== 'store_commit')
        assert.equal(Number(sql('select count(*) from sessions')), sessionsBefore, 'a failed visit wrote a session');
    } finally {
      await fault(name, false);
    }

    // Recovery without a restart: the provider retries, the visitor comes back.
    const again = await hook('/v1/telephony/twilio/voice', voiceParams(to, sid));
    assert.equal(again.status, 200, again.text);
    assert.match(again.text, new RegExp(`<Number[^>]*>\\${FORWARD}</Number>`));
    assert.equal(sql(`select count(*) from calls where provider_call_id = '${sid}'`), '1', 'one call');
    const done = await hook('/v1/telephony/twilio/status', completedParams(to, sid));
    assert.equal(done.status, 204, done.text);
    const again2 = await hook('/v1/telephony/twilio/status', completedParams(to, sid));
    assert.equal(again2.status, 204, again2.text);
    assert.equal(sql(`select status || ' ' || duration from calls where provider_call_id = '${sid}'`), 'completed 90');
    assert.equal(sql(`select count(*) from conversions where call_id =
      (select id from calls where provider_call_id = '${sid}')`), '1', 'one conversion');

    const v = await srv.visit({ url: 'https://faults.example/', targets: ['+15555550900'] });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.numbers[0].kind, 'pool', v.text);
    const held = sql(`select count(*) from leases l join sessions s on s.id = l.session_id
      where s.ext_id = '${v.json.session_id}'`);
    assert.equal(held, '1', 'the answered visit has its lease on disk');
    assertLeasesSound();
    assert.equal(srv.proc.pid, pid);
    assert.equal(srv.proc.exitCode, null, 'the server kept running');
    const h = await srv.api('GET', '/healthz', undefined, null);
    assert.equal(h.status, 200);
  });
}

test('an unknown fault name is refused and changes nothing', async () => {
  const r = await srv.api('POST', '/v1/test/faults', { store_busy: true, store_nonsense: true }, null);
  assert.equal(r.status, 400, r.text);
  const v = await srv.visit({ url: 'https://faults.example/', targets: ['+15555550900'] });
  assert.equal(v.status, 200, 'store_busy was not switched on by a refused request');
});
