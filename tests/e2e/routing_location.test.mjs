// SPDX-License-Identifier: AGPL-3.0-or-later
// Calls and rules belong to a location (issue #15 item 1; docs/routing.md "Locations"), with no
// routing plan anywhere: a call to a location's number, to a number of a location's pool, or to a
// number a location's source rule sent the visitor to carries that location in the calls API,
// the calls export and the calls report, whose rows add up to the calls log. Rules take an
// optional location_id (400 for one the account does not have; nothing stored or changed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, freshDb } from '../helpers/server.mjs';

const TOKEN = 'routing-location-token-0123456789';
const SID = 'AC' + 'ef'.repeat(16);
const ORIGIN = 'https://brand.example';
let srv;
before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-routing-location-'));
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Brand', [ORIGIN]);
  const set = cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]);
  assert.equal(set.status, 0, set.stderr);
  srv = await startServer({ dir, db, account });
});
after(async () => { if (srv) await srv.cleanup(); });

function sign(url, params) {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', TOKEN).update(data, 'utf8').digest('base64');
}
/** A signed voice webhook, then the call's final status: the call as the calls API shows it. */
async function call(to, from, duration = '75') {
  const sid = 'CA' + randomBytes(16).toString('hex');
  const post = async (path, p) => {
    const res = await fetch(srv.url + path, { method: 'POST', body: new URLSearchParams(p).toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sign(srv.url + path, p) } });
    return { status: res.status, text: await res.text() };
  };
  const p = { AccountSid: SID, CallSid: sid, CallStatus: 'ringing', Direction: 'inbound', From: from, To: to };
  const v = await post('/v1/telephony/twilio/voice', p);
  assert.equal(v.status, 200, v.text);
  assert.doesNotMatch(v.text, /route\?ev=/, 'no plan routes these calls');
  const s = await post('/v1/telephony/twilio/status', { ...p, CallStatus: 'completed', CallDuration: duration });
  assert.ok(s.status < 300, s.text);
  const list = (await srv.api('GET', '/v1/calls?limit=200')).json.calls;
  const c = list.find((x) => x.from === from);
  assert.ok(c, `no call from ${from}`);
  return c;
}
const csvRows = (text) => text.split('\r\n').filter(Boolean).map((l) => l.split(','));

const loc = {};
let rule, webPool;
test('rules take a location_id: validated, listed, replaced by PUT', async () => {
  for (const [name, extra] of [['North', { area_codes: [212] }], ['South', {}], ['East', {}]]) {
    const r = await srv.api('POST', '/v1/locations', { name, time_zone: 'America/New_York', ...extra });
    assert.equal(r.status, 201, r.text);
    loc[name] = r.json.id;
  }
  const p = await srv.api('POST', '/v1/pools', { name: 'web', target: '+15555550200', forward_to: '+15555550200' });
  assert.equal(p.status, 201, p.text);
  webPool = p.json.id;
  for (const n of ['+15125550501', '+15125550502', '+15125550503'])
    assert.equal((await srv.api('POST', '/v1/numbers', { number: n, pool: webPool })).status, 201);
  // An unknown location: 400 in the error format naming location_id, nothing stored.
  for (const bad of ['loc_nope', 7]) {
    const r = await srv.api('POST', '/v1/rules', { field: 'utm_source', value: 'yelp', pool: webPool, location_id: bad });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.field, 'location_id');
  }
  assert.deepEqual((await srv.api('GET', '/v1/rules')).json.rules, []);
  const r = await srv.api('POST', '/v1/rules', { field: 'utm_source', value: 'yelp', source: 'yelp',
    pool: webPool, location_id: loc.North });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.location_id, loc.North);
  rule = r.json.id;
  // PUT replaces the rule whole; an unknown location changes nothing; an unknown rule is a 404.
  const put = await srv.api('PUT', `/v1/rules/${rule}`, { field: 'utm_source', value: 'yelp', source: 'yelp',
    pool: webPool, location_id: loc.East });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.id, rule);
  assert.equal(put.json.location_id, loc.East);
  const bad = await srv.api('PUT', `/v1/rules/${rule}`, { field: 'utm_source', value: 'x', location_id: 'loc_nope' });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json.error.field, 'location_id');
  assert.equal((await srv.api('PUT', '/v1/rules/rule_nope', { field: 'utm_source', value: 'x' })).status, 404);
  const list = (await srv.api('GET', '/v1/rules')).json.rules;
  assert.equal(list.length, 1);
  assert.equal(list[0].location_id, loc.East);
  assert.equal(list[0].value, 'yelp');
  assert.equal(list[0].pool, webPool);
});

const made = {};
test('a call carries its number\'s, its pool\'s or its source rule\'s location without any plan', async () => {
  // North lists a source number; South lists a pool; East is the rule's.
  const src = await srv.api('POST', '/v1/numbers', { number: '+15125550601', target: '+15555550100',
    forward_to: '+15555550100', source: { source: 'billboard', medium: 'offline' } });
  assert.equal(src.status, 201, src.text);
  const other = await srv.api('POST', '/v1/numbers', { number: '+15125550602', target: '+15555550100',
    forward_to: '+15555550100', source: { source: 'radio', medium: 'offline' } });
  assert.equal(other.status, 201, other.text);
  const shop = await srv.api('POST', '/v1/pools', { name: 'shop', target: '+15555550300', forward_to: '+15555550300' });
  assert.equal(shop.status, 201, shop.text);
  assert.equal((await srv.api('POST', '/v1/numbers', { number: '+15125550701', pool: shop.json.id })).status, 201);
  let r = await srv.api('PUT', `/v1/locations/${loc.North}`, { name: 'North', time_zone: 'America/New_York',
    area_codes: [212], numbers: [src.json.id] });
  assert.equal(r.status, 200, r.text);
  r = await srv.api('PUT', `/v1/locations/${loc.South}`, { name: 'South', time_zone: 'America/New_York',
    pools: [shop.json.id] });
  assert.equal(r.status, 200, r.text);

  made.north = await call('+15125550601', '+13125550001');
  assert.equal(made.north.location, loc.North);
  assert.equal(made.north.routing, null);
  made.south = await call('+15125550701', '+13125550002');
  assert.equal(made.south.location, loc.South);
  made.none = await call('+15125550602', '+13125550003');
  assert.equal(made.none.location, null);

  // A visitor the rule sent to the web pool: the call to the number shown is East's.
  const yelp = await srv.visit({ url: `${ORIGIN}/?utm_source=yelp`, targets: ['+15555550200'] }, { Origin: ORIGIN });
  assert.equal(yelp.status, 200, yelp.text);
  made.east = await call(yelp.json.numbers[0].number, '+13125550004');
  assert.equal(made.east.attribution.method, 'exact');
  assert.equal(made.east.location, loc.East);
  // A visitor the rule did not match, shown a number of the same pool: no location.
  const plain = await srv.visit({ url: `${ORIGIN}/`, targets: ['+15555550200'] }, { Origin: ORIGIN });
  assert.equal(plain.status, 200, plain.text);
  assert.notEqual(plain.json.numbers[0].number, yelp.json.numbers[0].number);
  made.plain = await call(plain.json.numbers[0].number, '+13125550005');
  assert.equal(made.plain.attribution.method, 'exact');
  assert.equal(made.plain.location, null);

  // Decided once: the rule leaving East later leaves the stored call East's.
  const put = await srv.api('PUT', `/v1/rules/${rule}`, { field: 'utm_source', value: 'yelp', pool: webPool });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.location_id, null);
  const again = await srv.api('GET', `/v1/calls/${made.east.id}`);
  assert.equal(again.json.location, loc.East);
  // A source number a location's rule shows: its calls are that location's.
  const show = await srv.api('POST', '/v1/rules', { field: 'utm_source', value: 'radio', number: other.json.id,
    location_id: loc.South, position: 5 });
  assert.equal(show.status, 201, show.text);
  made.shown = await call('+15125550602', '+13125550006');
  assert.equal(made.shown.location, loc.South);
});

test('the calls export and the calls report by location add up to the calls log', async () => {
  const calls = (await srv.api('GET', '/v1/calls?limit=200')).json.calls;
  assert.equal(calls.length, 6);
  const names = { [loc.North]: 'North', [loc.South]: 'South', [loc.East]: 'East' };
  const nameOf = (c) => (c.location ? names[c.location] : null);
  const rep = await srv.api('GET', '/v1/reports/calls?group_by=location&include=call_ids');
  assert.equal(rep.status, 200, rep.text);
  assert.equal(rep.json.rows.reduce((s, x) => s + x.calls, 0), calls.length);
  assert.equal(rep.json.totals.calls, calls.length);
  for (const row of rep.json.rows) {
    const mine = calls.filter((c) => nameOf(c) === row.key.location);
    assert.deepEqual([...row.call_ids].sort(), mine.map((c) => c.id).sort(), `location ${row.key.location}`);
  }
  assert.deepEqual(Object.fromEntries(rep.json.rows.map((x) => [x.key.location, x.calls])),
    { North: 1, South: 2, East: 1, null: 2 });
  const x = await srv.api('GET', '/v1/exports/calls.csv');
  assert.equal(x.status, 200, x.text);
  const [head, ...rows] = csvRows(x.text);
  const col = head.indexOf('location');
  assert.equal(head[col - 1], 'pool');
  assert.equal(rows.length, calls.length);
  for (const row of rows) {
    const c = calls.find((k) => k.id === row[0]);
    assert.equal(row[col], nameOf(c) || '', row.join(','));
  }
});

test('a plan attached to a location dials only its business lines (and buyers), saying what it skipped', async () => {
  const home = await srv.api('POST', '/v1/locations', { name: 'Home', time_zone: 'UTC' });
  assert.equal(home.status, 201, home.text);
  const n = await srv.api('POST', '/v1/numbers', { number: '+15125550801', target: '+15555550100',
    forward_to: '+15555550100', source: { source: 'flyer', medium: 'offline' } });
  assert.equal(n.status, 201, n.text);
  const put = await srv.api('PUT', `/v1/locations/${home.json.id}`, { name: 'Home', time_zone: 'UTC', numbers: [n.json.id] });
  assert.equal(put.status, 200, put.text);
  const plan = await srv.api('POST', '/v1/routing-plans', { name: 'Home line', attach: { location: home.json.id },
    last_resort: '+15555550999',
    targets: [{ id: 'away', number: '+15555550701', location: loc.East, priority: 1 },
      { id: 'desk', number: '+15555550702', location: home.json.id, priority: 2 },
      { id: 'buyer', number: '+15555550703', location: loc.East, priority: 3, price: 2500 }],
    steps: [{ type: 'distribute', method: 'priority', on_fail: 'last_resort' }] });
  assert.equal(plan.status, 201, plan.text);
  const sid = 'CA' + randomBytes(16).toString('hex');
  const p = { AccountSid: SID, CallSid: sid, CallStatus: 'ringing', Direction: 'inbound', From: '+13125550901',
    To: '+15125550801' };
  const post = async (path, params) => {
    const res = await fetch(srv.url + path, { method: 'POST', body: new URLSearchParams(params).toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sign(srv.url + path, params) } });
    return { status: res.status, text: await res.text() };
  };
  const dialled = (xml) => (xml.match(/<Number[^>]*>(\+\d+)<\/Number>/) || [])[1];
  const v = await post('/v1/telephony/twilio/voice', p);
  assert.equal(v.status, 200, v.text);
  assert.equal(dialled(v.text), '+15555550702', v.text); // desk, not away (another location's line)
  const action = v.text.match(/<Dial [^>]*action="([^"]+)"/)[1].replaceAll('&amp;', '&').slice(srv.url.length);
  const d = await post(action, { ...p, CallStatus: 'in-progress', DialCallStatus: 'busy' });
  assert.equal(d.status, 200, d.text);
  assert.equal(dialled(d.text), '+15555550703', d.text); // the buyer: account-wide
  const c = (await srv.api('GET', '/v1/calls?limit=200')).json.calls.find((x) => x.from === '+13125550901');
  assert.equal(c.location, home.json.id);
  assert.equal(c.routing.location, home.json.id);
  assert.equal(c.routing.target, 'buyer');
  const skips = c.routing.steps.filter((l) => l.startsWith('skip target'));
  assert.deepEqual(skips, [`skip target away: a business line of another location (${loc.East})`]);
  assert.ok(c.routing.steps.some((l) => /dial target desk/.test(l)), c.routing.steps.join('\n'));
});

test('a conversion rule with a location_id counts the calls it qualifies there (when they have no location)', async () => {
  const settings = (o) => cli(['account', 'set', srv.accountId, '--settings', JSON.stringify(o), '--db', srv.db]);
  const bad = settings({ conversion: { min_duration: 60, location_id: 'loc_nope' } });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /conversion\.location_id/);
  const ok = settings({ conversion: { min_duration: 60, location_id: loc.North } });
  assert.equal(ok.status, 0, ok.stderr);
  try {
    const n = await srv.api('POST', '/v1/numbers', { number: '+15125550901', target: '+15555550100',
      forward_to: '+15555550100', source: { source: 'tv', medium: 'offline' } });
    assert.equal(n.status, 201, n.text);
    const qualified = await call('+15125550901', '+13125550911', '75');
    assert.ok(qualified.conversion, 'qualified');
    assert.equal(qualified.location, loc.North);
    const short = await call('+15125550901', '+13125550912', '20');
    assert.equal(short.conversion, null);
    assert.equal(short.location, null);
    // A call with its own location keeps it (South's rule-shown number).
    const own = await call('+15125550602', '+13125550913', '75');
    assert.ok(own.conversion);
    assert.equal(own.location, loc.South);
    const rep = await srv.api('GET', '/v1/reports/calls?group_by=location&include=call_ids');
    const rowOf = (id) => rep.json.rows.find((r) => r.call_ids.includes(id)).key.location;
    assert.equal(rowOf(qualified.id), 'North');
    assert.equal(rowOf(short.id), null);
    assert.equal(rowOf(own.id), 'South');
  } finally {
    assert.equal(settings({}).status, 0);
  }
});
