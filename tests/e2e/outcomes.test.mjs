// SPDX-License-Identifier: AGPL-3.0-or-later
// Call outcomes through the real server (issue #18 item 1; docs/api.md "Call outcomes"):
// PATCH /v1/calls/{id} sets tags, notes, a lead status, a revenue value and a billable flag with
// who set it; GET /v1/calls and /v1/calls/{id} show them as `outcome`; a bad body is a 400 in
// the error format and changes nothing; another account's call is 404; a dashboard analyst may
// set them (recorded and audited as that user), a viewer gets 403 and sees no revenue; the calls
// report groups by lead status and filters on it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createAccount, cli } from '../helpers/server.mjs';

const PW = 'correct horse battery';
let srv;
let other;
let callId;
let otherCallId;

/** A call to `number` from `from`, made by `opendni call simulate`; returns its id. */
async function simulate(number, from, key) {
  const r = cli(['call', 'simulate', '--to', number, '--from', from, '--duration', '95', '--no-wait',
    '--server', srv.url, '--db', srv.db]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const list = await srv.api('GET', '/v1/calls?limit=500', undefined, key);
  const c = list.json.calls.find((x) => x.from === from);
  assert.ok(c, `the call from ${from} is listed`);
  return c.id;
}

async function numberFor(target, number, key) {
  const p = await srv.api('POST', '/v1/pools', { name: `p-${target}`, target }, key);
  assert.equal(p.status, 201, p.text);
  const n = await srv.api('POST', '/v1/numbers', { number, pool: p.json.id }, key);
  assert.equal(n.status, 201, n.text);
}

function addUser(email, role) {
  const r = cli(['user', 'add', email, '--account', srv.accountId, '--role', role, '--db', srv.db,
    '--password-stdin'], { input: PW + '\n' });
  assert.equal(r.status, 0, r.stderr);
}

async function login(email) {
  const res = await fetch(srv.url + '/app/login', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: PW }), redirect: 'manual',
  });
  assert.equal(res.status, 200);
  const json = await res.json();
  return { sid: /opendni_sid=([^;]*)/.exec(res.headers.get('set-cookie'))[1], csrf: json.csrf };
}

/** A request as the logged-in browser sends it (cookie, and the CSRF token on writes). */
async function as(sess, method, path, body) {
  const h = { Cookie: 'opendni_sid=' + sess.sid };
  if (method !== 'GET') h['X-CSRF-Token'] = sess.csrf;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(srv.url + path, { method, headers: h,
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, text };
}

const patch = (id, body, key) => srv.api('PATCH', `/v1/calls/${id}`, body, key);

function isError(r, status, field) {
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.json.error, 'object', r.text);
  assert.equal(typeof r.json.error.message, 'string');
  if (field !== undefined) assert.equal(r.json.error.field, field, r.text);
}

before(async () => {
  srv = await startServer();
  other = createAccount(srv.db, 'Other', ['https://other.example']);
  await numberFor('+15555550700', '+15555550701', srv.apiKey);
  await numberFor('+15555550800', '+15555550801', other.apiKey);
  callId = await simulate('+15555550701', '+15125550190', srv.apiKey);
  otherCallId = await simulate('+15555550801', '+15125550191', other.apiKey);
});
after(async () => { await srv?.cleanup(); });

test('a call starts with the default outcome', async () => {
  const r = await srv.api('GET', `/v1/calls/${callId}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.outcome, { tags: [], notes: '', lead_status: 'new', revenue: null,
    billable: null, billable_set_by: null, updated_at: null });
});

test('PATCH sets the outcome, partly, and it reads back in the list and the call', async () => {
  let r = await patch(callId, { tags: ['vip', 'roof repair', 'vip'], notes: 'Wants a quote.\nCall back «Tuesday».',
    lead_status: 'qualified', revenue: 125000, billable: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.id, callId);
  const o = r.json.outcome;
  assert.deepEqual(o.tags, ['vip', 'roof repair']); /* a set: duplicates kept once */
  assert.equal(o.notes, 'Wants a quote.\nCall back «Tuesday».');
  assert.equal(o.lead_status, 'qualified');
  assert.equal(o.revenue, 125000);
  assert.equal(o.billable, true);
  assert.equal(o.billable_set_by.by, 'api');
  assert.equal(o.billable_set_by.user, null);
  assert.ok(Date.parse(o.billable_set_by.at) > 0);
  assert.ok(Date.parse(o.updated_at) > 0);
  // only the fields named change
  r = await patch(callId, { lead_status: 'won' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.outcome, { ...o, lead_status: 'won', updated_at: r.json.outcome.updated_at });
  // read back through GET /v1/calls/{id} and the list
  r = await srv.api('GET', `/v1/calls/${callId}`);
  assert.equal(r.json.outcome.lead_status, 'won');
  assert.equal(r.json.outcome.revenue, 125000);
  assert.equal(r.json.status, 'completed'); /* the rest of the CALL object is as it was */
  const list = await srv.api('GET', '/v1/calls');
  const listed = list.json.calls.find((c) => c.id === callId);
  assert.deepEqual(listed.outcome, r.json.outcome);
  // null clears: revenue not given, billable unset (no one's word), notes empty, tags none
  r = await patch(callId, { revenue: null, billable: null, notes: null, tags: null });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.outcome.revenue, null);
  assert.equal(r.json.outcome.billable, null);
  assert.equal(r.json.outcome.billable_set_by, null);
  assert.equal(r.json.outcome.notes, '');
  assert.deepEqual(r.json.outcome.tags, []);
  assert.equal(r.json.outcome.lead_status, 'won');
  r = await patch(callId, { billable: false, revenue: 0, tags: ['spam:robocall'] });
  assert.equal(r.json.outcome.billable, false);
  assert.equal(r.json.outcome.revenue, 0);
  assert.equal(r.json.outcome.billable_set_by.by, 'api');
});

test('a bad body is a 400 in the error format, and changes nothing', async () => {
  const beforeIt = (await srv.api('GET', `/v1/calls/${callId}`)).json.outcome;
  const long = 'x'.repeat(33);
  const bad = [
    [{ lead_status: 'maybe' }, 'lead_status'],
    [{ lead_status: null }, 'lead_status'],
    [{ revenue: -1 }, 'revenue'],
    [{ revenue: 12.5 }, 'revenue'],
    [{ revenue: '100' }, 'revenue'],
    [{ revenue: 1e15 }, 'revenue'],
    [{ billable: 'yes' }, 'billable'],
    [{ tags: 'vip' }, 'tags'],
    [{ tags: [''] }, 'tags'],
    [{ tags: [long] }, 'tags'],
    [{ tags: ['a,b'] }, 'tags'],
    [{ tags: [' lead'] }, 'tags'],
    [{ tags: [7] }, 'tags'],
    [{ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
    [{ notes: 'n'.repeat(4097) }, 'notes'],
    [{ notes: 'bell\u0007' }, 'notes'],
    [{ notes: 5 }, 'notes'],
    [{ lead_staus: 'won' }, 'lead_staus'], /* an unknown field is named */
    // a good field next to a bad one: the good one is not applied either
    [{ lead_status: 'spam', revenue: -5 }, 'revenue'],
  ];
  for (const [body, field] of bad) isError(await patch(callId, body), 400, field);
  isError(await patch(callId, {}), 400);
  isError(await patch(callId, '[1]'), 400);
  isError(await patch(callId, '{"notes":'), 400);
  assert.deepEqual((await srv.api('GET', `/v1/calls/${callId}`)).json.outcome, beforeIt);
});

test('tenant isolation: another account\'s call is 404 and stays as it was', async () => {
  isError(await patch(otherCallId, { lead_status: 'spam' }), 404);
  isError(await patch('call_nope', { lead_status: 'spam' }), 404);
  const mine = await srv.api('GET', `/v1/calls/${otherCallId}`, undefined, other.apiKey);
  assert.equal(mine.json.outcome.lead_status, 'new');
  // the owner's own key may
  const r = await patch(otherCallId, { lead_status: 'lost' }, other.apiKey);
  assert.equal(r.status, 200, r.text);
  assert.equal((await srv.api('GET', `/v1/calls/${callId}`)).json.outcome.lead_status, 'won');
  isError(await srv.api('PATCH', `/v1/calls/${callId}`, { lead_status: 'won' }, null), 401);
});

test('dashboard: an analyst sets outcomes as themself (audited); a viewer gets 403, no revenue', async () => {
  addUser('owner@example.com', 'owner');
  addUser('ana@example.com', 'analyst');
  addUser('vic@example.com', 'viewer');
  const ana = await login('ana@example.com');
  let r = await as(ana, 'PATCH', `/v1/calls/${callId}`, { billable: true, revenue: 9900 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.outcome.billable, true);
  assert.deepEqual({ by: r.json.outcome.billable_set_by.by, user: r.json.outcome.billable_set_by.user },
    { by: 'user', user: 'ana@example.com' });
  const vic = await login('vic@example.com');
  r = await as(vic, 'PATCH', `/v1/calls/${callId}`, { lead_status: 'spam' });
  assert.equal(r.status, 403, r.text);
  assert.equal(typeof r.json.error.message, 'string');
  r = await as(vic, 'GET', `/v1/calls/${callId}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.outcome.lead_status, 'won'); /* unchanged by the refused PATCH */
  assert.equal(r.json.outcome.revenue, null); /* money is analyst+ */
  assert.equal(r.json.outcome.billable, true);
  // the owner's audit log has the analyst's change, not the viewer's refused one
  const owner = await login('owner@example.com');
  r = await as(owner, 'GET', '/v1/app/audit');
  assert.equal(r.status, 200);
  const changes = r.json.entries.filter((e) => e.action === 'PATCH /v1/calls/{}');
  assert.equal(changes.length, 1);
  assert.equal(changes[0].actor, 'ana@example.com');
  assert.equal(changes[0].subject, `/v1/calls/${callId}`);
});

test('the calls report groups by lead status and filters on it', async () => {
  // this account: the call set above ("won"); a second, untouched call ("new")
  await simulate('+15555550701', '+15125550192', srv.apiKey);
  const q = 'since=2000-01-01&until=2100-01-01';
  let r = await srv.api('GET', `/v1/reports/calls?group_by=lead_status&${q}`);
  assert.equal(r.status, 200, r.text);
  const byLead = Object.fromEntries(r.json.rows.map((row) => [row.key.lead_status, row.calls]));
  assert.deepEqual(byLead, { won: 1, new: 1 });
  r = await srv.api('GET', `/v1/reports/calls?group_by=channel&lead_status=won,qualified&${q}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.rows.reduce((n, row) => n + row.calls, 0), 1);
  r = await srv.api('GET', `/v1/reports/calls?lead_status=spam&${q}`);
  assert.equal(r.json.rows.reduce((n, row) => n + row.calls, 0), 0);
  isError(await srv.api('GET', `/v1/reports/calls?lead_status=maybe&${q}`), 400, 'lead_status');
  isError(await srv.api('GET', `/v1/reports/calls?lead_status=&${q}`), 400, 'lead_status');
  r = await srv.api('GET', `/v1/reports/calls?group_by=lead_status&format=csv&${q}`);
  assert.equal(r.status, 200, r.text);
  assert.match(r.text.split('\n')[0], /^lead_status,/);
});
