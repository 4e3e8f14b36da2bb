// SPDX-License-Identifier: AGPL-3.0-or-later
// A call's recording on its page: an <audio> player whose source is opendni itself
// (GET /v1/calls/{id}/recording, allowed by the app's CSP media-src 'self'), which relays the
// audio from a local HTTPS "provider" checking the account's Basic credentials; the browser plays
// its metadata; axe-core finds no serious violation; a viewer gets no player. A call forwarded
// without a routing plan (record_calls) whose recording callback was stored gets a player too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, TEST_BIN } from './support.mjs';
import { startServer, createAccount, cli, sql, freshDb } from '../helpers/server.mjs';
import { makeTestCa, httpsReceiver } from '../helpers/receivers.mjs';

const TOKEN = 'browser-recording-token-0123456789';
const SID = 'AC' + '12'.repeat(16);
const PW = 'correct horse battery';
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** 1.5 s of a 440 Hz tone, 8 kHz mono 16-bit PCM WAV. */
function wav() {
  const n = 12000;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0); b.writeUInt32LE(36 + n * 2, 4); b.write('WAVE', 8); b.write('fmt ', 12);
  b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(16000, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34); b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)), 44 + i * 2);
  return b;
}
const AUDIO = wav();

const dir = mkdtempSync(join(tmpdir(), 'opendni-brec-'));
const tls = makeTestCa(dir);
let browser, srv, provider, callId, plainId;

function sign(url, params) {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', TOKEN).update(data, 'utf8').digest('base64');
}
async function hook(pathAndQuery, params) {
  const res = await fetch(srv.url + pathAndQuery, { method: 'POST', body: new URLSearchParams(params).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sign(srv.url + pathAndQuery, params) } });
  return { status: res.status, text: await res.text() };
}

before(async () => {
  browser = await launch();
  provider = await httpsReceiver(tls, (req) => {
    if (req.headers.authorization !== 'Basic ' + Buffer.from(`${SID}:${TOKEN}`).toString('base64')) return { status: 401 };
    if (req.path.endsWith('/Recordings/RE7.mp3') || req.path.endsWith('/Recordings/RE8.mp3')) return { status: 200, headers: { 'Content-Type': 'audio/wav' }, body: AUDIO };
    return { status: 404 };
  });
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Brand', ['https://brand.example']);
  assert.equal(cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN, '--twilio-account-sid', SID,
    '--db', db]).status, 0);
  srv = await startServer({ dir: mkdtempSync(join(tmpdir(), 'opendni-brec-srv-')), db, account, bin: TEST_BIN,
    args: ['--outbound-allow-private', '--test-outbound-ca', tls.caFile] });
  const n = await srv.api('POST', '/v1/numbers', { number: '+15125550205', target: '+15555550100',
    forward_to: '+15555550100', source: { source: 'billboard', medium: 'offline', campaign: 'i95' } });
  assert.equal(n.status, 201, n.text);
  const p = await srv.api('POST', '/v1/routing-plans', { name: 'VM', attach: { number: n.json.id },
    last_resort: '+15555550999', steps: [{ type: 'voicemail', say: 'Leave a message.', max_length: 60 }] });
  assert.equal(p.status, 201, p.text);
  const sid = 'CA' + randomBytes(16).toString('hex');
  const call = { AccountSid: SID, CallSid: sid, Direction: 'inbound', From: '+13125550104', To: '+15125550205' };
  const v = await hook('/v1/telephony/twilio/voice', { ...call, CallStatus: 'ringing' });
  const cb = v.text.match(/recordingStatusCallback="([^"]+)"/)[1].replaceAll('&amp;', '&').slice(srv.url.length);
  const rec = await hook(cb, { ...call, CallStatus: 'in-progress', RecordingSid: 'RE7', RecordingStatus: 'completed',
    RecordingUrl: `${provider.url}/2010-04-01/Accounts/${SID}/Recordings/RE7`, RecordingDuration: '2' });
  assert.equal(rec.status, 204, rec.text);
  callId = sql(db, `select ext_id from calls where provider_call_id = '${sid}'`);
  // a call forwarded without a routing plan, recorded under the account's record_calls
  assert.equal(cli(['account', 'set', account.accountId, '--settings', '{"record_calls":true}', '--db', db]).status, 0);
  const plain = await srv.api('POST', '/v1/numbers', { number: '+15125550207', target: '+15555550100',
    forward_to: '+15555550100', source: { source: 'flyer', medium: 'offline', campaign: 'spring' } });
  assert.equal(plain.status, 201, plain.text);
  const psid = 'CA' + randomBytes(16).toString('hex');
  const pcall = { AccountSid: SID, CallSid: psid, Direction: 'inbound', From: '+13125550104', To: '+15125550207' };
  const pv = await hook('/v1/telephony/twilio/voice', { ...pcall, CallStatus: 'ringing' });
  assert.doesNotMatch(pv.text, /<Record /, pv.text);
  const pcb = pv.text.match(/recordingStatusCallback="([^"]+)"/)[1].replaceAll('&amp;', '&').slice(srv.url.length);
  assert.equal(pcb, '/v1/telephony/twilio/recording');
  const prec = await hook(pcb, { AccountSid: SID, CallSid: psid, RecordingSid: 'RE8', RecordingStatus: 'completed',
    RecordingUrl: `${provider.url}/2010-04-01/Accounts/${SID}/Recordings/RE8`, RecordingDuration: '2' });
  assert.equal(prec.status, 204, prec.text);
  plainId = sql(db, `select ext_id from calls where provider_call_id = '${psid}'`);
  for (const [email, role] of [['ana@example.com', 'analyst'], ['vic@example.com', 'viewer']])
    assert.equal(cli(['user', 'add', email, '--account', account.accountId, '--role', role, '--db', db,
      '--password-stdin'], { input: PW + '\n' }).status, 0);
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.cleanup();
  if (provider) await provider.close();
  rmSync(dir, { recursive: true, force: true });
});

async function signedIn(t, email, id = callId) {
  const ctx = await browser.newContext();
  t.after(() => ctx.close());
  await ctx.addInitScript({ path: AXE });
  const p = await ctx.newPage();
  p.errors = [];
  p.csp = [];
  p.on('pageerror', (e) => p.errors.push(String(e)));
  p.on('console', (m) => { if (/Content Security Policy/.test(m.text())) p.csp.push(m.text()); });
  await p.goto(srv.url + '/app/');
  await p.fill('input[name=email]', email);
  await p.fill('input[name=password]', PW);
  await p.click('button[type=submit]');
  await p.waitForSelector('nav a[href="#/calls"]');
  await p.goto(`${srv.url}/app/#/calls/${id}`);
  await p.waitForSelector('.attribution');
  return p;
}

test('an analyst gets a player whose source answers the provider\'s audio through opendni', async (t) => {
  const p = await signedIn(t, 'ana@example.com');
  await p.waitForSelector('audio.recording');
  const src = await p.$eval('audio.recording', (a) => a.src);
  assert.equal(src, `${srv.url}/v1/calls/${callId}/recording`, 'the audio comes from opendni, not the provider');
  assert.ok(!src.includes(provider.url));
  // the player's source, as the browser fetches it (the session cookie, same origin)
  const got = await p.evaluate(async (u) => {
    const r = await fetch(u);
    return { status: r.status, type: r.headers.get('content-type'), length: Number(r.headers.get('content-length')),
      bytes: (await r.arrayBuffer()).byteLength };
  }, src);
  assert.deepEqual(got, { status: 200, type: 'audio/wav', length: AUDIO.length, bytes: AUDIO.length });
  // the browser loads it in the player: the CSP allows media from the app's own origin
  const duration = await p.evaluate(() => new Promise((ok, fail) => {
    const a = document.querySelector('audio.recording');
    a.addEventListener('loadedmetadata', () => ok(a.duration), { once: true });
    a.addEventListener('error', () => fail(new Error('audio error ' + (a.error && a.error.code))), { once: true });
    a.preload = 'auto';
    a.load();
  }));
  assert.ok(Math.abs(duration - 1.5) < 0.05, `duration ${duration}`);
  const problems = await p.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id);
  });
  assert.deepEqual(problems, []);
  assert.deepEqual(p.csp, []);
  assert.deepEqual(p.errors, []);
  const audit = sql(srv.db, 'select actor, action from audit_log order by id');
  assert.match(audit, /ana@example\.com\|GET \/v1\/calls\/\{\}\/recording/);
});

test('a viewer sees that there is a recording, without a player', async (t) => {
  const p = await signedIn(t, 'vic@example.com');
  await p.waitForSelector('.attribution');
  assert.equal(await p.$$eval('audio', (a) => a.length), 0);
  assert.match(await p.textContent('.detail'), /a recording \(0:02\).*listening needs the analyst role/s);
});

test('a call forwarded without a routing plan has a player for its recording too', async (t) => {
  const p = await signedIn(t, 'ana@example.com', plainId);
  await p.waitForSelector('audio.recording');
  const src = await p.$eval('audio.recording', (a) => a.src);
  assert.equal(src, `${srv.url}/v1/calls/${plainId}/recording`);
  const duration = await p.evaluate(() => new Promise((ok, fail) => {
    const a = document.querySelector('audio.recording');
    a.addEventListener('loadedmetadata', () => ok(a.duration), { once: true });
    a.addEventListener('error', () => fail(new Error('audio error ' + (a.error && a.error.code))), { once: true });
    a.preload = 'auto';
    a.load();
  }));
  assert.ok(Math.abs(duration - 1.5) < 0.05, `duration ${duration}`);
  assert.match(await p.textContent('.detail'), /0:02/);
  assert.deepEqual(p.csp, []);
  assert.deepEqual(p.errors, []);
});
