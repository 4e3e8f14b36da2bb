// SPDX-License-Identifier: AGPL-3.0-or-later
// Google Ads click conversions uploaded straight from the outbox through the Data Manager API
// (docs/integrations.md "Google Ads"): a google_ads destination configured through /v1/webhooks
// (OAuth client id, client secret and refresh token write-only and sealed), its requests sent to
// local HTTPS receivers (a CA made by the test; serve --test-provider-api points Google's token
// endpoint and the Data Manager API at them) that check the documented shapes — the refresh-token
// grant, the Bearer token, IngestEventsRequest's destinations, events, consent — and answer with
// injected faults: 500s, 429 with Retry-After, a request refused for one event (the API fails a
// request fast: the others are sent again), a 401 that makes it fetch a new token once,
// invalid_grant and 403 PERMISSION_DENIED that disable the destination without retrying.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, freshDb, dropDb, sql } from '../helpers/server.mjs';
import { makeTestCa, httpsReceiver } from '../helpers/receivers.mjs';

const TOKEN = 'gads-test-auth-token-0123456789abcdef';
const SID = 'AC' + 'ab'.repeat(16);
const ORIGIN = 'https://plumber.example';
const CLIENT_ID = '123456789012-abcdefghijklmnop.apps.googleusercontent.com';
const CLIENT_SECRET = 'GOCSPX-AbCdEfGhIjKlMnOpQrStUvWxYz12';
const REFRESH = '1//0gAbCdEfGhIjKlMnOpQrStUvWxYz-0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const CID = '1234567890';
const LOGIN = '9876543210';
const ACTION = '7001234567';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'opendni-gads-'));
let tls;
const cleanups = [];
before(() => { tls = makeTestCa(dir); });
after(async () => { for (const c of cleanups.reverse()) await c(); });

/* ---- Google's side: the token endpoint and IngestEvents, with the documented checks ---- */

/** An OAuth2 token endpoint (refresh-token grant). answer(n, form) may override the answer. */
function tokenEndpoint(answer = () => null) {
  const t = { problems: [], issued: [], n: 0 };
  t.plan = (req) => {
    const form = new URLSearchParams(req.body);
    if (req.path !== '/token') t.problems.push(`token path ${req.path}`);
    if (!/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] || '')) t.problems.push('token content-type');
    if (form.get('grant_type') !== 'refresh_token') t.problems.push('grant_type');
    const a = answer(t.n++, form);
    if (a) return a;
    if (form.get('client_id') !== CLIENT_ID || form.get('client_secret') !== CLIENT_SECRET)
      return { status: 401, body: '{"error":"invalid_client","error_description":"The OAuth client was not found."}' };
    if (form.get('refresh_token') !== t.refresh)
      return { status: 400, body: '{"error":"invalid_grant","error_description":"Token has been expired or revoked."}' };
    const tok = `ya29.test-${t.issued.length}-${randomBytes(6).toString('hex')}`;
    t.issued.push(tok);
    return { status: 200, headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ access_token: tok, expires_in: 3599, scope: 'https://www.googleapis.com/auth/datamanager', token_type: 'Bearer' }) };
  };
  t.refresh = REFRESH;
  return t;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
/** IngestEventsRequest's checks (google.ads.datamanager.v1 ingestion_service.proto, event.proto,
 * destination.proto): problems as strings. */
function ingestValidate(req, { login, consent } = {}) {
  const msgs = [];
  if (req.path !== '/v1/events:ingest') msgs.push(`path ${req.path}`);
  if (!/^application\/json/.test(req.headers['content-type'] || '')) msgs.push('content-type');
  if (!/^Bearer ya29\.\S+$/.test(req.headers.authorization || '')) msgs.push('authorization');
  if (req.headers['developer-token']) msgs.push('no developer token in the Data Manager API');
  let j;
  try { j = JSON.parse(req.body); } catch { return [...msgs, 'not JSON']; }
  for (const k of Object.keys(j))
    if (!['destinations', 'events', 'consent', 'validateOnly', 'encoding', 'encryptionInfo'].includes(k)) msgs.push(`unknown field ${k}`);
  if (!Array.isArray(j.destinations) || j.destinations.length !== 1) return [...msgs, 'destinations'];
  const d = j.destinations[0];
  if (d.operatingAccount?.accountId !== CID || d.operatingAccount?.accountType !== 'GOOGLE_ADS') msgs.push('operatingAccount');
  if (d.productDestinationId !== ACTION) msgs.push('productDestinationId');
  if (login ? (d.loginAccount?.accountId !== login || d.loginAccount?.accountType !== 'GOOGLE_ADS') : d.loginAccount) msgs.push('loginAccount');
  if (consent && JSON.stringify(j.consent) !== JSON.stringify(consent)) msgs.push(`consent ${JSON.stringify(j.consent)}`);
  if (!consent && j.consent) msgs.push('consent not configured');
  if (!Array.isArray(j.events) || j.events.length < 1 || j.events.length > 2000) return [...msgs, 'events'];
  for (const e of j.events) {
    if (!RFC3339.test(e.eventTimestamp || '')) msgs.push(`eventTimestamp ${e.eventTimestamp}`);
    const ids = Object.keys(e.adIdentifiers || {}).filter((k) => ['gclid', 'gbraid', 'wbraid'].includes(k));
    if (ids.length !== 1) msgs.push('exactly one of gclid, gbraid, wbraid');
    if (typeof e.transactionId !== 'string' || !e.transactionId) msgs.push('transactionId');
    if (typeof e.conversionValue !== 'number') msgs.push('conversionValue');
    if (!/^[A-Z]{3}$/.test(e.currency || '')) msgs.push('currency');
    if (!['WEB', 'APP', 'IN_STORE', 'PHONE', 'OTHER'].includes(e.eventSource)) msgs.push('eventSource');
  }
  return msgs;
}

/* ---- a server with a pool, visitors from Google Ads clicks and calls ---- */

async function server(receivers, numbers = 6) {
  const d = mkdtempSync(join(dir, 'srv-'));
  const db = freshDb(d);
  cleanups.push(() => dropDb(db));
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Plumber', [ORIGIN]);
  assert.equal(cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]).status, 0);
  const api = Object.entries(receivers).map(([k, rx]) => `${k}=${rx.url}`).join(',');
  const s = await startServer({ dir: d, db, account,
    args: ['--outbound-allow-private', '--test-outbound-ca', tls.caFile, ...(api ? ['--test-provider-api', api] : [])] });
  cleanups.push(() => s.cleanup());
  const p = await s.api('POST', '/v1/pools', { name: 'main', target: '+15555550100', forward_to: '+15555550100',
    lease_ttl: 1200, cooldown: 60, on_exhaust: 'share' });
  assert.equal(p.status, 201, p.text);
  for (let i = 0; i < numbers; i++)
    assert.equal((await s.api('POST', '/v1/numbers', { number: `+1555555021${i}`, pool: p.json.id })).status, 201);
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
/** A visit from a Google Ads click (kind: gclid, gbraid or wbraid); returns its number. */
async function visitor(srv, click, kind = 'gclid') {
  const v = await srv.visit({ url: `${ORIGIN}/?utm_source=google&utm_medium=cpc&${kind}=${click}`, referrer: null },
    { Origin: ORIGIN });
  assert.equal(v.status, 200, v.text);
  return v.json.numbers.find((n) => n.kind === 'pool').number;
}
/** An answered 90 s call to number from caller: a qualified call (conversion.created). */
async function call(srv, number, caller) {
  const p = { AccountSid: SID, CallSid: 'CA' + randomBytes(16).toString('hex'), CallStatus: 'ringing',
    From: caller, To: number, Direction: 'inbound', ApiVersion: '2010-04-01' };
  assert.equal(await hook(srv, '/v1/telephony/twilio/voice', p), 200);
  assert.equal(await hook(srv, '/v1/telephony/twilio/status',
    { ...p, CallStatus: 'completed', CallDuration: '90', SequenceNumber: '3' }), 204);
  return p;
}
async function waitFor(what, done, ms = 8000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (await done()) return;
  assert.fail(`timed out waiting for ${what}`);
}
const deliveries = async (srv, id) => (await srv.api('GET', `/v1/webhooks/${id}/deliveries?limit=1000`)).json.deliveries;
const destination = async (srv, id) => (await srv.api('GET', `/v1/webhooks/${id}`)).json;
const GADS = { format: 'google_ads', customer_id: '123-456-7890', conversion_action_id: ACTION,
  client_id: CLIENT_ID, client_secret: CLIENT_SECRET, refresh_token: REFRESH };
const events = (rx) => rx.requests.flatMap((r) => { try { return JSON.parse(r.body).events || []; } catch { return []; } });

test('google_ads destinations: configured through /v1/webhooks, the OAuth credential sealed and write-only, bad input refused', async () => {
  const srv = await server({}, 1);
  const bad = [
    [{ ...GADS, customer_id: undefined }, 'customer_id'],
    [{ ...GADS, customer_id: '12345' }, 'customer_id'],
    [{ ...GADS, login_customer_id: 'abc' }, 'login_customer_id'],
    [{ ...GADS, conversion_action_id: 'customers/1/conversionActions/2' }, 'conversion_action_id'],
    [{ ...GADS, conversion_action_id: undefined }, 'conversion_action_id'],
    [{ ...GADS, time_zone: 'Mars/Olympus' }, 'time_zone'],
    [{ ...GADS, consent: { ad_user_data: 'yes' } }, 'consent'],
    [{ ...GADS, consent: { other: 'granted' } }, 'consent'],
    [{ ...GADS, client_id: undefined }, 'client_id'],
    [{ ...GADS, client_secret: 'a b' }, 'client_secret'],
    [{ ...GADS, refresh_token: undefined }, 'refresh_token'],
    [{ ...GADS, refresh_token: 'x'.repeat(600) }, 'refresh_token'],
    [{ ...GADS, events: ['call.completed'] }, 'events'],
    [{ ...GADS, url: 'https://x.example' }, 'url'],
    [{ ...GADS, validate_only: 'yes' }, 'validate_only'],
  ];
  for (const [body, field] of bad) {
    const r = await srv.api('POST', '/v1/webhooks', body);
    assert.equal(r.status, 400, JSON.stringify(body) + r.text);
    assert.equal(r.json.error.field, field, JSON.stringify(body) + r.text);
  }
  assert.equal((await srv.api('GET', '/v1/webhooks')).json.webhooks.length, 0, 'nothing was stored');
  const g = await srv.api('POST', '/v1/webhooks', { ...GADS, login_customer_id: LOGIN, time_zone: 'America/Chicago',
    consent: { ad_user_data: 'granted', ad_personalization: 'denied' } });
  assert.equal(g.status, 201, g.text);
  assert.equal(g.json.format, 'google_ads');
  assert.equal(g.json.url, `https://datamanager.googleapis.com/v1/events:ingest#customer=${CID}&action=${ACTION}` +
    `&login=${LOGIN}&tz=America/Chicago&ad_user_data=granted&ad_personalization=denied`);
  assert.deepEqual(g.json.events, ['conversion.created']);
  assert.equal(g.json.secret, undefined, 'write-only');
  for (const secret of [CLIENT_SECRET, REFRESH, CLIENT_ID])
    assert.ok(!g.text.includes(secret) && !(await srv.api('GET', '/v1/webhooks')).text.includes(secret), 'never shown');
  const rows = sql(srv.db, 'select secret from destinations');
  assert.match(rows, /^enc1:/, 'sealed in the store');
  assert.ok(!rows.includes(REFRESH) && !rows.includes(CLIENT_SECRET));
  assert.equal((await srv.api('POST', `/v1/webhooks/${g.json.id}/test`)).status, 409, 'no sample conversions');
  // A new credential: all three, checked; the others' credential keys do not apply.
  const cred = (body) => srv.api('POST', `/v1/webhooks/${g.json.id}/credential`, body);
  assert.equal((await cred({ refresh_token: REFRESH })).status, 400);
  assert.equal((await cred({ access_token: 'EAAB12345678' })).status, 400);
  assert.equal((await cred({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, refresh_token: 'bad token' })).json.error.field, 'refresh_token');
  const ok = await cred({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, refresh_token: REFRESH + 'x' });
  assert.equal(ok.status, 200, ok.text);
  assert.ok(!ok.text.includes(REFRESH));
  // Another account sees none of it.
  const other = createAccount(srv.db, 'Other', ['https://other.example']);
  assert.equal((await srv.api('GET', `/v1/webhooks/${g.json.id}`, undefined, other.apiKey)).status, 404);
  assert.equal((await srv.api('POST', `/v1/webhooks/${g.json.id}/credential`, { client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET, refresh_token: REFRESH }, other.apiKey)).status, 404);
});

test('Google receives the documented IngestEvents through token 503s, a 500 and a 429 with Retry-After; the conversions due together share a request (more than the per-destination limit of 4) and a cached token', async () => {
  let tokenDown = true;
  const tok = tokenEndpoint(() => (tokenDown ? { status: 503, body: 'unavailable' } : null));
  const ingestProblems = [];
  let k = 0;
  const oauth = await httpsReceiver(tls, tok.plan);
  const google = await httpsReceiver(tls, (req) => {
    ingestProblems.push(...ingestValidate(req, { login: LOGIN, consent: { adUserData: 'CONSENT_GRANTED', adPersonalization: 'CONSENT_DENIED' } }));
    if (!tok.issued.includes(req.headers.authorization?.slice(7))) return { status: 401, body: '{"error":{"code":401,"status":"UNAUTHENTICATED"}}' };
    const n = k++;
    if (n === 0) return { status: 500, body: '{"error":{"code":500,"message":"Internal error","status":"INTERNAL"}}' };
    if (n === 1) return { status: 429, headers: { 'Retry-After': '120' }, body: '{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}' };
    return { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"requestId":"req-' + n + '"}' };
  });
  cleanups.push(() => oauth.close(), () => google.close());
  const srv = await server({ google_oauth: oauth, google_ads: google });
  const g = await srv.api('POST', '/v1/webhooks', { ...GADS, login_customer_id: LOGIN, time_zone: 'America/Chicago',
    consent: { ad_user_data: 'granted', ad_personalization: 'denied' } });
  assert.equal(g.status, 201, g.text);
  // Six conversions while Google's token endpoint is down (503): each attempt logged.
  const clicks = ['Cj0KCQiA1-gclid_one', 'Cj0KCQiA2-gclid_two', 'Cj0KCQiA3-gbraid_three',
    'Cj0KCQiA4-gclid_four', 'Cj0KCQiA5-gclid_five', 'Cj0KCQiA6-wbraid_six'];
  const kinds = ['gclid', 'gclid', 'gbraid', 'gclid', 'gclid', 'wbraid'];
  for (let i = 0; i < 6; i++) await call(srv, await visitor(srv, clicks[i], kinds[i]), `+1512555010${i}`);
  await waitFor('the 503s logged', async () => (await deliveries(srv, g.json.id)).length >= 6);
  for (const d of await deliveries(srv, g.json.id)) {
    assert.equal(d.status, 503);
    assert.match(d.error, /token endpoint answered HTTP 503/);
  }
  assert.equal(google.requests.length, 0, 'nothing sent without a token');
  // The endpoint is back; after the backoff the six are due together: one token, one request.
  tokenDown = false;
  await srv.advance(30000);
  await waitFor('the 500', () => google.requests.length >= 1);
  await waitFor('the 500 logged', async () => (await deliveries(srv, g.json.id)).filter((d) => d.status === 500).length === 6);
  await srv.advance(30000);
  await waitFor('the 429', () => google.requests.length >= 2);
  await waitFor('the 429 logged', async () => (await deliveries(srv, g.json.id)).filter((d) => d.status === 429).length === 6);
  await srv.advance(60000);
  await sleep(800);
  assert.equal(google.requests.length, 2, 'the 429 is not retried before its Retry-After');
  await srv.advance(70000);
  await waitFor('accepted', () => google.requests.length >= 3);
  await waitFor('all delivered', async () => (await deliveries(srv, g.json.id)).filter((d) => d.delivered).length === 6);
  assert.deepEqual(ingestProblems, []);
  assert.deepEqual(tok.problems, []);
  assert.equal(tok.issued.length, 1, 'one token, cached for every request');
  for (const r of google.requests) assert.equal(r.headers.authorization, `Bearer ${tok.issued[0]}`);
  assert.deepEqual(google.requests.map((r) => JSON.parse(r.body).events.length), [6, 6, 6], 'one request per batch');
  const evs = JSON.parse(google.requests.at(-1).body).events;
  const calls = (await srv.api('GET', '/v1/calls')).json.calls;
  for (const e of evs) {
    const c = calls.find((x) => x.id === e.transactionId);
    assert.ok(c, 'transactionId is the call id');
    assert.equal(e.eventSource, 'PHONE');
    assert.equal(e.currency, 'USD');
    // the destination's zone (America/Chicago, December: UTC-6), the conversion's instant
    assert.match(e.eventTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-06:00$/);
    assert.equal(Date.parse(e.eventTimestamp), Math.floor(Date.parse(c.conversion.at) / 1000) * 1000);
    assert.equal(e.conversionValue, c.conversion.value);
  }
  assert.deepEqual(evs.map((e) => JSON.stringify(e.adIdentifiers)).sort(),
    clicks.map((c, i) => JSON.stringify({ [kinds[i]]: c })).sort());
  // Every retry sends the same events.
  const sorted = (r) => JSON.parse(r.body).events.map((e) => JSON.stringify(e)).sort();
  assert.deepEqual(sorted(google.requests[0]), sorted(google.requests[2]));
  const d = await destination(srv, g.json.id);
  assert.equal(d.enabled, true);
  assert.equal(d.last_error, null, 'cleared by the success');
});

test('one event refused (the request fails fast): that conversion is given up with its reason, the others are sent again at once; a 401 fetches a new token once', async () => {
  const tok = tokenEndpoint();
  const oauth = await httpsReceiver(tls, tok.plan);
  let expireFirst = true;
  const google = await httpsReceiver(tls, (req) => {
    const j = JSON.parse(req.body);
    if (!tok.issued.includes(req.headers.authorization?.slice(7))) return { status: 401, body: '{"error":{"code":401,"status":"UNAUTHENTICATED"}}' };
    if (expireFirst) { // the token is revoked under us once
      expireFirst = false;
      return { status: 401, body: '{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}' };
    }
    const bad = j.events.findIndex((e) => e.adIdentifiers.gclid === 'BAD-click-id');
    if (bad >= 0)
      return { status: 400, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ error: { code: 400,
        message: 'There was a problem with the request.', status: 'INVALID_ARGUMENT', details: [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'INVALID_ARGUMENT', domain: 'datamanager.googleapis.com' },
          { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [
            { field: `events[${bad}].ad_identifiers.gclid`, description: 'The gclid could not be decoded.', reason: 'INVALID_FORMAT' }] }] } }) };
    return { status: 200, body: '{"requestId":"ok"}' };
  });
  cleanups.push(() => oauth.close(), () => google.close());
  const srv = await server({ google_oauth: oauth, google_ads: google });
  const g = await srv.api('POST', '/v1/webhooks', GADS);
  assert.equal(g.status, 201, g.text);
  // Two conversions in quick succession may or may not share a request: the outcome per
  // conversion is the same either way.
  await call(srv, await visitor(srv, 'Cj0KCQiA-good_click'), '+15125550104');
  await call(srv, await visitor(srv, 'BAD-click-id'), '+15125550105');
  await waitFor('both settled', async () => {
    const log = await deliveries(srv, g.json.id);
    return log.some((d) => d.delivered) && log.some((d) => /INVALID_FORMAT/.test(d.error || ''));
  });
  const log = await deliveries(srv, g.json.id);
  const calls = (await srv.api('GET', '/v1/calls')).json.calls;
  const refused = log.filter((d) => /INVALID_FORMAT/.test(d.error || ''));
  assert.equal(refused.length, 1, 'given up once, not retried');
  assert.equal(refused[0].status, 400);
  assert.match(refused[0].error, /refused by Google: INVALID_FORMAT events\[\d\]\.ad_identifiers\.gclid: The gclid could not be decoded/);
  assert.match(refused[0].response, /ad_identifiers\.gclid/, 'the log keeps the violation of this conversion');
  const delivered = log.filter((d) => d.delivered);
  assert.equal(delivered.length, 1);
  assert.notEqual(delivered[0].event_id, refused[0].event_id);
  // The good conversion was in no request answered 2xx twice, the bad one in none after its refusal.
  await srv.advance(3600000);
  await sleep(500);
  const lastBad = google.requests.findLastIndex((r) => r.body.includes('BAD-click-id'));
  assert.equal(google.requests.slice(lastBad + 1).filter((r) => r.body.includes('BAD-click-id')).length, 0);
  assert.equal(events(google).filter((e) => e.adIdentifiers.gclid === 'BAD-click-id').length >= 1, true);
  // The 401: one new token, the request sent again with it, nothing disabled.
  assert.equal(tok.issued.length, 2, 'a new token after the 401, once');
  assert.ok(google.requests.slice(1).some((r) => r.body === google.requests[0].body &&
    r.headers.authorization === `Bearer ${tok.issued[1]}`), 'the refused request sent again with the new token');
  assert.equal((await destination(srv, g.json.id)).enabled, true);
  assert.equal(calls.length, 2);
});

test('a refresh token refused (invalid_grant) or an account without access (403) disables the destination without retrying; a new credential enables it again', async () => {
  const tok = tokenEndpoint();
  tok.refresh = 'never-the-configured-one';
  const oauth = await httpsReceiver(tls, tok.plan);
  let deny = true;
  const google = await httpsReceiver(tls, () => (deny ? { status: 403, body: JSON.stringify({ error: { code: 403,
    message: 'The caller does not have permission', status: 'PERMISSION_DENIED' } }) } : { status: 200, body: '{"requestId":"x"}' }));
  const alerts = await httpsReceiver(tls);
  cleanups.push(() => oauth.close(), () => google.close(), () => alerts.close());
  const srv = await server({ google_oauth: oauth, google_ads: google });
  const g = await srv.api('POST', '/v1/webhooks', GADS);
  const w = await srv.api('POST', '/v1/webhooks', { url: alerts.url + '/alerts', events: ['alert.destination_failing'] });
  assert.equal(w.status, 201, w.text);
  await call(srv, await visitor(srv, 'Cj0KCQiA-click_a'), '+15125550106');
  await waitFor('the destination disabled', async () => !(await destination(srv, g.json.id)).enabled);
  let d = await destination(srv, g.json.id);
  assert.match(d.last_error, /credential rejected by Google \(HTTP 400, invalid_grant: Token has been expired or revoked\.\)/);
  let log = await deliveries(srv, g.json.id);
  assert.equal(log.length, 1);
  assert.equal(log[0].status, 400);
  assert.match(log[0].response, /invalid_grant/);
  for (let i = 0; i < 4; i++) { await srv.advance(3600000); await sleep(100); }
  assert.equal(oauth.requests.length, 1, 'not retried');
  assert.equal(google.requests.length, 0);
  await waitFor('alert.destination_failing', () => alerts.requests.length >= 1);
  assert.match(JSON.parse(alerts.requests[0].body).data.last_error, /invalid_grant/);
  // A new refresh token: enabled again; the account has no access to the customer (403).
  tok.refresh = REFRESH;
  const ok = await srv.api('POST', `/v1/webhooks/${g.json.id}/credential`, { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, refresh_token: REFRESH });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.enabled, true);
  assert.equal((await srv.api('POST', `/v1/webhooks/${g.json.id}/redeliver`, { event_id: log[0].event_id })).status, 202);
  await waitFor('the 403', () => google.requests.length >= 1);
  await waitFor('disabled again', async () => !(await destination(srv, g.json.id)).enabled);
  d = await destination(srv, g.json.id);
  assert.match(d.last_error, /credential rejected by Google \(HTTP 403 PERMISSION_DENIED: The caller does not have permission\)/);
  for (let i = 0; i < 3; i++) { await srv.advance(3600000); await sleep(100); }
  assert.equal(google.requests.length, 1, 'not retried');
  // Access granted in Google Ads, the destination enabled: the conversion goes.
  deny = false;
  assert.equal((await srv.api('POST', `/v1/webhooks/${g.json.id}/enable`)).status, 200);
  log = await deliveries(srv, g.json.id);
  assert.equal((await srv.api('POST', `/v1/webhooks/${g.json.id}/redeliver`, { event_id: log[0].event_id })).status, 202);
  await waitFor('delivered', async () => (await deliveries(srv, g.json.id)).some((x) => x.delivered));
  assert.equal(oauth.requests.length, 3, 'three simulated hours later the cached token had expired: a new one');
});
