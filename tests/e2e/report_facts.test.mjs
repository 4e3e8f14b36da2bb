// SPDX-License-Identifier: AGPL-3.0-or-later
// Reports read facts the store keeps beside the rows (sql/0024: each session's funnel stages and
// its visitor's first visit; payouts per call): through the real server, outcome edits, erasures
// and the retention purge change the calls report, the funnel and the cohorts exactly as they
// change the calls log and the export, checked against figures computed by hand here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, cli } from '../helpers/server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ORIGIN = { Origin: 'https://facts.example' };
let srv;
let range;

async function waitFor(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve().then(fn).catch((e) => { if (Date.now() > end) throw e; return null; });
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function pool(name, target, numbers) {
  const p = await srv.api('POST', '/v1/pools', { name, target });
  assert.equal(p.status, 201, p.text);
  for (const number of numbers) {
    const n = await srv.api('POST', '/v1/numbers', { number, pool: p.json.id });
    assert.equal(n.status, 201, n.text);
  }
}

function simulate(to, from, duration) {
  const r = cli(['call', 'simulate', '--to', to, '--from', from, '--duration', String(duration),
    '--no-wait', '--server', srv.url, '--db', srv.db]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
}

const get = async (path) => {
  const r = await srv.api('GET', path);
  assert.equal(r.status, 200, r.text);
  return r.json;
};
const logCount = async () => (await get(`/v1/calls?${range}&limit=500`)).calls.length;
async function exportRows() {
  const r = await fetch(`${srv.url}/v1/exports/calls.csv?${range}`, { headers: { Authorization: `Bearer ${srv.apiKey}` } });
  assert.equal(r.status, 200);
  await r.text();
  return Number(r.headers.get('x-exported-rows'));
}
/** The calls log, the calls report, the P&L and the export agree on the number of calls. */
async function agree(n) {
  assert.equal(await logCount(), n);
  assert.equal((await get(`/v1/reports/calls?${range}`)).totals.calls, n);
  assert.equal((await get(`/v1/reports/calls?${range}&group_by=channel,device`)).rows
    .reduce((s, r) => s + r.calls, 0), n);
  assert.equal((await get(`/v1/reports/pnl?${range}`)).totals.calls, n);
  assert.equal(await exportRows(), n);
}
const stages = (r) => [r.visits, r.shown, r.engaged, r.calls, r.qualified, r.converted];

before(async () => {
  srv = await startServer({ origins: ['https://facts.example'] });
  await pool('a', '+15555550700', ['+15555550701', '+15555550702', '+15555550703', '+15555550704']);
  const t0 = await srv.advance(0);
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);
  range = `since=${day(t0 - 86400e3)}&until=${day(t0 + 86400e3)}`;
});
after(async () => { await srv?.cleanup(); });

// By hand: visitors A and B each visit once and call the number they were shown (A 95 s, B
// 30 s; the account's qualified rule is 60 s); later A comes back and C visits, neither calls.
test('the funnel and the cohorts follow calls, outcome edits and erasures; reports match the log', async () => {
  const a1 = await srv.visit({ url: 'https://facts.example/?utm_source=google&utm_medium=cpc', visitor_id: 'v_fa' }, ORIGIN);
  assert.equal(a1.status, 200, a1.text);
  const b1 = await srv.visit({ url: 'https://facts.example/?utm_source=bing&utm_medium=cpc', visitor_id: 'v_fb' }, ORIGIN);
  assert.equal(b1.status, 200, b1.text);
  assert.deepEqual([a1.json.numbers[0].number, b1.json.numbers[0].number].sort(), ['+15555550701', '+15555550702']);
  simulate(a1.json.numbers[0].number, '+15125550401', 95);
  simulate(b1.json.numbers[0].number, '+15125550402', 30);
  await waitFor('two calls', async () => (await logCount()) === 2);
  await agree(2);
  let f = await get(`/v1/reports/funnel?${range}&group_by=source`);
  // 2 visits, both shown, both called (dialling implies engaged), one qualified (95 s >= 60 s)
  assert.deepEqual(stages(f.totals), [2, 2, 2, 2, 1, 1]);
  assert.deepEqual(f.rows.map((r) => [r.key.source, stages(r)]).sort(),
    [['bing', [1, 1, 1, 1, 0, 0]], ['google', [1, 1, 1, 1, 1, 1]]]);
  let c = await get(`/v1/reports/cohorts?${range}&weeks=2`);
  assert.equal(c.cohorts.length, 1);
  assert.equal(c.cohorts[0].visitors, 2);
  assert.deepEqual(c.cohorts[0].weeks[0], { week: 0, calls: 2, revenue: 0 });

  // an outcome edit: revenue and lead status show in the calls report and the cohorts at once
  const calls = (await get(`/v1/calls?${range}&limit=500`)).calls;
  const callA = calls.find((x) => x.from === '+15125550401');
  const callB = calls.find((x) => x.from === '+15125550402');
  assert.equal((await srv.api('PATCH', `/v1/calls/${callA.id}`, { lead_status: 'won', revenue: 12345 })).status, 200);
  const won = await get(`/v1/reports/calls?${range}&group_by=lead_status`);
  assert.deepEqual(won.rows.map((r) => [r.key.lead_status, r.calls, r.revenue]).sort(),
    [['new', 1, 0], ['won', 1, 12345]]);
  c = await get(`/v1/reports/cohorts?${range}&weeks=2`);
  assert.deepEqual(c.cohorts[0].weeks[0], { week: 0, calls: 2, revenue: 12345 });

  // visitor A comes back (a second session, no call) and a third visitor looks without calling:
  // 4 visits, A still counts once in the cohort
  const a2 = await srv.visit({ url: 'https://facts.example/again', visitor_id: 'v_fa' }, ORIGIN);
  assert.equal(a2.status, 200, a2.text);
  const c1 = await srv.visit({ url: 'https://facts.example/', visitor_id: 'v_fc' }, ORIGIN);
  assert.equal(c1.status, 200, c1.text);
  f = await get(`/v1/reports/funnel?${range}`);
  assert.deepEqual(stages(f.totals), [4, 4, 2, 2, 1, 1]);
  c = await get(`/v1/reports/cohorts?${range}&weeks=2`);
  assert.equal(c.cohorts[0].visitors, 3);

  // erasing B as a caller keeps the call counted everywhere, and its session's stages
  const e = await srv.api('POST', '/v1/erasures', { caller: '+15125550402' });
  assert.equal(e.status, 201, e.text);
  await agree(2);
  f = await get(`/v1/reports/funnel?${range}`);
  assert.deepEqual(stages(f.totals), [4, 4, 2, 2, 1, 1]);
  // erasing visitor A: its sessions lose the visitor id, the calls stay counted
  const ev = await srv.api('POST', '/v1/erasures', { visitor_id: 'v_fa' });
  assert.equal(ev.status, 201, ev.text);
  await agree(2);
  c = await get(`/v1/reports/cohorts?${range}&weeks=2`);
  assert.equal(c.cohorts[0].weeks[0].calls, 2);
  assert.equal(c.cohorts[0].weeks[0].revenue, 12345);
  assert.ok(callB);
});

// include=call_ids: every figure of the funnel and the cohorts traced to its calls. One more call
// from the number B was shown (70 s): expected sets computed here from the calls log and the
// sessions the log credits them to.
test('include=call_ids: the funnel and the cohorts list the calls each figure counts', async () => {
  const plain = await srv.api('GET', `/v1/reports/funnel?${range}&group_by=source`);
  assert.ok(!plain.text.includes('call_ids'), plain.text);
  const plainC = await srv.api('GET', `/v1/reports/cohorts?${range}&weeks=2`);
  assert.ok(!plainC.text.includes('call_ids'), plainC.text);
  for (const path of ['funnel', 'cohorts']) {
    const bad = await srv.api('GET', `/v1/reports/${path}?${range}&include=calls`);
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.text, /include/);
  }
  simulate('+15555550702', '+15125550403', 70);
  simulate('+15555550701', '+15125550404', 20);
  await waitFor('four calls', async () => (await logCount()) === 4);
  const log = (await get(`/v1/calls?${range}&limit=500`)).calls;
  // each call's session and the session's source, from the API
  const bySource = new Map();
  const qualifiedBySource = new Map();
  const credited = [];
  for (const call of log) {
    const sid = call.attribution.session_id;
    if (!sid) continue;
    credited.push(call.id);
    const sess = await get(`/v1/sessions/${sid}`);
    const src = sess.source.source;
    if (!bySource.has(src)) { bySource.set(src, []); qualifiedBySource.set(src, []); }
    bySource.get(src).push(call.id);
    // the funnel's qualified stage: an answered call of at least conversion.min_duration (60 s)
    if (call.status === 'completed' && call.duration >= 60) qualifiedBySource.get(src).push(call.id);
  }
  assert.ok(credited.length >= 2, JSON.stringify(log));
  const sorted = (a) => [...a].sort();
  const f = await get(`/v1/reports/funnel?${range}&group_by=source&include=call_ids`);
  assert.deepEqual(sorted(f.totals.call_ids), sorted(credited));
  assert.deepEqual(sorted(f.totals.qualified_call_ids), sorted([...qualifiedBySource.values()].flat()));
  for (const r of f.rows) {
    assert.deepEqual(sorted(r.call_ids), sorted(bySource.get(r.key.source) ?? []), r.key.source);
    assert.deepEqual(sorted(r.qualified_call_ids), sorted(qualifiedBySource.get(r.key.source) ?? []));
    assert.ok(r.call_ids.length >= r.calls); // calls counts sessions, each with one call or more
  }
  // the rows partition the totals; the figures are the ones without include
  assert.equal(f.rows.reduce((s, r) => s + r.call_ids.length, 0), f.totals.call_ids.length);
  const f0 = await get(`/v1/reports/funnel?${range}&group_by=source`);
  assert.deepEqual(f.rows.map(stages), f0.rows.map(stages));
  const ff = await get(`/v1/reports/funnel?${range}&include=call_ids`);
  assert.equal(ff.rows.length, 0);
  assert.deepEqual(sorted(ff.totals.call_ids), sorted(credited));

  // so far every session is of one instant: one cohort, every credited call in week 0
  let c = await get(`/v1/reports/cohorts?${range}&weeks=3&include=call_ids`);
  assert.equal(c.cohorts.length, 1);
  assert.deepEqual(sorted(c.cohorts[0].weeks[0].call_ids), sorted(credited));
  assert.deepEqual(c.cohorts[0].weeks[1].call_ids, []);
  for (const w of c.cohorts[0].weeks) assert.equal(w.calls, w.call_ids.length);

  // visitor C (who looked without calling) comes back 8 days later and calls: a later week of the
  // same cohort (C's first visit is in the range), not the funnel (its new session is not). A and
  // B are no cohort's any more for a session made now: the erasures took their visitor ids.
  const t1 = await srv.advance(8 * 86400e3);
  const c2 = await srv.visit({ url: 'https://facts.example/back', visitor_id: 'v_fc' }, ORIGIN);
  assert.equal(c2.status, 200, c2.text);
  simulate(c2.json.numbers[0].number, '+15125550405', 80);
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);
  const wide = `since=${day(t1 - 30 * 86400e3)}&until=${day(t1 + 86400e3)}`;
  await waitFor('five calls', async () => (await get(`/v1/calls?${wide}&limit=500`)).calls.length === 5);
  const all = (await get(`/v1/calls?${wide}&limit=500`)).calls
    .filter((x) => credited.includes(x.id) || x.attribution.visitor_id === 'v_fc');
  assert.equal(all.length, credited.length + 1);
  c = await get(`/v1/reports/cohorts?${range}&weeks=3&include=call_ids`);
  assert.equal(c.cohorts.length, 1);
  const monday = Date.parse(`${c.cohorts[0].week}T00:00:00Z`);
  const weekOf = (call) => Math.floor((Date.parse(call.started_at) - monday) / (7 * 86400e3));
  for (const w of c.cohorts[0].weeks) {
    assert.deepEqual(sorted(w.call_ids), sorted(all.filter((x) => weekOf(x) === w.week).map((x) => x.id)), `week ${w.week}`);
    assert.equal(w.calls, w.call_ids.length);
  }
  assert.equal(c.cohorts[0].weeks.reduce((n, w) => n + w.call_ids.length, 0), all.length);
  assert.ok(c.cohorts[0].weeks.slice(1).some((w) => w.call_ids.length === 1));
  const f2 = await get(`/v1/reports/funnel?${range}&include=call_ids`);
  assert.deepEqual(sorted(f2.totals.call_ids), sorted(credited));
});

test('the retention purge: calls leave the log, the reports, the export and the funnel together', async () => {
  assert.equal(await logCount(), 4);
  await srv.advance(761 * 86400e3); // calls go after 760 days (default), sessions after 395
  await waitFor('the calls purged', async () => (await logCount()) === 0);
  await agree(0);
  const f = await get(`/v1/reports/funnel?${range}`);
  assert.equal(f.totals.calls, 0);
  assert.equal(f.totals.converted, 0);
  const c = await get(`/v1/reports/cohorts?${range}&weeks=2`);
  for (const k of c.cohorts) assert.equal(k.weeks[0].calls, 0);
});
