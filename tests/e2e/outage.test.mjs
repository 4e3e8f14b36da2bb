// SPDX-License-Identifier: AGPL-3.0-or-later
// PostgreSQL going away under load (issue #11 items 3 and 4): two `opendni serve` on a
// PostgreSQL of this test's own (scripts/pg-test-server start/halt/resume/stop, so the tests
// sharing the suite's server are not hit). While it is stopped, visits and admin calls answer 503
// in the error format and /readyz fails; provider webhooks are still answered with the forward
// (TwiML Dial to the number the node's directory holds) and their calls and status reports are
// kept in each node's spool; when PostgreSQL is back the nodes reconnect by themselves, write
// the spool, and every acknowledged visit, call and status report is stored, a call made during
// the outage attributed to the visit that held the number; a node killed -9 during the outage
// writes its spool when it starts again.
// PostgreSQL only: a SQLite store is a file of the node itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, sql, PG, SRC } from '../helpers/server.mjs';

const skip = !PG && 'PostgreSQL outages: a SQLite store is a file of the node itself';
const SCRIPT = join(SRC, 'scripts/pg-test-server');
const TOKEN = 'outage-test-auth-token-0123456789';
const SID = 'AC' + 'ef'.repeat(16);
const TARGET = '+15555557000';
const FORWARD = '+15555557999';
const LONE_TARGET = '+15555558000';
const LONE_FORWARD = '+15555558999';
const N_NUMBERS = 24;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let a, b, db, dir, stateDir, state;
const numbers = [];

const pg = (cmd) => execFileSync('sh', [SCRIPT, cmd, state], { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'opendni-outage-'));
  stateDir = mkdtempSync(join(tmpdir(), 'opendni-outage-pg-'));
  state = join(stateDir, 'state');
  db = pg('start');
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Outage', ['https://site.example']);
  const set = cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]);
  assert.equal(set.status, 0, set.stderr);
  const args = ['--rate-limit-visits', '0', '--max-new-sessions', '0'];
  a = await startServer({ dir, db, account, args, keepDir: true });
  b = await startServer({ dir, db, account, args, keepDir: true });
  const p = await a.api('POST', '/v1/pools', { name: 'main', target: TARGET, forward_to: FORWARD, lease_ttl: 3600 });
  assert.equal(p.status, 201, p.text);
  for (let i = 1; i <= N_NUMBERS; i++) {
    const number = `+1555555${String(7000 + i).padStart(4, '0')}`;
    assert.equal((await a.api('POST', '/v1/numbers', { number, pool: p.json.id })).status, 201);
    numbers.push(number);
  }
  const lone = await a.api('POST', '/v1/pools', { name: 'lone', target: LONE_TARGET, forward_to: LONE_FORWARD, lease_ttl: 3600 });
  assert.equal((await a.api('POST', '/v1/numbers', { number: '+15555558001', pool: lone.json.id })).status, 201);
});

after(async () => {
  if (skip) return;
  try { pg('resume'); } catch { /* running already */ }
  await a?.cleanup();
  await b?.cleanup();
  pg('stop');
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
});

const visit = (srv, target = TARGET, body = {}) =>
  srv.visit({ url: 'https://site.example/', targets: [target], ...body }, { Origin: 'https://site.example' });

function sign(url, params) {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', TOKEN).update(data, 'utf8').digest('base64');
}

async function hook(srv, path, params) {
  const res = await fetch(srv.url + path, { method: 'POST', body: new URLSearchParams(params).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sign(srv.url + path, params) } });
  return { status: res.status, text: await res.text() };
}

const voice = (srv, to, sid) => hook(srv, '/v1/telephony/twilio/voice',
  { AccountSid: SID, CallSid: sid, CallStatus: 'ringing', Direction: 'inbound', From: '+15125550177', To: to });
const completed = (srv, to, sid) => hook(srv, '/v1/telephony/twilio/status',
  { AccountSid: SID, CallSid: sid, CallStatus: 'completed', CallDuration: '61', SequenceNumber: '4',
    Direction: 'inbound', From: '+15125550177', To: to });

/** A gauge or counter of srv's /metrics (loopback: no token needed). */
async function metric(srv, name) {
  const r = await srv.api('GET', '/metrics', undefined, null);
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(r.text);
  return m ? Number(m[1]) : NaN;
}

async function until(what, fn, ms) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    assert.ok(Date.now() < end, `${what} within ${ms} ms`);
    await sleep(50);
  }
}

const dialsTo = (text, forward) => new RegExp(`<Dial[^>]*>.*<Number[^>]*>\\${forward}</Number></Dial>`).test(text);

test('PostgreSQL stopped under load: 503s, calls still forwarded and spooled, recovery with nothing acknowledged lost', { skip }, async () => {
  // both nodes know every number before the database goes away (their directories)
  for (const srv of [a, b])
    await until('the directory to hold the numbers', async () => await metric(srv, 'opendni_directory_numbers') >= N_NUMBERS + 1, 10000);
  const lone = await visit(a, LONE_TARGET); // holds the lone pool's one number: exact attribution
  assert.equal(lone.status, 200, lone.text);
  const loneNumber = lone.json.numbers[0].number;

  let phase = 'up';
  const sessions = [];
  const calls = [];   // {sid, forward}
  const reports = []; // sids whose completed report was acknowledged
  const refused = []; // what a webhook was answered other than the forward
  const downVisits = { n503: 0, other: [] };
  let stop = false;
  const worker = async (w) => {
    for (let i = 0; !stop; i++) {
      const node = (w + i) % 2 ? b : a;
      const sent = phase;
      try {
        const v = await visit(node);
        if (v.status === 200) sessions.push(v.json.session_id);
        if (sent === 'down' && phase === 'down') {
          if (v.status === 503 && v.json?.error?.code === 'unavailable' && 'field' in v.json.error &&
              v.headers.get('retry-after')) downVisits.n503++;
          else downVisits.other.push(`${v.status} ${v.text}`);
        }
        const to = numbers[(w * 7 + i) % numbers.length];
        const sid = 'CA' + randomBytes(16).toString('hex');
        const c = await voice(node === a ? b : a, to, sid);
        if (c.status === 200 && dialsTo(c.text, FORWARD)) calls.push(sid);
        else refused.push(`voice ${sent}->${phase}: ${c.status} ${c.text}`);
        const st = await completed(node, to, sid);
        if (st.status === 204) reports.push(sid);
        else refused.push(`status ${sent}->${phase}: ${st.status} ${st.text}`);
      } catch (e) {
        refused.push(`request failed: ${e.message}`);
      }
      if (phase !== 'up') await sleep(20); // keep the outage's logs and spools small
    }
  };
  const workers = Array.from({ length: 4 }, (_, w) => worker(w));
  // load first (a number of visits, not a time: a busy machine makes fewer per second)
  await until('visits before the outage', async () => sessions.length > 5, 15000);
  const beforeOutage = sessions.length;
  pg('halt');
  for (const srv of [a, b])
    await until('/readyz to fail', async () => (await srv.api('GET', '/readyz', undefined, null)).status === 503, 10000);
  phase = 'down';
  const ready = await b.api('GET', '/readyz', undefined, null);
  assert.equal(ready.json.error.code, 'unavailable', ready.text);
  const admin = await b.api('GET', '/v1/pools');
  assert.equal(admin.status, 503, admin.text);
  assert.equal(admin.json.error.code, 'unavailable');
  // a call to the number the visit before the outage holds: answered, kept, attributed later
  const loneSid = 'CA' + randomBytes(16).toString('hex');
  const loneCall = await voice(b, loneNumber, loneSid);
  assert.equal(loneCall.status, 200, loneCall.text);
  assert.ok(dialsTo(loneCall.text, LONE_FORWARD), loneCall.text);
  const spoolDepth = async () => await metric(a, 'opendni_spool_depth') + await metric(b, 'opendni_spool_depth');
  await until('visits refused and calls spooled during the outage',
    async () => downVisits.n503 > 3 && calls.length > 5 && await spoolDepth() > 2, 15000);
  const spooled = await spoolDepth();
  assert.ok(spooled > 2, `the spools hold the outage's calls (${spooled})`);
  const callsDuring = calls.length;

  phase = 'resuming';
  pg('resume');
  for (const srv of [a, b])
    await until('/readyz to pass again', async () => (await srv.api('GET', '/readyz', undefined, null)).status === 200, 15000);
  phase = 'up';
  await sleep(500);
  stop = true;
  await Promise.all(workers);
  for (const srv of [a, b])
    await until('the spool to be written', async () => await metric(srv, 'opendni_spool_depth') === 0, 20000);

  assert.deepEqual(refused, [], 'every webhook was answered with the forward and every report acknowledged');
  assert.ok(beforeOutage > 5, `visits before the outage: ${beforeOutage}`);
  assert.ok(downVisits.n503 > 3, `visits answered 503 during the outage: ${downVisits.n503}`);
  assert.deepEqual(downVisits.other, [], 'during the outage every visit is a 503 in the error format');
  assert.ok(callsDuring > 5, `calls acknowledged by the time the database came back: ${callsDuring}`);
  assert.ok(await metric(a, 'opendni_spool_replayed_total') + await metric(b, 'opendni_spool_replayed_total') > 2);

  const storedSessions = new Set(sql(db, 'select ext_id from sessions').split('\n'));
  for (const s of sessions) assert.ok(storedSessions.has(s), `acknowledged session ${s} lost`);
  const rows = new Map(sql(db, `select provider_call_id || '|' || forwarded_to || '|' || status || '|' || duration from calls`)
    .split('\n').map((l) => [l.split('|')[0], l.split('|').slice(1)]));
  for (const sid of calls) assert.ok(rows.has(sid), `acknowledged call ${sid} lost`);
  for (const sid of calls) assert.equal(rows.get(sid)[0], FORWARD, `call ${sid}: forwarded_to`);
  for (const sid of reports) assert.deepEqual(rows.get(sid).slice(1), ['completed', '61'], `call ${sid}: its report`);
  const attributed = sql(db, `select s.ext_id || '|' || c.method || '|' || c.forwarded_to from calls c
    join sessions s on s.id = c.session_id where c.provider_call_id = '${loneSid}'`);
  assert.equal(attributed, `${lone.json.session_id}|exact|${LONE_FORWARD}`);

  for (const srv of [a, b]) assert.equal((await visit(srv)).status, 200, 'visits are served again');
  assert.equal((await a.api('GET', '/v1/pools')).status, 200);
});

test('a node killed -9 with calls in its spool writes them when it starts again', { skip }, async () => {
  for (const srv of [a, b])
    await until('the directory to hold the numbers', async () => await metric(srv, 'opendni_directory_numbers') >= N_NUMBERS + 1, 10000);
  pg('halt');
  await until('/readyz to fail', async () => (await b.api('GET', '/readyz', undefined, null)).status === 503, 10000);
  const sids = [];
  for (let i = 0; i < 3; i++) {
    const sid = 'CA' + randomBytes(16).toString('hex');
    const c = await voice(b, numbers[i], sid);
    assert.equal(c.status, 200, c.text);
    assert.ok(dialsTo(c.text, FORWARD), c.text);
    assert.equal((await completed(b, numbers[i], sid)).status, 204);
    sids.push(sid);
  }
  // a forged webhook (a wrong signature) is not forwarded nor kept while the store is away
  const forged = 'CA' + randomBytes(16).toString('hex');
  const params = { AccountSid: SID, CallSid: forged, CallStatus: 'ringing', Direction: 'inbound', From: '+15125550177', To: numbers[0] };
  const res = await fetch(b.url + '/v1/telephony/twilio/voice', { method: 'POST', body: new URLSearchParams(params).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': 'AAAA' + sign(b.url + '/x', params).slice(4) } });
  assert.equal(res.status, 503, await res.text());
  assert.equal(await metric(b, 'opendni_spool_depth'), 6);
  await b.kill9();
  pg('resume');
  await b.start(); // the same --spool-dir
  await until('the spool to be written', async () => await metric(b, 'opendni_spool_depth') === 0, 20000);
  for (const sid of sids)
    assert.equal(sql(db, `select status || ' ' || duration || ' ' || forwarded_to from calls where provider_call_id = '${sid}'`),
      `completed 61 ${FORWARD}`, `call ${sid} after the restart`);
  assert.match(b.logs(), /6 records in '.*' from an earlier run/);
  assert.equal(sql(db, `select count(*) from calls where provider_call_id = '${forged}'`), '0');
});
