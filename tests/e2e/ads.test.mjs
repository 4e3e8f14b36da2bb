// SPDX-License-Identifier: AGPL-3.0-or-later
// Conversions to ad platforms through the real server (docs/integrations.md "GA4", "Meta",
// "Microsoft Advertising"): GA4 Measurement Protocol and Meta Conversions API destinations
// configured through /v1/webhooks (credentials write-only and sealed), their requests sent to
// local HTTPS receivers (a CA made by the test; serve --test-provider-api points the platforms'
// base URLs at them) that check the documented shapes — GA4's by the rules of its validation
// endpoint, since /mp/collect answers 2xx to anything — and answer with injected faults (500,
// a timeout, 429 with Retry-After), and a Meta token refused with OAuthException 190 that ends
// the retries at once and disables the destination.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, freshDb, dropDb, sql } from '../helpers/server.mjs';
import { makeTestCa, httpsReceiver } from '../helpers/receivers.mjs';

const TOKEN = 'ads-test-auth-token-0123456789abcdef';
const SID = 'AC' + 'ad'.repeat(16);
const ORIGIN = 'https://plumber.example';
const CALLER = '+15125550111';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'opendni-ads-'));
let tls;
const cleanups = [];
before(() => { tls = makeTestCa(dir); });
after(async () => { for (const c of cleanups.reverse()) await c(); });

/* ---- the platforms' rules, as their validation endpoints apply them ---- */

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
const RESERVED = /^(_|firebase_|ga_|google_)/;
/** GA4 /debug/mp/collect's validationMessages for a request (INTERFACES.md §6). */
function ga4Validate(path, body) {
  const msgs = [];
  const q = new URL('https://x' + path).searchParams;
  if (!/^G-[A-Z0-9]+$/.test(q.get('measurement_id') || '')) msgs.push('measurement_id');
  if (!q.get('api_secret')) msgs.push('api_secret');
  if (Buffer.byteLength(body) > 130 * 1024) msgs.push('body over 130 kB');
  let j;
  try { j = JSON.parse(body); } catch { return [...msgs, 'not JSON']; }
  if (typeof j.client_id !== 'string' || !j.client_id) msgs.push('client_id required');
  if (j.timestamp_micros !== undefined && !Number.isInteger(j.timestamp_micros)) msgs.push('timestamp_micros');
  if (!Array.isArray(j.events) || j.events.length < 1 || j.events.length > 25) return [...msgs, 'events'];
  for (const e of j.events) {
    if (!NAME.test(e.name || '') || RESERVED.test(e.name)) msgs.push(`event name ${e.name}`);
    const p = e.params || {};
    if (Object.keys(p).length > 25) msgs.push('over 25 params');
    for (const [k, v] of Object.entries(p)) {
      if (!NAME.test(k) || RESERVED.test(k)) msgs.push(`param name ${k}`);
      if (typeof v === 'string' && v.length > 100) msgs.push(`param ${k} over 100 characters`);
      if (typeof v === 'object' && v !== null) msgs.push(`param ${k} is not a scalar`);
    }
    if (p.value !== undefined && (typeof p.value !== 'number' || !/^[A-Z]{3}$/.test(p.currency || '')))
      msgs.push('value needs a numeric value and an ISO 4217 currency');
  }
  for (const k of Object.keys(j))
    if (!['client_id', 'user_id', 'timestamp_micros', 'user_properties', 'consent', 'events', 'non_personalized_ads', 'user_data'].includes(k))
      msgs.push(`unknown field ${k}`);
  return msgs;
}

const ACTION_SOURCES = ['email', 'website', 'app', 'phone_call', 'chat', 'physical_store', 'system_generated', 'other'];
/** The Conversions API's checks on a request (INTERFACES.md §5.2). */
function metaValidate(path, body, nowS) {
  const msgs = [];
  const u = new URL('https://x' + path);
  if (!/^\/v\d+\.0\/\d+\/events$/.test(u.pathname)) msgs.push(`path ${u.pathname}`);
  if (!u.searchParams.get('access_token')) msgs.push('access_token');
  let j;
  try { j = JSON.parse(body); } catch { return [...msgs, 'not JSON']; }
  if (!Array.isArray(j.data) || j.data.length < 1 || j.data.length > 1000) return [...msgs, 'data'];
  for (const e of j.data) {
    if (typeof e.event_name !== 'string' || !e.event_name) msgs.push('event_name');
    if (!Number.isInteger(e.event_time) || e.event_time > nowS + 60 || e.event_time < nowS - 7 * 86400) msgs.push('event_time (Unix seconds, at most 7 days old)');
    if (!ACTION_SOURCES.includes(e.action_source)) msgs.push('action_source');
    if (!e.user_data || typeof e.user_data !== 'object') msgs.push('user_data');
    for (const h of e.user_data?.ph || []) if (!/^[0-9a-f]{64}$/.test(h)) msgs.push('ph is not a SHA-256 hex');
    if (e.user_data?.fbc !== undefined && !/^fb\.\d\.\d{13}\.\S+$/.test(e.user_data.fbc)) msgs.push('fbc format');
  }
  return msgs;
}

/* ---- a server with a pool, a visitor and calls ---- */

async function server(receivers) {
  const d = mkdtempSync(join(dir, 'srv-'));
  const db = freshDb(d);
  cleanups.push(() => dropDb(db));
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Plumber', [ORIGIN]);
  assert.equal(cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]).status, 0);
  const api = Object.entries(receivers).map(([k, rx]) => `${k}=${rx.url}`).join(',');
  const s = await startServer({ dir: d, db, account,
    args: ['--outbound-allow-private', '--test-outbound-ca', tls.caFile, '--test-provider-api', api] });
  cleanups.push(() => s.cleanup());
  const p = await s.api('POST', '/v1/pools', { name: 'main', target: '+15555550100', forward_to: '+15555550100',
    lease_ttl: 1200, cooldown: 60, on_exhaust: 'share' });
  assert.equal(p.status, 201, p.text);
  assert.equal((await s.api('POST', '/v1/numbers', { number: '+15555550201', pool: p.json.id })).status, 201);
  return s;
}

function sign(url, params) {
  let data = url;
  for (const k of Object.keys(params).sort()) data += k + params[k];
  return createHmac('sha1', TOKEN).update(data, 'utf8').digest('base64');
}
async function hook(srv, path, params) {
  const res = await fetch(srv.url + path, { method: 'POST', body: new URLSearchParams(params).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sign(srv.url + path, params) } });
  await res.text();
  return res.status;
}
/** A visit from an ad click (gclid, fbclid), its GA ids as the tracker reports them; returns
 * {session, number}. */
async function visitor(srv, ga = '1234567890.1736870000 1736871111') {
  const v = await srv.visit({ url: `${ORIGIN}/?utm_source=facebook&utm_medium=paid&fbclid=IwAR_Fb-Click.1`, referrer: null },
    { Origin: ORIGIN });
  assert.equal(v.status, 200, v.text);
  const number = v.json.numbers.find((n) => n.kind === 'pool').number;
  if (ga) {
    const e = await srv.api('POST', `/v1/visits/${v.json.session_id}/events`, { type: 'ga_client', number: null, detail: ga },
      null, { Origin: ORIGIN });
    assert.equal(e.status, 202, e.text);
  }
  return { session: v.json.session_id, number };
}
/** A call to number that is answered and lasts 90 s: a call.completed and a conversion. */
async function call(srv, number) {
  const p = { AccountSid: SID, CallSid: 'CA' + randomBytes(16).toString('hex'), CallStatus: 'ringing',
    From: CALLER, To: number, Direction: 'inbound', ApiVersion: '2010-04-01' };
  assert.equal(await hook(srv, '/v1/telephony/twilio/voice', p), 200);
  assert.equal(await hook(srv, '/v1/telephony/twilio/status',
    { ...p, CallStatus: 'completed', CallDuration: '90', SequenceNumber: '3' }), 204);
  return p;
}
async function waitFor(what, done, ms = 8000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (await done()) return;
  assert.fail(`timed out waiting for ${what}`);
}
const deliveries = async (srv, id) => (await srv.api('GET', `/v1/webhooks/${id}/deliveries`)).json.deliveries;

test('ad destinations: created through /v1/webhooks, credentials sealed and never shown, bad input refused', async () => {
  const srv = await server({});
  const bad = [
    [{ format: 'ga4', api_secret: 'abcdefgh12' }, 'measurement_id'],
    [{ format: 'ga4', measurement_id: 'UA-1234-1', api_secret: 'abcdefgh12' }, 'measurement_id'],
    [{ format: 'ga4', measurement_id: 'G-ABC1234' }, 'api_secret'],
    [{ format: 'ga4', measurement_id: 'G-ABC1234', api_secret: 'a&b=c d12345' }, 'api_secret'],
    [{ format: 'ga4', measurement_id: 'G-ABC1234', api_secret: 'abcdefgh12', url: 'https://x.example' }, 'url'],
    [{ format: 'meta', pixel_id: 'px1', access_token: 'EAAB12345678' }, 'pixel_id'],
    [{ format: 'meta', pixel_id: '1234567890' }, 'access_token'],
    [{ format: 'meta', pixel_id: '1234567890', access_token: 'EAAB12345678', events: ['call.started'] }, 'events'],
  ];
  for (const [body, field] of bad) {
    const r = await srv.api('POST', '/v1/webhooks', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error.field, field, JSON.stringify(body));
  }
  assert.equal((await srv.api('GET', '/v1/webhooks')).json.webhooks.length, 0, 'nothing was stored');
  const g = await srv.api('POST', '/v1/webhooks', { format: 'ga4', measurement_id: 'G-ABC1234', api_secret: 'GaSecret_0123456789' });
  assert.equal(g.status, 201, g.text);
  assert.equal(g.json.format, 'ga4');
  assert.equal(g.json.url, 'https://www.google-analytics.com/mp/collect?measurement_id=G-ABC1234');
  assert.deepEqual(g.json.events, ['call.completed', 'conversion.created']);
  assert.equal(g.json.secret, undefined, 'write-only');
  assert.ok(!g.text.includes('GaSecret_0123456789'));
  const m = await srv.api('POST', '/v1/webhooks', { format: 'meta', pixel_id: '1234567890', access_token: 'EAAMetaToken_0123456789' });
  assert.equal(m.status, 201, m.text);
  assert.match(m.json.url, /^https:\/\/graph\.facebook\.com\/v\d+\.0\/1234567890\/events$/);
  assert.deepEqual(m.json.events, ['conversion.created']);
  const list = await srv.api('GET', '/v1/webhooks');
  assert.ok(!list.text.includes('GaSecret') && !list.text.includes('EAAMetaToken'), 'never shown again');
  const rows = sql(srv.db, "select secret from destinations order by id");
  assert.ok(rows.split('\n').every((r) => r.startsWith('enc1:')), 'sealed in the store: ' + rows);
  assert.equal((await srv.api('POST', `/v1/webhooks/${m.json.id}/test`)).status, 409, 'no sample conversions');
  // The tracker's ga_client event is checked.
  const v = await srv.visit({ url: `${ORIGIN}/` }, { Origin: ORIGIN });
  for (const detail of ['GA1.1.123.456', '123', '123.456 x', null])
    assert.equal((await srv.api('POST', `/v1/visits/${v.json.session_id}/events`, { type: 'ga_client', detail }, null,
      { Origin: ORIGIN })).status, 400, String(detail));
});

test('GA4 and Meta receive the documented shapes, through a 500, a 429 with Retry-After and a timeout', async () => {
  const gaProblems = [];
  const metaProblems = [];
  let serverNowS = () => Math.floor(Date.now() / 1000);
  const ga = await httpsReceiver(tls, (req, n) => {
    gaProblems.push(...ga4Validate(req.path, req.body));
    if (n === 0) return { status: 500 };
    if (n === 1) return { status: 429, headers: { 'Retry-After': '120' } };
    return { status: 204, body: '' };
  });
  const meta = await httpsReceiver(tls, (req, n) => {
    metaProblems.push(...metaValidate(req.path, req.body, serverNowS()));
    if (n === 0) return { hang: true };
    return { status: 200, body: '{"events_received":1,"messages":[],"fbtrace_id":"AbC"}' };
  });
  cleanups.push(() => ga.close(), () => meta.close());
  const srv = await server({ ga4: ga, meta });
  let offset = 0;
  serverNowS = () => Math.floor((Date.now() + offset) / 1000);
  const g = await srv.api('POST', '/v1/webhooks', { format: 'ga4', measurement_id: 'G-ABC1234', api_secret: 'GaSecret_0123456789' });
  const m = await srv.api('POST', '/v1/webhooks', { format: 'meta', pixel_id: '1234567890', access_token: 'EAAMetaToken_0123456789' });
  assert.equal(g.status, 201);
  assert.equal(m.status, 201);
  const { number } = await visitor(srv);
  const p = await call(srv, number);
  const c = (await srv.api('GET', '/v1/calls')).json.calls[0];
  assert.equal(c.attribution.method, 'exact');

  // GA4: the first two attempts fail (500, then 429 asking for 120 s); Meta's first attempt
  // times out (10 s; the clock stays put meanwhile, as a claim's lease is 60 s of it).
  await waitFor('two GA4 attempts', () => ga.requests.length >= 2);
  await waitFor('the Meta attempt', () => meta.requests.length >= 1);
  await waitFor('the timeout logged', async () => (await deliveries(srv, m.json.id)).length >= 1, 15000);
  await srv.advance(30000); offset += 30000; // past the first backoff (≤ 10 s), not the Retry-After
  await waitFor('the 500 retried', () => ga.requests.length >= 3);
  await waitFor('the Meta retry', () => meta.requests.length >= 2);
  await sleep(800);
  assert.equal(ga.requests.length, 3, 'the 429 is not retried before its Retry-After');
  await srv.advance(100000); offset += 100000;
  await waitFor('the 429 retried', () => ga.requests.length >= 4);
  assert.deepEqual(gaProblems, []);
  const bodies = ga.requests.map((r) => JSON.parse(r.body));
  for (const r of ga.requests)
    assert.equal(r.path, '/mp/collect?measurement_id=G-ABC1234&api_secret=GaSecret_0123456789');
  const names = [...new Set(bodies.map((b) => b.events[0].name))].sort();
  assert.deepEqual(names, ['phone_call', 'qualified_call']);
  for (const b of bodies) {
    assert.equal(b.client_id, '1234567890.1736870000', 'the _ga client id of the session');
    assert.equal(b.events[0].params.session_id, '1736871111');
    assert.equal(b.events[0].params.call_sid, p.CallSid);
    assert.equal(b.events[0].params.call_id, c.id);
    assert.equal(b.events[0].params.tracking_number, number);
    assert.ok(b.timestamp_micros > 1.7e15);
  }
  const q = bodies.find((b) => b.events[0].name === 'qualified_call').events[0].params;
  assert.equal(q.currency, 'USD');
  assert.equal(typeof q.value, 'number');
  // The same body on every retry of a message.
  const byName = {};
  for (const r of ga.requests) (byName[JSON.parse(r.body).events[0].name] ||= new Set()).add(r.body);
  assert.ok(Object.values(byName).every((s) => s.size === 1), 'retries send the same bytes');

  // Meta: the retry after the timeout was accepted.
  assert.deepEqual(metaProblems, []);
  const mb = JSON.parse(meta.requests[1].body);
  assert.equal(meta.requests[1].body, meta.requests[0].body);
  assert.match(meta.requests[1].path, /^\/v\d+\.0\/1234567890\/events\?access_token=EAAMetaToken_0123456789$/);
  assert.equal(mb.data.length, 1);
  const e = mb.data[0];
  assert.equal(e.event_name, 'Lead');
  assert.equal(e.action_source, 'phone_call');
  assert.equal(e.event_id, c.id, 'dedup key: our call (one conversion per call)');
  assert.deepEqual(e.user_data.ph, [createHash('sha256').update(CALLER.slice(1)).digest('hex')]);
  assert.match(e.user_data.fbc, /^fb\.1\.\d{13}\.IwAR_Fb-Click\.1$/);
  assert.equal(e.custom_data.currency, 'USD');

  // The delivery logs show every attempt.
  await waitFor('the logs', async () => (await deliveries(srv, g.json.id)).length === 4 &&
    (await deliveries(srv, m.json.id)).length === 2);
  const gl = (await deliveries(srv, g.json.id)).map((d) => d.status).sort();
  assert.deepEqual(gl, [204, 204, 429, 500]);
  const ml = await deliveries(srv, m.json.id);
  assert.equal(ml[1].status, null);
  assert.match(ml[1].error, /time/i);
  assert.equal(ml[0].status, 200);
  assert.equal(ml[0].delivered, true);
  const md = (await srv.api('GET', `/v1/webhooks/${m.json.id}`)).json;
  assert.equal(md.enabled, true);
  assert.equal(md.last_error, null, 'cleared by the success');
});

test('a Meta token refused (OAuthException 190) ends the retries at once and disables the destination', async () => {
  const meta = await httpsReceiver(tls, (req) => (req.path.includes('EAAExpiredToken') ? { status: 400,
    body: '{"error":{"message":"Invalid OAuth access token - Cannot parse access token","type":"OAuthException","code":190,"fbtrace_id":"AbC"}}' }
    : { status: 200, body: '{"events_received":1}' }));
  const hook2 = await httpsReceiver(tls);
  cleanups.push(() => meta.close(), () => hook2.close());
  const srv = await server({ meta });
  const m = await srv.api('POST', '/v1/webhooks', { format: 'meta', pixel_id: '1234567890', access_token: 'EAAExpiredToken_0123' });
  const w = await srv.api('POST', '/v1/webhooks', { url: hook2.url + '/alerts', events: ['alert.destination_failing'] });
  assert.equal(w.status, 201, w.text);
  const { number } = await visitor(srv, null);
  await call(srv, number);
  await waitFor('the refused attempt', () => meta.requests.length >= 1);
  await waitFor('the destination disabled', async () => !(await srv.api('GET', `/v1/webhooks/${m.json.id}`)).json.enabled);
  const d = (await srv.api('GET', `/v1/webhooks/${m.json.id}`)).json;
  assert.match(d.last_error, /credential rejected by Meta.*OAuthException.*Invalid OAuth access token/);
  const log = await deliveries(srv, m.json.id);
  assert.equal(log.length, 1);
  assert.equal(log[0].status, 400);
  assert.match(log[0].response, /"code":190/);
  assert.match(log[0].error, /credential rejected/);
  // No retry, however long we wait; the account's alert destination hears of it.
  for (let i = 0; i < 5; i++) { await srv.advance(3600000); await sleep(100); }
  assert.equal(meta.requests.length, 1, 'not retried');
  await waitFor('alert.destination_failing', () => hook2.requests.length >= 1);
  const alert = JSON.parse(hook2.requests[0].body);
  assert.equal(alert.type, 'alert.destination_failing');
  assert.match(alert.data.last_error, /credential rejected/);
  const u = JSON.parse(meta.requests[0].body).data[0].user_data;
  assert.equal(u.ph.length, 1);
  assert.match(u.fbc, /^fb\.1\.\d{13}\.IwAR_Fb-Click\.1$/);
  // A new token (write-only, checked) re-enables it; the given-up Lead is sent again on request.
  const cred = (body) => srv.api('POST', `/v1/webhooks/${m.json.id}/credential`, body);
  assert.equal((await cred({ access_token: 'bad token' })).status, 400);
  assert.equal((await cred({})).status, 400);
  assert.equal((await srv.api('POST', `/v1/webhooks/${w.json.id}/credential`, { access_token: 'EAANewToken_0123456' })).status, 409);
  const ok = await cred({ access_token: 'EAANewToken_0123456' });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.enabled, true);
  assert.ok(!ok.text.includes('EAANewToken'), 'never shown');
  assert.equal((await srv.api('POST', `/v1/webhooks/${m.json.id}/redeliver`, { event_id: log[0].event_id })).status, 202);
  await waitFor('the Lead with the new token', () => meta.requests.length >= 2);
  assert.match(meta.requests[1].path, /access_token=EAANewToken_0123456$/);
  assert.equal(meta.requests[1].body, meta.requests[0].body);
  await waitFor('the success clears last_error', async () =>
    (await srv.api('GET', `/v1/webhooks/${m.json.id}`)).json.last_error === null);
});

test('Microsoft Advertising: the msclkid offline-conversion CSV, account-scoped and formula-neutralised', async () => {
  const srv = await server({});
  const v = await srv.visit({ url: `${ORIGIN}/?utm_source=bing&utm_medium=cpc&msclkid=f894f652ea334e739002f7167ab8f8e3` },
    { Origin: ORIGIN });
  assert.equal(v.status, 200, v.text);
  await call(srv, v.json.numbers.find((n) => n.kind === 'pool').number);
  const get = (q, key) => srv.api('GET', `/v1/exports/microsoft-ads/click-conversions.csv?${q}`, undefined, key);
  let r;
  await waitFor('the conversion', async () => (r = await get('tz=-0500')).text.split('\r\n').length > 3);
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^text\/csv/);
  assert.match(r.headers.get('content-disposition'), /microsoft-ads-conversions\.csv/);
  const lines = r.text.split('\r\n');
  assert.equal(lines[0], 'Parameters:TimeZone=-0500;');
  assert.equal(lines[1], 'Microsoft Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency');
  const row = lines[2].split(',').map((f) => f.replace(/^"|"$/g, ''));
  assert.equal(row[0], 'f894f652ea334e739002f7167ab8f8e3');
  assert.match(row[2], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  const utc = new Date(row[2].replace(' ', 'T') + '-05:00').getTime();
  assert.ok(Math.abs(utc - Date.now()) < 120000, 'the time is in the file\'s offset');
  assert.match(row[3], /^\d+\.\d\d$/);
  assert.equal(row[4], 'USD');
  assert.equal(lines[3], '');
  assert.equal(r.headers.get('x-exported-rows'), '1');
  // A user-written conversion name that reads as a formula is neutralised.
  const f = await get('tz=%2B0100&conversion_name=%3DHYPERLINK(%22x%22)');
  assert.equal(f.text.split('\r\n')[0], 'Parameters:TimeZone=+0100;');
  assert.match(f.text.split('\r\n')[2], /^f894f652ea334e739002f7167ab8f8e3,"'=HYPERLINK\(""x""\)",/);
  // UTC by default; zone names are refused (Microsoft's template takes an offset).
  assert.equal((await get('')).text.split('\r\n')[0], 'Parameters:TimeZone=+0000;');
  const z = await get('tz=America/Chicago');
  assert.equal(z.status, 400);
  assert.equal(z.json.error.field, 'tz');
  // Another account sees none of it.
  const other = createAccount(srv.db, 'Other', ['https://other.example']);
  const o = await get('', other.apiKey);
  assert.equal(o.status, 200);
  assert.equal(o.text.split('\r\n').filter(Boolean).length, 2, 'header rows only');
  assert.equal((await get('', 'odk_wrong')).status, 401);
});
