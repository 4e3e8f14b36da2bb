// SPDX-License-Identifier: AGPL-3.0-or-later
// Issue #12 item 2, attribution hijack: a session may only report events on numbers it was
// shown, and a flood of sessions from one client that all "clicked" a shared number cannot take
// a real visitor's call. The flood comes from another loopback address (127.0.0.2: Linux routes
// all of 127/8 to lo), so the server sees two clients without any proxy header.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, sql as storeSql, freshDb } from '../helpers/server.mjs';

const TOKEN = 'hijack-test-auth-token-0123456789';
const SID = 'AC' + 'cd'.repeat(16);
const ORIGIN = 'https://plumber.example';
const DESKTOP_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const MOBILE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 ' +
  '(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const FLOOD = 30;
const GCLID = 'Cj0KCQiA-real_visitor_gclid';
let srv;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-hijack-'));
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Plumber', [ORIGIN]);
  const set = cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]);
  assert.equal(set.status, 0, set.stderr);
  srv = await startServer({ dir, db, account });
});
after(async () => { if (srv) await srv.cleanup(); });

const sql = (q) => storeSql(srv.db, q);

/** POST a JSON body from a chosen local address (the client the server sees). */
function postFrom(localAddress, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port: srv.port, localAddress, method: 'POST', path,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), Origin: ORIGIN, ...headers } },
    (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch {}
        resolve({ status: res.statusCode, json, text });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

function sign(url, params) {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', TOKEN).update(data, 'utf8').digest('base64');
}
async function hook(path, params) {
  const res = await fetch(srv.url + path, { method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sign(srv.url + path, params) },
    body: new URLSearchParams(params).toString() });
  return { status: res.status, text: await res.text() };
}

async function pool(target, numbers) {
  const p = await srv.api('POST', '/v1/pools', { name: `pool-${target}`, target, lease_ttl: 1200, cooldown: 1800, on_exhaust: 'share' });
  assert.equal(p.status, 201, p.text);
  for (const n of numbers) assert.equal((await srv.api('POST', '/v1/numbers', { number: n, pool: p.json.id })).status, 201);
}

const visit = (from, ua, url) => postFrom(from, '/v1/visits', { account: srv.accountId, url, targets: null }, { 'User-Agent': ua });
const event = (from, session, body) => postFrom(from, `/v1/visits/${encodeURIComponent(session)}/events`, body, { 'User-Agent': DESKTOP_UA });

test('an event naming a number the session was never shown gets 400 and stores nothing', async () => {
  await pool('+15555550500', ['+15555550501', '+15555550502']);
  const v = await visit('127.0.0.1', DESKTOP_UA, `${ORIGIN}/`);
  assert.equal(v.status, 200, v.text);
  const shown = v.json.numbers.find((n) => n.target === '+15555550500').number;
  const notShown = shown === '+15555550501' ? '+15555550502' : '+15555550501';
  const before = sql('select count(*) from events');
  for (const number of ['+44 20 7946 0958', notShown, '+15555550199']) {
    const r = await event('127.0.0.1', v.json.session_id, { type: 'tel_click', number });
    assert.equal(r.status, 400, `${number}: ${r.text}`);
    assert.equal(r.json.error.code, 'invalid');
    assert.equal(r.json.error.field, 'number');
  }
  const copy = await event('127.0.0.1', v.json.session_id, { type: 'number_copy', number: notShown });
  assert.equal(copy.status, 400, 'every event type that names a number is checked');
  assert.equal(sql('select count(*) from events'), before, 'nothing stored');
  // What it was shown is accepted: its pool number, and the target number itself (static).
  assert.equal((await event('127.0.0.1', v.json.session_id, { type: 'tel_click', number: shown })).status, 202);
  assert.equal((await event('127.0.0.1', v.json.session_id, { type: 'swap_miss', number: '+15555550500' })).status, 202);
  assert.equal((await event('127.0.0.1', v.json.session_id, { type: 'chat_started', number: null })).status, 202);
  assert.equal(Number(sql('select count(*) from events')), Number(before) + 3);
});

test('a flood of sessions from one address that all clicked a shared number cannot take a real visitor\'s call', async () => {
  await pool('+15555550400', ['+15555550401']);
  // The real visitor, from a paid click, on a phone; it dials without tapping the link.
  const real = await visit('127.0.0.1', MOBILE_UA, `${ORIGIN}/?utm_source=google&utm_medium=cpc&gclid=${GCLID}`);
  assert.equal(real.status, 200, real.text);
  const number = real.json.numbers.find((n) => n.target === '+15555550400').number;
  assert.equal(number, '+15555550401');
  // The flood: fresh sessions (no cookies) from one other address, a desktop browser's UA, an
  // allowed Origin; each one that was shown the number reports a tel: click on it.
  let clicked = 0;
  for (let i = 0; i < FLOOD; i++) {
    const f = await visit('127.0.0.2', DESKTOP_UA, `${ORIGIN}/?utm_source=spam&i=${i}`);
    if (f.status !== 200) continue;
    const n = f.json.numbers.find((x) => x.target === '+15555550400');
    if (!n || n.number !== number) continue;
    const ev = await event('127.0.0.2', f.json.session_id, { type: 'tel_click', number });
    if (ev.status === 202) clicked++;
  }
  console.log(`flood sessions that shared the real visitor's number and clicked it: ${clicked}/${FLOOD}`);
  const sid = 'CA' + randomBytes(16).toString('hex');
  const p = { AccountSid: SID, ApiVersion: '2010-04-01', CallSid: sid, CallStatus: 'ringing', Called: number,
    Caller: '+15125550177', Direction: 'inbound', From: '+15125550177', To: number };
  assert.equal((await hook('/v1/telephony/twilio/voice', p)).status, 200);
  const done = await hook('/v1/telephony/twilio/status', { ...p, CallStatus: 'completed', CallDuration: '95', SequenceNumber: '3',
    CallbackSource: 'call-progress-events' });
  assert.ok(done.status === 200 || done.status === 204, done.text);
  const ext = sql(`select ext_id from calls where provider_call_id = '${sid}'`);
  const c = (await srv.api('GET', `/v1/calls/${ext}`)).json;
  console.log(`attribution: ${c.attribution.method} ${c.attribution.confidence} (${c.attribution.reason})`);
  assert.equal(c.attribution.session_id, real.json.session_id, 'the real visitor is credited');
  assert.equal(c.attribution.click_ids.gclid, GCLID);
  const since = new Date(Date.now() - 3600e3).toISOString();
  const until = new Date(Date.now() + 3600e3).toISOString();
  const exported = async () => {
    const csv = await srv.api('GET', `/v1/exports/google-ads/click-conversions.csv?since=${since}&until=${until}`);
    assert.equal(csv.status, 200, csv.text);
    return csv.text;
  };
  // A shared credit this uncertain is not sent to Google Ads under the default rule (shared
  // calls need confidence 0.8): neither the real gclid nor anything of the flood.
  assert.equal((await exported()).trim().split('\r\n').length, 2, 'the header rows only, by default');
  // An account that asks for every shared credit gets the real visitor's click, never the flood's.
  const r = cli(['account', 'set', srv.accountId, '--db', srv.db, '--settings',
    JSON.stringify({ conversion: { google_ads: { methods: ['exact', 'shared', 'source'], min_confidence: 0 } } })]);
  assert.equal(r.status, 0, r.stderr);
  const text = await exported();
  assert.match(text, new RegExp(`^${GCLID},`, 'm'), 'the real gclid is exported');
  assert.equal(text.trim().split('\r\n').length, 3, 'one row: the real visitor\'s');
});
