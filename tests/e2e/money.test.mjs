// SPDX-License-Identifier: AGPL-3.0-or-later
// Money and outcomes through the real server: ad spend imported from Google Ads and Meta CSV
// files (and a malformed one), calls made with `opendni call simulate` to numbers that visits
// leased, outcomes set by PATCH, then cost per call / qualified call / conversion, ROAS, number
// costs, scores, the funnel and the cohorts checked against figures worked out here by hand
// from what the test did (docs/reports.md defines each figure).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, sql, freshDb, SRC } from '../helpers/server.mjs';

const DAY = 86400000;
let srv;
let today;    // YYYY-MM-DD (UTC) of the server's clock when the calls were made
const c = {}; // name -> {to, from, session, visitor, id}

async function visit(query, extra = {}) {
  const r = await srv.api('POST', '/v1/visits',
    { account: srv.accountId, url: `https://site.example/landing?${query}`, targets: ['+15555550100'], ...extra },
    null, { 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36' });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

/** A call through `opendni call simulate`: the final status at once with this talk time. */
function simulate(to, from, seconds) {
  const r = cli(['call', 'simulate', '--to', to, '--from', from, '--duration', String(seconds),
    '--no-wait', '--server', srv.url, '--db', srv.db]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
}

async function callFrom(from) {
  const r = await srv.api('GET', '/v1/calls?limit=500');
  const call = r.json.calls.find((x) => x.from === from);
  assert.ok(call, `a call from ${from}`);
  return call;
}

async function upload(platform, body, query = '') {
  const res = await fetch(`${srv.url}/v1/spend?platform=${platform}${query}`, {
    method: 'POST', headers: { Authorization: `Bearer ${srv.apiKey}`, 'Content-Type': 'text/csv' }, body,
  });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text), text };
}

const dayRange = () => `since=${today}&until=${today}`;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-money-'));
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const A = createAccount(db, 'Plumber', ['https://site.example']);
  // qualified = answered and >= 60 s (the conversion rules); numbers cost 2 cents a minute
  // and 30.00 a month
  sql(db, `update accounts set settings = '{"conversion":{"min_duration":60},"costs":{"per_minute":2,"number_monthly":3000}}' where ext_id = '${A.accountId}'`);
  srv = await startServer({ dir, db, account: A });
  const pool = (await srv.api('POST', '/v1/pools', { name: 'main', target: '+15555550100', forward_to: '+15555550100' })).json;
  for (let i = 1; i <= 8; i++) {
    assert.equal((await srv.api('POST', '/v1/numbers', { number: `+1555555012${i}`, pool: pool.id })).status, 201);
  }
  today = new Date().toISOString().slice(0, 10);
  // Sessions: three Google Ads clicks on "Spring Sale", one Meta click on "Retargeting", one
  // organic visit that never calls.
  const g = 'utm_source=google&utm_medium=cpc&utm_campaign=Spring%20Sale';
  const m = 'utm_source=facebook&utm_medium=paid_social&utm_campaign=Retargeting';
  const visits = { g1: `${g}&gclid=G1`, g2: `${g}&gclid=G2`, g3: `${g}&gclid=G3`, m1: `${m}&fbclid=F1`, o1: 'x=1' };
  for (const [name, q] of Object.entries(visits)) {
    const v = await visit(q);
    c[name] = { to: v.numbers[0].number, session: v.session_id, visitor: v.visitor_id };
  }
  // g1 and g2 click the number; g3 and m1 dial it without clicking
  for (const name of ['g1', 'g2']) {
    const ev = await srv.api('POST', `/v1/visits/${c[name].session}/events`, { type: 'tel_click', number: c[name].to }, null);
    assert.ok(ev.status < 300, ev.text);
  }
  // talk times: g1 90 s (qualified), g2 30 s (answered only), g3 120 s, m1 200 s (qualified)
  const talk = { g1: 90, g2: 30, g3: 120, m1: 200 };
  let n = 0;
  for (const [name, s] of Object.entries(talk)) {
    c[name].from = `+1512555${String(100 + n++).padStart(4, '0')}`;
    simulate(c[name].to, c[name].from, s);
    c[name].id = (await callFrom(c[name].from)).id;
  }
  // outcomes: g1 won 500.00, g3 won 250.00, m1 qualified 100.00 (revenue in cents)
  for (const [name, body] of Object.entries({ g1: { lead_status: 'won', revenue: 50000 },
    g3: { lead_status: 'won', revenue: 25000 }, m1: { lead_status: 'qualified', revenue: 10000 } })) {
    const r = await srv.api('PATCH', `/v1/calls/${c[name].id}`, body);
    assert.equal(r.status, 200, r.text);
  }
});

after(async () => { await srv?.cleanup(); });

const HOSTILE = '=HYPERLINK(""http://evil.example"")';
const googleFile = (cost) => `\ufeffCampaign report\r\n"${today} - ${today}"\r\nDay,Campaign,Currency code,Cost,Clicks\r\n`
  + `${today},Spring Sale,USD,"${cost}",3\r\n${today},Brand,USD,300.00,9\r\n${today},"${HOSTILE}",USD,5.00,1\r\n`
  + `Total: Account,,USD,"1,505.00",13\r\n`;
const metaFile = (currency) => `Reporting starts,Reporting ends,Campaign name,Amount spent (${currency}),Impressions\n`
  + `${today},${today},Retargeting,80.00,1000\n`;

test('a malformed Google Ads file: every bad row named, nothing imported', async () => {
  const bad = readFileSync(join(SRC, 'tests/data/spend/google_ads_bad.csv'), 'utf8');
  const r = await upload('google_ads', bad);
  assert.equal(r.status, 422, r.text);
  assert.equal(r.json.imported, false);
  assert.equal(r.json.error.code, 'invalid');
  assert.deepEqual(r.json.errors.map((e) => [e.line, e.column]), [[3, 'day'], [4, 'campaign'], [5, 'cost'], [6, 'currency']]);
  const list = await srv.api('GET', '/v1/spend?since=2026-01-01&until=2027-12-31');
  assert.deepEqual(list.json.spend, []);
  // no platform, an unknown one, a file without the columns
  assert.equal((await upload('bing', bad)).status, 400);
  const none = await upload('meta', 'a,b\n1,2\n');
  assert.equal(none.status, 422);
  assert.equal(none.json.errors[0].line, 0);
});

test('Google Ads and Meta files: preview, import, re-import replaces the day, one currency', async () => {
  const preview = await upload('meta', metaFile('USD'), '&preview=true');
  assert.equal(preview.status, 200, preview.text);
  assert.equal(preview.json.preview, true);
  assert.equal(preview.json.imported, false);
  assert.deepEqual(preview.json.rows.map((w) => [w.day, w.campaign, w.cost]), [[today, 'Retargeting', 8000]]);
  let list = await srv.api('GET', `/v1/spend?${dayRange()}`);
  assert.equal(list.json.spend.length, 0, 'a preview imports nothing');
  assert.equal((await upload('meta', metaFile('USD'))).json.imported, true);
  // another currency than the account's (USD) is refused
  const eur = await upload('meta', metaFile('EUR'));
  assert.equal(eur.status, 409, eur.text);
  assert.equal(eur.json.error.field, 'currency');
  const g1 = await upload('google_ads', googleFile('1,000.00'));
  assert.equal(g1.status, 200, g1.text);
  assert.equal(g1.json.total_cost, 100000 + 30000 + 500);
  assert.equal(g1.json.skipped_lines, 4, 'the title, the date range, the header and the total');
  const g2 = await upload('google_ads', googleFile('1,200.00'));
  assert.equal(g2.json.imported, true);
  list = await srv.api('GET', `/v1/spend?${dayRange()}`);
  const spend = Object.fromEntries(list.json.spend.map((w) => [`${w.platform}/${w.campaign}`, w.cost]));
  assert.deepEqual(spend, { 'google_ads/Spring Sale': 120000, 'google_ads/Brand': 30000,
    [`google_ads/${HOSTILE.replaceAll('""', '"')}`]: 500, 'meta/Retargeting': 8000 });
});

test('cost per call, per qualified call, per conversion and ROAS by channel and campaign', async () => {
  const r = await srv.api('GET', `/v1/reports/calls?group_by=channel,campaign&${dayRange()}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.currency, 'USD');
  const row = (ch, camp) => r.json.rows.find((w) => w.key.channel === ch && w.key.campaign === camp);
  const spring = row('paid_search', 'Spring Sale');
  // 3 calls (90, 30, 120 s), 2 qualified and converted; spend 1,200.00; revenue 500 + 250
  assert.deepEqual(
    [spring.calls, spring.qualified, spring.conversions, spring.cost, spring.cost_per_call,
      spring.cost_per_qualified, spring.cost_per_conversion, spring.revenue, spring.roas],
    [3, 2, 2, 120000, 40000, 60000, 60000, 75000, 75000 / 120000]);
  // per-minute number cost 2: ceil(90/60)=2, ceil(30/60)=1, ceil(120/60)=2 minutes
  assert.equal(spring.number_cost, 2 * (2 + 1 + 2));
  // scores (default rules): 75 (answered, >= 60 s, first-time), 50, 75
  assert.equal(spring.avg_score, (75 + 50 + 75) / 3);
  const brand = row('paid_search', 'Brand'); // spend, no calls
  assert.deepEqual([brand.calls, brand.cost, brand.cost_per_call, brand.cost_per_qualified, brand.roas], [0, 30000, null, null, 0]);
  const meta = row('paid_social', 'Retargeting');
  assert.deepEqual([meta.calls, meta.qualified, meta.cost, meta.cost_per_qualified, meta.revenue, meta.roas, meta.avg_score],
    [1, 1, 8000, 8000, 10000, 10000 / 8000, 100]);
  // by channel: paid_search spent 1,200 + 300 + 5 on 3 calls, 2 qualified
  const ch = await srv.api('GET', `/v1/reports/calls?group_by=channel&${dayRange()}`);
  const ps = ch.json.rows.find((w) => w.key.channel === 'paid_search');
  assert.deepEqual([ps.cost, ps.cost_per_call, ps.cost_per_qualified, ps.roas],
    [150500, Math.round(150500 / 3), 150500 / 2, 75000 / 150500]);
  assert.equal(ch.json.totals.cost, 150500 + 8000);
  assert.equal(ch.json.totals.revenue, 85000);
  // a grouping spend does not have (device): no cost figures
  const dev = await srv.api('GET', `/v1/reports/calls?group_by=device&${dayRange()}`);
  assert.equal(dev.json.totals.cost, null);
  assert.equal(dev.json.rows[0].roas, null);
});

test('the numbers\' monthly cost, spread over the range, by number and pool', async () => {
  // three days starting after the eight numbers were made: 30.00 x 3/30 = 3.00 each
  const since = new Date(Date.now() + 1000);
  const until = new Date(since.getTime() + 3 * DAY);
  const q = `since=${since.toISOString()}&until=${until.toISOString()}`;
  const byNumber = await srv.api('GET', `/v1/reports/calls?group_by=number&${q}`);
  assert.equal(byNumber.json.rows.length, 8);
  for (const w of byNumber.json.rows) assert.equal(w.number_monthly_cost, 300, w.key.number);
  assert.equal(byNumber.json.totals.number_monthly_cost, 2400);
  const byPool = await srv.api('GET', `/v1/reports/calls?group_by=pool&${q}`);
  assert.deepEqual(byPool.json.rows.map((w) => [w.key.pool, w.number_monthly_cost]), [['main', 2400]]);
  const all = await srv.api('GET', `/v1/reports/calls?${q}`);
  assert.equal(all.json.totals.number_monthly_cost, 2400);
  // not spread over other groupings
  const ch = await srv.api('GET', `/v1/reports/calls?group_by=channel&${q}`);
  assert.equal(ch.json.totals.number_monthly_cost, null);
});

test('the CALL object carries its score with reasons', async () => {
  const g2 = (await srv.api('GET', `/v1/calls/${c.g2.id}`)).json;
  assert.deepEqual(g2.score, { value: 50, reasons: ['answered +25', 'first-time caller +25'] });
  const m1 = (await srv.api('GET', `/v1/calls/${c.m1.id}`)).json;
  assert.equal(m1.score.value, 100);
});

test('calls in the log = calls in reports = rows in the report export, each traced to its calls', async () => {
  const list = (await srv.api('GET', `/v1/calls?${dayRange()}&limit=500`)).json.calls;
  assert.equal(list.length, 4);
  for (const groupBy of ['campaign', 'number', 'pool', 'day', 'hour', 'region', 'utm_content', 'channel,keyword']) {
    const r = await srv.api('GET', `/v1/reports/calls?group_by=${groupBy}&include=call_ids&${dayRange()}`);
    assert.equal(r.status, 200, r.text);
    const ids = r.json.rows.flatMap((w) => w.call_ids);
    assert.deepEqual([...ids].sort(), list.map((x) => x.id).sort(), `group_by=${groupBy}`);
    for (const w of r.json.rows) assert.equal(w.call_ids.length, w.calls);
    const csv = await srv.api('GET', `/v1/reports/calls?group_by=${groupBy}&format=csv&${dayRange()}`);
    const lines = csv.text.split('\r\n').filter(Boolean);
    const col = lines[0].split(',').indexOf('calls');
    const sum = lines.slice(1).reduce((s, l) => s + Number(l.split(',').at(col - lines[0].split(',').length)), 0);
    assert.equal(sum, list.length, `csv group_by=${groupBy}`);
  }
  // the calls export: one row per call of the same range, with score, reasons and number cost
  const x = await srv.api('GET', `/v1/exports/calls.csv?${dayRange()}`);
  assert.equal(x.status, 200, x.text);
  assert.equal(x.headers.get('x-exported-rows'), String(list.length));
  const rows = x.text.split('\r\n').filter(Boolean);
  const head = rows[0].split(',');
  assert.deepEqual(head.slice(-6), ['revenue', 'converted', 'conversion_value', 'score', 'score_reasons', 'number_cost']);
  assert.equal(rows.length - 1, list.length);
  const g2row = rows.find((l) => l.startsWith(c.g2.id + ','));
  assert.ok(g2row.startsWith(`${c.g2.id},${list.find((x) => x.id === c.g2.id).started_at},${c.g2.from},${c.g2.to},completed,30,paid_search,`), g2row);
  assert.ok(g2row.endsWith(',false,0.00,50,answered +25; first-time caller +25,2'), g2row);
  const g1line = rows.find((l) => l.startsWith(c.g1.id + ','));
  assert.ok(g1line.includes(",Spring Sale,") && g1line.includes(",won,50000,true,"), g1line);
  const won = await srv.api('GET', `/v1/exports/calls.csv?${dayRange()}&lead_status=won`);
  assert.equal(won.headers.get('x-exported-rows'), '2');
  // keys: the number called, its pool, the day, the caller's region (512 = Texas)
  const byNumber = await srv.api('GET', `/v1/reports/calls?group_by=number&include=call_ids&${dayRange()}`);
  const g1row = byNumber.json.rows.find((w) => w.call_ids.includes(c.g1.id));
  assert.equal(g1row.key.number, c.g1.to);
  const region = await srv.api('GET', `/v1/reports/calls?group_by=region,pool,day&${dayRange()}`);
  assert.deepEqual(region.json.rows.map((w) => w.key), [{ region: 'US-TX', pool: 'main', day: today }]);
});

test('imported campaign names are neutralised in the report CSV', async () => {
  const r = await srv.api('GET', `/v1/reports/calls?group_by=campaign&format=csv&${dayRange()}`);
  const line = r.text.split('\r\n').find((l) => l.includes('HYPERLINK'));
  assert.ok(line.startsWith(`"'=HYPERLINK(""http://evil.example"")"`), line);
  // no calls, cost 5.00
  assert.match(line, /,0,0,0,0,0\.00,0,0,0\.00,0,500,,,,0\.0000$/);
});

test('funnel: visit -> number shown -> click or chat -> call -> qualified/converted, by channel', async () => {
  const r = await srv.api('GET', `/v1/reports/funnel?group_by=channel&${dayRange()}`);
  assert.equal(r.status, 200, r.text);
  const row = (ch) => r.json.rows.find((w) => w.key.channel === ch);
  const stages = (w) => [w.visits, w.shown, w.engaged, w.calls, w.qualified, w.converted];
  // paid_search: g1, g2 clicked; g3 dialled (engaged by calling); g2's 30 s is not qualified
  assert.deepEqual(stages(row('paid_search')), [3, 3, 3, 3, 2, 2]);
  assert.deepEqual(row('paid_search').drop, { shown: 0, engaged: 0, calls: 0, qualified: 1 - 2 / 3, converted: 1 - 2 / 3 });
  assert.deepEqual(stages(row('paid_social')), [1, 1, 1, 1, 1, 1]);
  const organic = r.json.rows.find((w) => !['paid_search', 'paid_social'].includes(w.key.channel));
  assert.deepEqual(stages(organic), [1, 1, 0, 0, 0, 0]);
  assert.equal(organic.drop.engaged, 1);
  assert.equal(organic.drop.calls, null, 'no drop from an empty stage');
  assert.deepEqual(stages(r.json.totals), [5, 5, 4, 4, 3, 3]);
  assert.equal((await srv.api('GET', `/v1/reports/funnel?group_by=device`)).status, 400);
});

test('cohorts by first-visit week: calls and revenue in the weeks after', async () => {
  // g1's visitor comes back 8 days later and calls again (revenue 70.00)
  await srv.advance(8 * DAY);
  const back = await visit('utm_source=google&utm_medium=cpc&utm_campaign=Spring%20Sale', { visitor_id: c.g1.visitor });
  simulate(back.numbers[0].number, '+15125559999', 61);
  const later = await callFrom('+15125559999');
  assert.equal((await srv.api('PATCH', `/v1/calls/${later.id}`, { revenue: 7000 })).status, 200);
  const r = await srv.api('GET', `/v1/reports/cohorts?since=${today}&until=${today}&weeks=3`);
  assert.equal(r.status, 200, r.text);
  // the cohort is the Monday (UTC) of today's week; a call 8 days later is in week 1 or 2
  const d = new Date(`${today}T00:00:00Z`);
  const monday = new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * DAY);
  assert.equal(r.json.cohorts.length, 1);
  const cohort = r.json.cohorts[0];
  assert.equal(cohort.week, monday.toISOString().slice(0, 10));
  assert.equal(cohort.visitors, 5);
  const laterWeek = Math.floor((d.getTime() + 8 * DAY - monday.getTime()) / (7 * DAY));
  const want = [0, 1, 2].map((k) => ({ week: k, calls: k === 0 ? 4 : k === laterWeek ? 1 : 0,
    revenue: k === 0 ? 85000 : k === laterWeek ? 7000 : 0 }));
  // today's calls were made at "now", which is in week 0 as today is
  assert.deepEqual(cohort.weeks, want);
});
