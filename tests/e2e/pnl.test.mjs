// SPDX-License-Identifier: AGPL-3.0-or-later
// P&L for pay-per-call (issue #18 item 3; docs/reports.md "P&L") through the real server:
// publishers owning sources, a number and a pool (/v1/publishers), calls routed to two buyers through
// real signed Twilio webhooks (voice, <Dial action> callbacks, status callbacks), people
// overriding billable both ways, the P&L report by day, source, buyer and publisher checked
// against figures computed by hand here, traced to call ids and adding up to the calls log, and
// `pnl.updated` seen on /v1/stream with today's totals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, sql, freshDb } from '../helpers/server.mjs';

const TOKEN = 'pnl-test-auth-token-0123456789abcdef';
const SID = 'AC' + 'ef'.repeat(16);
const LAST = '+15555550999';
const BUYER_A = '+15555550401';
const BUYER_B = '+15555550402';
const N_GOOGLE = '+15125550301'; // source google: publisher A owns the source
const N_BING = '+15125550302'; // source bing: A owns the source, B the number (the number wins)
const N_FB = '+15125550303'; // source facebook: no publisher
const N_POOL = '+15125550304'; // a pool's number, called with no visit: publisher C owns the pool
let srv;
let stream = '';
const streamCtl = new AbortController();
let reading;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-pnl-'));
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Network', ['https://network.example']);
  const set = cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]);
  assert.equal(set.status, 0, set.stderr);
  sql(db, `update accounts set settings = '{"costs":{"per_minute":2,"number_monthly":3000}}' where ext_id = '${account.accountId}'`);
  srv = await startServer({ dir, db, account });
  const res = await fetch(srv.url + '/v1/stream', { headers: { Authorization: `Bearer ${srv.apiKey}` },
    signal: streamCtl.signal });
  assert.equal(res.status, 200);
  reading = (async () => {
    const dec = new TextDecoder();
    try { for await (const chunk of res.body) stream += dec.decode(chunk); } catch {}
  })();
});
after(async () => {
  streamCtl.abort();
  await reading;
  if (srv) await srv.cleanup();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const callSid = () => 'CA' + randomBytes(16).toString('hex');
function sign(url, params) {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', TOKEN).update(data, 'utf8').digest('base64');
}
async function hook(pathAndQuery, params) {
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded',
    'X-Twilio-Signature': sign(srv.url + pathAndQuery, params) };
  const res = await fetch(srv.url + pathAndQuery, { method: 'POST', headers,
    body: new URLSearchParams(params).toString() });
  return { status: res.status, text: await res.text() };
}
const base = (to, from, sid) => ({ AccountSid: SID, CallSid: sid, CallStatus: 'in-progress',
  Direction: 'inbound', From: from, To: to });
function callback(xml) {
  const m = xml.match(/action="([^"]+)"/);
  assert.ok(m, `no action in ${xml}`);
  return m[1].replaceAll('&amp;', '&').slice(srv.url.length);
}
const dialled = (xml) => (xml.match(/<Number[^>]*>(\+\d+)<\/Number>/) || [])[1];

/** One call to `to`: each dial in `dials` ends as [DialCallStatus, DialCallDuration] and must
 * have dialled the buyer named; then the status callback with the call's duration. */
async function call(to, from, dials, duration) {
  const sid = callSid();
  const p = base(to, from, sid);
  let answer = await hook('/v1/telephony/twilio/voice', { ...p, CallStatus: 'ringing' });
  assert.equal(answer.status, 200, answer.text);
  for (const [expect, status, talk] of dials) {
    assert.equal(dialled(answer.text), expect, answer.text);
    answer = await hook(callback(answer.text), { ...p, DialCallStatus: status,
      DialCallDuration: String(talk) });
    assert.equal(answer.status, 200, answer.text);
  }
  const st = await hook('/v1/telephony/twilio/status', { ...p, CallStatus: 'completed',
    CallDuration: String(duration) });
  assert.ok(st.status === 200 || st.status === 204, st.text);
  const ext = sql(srv.db, `select ext_id from calls where provider_call_id = '${sid}'`);
  assert.ok(ext, `no call stored for ${sid}`);
  return ext;
}

async function number(n, source) {
  const r = await srv.api('POST', '/v1/numbers', { number: n, target: '+15555550100',
    forward_to: '+15555550100', source: { source, medium: 'cpc', campaign: 'leads' } });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
}

// Buyers: a pays 40.00 per call of 90 s or more, b 25.00 per call of 60 s or more (b's price
// under its older name `payout`, which means the same).
const buyers = [
  { id: 'buyer_a', number: BUYER_A, priority: 1, min_duration: 90, price: 4000 },
  { id: 'buyer_b', number: BUYER_B, priority: 2, min_duration: 60, payout: 2500 },
];
async function plan(num, first) {
  const targets = first === 'buyer_a' ? buyers : [buyers[1], { ...buyers[0], priority: 3 }];
  const r = await srv.api('POST', '/v1/routing-plans', { name: `Leads ${num}`, attach: { number: num },
    last_resort: LAST, targets, steps: [{ type: 'distribute', method: 'priority' }] });
  assert.equal(r.status, 201, r.text);
}

let pubA, pubB, pubC, pool;
const ids = {};
test('publishers: CRUD, validation and conflicts change nothing', async () => {
  const a = await srv.api('POST', '/v1/publishers', { name: 'Affiliate A', payout: 1000,
    sources: ['google', 'bing'] });
  assert.equal(a.status, 201, a.text);
  pubA = a.json.id;
  assert.match(pubA, /^pub_/);
  assert.deepEqual(a.json.sources, ['google', 'bing']);
  assert.deepEqual(a.json.numbers, []);
  for (const body of [
    { name: 'X', payout: -1 },
    { name: '', payout: 5 },
    { name: 'X', payout: 5, numbers: ['not a number'] },
    { name: 'X', payout: 5, pools: ['pool_nope'] },
    { name: 'X', payout: 5, sources: ['google', 'google'] },
    { name: 'X', payout: 5, colour: 'red' },
    { name: 'X' },
  ]) {
    const r = await srv.api('POST', '/v1/publishers', body);
    assert.equal(r.status, 400, JSON.stringify(body) + r.text);
  }
  const clash = await srv.api('POST', '/v1/publishers', { name: 'Copycat', payout: 5, sources: ['bing'] });
  assert.equal(clash.status, 409, clash.text);
  assert.match(clash.json.error.message, /source 'bing'/);
  const b = await srv.api('POST', '/v1/publishers', { name: 'Publisher B', payout: 700,
    numbers: ['(512) 555-0302'] });
  assert.equal(b.status, 201, b.text);
  pubB = b.json.id;
  assert.deepEqual(b.json.numbers, [N_BING], 'numbers are kept as E.164');
  const pl = await srv.api('POST', '/v1/pools', { name: 'Network pool', target: '+15555550100',
    forward_to: '+15555550100' });
  assert.equal(pl.status, 201, pl.text);
  pool = pl.json.id;
  const c = await srv.api('POST', '/v1/publishers', { name: 'Publisher C', payout: 500, pools: [pool] });
  assert.equal(c.status, 201, c.text);
  pubC = c.json.id;
  assert.deepEqual(c.json.pools, [pool]);
  const list = await srv.api('GET', '/v1/publishers');
  assert.deepEqual(list.json.publishers.map((p) => p.name), ['Affiliate A', 'Publisher B', 'Publisher C']);
  const tmp = await srv.api('POST', '/v1/publishers', { name: 'Temp', payout: 1, sources: ['tmp'] });
  const put = await srv.api('PUT', `/v1/publishers/${tmp.json.id}`, { name: 'Temp 2', payout: 3 });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.payout, 3);
  assert.deepEqual(put.json.sources, []);
  assert.equal((await srv.api('DELETE', `/v1/publishers/${tmp.json.id}`)).status, 204);
  assert.equal((await srv.api('GET', `/v1/publishers/${tmp.json.id}`)).status, 404);
  assert.equal((await srv.api('GET', '/v1/publishers', undefined, 'wrong-key')).status, 401);
  const other = createAccount(srv.db, 'Other', ['https://other.example']);
  assert.equal((await srv.api('GET', `/v1/publishers/${pubA}`, undefined, other.apiKey)).status, 404);
  assert.equal((await srv.api('DELETE', `/v1/publishers/${pubA}`, undefined, other.apiKey)).status, 404);
});

test('routed calls to two buyers; people override billable both ways', async () => {
  // a target's price under both names is refused, nothing stored
  const both = await srv.api('POST', '/v1/routing-plans', { name: 'Both', last_resort: LAST,
    targets: [{ ...buyers[0], payout: 4000 }], steps: [{ type: 'distribute' }] });
  assert.equal(both.status, 400, both.text);
  assert.equal(both.json.error.field, 'targets');
  assert.equal((await srv.api('GET', '/v1/routing-plans')).json.routing_plans.length, 0);
  await plan(await number(N_GOOGLE, 'google'), 'buyer_a');
  await plan(await number(N_BING, 'bing'), 'buyer_b');
  await plan(await number(N_FB, 'facebook'), 'buyer_a');
  // c1: google → a, 120 s: billable by a's rule (>= 90)
  ids.c1 = await call(N_GOOGLE, '+13125550001', [[BUYER_A, 'completed', 120]], 120);
  // c2: google → a, 60 s: not by the rule (< 90); a person says billable below
  ids.c2 = await call(N_GOOGLE, '+13125550002', [[BUYER_A, 'completed', 60]], 60);
  // c3: bing → b, 75 s: billable (>= 60)
  ids.c3 = await call(N_BING, '+13125550003', [[BUYER_B, 'completed', 75]], 75);
  // c4: bing → b, 200 s: billable by the rule; a person says not billable below
  ids.c4 = await call(N_BING, '+13125550004', [[BUYER_B, 'completed', 200]], 200);
  // c5: facebook → a, 100 s: billable, no publisher
  ids.c5 = await call(N_FB, '+13125550005', [[BUYER_A, 'completed', 100]], 100);
  // c6: google → a does not answer, b talks 30 s: not billable (< 60)
  ids.c6 = await call(N_GOOGLE, '+13125550006', [[BUYER_A, 'no-answer', 0], [BUYER_B, 'completed', 30]], 30);
  // c7: the pool's number, no visit (unattributed) → a, 95 s: billable, publisher C by its pool
  const n4 = await srv.api('POST', '/v1/numbers', { number: N_POOL, pool });
  assert.equal(n4.status, 201, n4.text);
  const pp = await srv.api('POST', '/v1/routing-plans', { name: 'Pool plan', attach: { pool },
    last_resort: LAST, targets: buyers, steps: [{ type: 'distribute', method: 'priority' }] });
  assert.equal(pp.status, 201, pp.text);
  ids.c7 = await call(N_POOL, '+13125550007', [[BUYER_A, 'completed', 95]], 95);
  const c1 = await srv.api('GET', `/v1/calls/${ids.c1}`);
  assert.equal(c1.json.routing.target, 'buyer_a');
  assert.equal(c1.json.routing.price, 4000);
  assert.equal(c1.json.routing.billable, true);
  const c6 = await srv.api('GET', `/v1/calls/${ids.c6}`);
  assert.equal(c6.json.routing.target, 'buyer_b');
  assert.equal(c6.json.routing.price, 2500);
  assert.equal(c6.json.routing.billable, false);

  const p2 = await srv.api('PATCH', `/v1/calls/${ids.c2}`, { billable: true });
  assert.equal(p2.status, 200, p2.text);
  const p4 = await srv.api('PATCH', `/v1/calls/${ids.c4}`, { billable: false });
  assert.equal(p4.status, 200, p4.text);
  assert.equal(p4.json.outcome.billable, false);
});

// By hand: billable = c1, c2 (person), c3, c5, c7; revenue 4000 + 4000 + 2500 + 4000 + 4000 =
// 18500; payouts: c1, c2 → A 1000 each, c3 → B 700 (its number wins over A's source bing), c5
// none, c7 → C 500 (its pool) = 3200; margin 15300. Number cost: 2 per started minute: c1 2 min
// 4, c2 1 min 2, c3 2 min 4, c4 4 min 8, c5 2 min 4, c6 1 min 2, c7 2 min 4 = 28. Spend 50.00
// today (5000). Rent: 30.00 a month per number, for the part of today after it was created.
const today = () => new Date(Date.now()).toISOString().slice(0, 10);
async function pnl(query) {
  const r = await srv.api('GET', `/v1/reports/pnl?since=${today()}&until=${today()}${query}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}
const figures = (r) => ({ calls: r.calls, billable: r.billable, revenue: r.revenue,
  payouts: r.payouts, margin: r.margin });

test('the P&L: totals, by day, by buyer, by publisher, by source, figures computed by hand', async () => {
  const spend = await fetch(`${srv.url}/v1/spend?platform=google_ads`, { method: 'POST',
    headers: { Authorization: `Bearer ${srv.apiKey}`, 'Content-Type': 'text/csv' },
    body: `Day,Campaign,Currency code,Cost,Clicks\n${today()},Leads,USD,50.00,10\n` });
  assert.equal(spend.status, 200, await spend.text());
  const dayEnd = Date.parse(today() + 'T00:00:00Z') + 86400000;
  let rent = 0;
  for (const n of [N_GOOGLE, N_BING, N_FB, N_POOL]) {
    const created = Number(sql(srv.db, `select created_at from numbers where number = '${n}'`));
    rent += Math.floor(3000 * (dayEnd - created) / (30 * 86400000) + 0.5);
  }
  assert.ok(rent > 0 && rent <= 400, `rent ${rent}`);
  const all = await pnl('');
  assert.equal(all.currency, 'USD');
  assert.equal(all.rows.length, 1);
  assert.deepEqual(all.totals, { calls: 7, billable: 5, revenue: 18500, payouts: 3200,
    margin: 15300, number_cost: 28, cost: 5000, number_monthly_cost: rent,
    net: 15300 - 28 - 5000 - rent });
  const byDay = await pnl('&group_by=day');
  assert.deepEqual(byDay.rows.map((r) => [r.key.day, r.cost, r.number_monthly_cost, r.net]),
    [[today(), 5000, rent, 15300 - 28 - 5000 - rent]]);

  const byBuyer = await pnl('&group_by=buyer');
  assert.deepEqual(byBuyer.rows.map((r) => [r.key.buyer, figures(r)]), [
    ['buyer_a', { calls: 4, billable: 4, revenue: 16000, payouts: 2500, margin: 13500 }],
    ['buyer_b', { calls: 3, billable: 1, revenue: 2500, payouts: 700, margin: 1800 }],
  ]);
  assert.equal(byBuyer.rows[0].cost, null, 'spend cannot be split by buyer');
  assert.equal(byBuyer.rows[0].number_monthly_cost, null);
  assert.equal(byBuyer.rows[0].net, null);
  assert.equal(byBuyer.totals.margin, 15300);

  const byPub = await pnl('&group_by=publisher');
  assert.deepEqual(byPub.rows.map((r) => [r.key.publisher, r.key.publisher_name, figures(r)]), [
    [null, undefined, { calls: 1, billable: 1, revenue: 4000, payouts: 0, margin: 4000 }],
    [pubA, 'Affiliate A', { calls: 3, billable: 2, revenue: 8000, payouts: 2000, margin: 6000 }],
    [pubB, 'Publisher B', { calls: 2, billable: 1, revenue: 2500, payouts: 700, margin: 1800 }],
    [pubC, 'Publisher C', { calls: 1, billable: 1, revenue: 4000, payouts: 500, margin: 3500 }],
  ].sort((x, y) => (x[0] === null ? -1 : y[0] === null ? 1 : x[0] < y[0] ? -1 : 1)));

  const bySource = await pnl('&group_by=source,buyer');
  const row = (s, b) => bySource.rows.find((r) => r.key.source === s && r.key.buyer === b);
  assert.deepEqual(figures(row('google', 'buyer_a')), { calls: 2, billable: 2, revenue: 8000,
    payouts: 2000, margin: 6000 });
  assert.deepEqual(figures(row('google', 'buyer_b')), { calls: 1, billable: 0, revenue: 0,
    payouts: 0, margin: 0 });
  assert.deepEqual(figures(row('bing', 'buyer_b')), { calls: 2, billable: 1, revenue: 2500,
    payouts: 700, margin: 1800 });
  assert.deepEqual(figures(row('facebook', 'buyer_a')), { calls: 1, billable: 1, revenue: 4000,
    payouts: 0, margin: 4000 });
  assert.deepEqual(figures(row(null, 'buyer_a')), { calls: 1, billable: 1, revenue: 4000,
    payouts: 500, margin: 3500 });
  assert.equal(bySource.rows.length, 5);

  for (const q of ['group_by=week', 'group_by=day,day', 'group_by=buyer,', 'include=everything']) {
    const r = await srv.api('GET', `/v1/reports/pnl?${q}`);
    assert.equal(r.status, 400, q);
  }
});

test('every figure is traced to its calls, and the calls add up to the calls log', async () => {
  const r = await pnl('&group_by=day,source,buyer,publisher&include=call_ids');
  const callIds = r.rows.flatMap((x) => x.call_ids);
  const billableIds = r.rows.flatMap((x) => x.billable_call_ids);
  assert.deepEqual(billableIds.sort(), [ids.c1, ids.c2, ids.c3, ids.c5, ids.c7].sort());
  for (const x of r.rows) assert.equal(x.call_ids.length, x.calls);
  const log = await srv.api('GET', `/v1/calls?since=${today()}&until=${today()}&limit=500`);
  assert.deepEqual(callIds.sort(), log.json.calls.map((c) => c.id).sort());
  assert.equal(r.totals.calls, log.json.calls.length);
});

test('pnl.updated on /v1/stream: today\'s totals when a billable call connects or a person changes billable', async () => {
  const events = () => [...stream.matchAll(/event: pnl\.updated\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]));
  for (let i = 0; i < 100 && events().length < 7; i++) await sleep(50);
  const ev = events();
  // c1, c3, c4, c5, c7 connected billable by their rule; two people changed billable (c2, c4)
  assert.equal(ev.length, 7, stream);
  assert.deepEqual(ev.at(-1), { day: today(), calls: 7, billable: 5, revenue: 18500, payouts: 3200,
    margin: 15300, currency: 'USD' });
  assert.deepEqual(ev[0].billable, 1); // after c1 connected
  assert.equal(ev[0].revenue, 4000);
  // a change of billable back and forth moves the totals and says so
  await srv.api('PATCH', `/v1/calls/${ids.c5}`, { billable: false });
  for (let i = 0; i < 100 && events().length < 8; i++) await sleep(50);
  assert.deepEqual(figures(events().at(-1)), { calls: 7, billable: 4, revenue: 14500,
    payouts: 3200, margin: 11300 });
  await srv.api('PATCH', `/v1/calls/${ids.c5}`, { billable: null });
  for (let i = 0; i < 100 && events().length < 9; i++) await sleep(50);
  assert.equal(events().at(-1).billable, 5, 'unset: the rule decides again');
});

test('roles: a viewer reads neither the P&L nor publishers, and gets pnl.updated without money', async () => {
  const PW = 'correct horse battery';
  const u = cli(['user', 'add', 'viewer@network.example', '--account', srv.accountId, '--role', 'viewer',
    '--password-stdin', '--db', srv.db], { input: PW + '\n' });
  assert.equal(u.status, 0, u.stderr);
  const res = await fetch(srv.url + '/app/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'viewer@network.example', password: PW }) });
  assert.equal(res.status, 200);
  await res.json();
  const cookie = 'opendni_sid=' + /opendni_sid=([^;]*)/.exec(res.headers.get('set-cookie'))[1];
  for (const path of ['/v1/reports/pnl', '/v1/publishers', `/v1/publishers/${pubA}`]) {
    const r = await fetch(srv.url + path, { headers: { Cookie: cookie } });
    assert.equal(r.status, 403, path);
    await r.text();
  }
  const ctl = new AbortController();
  const s = await fetch(srv.url + '/v1/stream', { headers: { Cookie: cookie }, signal: ctl.signal });
  assert.equal(s.status, 200);
  let text = '';
  const reading = (async () => {
    const dec = new TextDecoder();
    try { for await (const chunk of s.body) text += dec.decode(chunk); } catch {}
  })();
  try {
    for (let i = 0; i < 100 && !text.includes(': connected'); i++) await sleep(20);
    assert.equal((await srv.api('PATCH', `/v1/calls/${ids.c6}`, { billable: true })).status, 200);
    const seen = () => (/event: pnl\.updated\ndata: (.*)\n/.exec(text) || [])[1];
    for (let i = 0; i < 100 && !seen(); i++) await sleep(50);
    assert.ok(seen(), text);
    assert.deepEqual(JSON.parse(seen()), { day: today(), calls: 7, billable: 6, revenue: null,
      payouts: null, margin: null, currency: 'USD' });
  } finally {
    ctl.abort();
    await reading;
  }
});

// Payouts per call (sql/0024): what a publisher is owed is recorded when the call becomes
// billable, at the payout in force then. By hand: A owns google; c1, c2 and c6 (billable by a
// person in the roles test) were recorded at 1000. A's payout goes to 5000; c8 (google → a,
// 100 s) becomes billable by the rule afterwards: 5000. c6 made not billable and billable again
// keeps its first record. A: 4 calls, 4 billable, revenue 4000 + 4000 + 2500 + 4000 = 14500,
// payouts 1000 * 3 + 5000 = 8000.
test('a changed payout applies to calls that become billable afterwards; earlier calls keep theirs', async () => {
  const a = await srv.api('GET', `/v1/publishers/${pubA}`);
  const put = await srv.api('PUT', `/v1/publishers/${pubA}`, { name: a.json.name, payout: 5000,
    sources: a.json.sources, numbers: a.json.numbers, pools: a.json.pools });
  assert.equal(put.status, 200, put.text);
  ids.c8 = await call(N_GOOGLE, '+13125550008', [[BUYER_A, 'completed', 100]], 100);
  assert.equal((await srv.api('PATCH', `/v1/calls/${ids.c6}`, { billable: false })).status, 200);
  assert.equal((await srv.api('PATCH', `/v1/calls/${ids.c6}`, { billable: true })).status, 200);
  const byPub = await pnl('&group_by=publisher&include=call_ids');
  const rowA = byPub.rows.find((r) => r.key.publisher === pubA);
  assert.deepEqual(figures(rowA), { calls: 4, billable: 4, revenue: 14500, payouts: 8000,
    margin: 6500 });
  assert.deepEqual(rowA.billable_call_ids.sort(), [ids.c1, ids.c2, ids.c6, ids.c8].sort());
  assert.equal(rowA.key.publisher_name, 'Affiliate A');
  // the publisher deleted: its calls stay credited to it, at what they owed
  const b = await srv.api('GET', `/v1/publishers/${pubB}`);
  assert.equal((await srv.api('DELETE', `/v1/publishers/${pubB}`)).status, 204);
  const after = await pnl('&group_by=publisher');
  const rowB = after.rows.find((r) => r.key.publisher === pubB);
  assert.ok(rowB, JSON.stringify(after.rows));
  assert.equal(rowB.key.publisher_name, b.json.name);
  assert.equal(rowB.payouts, 700);
  assert.equal(after.totals.payouts, 8000 + 700 + 500);
});
