// SPDX-License-Identifier: AGPL-3.0-or-later
// Privacy through the real server (issue #17 item 3; docs/operations.md "Privacy"):
// - erasure by caller and by visitor (POST /v1/erasures, opendni erase): the call stays counted
//   but nothing of the person is left in any table, API answer, export, the server log, nor in
//   the SQLite file's bytes (.db and -wal); the erasure log says which webhook messages had left
//   and the pending ones are dropped;
// - Global Privacy Control and Do-Not-Track per the account's setting: the number still swaps,
//   no click ids, referrer, query or address kept;
// - the retention purge in serve, on a store aged by the test clock, keeps reports and the calls
//   log consistent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { startServer, createAccount, cli, sql, PG } from '../helpers/server.mjs';

const CALLER = '+15125550177';
const GCLID = 'Cj0KCQiAerasemeGCLID4242';
const VISITOR = 'v_erase_me_0001';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let srv;
let rx;
const received = [];

/** Polls fn until it returns something truthy. A request that fails outright is tried again: a
 * jump of the test clock can end the server's idle keep-alive connections under the client. */
async function waitFor(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve().then(fn).catch((e) => { if (Date.now() > end) throw e; return null; });
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Every table's rows as text, through the store's own client (sqlite3 .dump / psql). */
function everyRow(db) {
  if (!PG) return sql(db, '.dump');
  const tables = sql(db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'").split('\n');
  return tables.map((t) => sql(db, `SELECT t::text FROM "${t}" t`)).join('\n');
}

async function pool(target, number, key = srv.apiKey) {
  const p = await srv.api('POST', '/v1/pools', { name: `p-${target}`, target }, key);
  assert.equal(p.status, 201, p.text);
  const n = await srv.api('POST', '/v1/numbers', { number, pool: p.json.id }, key);
  assert.equal(n.status, 201, n.text);
}

function simulate(to, from) {
  const r = cli(['call', 'simulate', '--to', to, '--from', from, '--duration', '95', '--no-wait', '--server', srv.url,
    '--db', srv.db]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
}

before(async () => {
  rx = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => { received.push(body); res.end('ok'); });
  });
  await new Promise((r) => rx.listen(0, '127.0.0.1', r));
  srv = await startServer({ origins: ['https://site.example'], args: ['--outbound-allow-private'] });
  await pool('+15555550900', '+15555550901');
});
after(async () => {
  if (process.env.SHOWLOG) console.error(srv?.logs());
  await srv?.cleanup();
  rx?.close();
});

test('erasing a caller: the call stays counted, nothing of them is left in the store, its bytes, the API or the log', async () => {
  const w = await srv.api('POST', '/v1/webhooks', { url: `http://127.0.0.1:${rx.address().port}/h`, events: ['call.started', 'call.completed'] });
  assert.equal(w.status, 201, w.text);
  // a destination that never answers: its message stays pending (retried), then is dropped
  const dead = await srv.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/h', events: ['call.completed'] });
  assert.equal(dead.status, 201, dead.text);
  const v = await srv.visit({ url: `https://site.example/plumbing?gclid=${GCLID}&utm_source=google`,
    referrer: 'https://www.google.com/search?q=jane+doe+plumber', visitor_id: VISITOR },
  { Origin: 'https://site.example' });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.numbers[0].number, '+15555550901');
  simulate('+15555550901', CALLER);
  const call = await waitFor('the call', async () => (await srv.api('GET', '/v1/calls')).json.calls.find((c) => c.from === CALLER));
  assert.equal(call.attribution.click_ids.gclid, GCLID);
  assert.equal(call.attribution.method, 'exact');
  const notes = await srv.api('PATCH', `/v1/calls/${call.id}`, { notes: 'Jane Doe, leaking pipe' });
  assert.equal(notes.status, 200, notes.text);
  await waitFor('call.completed delivered', () => received.some((b) => b.includes('call.completed') && b.includes(CALLER)));
  // received is not yet recorded: the sender writes its attempts' outcomes in its next step
  await waitFor('both deliveries recorded', async () => {
    const log = (await srv.api('GET', `/v1/webhooks/${w.json.id}/deliveries`)).json.deliveries || [];
    return log.filter((d) => d.status >= 200 && d.status < 300).length >= 2;
  });
  const before = (await srv.api('GET', '/v1/reports/calls?group_by=campaign')).json;

  // bad requests change nothing
  for (const [body, field] of [[{}, 'visitor_id'], [{ caller: CALLER, visitor_id: VISITOR }, 'caller'],
    [{ caller: 'not a number' }, 'caller'], [{ caller: CALLER, extra: 1 }, 'extra']]) {
    const r = await srv.api('POST', '/v1/erasures', body);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.field, field, r.text);
  }
  assert.equal((await srv.api('POST', '/v1/erasures', { caller: CALLER }, 'nokey')).status, 401);
  assert.equal((await srv.api('GET', '/v1/erasures')).json.erasures.length, 0);

  const e = await srv.api('POST', '/v1/erasures', { caller: '(512) 555-0177', reference: 'ticket #42' });
  assert.equal(e.status, 201, e.text);
  assert.match(e.json.id, /^ers_/);
  assert.equal(e.headers.get('location'), `/v1/erasures/${e.json.id}`);
  assert.equal(e.json.kind, 'caller');
  assert.equal(e.json.reference, 'ticket #42');
  assert.deepEqual(e.json.erased, { calls: 1, sessions: 1, events: 0 });
  assert.ok(e.json.outbox.sent >= 2, e.text); // call.started and call.completed were delivered
  const types = e.json.outbox.sent_messages.filter((m) => m.state === 'delivered').map((m) => m.type).sort();
  assert.deepEqual(types, ['call.completed', 'call.started']);
  assert.ok(e.json.outbox.dropped + e.json.outbox.sent >= 3, 'the dead destination\'s message was dropped or listed');
  assert.ok(!e.text.includes('0177'), 'the erasure record names nobody');
  const got = await srv.api('GET', `/v1/erasures/${e.json.id}`);
  assert.equal(got.status, 200);
  assert.equal(got.json.id, e.json.id);
  assert.equal((await srv.api('GET', '/v1/erasures')).json.erasures.length, 1);

  // the call is still there and counted, without the person
  const after = (await srv.api('GET', `/v1/calls/${call.id}`)).json;
  assert.equal(after.from, null);
  assert.equal(after.attribution.method, 'exact');
  assert.deepEqual(after.attribution.click_ids, {});
  assert.equal(after.attribution.landing_page, 'https://site.example/plumbing');
  assert.equal(after.attribution.referrer, null);
  assert.equal(after.attribution.visitor_id, '');
  assert.equal(after.outcome.notes, '');
  assert.deepEqual((await srv.api('GET', '/v1/reports/calls?group_by=campaign')).json.rows, before.rows);

  const person = [CALLER.slice(1), '5125550177', GCLID, VISITOR, 'Jane Doe', 'jane+doe'];
  const answers = [
    (await srv.api('GET', '/v1/calls')).text,
    (await srv.api('GET', `/v1/sessions/${v.json.session_id}`)).text,
    (await srv.api('GET', '/v1/reports/calls?group_by=campaign,keyword&format=csv')).text,
    (await srv.api('GET', '/v1/exports/google-ads/click-conversions.csv')).text,
    (await srv.api('GET', '/v1/exports/google-ads/call-conversions.csv')).text,
    everyRow(srv.db),
    srv.logs(),
  ];
  for (const s of person)
    for (const [i, a] of answers.entries()) assert.ok(!a.includes(s), `answer ${i} still holds ${s}`);
  if (!PG) {
    for (const f of [srv.db, srv.db + '-wal']) {
      if (!existsSync(f)) continue;
      const bytes = readFileSync(f).toString('latin1');
      for (const s of person) assert.ok(!bytes.includes(s), `${f} still holds the bytes of ${s}`);
    }
  }
});

test('erasing a visitor from the CLI: their sessions lose everything personal; other visitors keep theirs', async () => {
  const other = 'Cj0KCQiAkeepmeGCLID';
  const a = await srv.visit({ url: 'https://site.example/?gclid=GCLIDofVisitorTwo', visitor_id: 'v_visitor_two' }, { Origin: 'https://site.example' });
  const b = await srv.visit({ url: `https://site.example/?gclid=${other}`, visitor_id: 'v_visitor_three' }, { Origin: 'https://site.example' });
  const r = cli(['erase', '--account', srv.accountId, '--visitor', 'v_visitor_two', '--db', srv.db]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.kind, 'visitor');
  assert.equal(out.actor, 'cli');
  assert.deepEqual(out.erased, { calls: 0, sessions: 1, events: 0 });
  const sa = (await srv.api('GET', `/v1/sessions/${a.json.session_id}`)).json;
  assert.deepEqual(sa.source.click_ids, {});
  assert.equal(sa.landing_page, 'https://site.example/');
  const sb = (await srv.api('GET', `/v1/sessions/${b.json.session_id}`)).json;
  assert.equal(sb.source.click_ids.gclid, other);
  assert.ok(!everyRow(srv.db).includes('GCLIDofVisitorTwo'));
  assert.ok(!everyRow(srv.db).includes('v_visitor_two'));
  assert.ok(!r.stderr.includes('WAL'), r.stderr); // the CLI truncated the WAL beside the running server
  if (!PG) {
    for (const f of [srv.db, srv.db + '-wal']) {
      if (!existsSync(f)) continue;
      const bytes = readFileSync(f).toString('latin1');
      for (const s of ['GCLIDofVisitorTwo', 'v_visitor_two']) assert.ok(!bytes.includes(s), `${f} still holds ${s}`);
    }
  }
  assert.equal(cli(['erase', '--account', srv.accountId, '--db', srv.db]).status, 2);
  assert.equal(cli(['erase', '--account', srv.accountId, '--caller', 'nonsense', '--db', srv.db]).status, 2);
  // another account's API key cannot see or make this account's erasures
  const o = createAccount(srv.db, 'Other', ['https://other.example']);
  assert.equal((await srv.api('GET', '/v1/erasures', undefined, o.apiKey)).json.erasures.length, 0);
  assert.equal((await srv.api('GET', `/v1/erasures/${out.id}`, undefined, o.apiKey)).status, 404);
});

test('Global Privacy Control and Do-Not-Track: the number swaps, nothing personal is kept, per the account\'s setting', async () => {
  const page = 'https://site.example/offer?gclid=GPCgclid123&utm_source=google&utm_medium=cpc';
  const opts = { url: page, referrer: 'https://www.google.com/' };
  const gpc = await srv.visit(opts, { Origin: 'https://site.example', 'Sec-GPC': '1' });
  assert.equal(gpc.status, 200, gpc.text);
  assert.equal(gpc.json.numbers[0].number, '+15555550901', 'the number still swaps');
  let s = (await srv.api('GET', `/v1/sessions/${gpc.json.session_id}`)).json;
  assert.deepEqual(s.source.click_ids, {});
  assert.equal(s.landing_page, 'https://site.example/offer');
  assert.equal(s.referrer, null);
  assert.equal(s.source.source, 'google', 'the campaign source is kept');
  assert.equal(sql(srv.db, `SELECT COALESCE(client_key, '') FROM sessions WHERE ext_id = '${gpc.json.session_id}'`), '');
  // DNT is not honoured by default…
  const dnt = await srv.visit(opts, { Origin: 'https://site.example', DNT: '1' });
  s = (await srv.api('GET', `/v1/sessions/${dnt.json.session_id}`)).json;
  assert.equal(s.source.click_ids.gclid, 'GPCgclid123');
  // …until the account says so; and GPC can be turned off
  assert.notEqual(cli(['account', 'set', srv.accountId, '--settings', '{"privacy":{"honor_dnt":"yes"}}', '--db', srv.db]).status, 0);
  const set = cli(['account', 'set', srv.accountId, '--settings', '{"privacy":{"honor_dnt":true,"honor_gpc":false}}', '--db', srv.db]);
  assert.equal(set.status, 0, set.stderr);
  await srv.advance(10000); // the account snapshot's time to live
  const dnt2 = await srv.visit(opts, { Origin: 'https://site.example', DNT: '1' });
  s = (await srv.api('GET', `/v1/sessions/${dnt2.json.session_id}`)).json;
  assert.deepEqual(s.source.click_ids, {});
  const gpc2 = await srv.visit(opts, { Origin: 'https://site.example', 'Sec-GPC': '1' });
  s = (await srv.api('GET', `/v1/sessions/${gpc2.json.session_id}`)).json;
  assert.equal(s.source.click_ids.gclid, 'GPCgclid123');
  assert.equal(cli(['account', 'set', srv.accountId, '--settings', '{}', '--db', srv.db]).status, 0);
});

test('roles: a dashboard admin may erase (recorded as that user, audited), an analyst may not', async () => {
  const PW = 'correct horse battery';
  const session = async (email, role) => {
    const u = cli(['user', 'add', email, '--account', srv.accountId, '--role', role, '--db', srv.db, '--password-stdin'], { input: PW + '\n' });
    assert.equal(u.status, 0, u.stderr);
    const res = await fetch(srv.url + '/app/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password: PW }) });
    assert.equal(res.status, 200);
    const json = await res.json();
    return { Cookie: 'opendni_sid=' + /opendni_sid=([^;]*)/.exec(res.headers.get('set-cookie'))[1], 'X-CSRF-Token': json.csrf };
  };
  const analyst = await session('analyst@example.com', 'analyst');
  const admin = await session('admin@example.com', 'admin');
  const body = { visitor_id: 'v_nobody_at_all' };
  assert.equal((await srv.api('POST', '/v1/erasures', body, null, analyst)).status, 403);
  assert.equal((await srv.api('GET', '/v1/erasures', undefined, null, analyst)).status, 403);
  const r = await srv.api('POST', '/v1/erasures', body, null, admin);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.actor, 'admin@example.com');
  assert.deepEqual(r.json.erased, { calls: 0, sessions: 0, events: 0 });
  const owner = await session('owner@example.com', 'owner');
  const audit = (await srv.api('GET', '/v1/app/audit', undefined, null, owner)).json;
  assert.ok(JSON.stringify(audit).includes('POST /v1/erasures'), JSON.stringify(audit));
  assert.ok(!JSON.stringify(audit).includes('v_nobody_at_all'), 'the audit log names nobody');
});

test('nothing personal in the log at the default level', async () => {
  const log = srv.logs();
  assert.ok(!log.includes('5125550'), 'no caller number');
  assert.ok(!log.includes('GPCgclid123'), 'no click id');
});

test('the retention purge in serve: a store aged by the test clock loses old sessions, then old calls; reports match the calls log', async () => {
  await pool('+15555550950', '+15555550951');
  const t0 = await srv.advance(0);
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);
  const range = `since=${day(t0 - 86400e3)}&until=${day(t0 + 86400e3)}`;
  const called = await srv.visit({ url: 'https://site.example/?gclid=RetentionCalled', visitor_id: 'v_ret_called' }, { Origin: 'https://site.example' });
  simulate('+15555550951', '+15125550300');
  const idle = await srv.visit({ url: 'https://site.example/?gclid=RetentionIdle', visitor_id: 'v_ret_idle' }, { Origin: 'https://site.example' });
  const calls = async () => (await srv.api('GET', `/v1/calls?${range}&limit=500`)).json.calls.length;
  const reported = async () => (await srv.api('GET', `/v1/reports/calls?${range}`)).json.totals.calls;
  const n = await waitFor('the call', async () => (await calls()) >= 2 && (await calls()));
  assert.equal(await reported(), n);
  const gone = (id) => async () => (await srv.api('GET', `/v1/sessions/${id}`)).status === 404;

  // 396 days on: sessions without calls go (default 395 days); the called session stays
  await srv.advance(396 * 86400e3);
  await waitFor('the idle session purged', gone(idle.json.session_id));
  assert.equal((await srv.api('GET', `/v1/sessions/${called.json.session_id}`)).status, 200);
  assert.equal(await calls(), n);
  assert.equal(await reported(), n);
  // the pass logs once its transaction is done, and the log reaches us through a pipe: wait for it
  await waitFor('the purge logged', () => /retention purge of account \S+: \d+ sessions/.test(srv.logs()));

  // 761 days on: the calls go (default 760 days), in the log and the reports alike; then their sessions
  await srv.advance(365 * 86400e3);
  await waitFor('the calls purged', async () => (await calls()) === 0);
  assert.equal(await reported(), 0);
  await srv.advance(11 * 60e3); // the next pass
  await waitFor('the called session purged', gone(called.json.session_id));
  assert.equal(sql(srv.db, 'SELECT count(*) FROM calls'), '0');
});
