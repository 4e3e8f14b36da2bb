// SPDX-License-Identifier: AGPL-3.0-or-later
// What the conversion rule sends to Google Ads (docs/reports.md "Google Ads exports"): by default
// conversions of calls attributed exact, shared or source with confidence >= 0.8 (late and repeat
// only if the rule asks), clicks older than 90 days left out, one stable Conversion Name (the
// rule's Google Ads action name, else its current name), the rule's value for a conversion
// recorded without one, and IANA time zones with DST. Calls go through the real server with the
// test clock; expected local times come from node's Intl, not from the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, freshDb } from '../helpers/server.mjs';

const TOKEN = 'gads-test-auth-token-0123456789';
const SID = 'AC' + 'ef'.repeat(16);
const DAY = 86400 * 1000;
const dir = mkdtempSync(join(tmpdir(), 'opendni-gads-'));
let srv;
const conv = {}; // name -> the call's CALL object after its conversion

function sign(url, params) {
  let data = url;
  for (const k of Object.keys(params).sort()) data += k + params[k];
  return createHmac('sha1', TOKEN).update(data, 'utf8').digest('base64');
}
async function hook(path, params) {
  const res = await fetch(srv.url + path, { method: 'POST', body: new URLSearchParams(params).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sign(srv.url + path, params) } });
  await res.text();
  return res.status;
}
/** A 90 s call to `to`, completed at once; returns the CALL. */
async function call(to, from) {
  const p = { AccountSid: SID, CallSid: 'CA' + randomBytes(16).toString('hex'), CallStatus: 'ringing',
    From: from, To: to, Direction: 'inbound', ApiVersion: '2010-04-01' };
  assert.equal(await hook('/v1/telephony/twilio/voice', p), 200);
  assert.equal(await hook('/v1/telephony/twilio/status', { ...p, CallStatus: 'completed', CallDuration: '90', SequenceNumber: '3' }), 204);
  const list = await srv.api('GET', `/v1/calls?since=2000-01-01&until=2100-01-01&limit=500`);
  const c = list.json.calls.find((x) => x.from === from);
  assert.ok(c?.conversion, `the call from ${from} converted`);
  return c;
}
async function visit(target, gclid) {
  const r = await srv.visit({ url: `https://plumber.example/?gclid=${gclid}`, targets: [target] });
  assert.equal(r.status, 200, r.text);
  return r.json.numbers[0].number;
}
/** Sets the account's settings through the CLI (it waits for the serving process's writes). */
function settings(o) {
  const r = cli(['account', 'set', srv.accountId, '--settings', JSON.stringify(o), '--db', srv.db]);
  assert.equal(r.status, 0, r.stderr);
}
const lines = (text) => text.split('\r\n').filter((l, i, a) => !(l === '' && i === a.length - 1));
async function exportCsv(q = '') {
  const r = await srv.api('GET', `/v1/exports/google-ads/click-conversions.csv?since=2000-01-01&until=2100-01-01${q}`);
  assert.equal(r.status, 200, r.text);
  return { lines: lines(r.text), filtered: Number(r.headers.get('x-filtered-rows')), rows: Number(r.headers.get('x-exported-rows')) };
}
/** yyyy-MM-dd HH:mm:ss of an RFC 3339 time in an IANA zone, by Intl. */
function local(rfc3339, timeZone) {
  const f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  const p = Object.fromEntries(f.formatToParts(new Date(rfc3339)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

before(async () => {
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Plumber', ['https://plumber.example']);
  assert.equal(cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]).status, 0);
  // No request deadline: it runs on the test clock, so a jump of days would cut idle keep-alive
  // connections the client is about to reuse.
  srv = await startServer({ dir, db, account, args: ['--request-timeout', '0'] });
  settings({ conversion: { min_duration: 30, value: 0, name: 'Phone call' } });
  const mk = async (body, numbers) => {
    const p = await srv.api('POST', '/v1/pools', { forward_to: body.target, on_exhaust: 'share', ...body });
    assert.equal(p.status, 201, p.text);
    for (const n of numbers) assert.equal((await srv.api('POST', '/v1/numbers', { number: n, pool: p.json.id })).status, 201);
  };
  await mk({ name: 'short', target: '+15555550100', lease_ttl: 60, cooldown: 1 }, ['+15555550501', '+15555550502']);
  await mk({ name: 'long', target: '+15555550200', lease_ttl: 30 * 86400, cooldown: 1 }, ['+15555550601']);

  // A session whose click will be 91 days old at its call, its lease kept live by pings.
  const r = await srv.visit({ url: 'https://plumber.example/?gclid=G_old', targets: ['+15555550200'] });
  assert.equal(r.status, 200, r.text);
  const old = r.json.numbers[0].number;
  const ping = async () => {
    const p = await srv.api('POST', `/v1/visits/${r.json.session_id}/ping`, { url: null }, null);
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json.numbers[0].number, old);
  };
  conv.exact = await call(await visit('+15555550100', 'G_exact'), '+14155550001');
  const near = await visit('+15555550100', 'G_near');
  await srv.advance(120 * 1000); // its lease ended 60 s ago
  conv.near = await call(near, '+14155550002');
  const far = await visit('+15555550100', 'G_far');
  await srv.advance(DAY);
  conv.far = await call(far, '+14155550003');
  for (let i = 0; i < 3; i++) { await ping(); await srv.advance(29 * DAY); }
  await ping();
  await srv.advance(3 * DAY);
  conv.old = await call(old, '+14155550004');
});
after(async () => { await srv?.cleanup(); });

test('the calls behind the conversions are attributed as the rules below assume', () => {
  assert.equal(conv.exact.attribution.method, 'exact');
  assert.equal(conv.near.attribution.method, 'late');
  assert.ok(conv.near.attribution.confidence >= 0.8, String(conv.near.attribution.confidence));
  assert.equal(conv.far.attribution.method, 'late');
  assert.ok(conv.far.attribution.confidence < 0.8, String(conv.far.attribution.confidence));
  assert.equal(conv.old.attribution.method, 'exact');
  assert.equal(conv.old.attribution.click_ids.gclid, 'G_old');
  for (const c of Object.values(conv)) assert.equal(c.conversion.value, 0);
});

test('default rule: exact/shared/source at confidence >= 0.8, no click older than 90 days, the rule\'s value and current name', async () => {
  // The rule changed since: its current name and value are what Google Ads gets.
  settings({ conversion: { min_duration: 30, value: 25, name: 'Qualified call' } });
  const x = await exportCsv();
  assert.deepEqual(x.lines.slice(2), [`G_exact,Qualified call,${local(conv.exact.conversion.at, 'UTC')},25.00,USD`]);
  assert.equal(x.rows, 1);
  assert.equal(x.filtered, 3, 'two late calls and the 91-day-old click are left out');
});

test('late only if asked, with the rule\'s confidence threshold; a stable Google Ads action name', async () => {
  settings({ conversion: { min_duration: 30, value: 25, name: 'Qualified call',
    google_ads: { methods: ['exact', 'shared', 'source', 'late'], conversion_name: 'Website call' } } });
  let x = await exportCsv();
  assert.deepEqual(x.lines.slice(2).map((l) => l.split(',').slice(0, 2).join(',')),
    ['G_exact,Website call', 'G_near,Website call']);
  assert.equal(x.filtered, 2);
  settings({ conversion: { min_duration: 30, value: 25, google_ads: { methods: ['exact', 'late'], min_confidence: 0 } } });
  x = await exportCsv();
  assert.deepEqual(x.lines.slice(2).map((l) => l.split(',')[0]), ['G_exact', 'G_near', 'G_far']);
  assert.equal(x.filtered, 1, 'the old click stays out at any threshold');
  // conversion_name in the query still wins
  x = await exportCsv('&conversion_name=Override');
  assert.ok(x.lines.slice(2).every((l) => l.split(',')[1] === 'Override'));
  settings({ conversion: { min_duration: 30, value: 25, google_ads: { methods: ['exact'], min_confidence: 1 } } });
  assert.deepEqual((await exportCsv()).lines.slice(2).map((l) => l.split(',')[0]), ['G_exact']);
});

test('tz= takes IANA names from the system zone data, each row at its own offset', async () => {
  settings({ conversion: { min_duration: 30, value: 25, google_ads: { methods: ['exact', 'late'], min_confidence: 0 } } });
  for (const zone of ['America/Chicago', 'Australia/Sydney', 'Asia/Kolkata']) {
    const x = await exportCsv(`&tz=${encodeURIComponent(zone)}`);
    assert.equal(x.lines[0], `Parameters:TimeZone=${zone}`);
    const times = x.lines.slice(2).map((l) => l.split(',')[2]);
    assert.deepEqual(times, [conv.exact, conv.near, conv.far].map((c) => local(c.conversion.at, zone)), zone);
  }
  // DST: the test clock's instants span whatever the real date is, so check a fixed pair through
  // the unit test (unit/report/test_gads); here an unknown zone is refused.
  for (const bad of ['Nowhere/Atlantis', '../../etc/passwd', 'America/']) {
    const r = await srv.api('GET', `/v1/exports/google-ads/click-conversions.csv?tz=${encodeURIComponent(bad)}`);
    assert.equal(r.status, 400, bad);
    assert.equal(r.json.error.field, 'tz');
  }
});

test('a malformed google_ads rule is refused by account set', () => {
  for (const g of [{ methods: ['guess'] }, { methods: 'exact' }, { min_confidence: 1.5 }, { min_confidence: '0.8' }, []]) {
    const r = cli(['account', 'set', srv.accountId, '--settings', JSON.stringify({ conversion: { google_ads: g } }), '--db', srv.db]);
    assert.equal(r.status, 2, JSON.stringify(g) + r.stderr);
  }
});

test('the scheduled-import URL answers to its own Basic credential only', async () => {
  settings({ conversion: { min_duration: 30, value: 25, name: 'Qualified call' } });
  const f = await srv.api('POST', '/v1/exports/google-ads/feed', {});
  assert.equal(f.status, 201, f.text);
  assert.equal(f.json.auth, 'basic');
  assert.match(f.json.username, /^feed_/);
  assert.ok(f.json.password.length >= 32);
  assert.equal(new URL(f.json.url).pathname, '/v1/feeds/google-ads/click-conversions.csv');
  const path = '/v1/feeds/google-ads/click-conversions.csv';
  const get = (q, auth) => fetch(srv.url + path + q, { headers: auth ? { Authorization: auth } : {} });
  const basic = (u, p) => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64');
  for (const auth of [null, `Bearer ${srv.apiKey}`, basic(f.json.username, f.json.password + 'x'),
    basic('feed_nope', f.json.password), 'Basic !!!', basic(f.json.username, '')]) {
    const r = await get('?since=2000-01-01', auth);
    assert.equal(r.status, 401, String(auth));
    assert.match(r.headers.get('www-authenticate'), /^Basic /);
    assert.equal((await r.json()).error.code, 'unauthorized');
  }
  let r = await get('?since=2000-01-01&until=2100-01-01', basic(f.json.username, f.json.password));
  assert.equal(r.status, 200);
  assert.deepEqual(lines(await r.text()).slice(2).map((l) => l.split(',').slice(0, 2).join(',')), ['G_exact,Qualified call']);
  // Without a range: the last 90 days, where only the conversion of the 91-day-old click is.
  r = await get('', basic(f.json.username, f.json.password));
  assert.equal(lines(await r.text()).length, 2);
  assert.equal(r.headers.get('x-filtered-rows'), '1');
  // A new credential replaces the old one; revoking ends it.
  const g = await srv.api('POST', '/v1/exports/google-ads/feed', {});
  assert.equal((await get('', basic(f.json.username, f.json.password))).status, 401);
  assert.equal((await get('', basic(g.json.username, g.json.password))).status, 200);
  assert.equal((await srv.api('DELETE', '/v1/exports/google-ads/feed')).status, 204);
  assert.equal((await get('', basic(g.json.username, g.json.password))).status, 401);
  assert.equal((await srv.api('DELETE', '/v1/exports/google-ads/feed')).status, 404);
  assert.equal((await srv.api('POST', '/v1/exports/google-ads/feed', {}, null)).status, 401);
});
