// SPDX-License-Identifier: AGPL-3.0-or-later
// Outbound messages through the real server (API.md "Outbound webhooks"): the webhooks API,
// signed deliveries to a local HTTPS receiver trusted through a CA made by the test, retries
// with the same event id across failures and two kill -9s, the delivery log, the 3-day
// disabling with alert.destination_failing, alert.pool_exhausted once per cool-down by
// webhook, Slack format and email (a local SMTP receiver), and /v1/stream's single
// call.completed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, freshDb, sql as storeSql } from '../helpers/server.mjs';
import { makeTestCa, httpsReceiver, smtpReceiver, verifySignature } from '../helpers/receivers.mjs';

const TOKEN = 'webhooks-test-auth-token-0123456789';
const SID = 'AC' + 'cd'.repeat(16);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'opendni-webhooks-'));
let tls;
const cleanups = [];
before(() => { tls = makeTestCa(dir); });
after(async () => { for (const c of cleanups.reverse()) await c(); });

async function server(extra = []) {
  const d = mkdtempSync(join(dir, 'srv-'));
  const db = freshDb(d);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Plumber', ['https://plumber.example']);
  assert.equal(cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]).status, 0);
  const s = await startServer({ dir: d, db, account,
    args: ['--outbound-allow-private', '--test-outbound-ca', tls.caFile, ...extra] });
  cleanups.push(() => s.cleanup());
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
/** One call: the inbound webhook, then the caller leg completed after 90 s (a conversion). */
async function call(srv, to, from) {
  const p = { AccountSid: SID, CallSid: 'CA' + randomBytes(16).toString('hex'), CallStatus: 'ringing',
    From: from, To: to, Direction: 'inbound', ApiVersion: '2010-04-01' };
  assert.equal(await hook(srv, '/v1/telephony/twilio/voice', p), 200);
  assert.equal(await hook(srv, '/v1/telephony/twilio/status',
    { ...p, CallStatus: 'completed', CallDuration: '90', SequenceNumber: '3' }), 204);
  return p;
}
const sql = (srv, q) => storeSql(srv.db, q);

async function sourceNumber(srv, number) {
  const r = await srv.api('POST', '/v1/numbers', { number, target: '+15555550100', forward_to: '+15555550100',
    source: { source: 'billboard', medium: 'offline', campaign: 'i95' } });
  assert.equal(r.status, 201, r.text);
}

/** Advances the server clock step by step until done() holds (the sender polls every 200 ms). */
async function until(srv, done, stepMs, what, rounds = 400, pauseMs = 60) {
  for (let i = 0; i < rounds; i++) {
    if (await done()) return;
    await srv.advance(stepMs);
    await sleep(pauseMs);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('webhooks API: create (secret once), list, get, validation, delete', async () => {
  const srv = await server();
  const bad = [
    [{ url: 'ftp://x.example/h', events: ['call.completed'] }, 'url'],
    [{ url: 'https://x.example/h', events: [] }, 'events'],
    [{ url: 'https://x.example/h', events: ['call.exploded'] }, 'events'],
    [{ url: 'https://x.example/h', events: ['call.completed'], format: 'xml' }, 'format'],
    [{ url: 'https://x.example/h', events: 'call.completed' }, 'events'],
    [{ url: 'mailto:nobody', events: ['summary.daily'], format: 'email' }, 'url'],
    [{ events: ['call.completed'] }, 'url'],
  ];
  for (const [body, field] of bad) {
    const r = await srv.api('POST', '/v1/webhooks', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error.field, field, JSON.stringify(body));
  }
  assert.equal((await srv.api('POST', '/v1/webhooks', '{"url":')).status, 400);
  assert.equal((await srv.api('POST', '/v1/webhooks', { url: 'https://x.example/h', events: ['call.completed'] }, 'nokey')).status, 401);
  const r = await srv.api('POST', '/v1/webhooks', { url: 'https://x.example/h', events: ['call.completed', 'conversion.created'] });
  assert.equal(r.status, 201, r.text);
  assert.match(r.json.id, /^wh_/);
  assert.match(r.json.secret, /^whsec_[a-z0-9]{32}$/);
  assert.deepEqual(r.json.events, ['call.completed', 'conversion.created']);
  // Stored sealed under the secrets key, never in clear (as provider secrets are).
  const stored = sql(srv, `select secret from destinations where ext_id = '${r.json.id}'`);
  assert.match(stored, /^enc1:/);
  assert.ok(!stored.includes(r.json.secret.slice(6)), 'the secret is not in the row');
  const list = await srv.api('GET', '/v1/webhooks');
  assert.equal(list.json.webhooks.length, 1);
  assert.equal(list.json.webhooks[0].secret, undefined, 'the secret is shown once');
  assert.equal((await srv.api('GET', `/v1/webhooks/${r.json.id}`)).json.url, 'https://x.example/h');
  assert.equal((await srv.api('GET', '/v1/webhooks/wh_nope/deliveries')).status, 404);
  assert.equal((await srv.api('GET', `/v1/webhooks/${r.json.id}/deliveries?limit=0`)).status, 400);
  assert.equal((await srv.api('DELETE', `/v1/webhooks/${r.json.id}`)).status, 204);
  assert.equal((await srv.api('DELETE', `/v1/webhooks/${r.json.id}`)).status, 404);
  assert.equal((await srv.api('GET', '/v1/webhooks')).json.webhooks.length, 0);
});

test('the private-address rule: without --outbound-allow-private a loopback receiver is refused', async () => {
  const d = mkdtempSync(join(dir, 'strict-'));
  const db = freshDb(d);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Strict', ['https://strict.example']);
  const srv = await startServer({ dir: d, db, account, args: ['--test-outbound-ca', tls.caFile] });
  cleanups.push(() => srv.cleanup());
  const rx = await httpsReceiver(tls);
  cleanups.push(() => rx.close());
  assert.equal((await srv.api('POST', '/v1/webhooks', { url: rx.url.replace('https', 'http'), events: ['call.started'] })).status, 400);
  const w = await srv.api('POST', '/v1/webhooks', { url: rx.url + '/h', events: ['call.started'] });
  assert.equal(w.status, 201, w.text);
  assert.equal((await srv.api('POST', `/v1/webhooks/${w.json.id}/test`)).status, 202);
  let log;
  for (let i = 0; i < 100; i++) {
    log = (await srv.api('GET', `/v1/webhooks/${w.json.id}/deliveries`)).json.deliveries;
    if (log.length) break;
    await sleep(50);
  }
  assert.equal(log.length, 1);
  assert.equal(log[0].status, null);
  assert.match(log[0].error, /private/);
  assert.equal(rx.requests.length, 0, 'nothing reached the loopback receiver');
});

test('test send, signature, Slack and a TLS failure show in the delivery log', async () => {
  const srv = await server();
  const rx = await httpsReceiver(tls);
  cleanups.push(() => rx.close());
  const w = await srv.api('POST', '/v1/webhooks', { url: rx.url + '/hook', events: ['call.completed'] });
  const slack = await srv.api('POST', '/v1/webhooks', { url: rx.url + '/slack', events: ['call.completed'], format: 'slack' });
  const t = await srv.api('POST', `/v1/webhooks/${w.json.id}/test`);
  assert.equal(t.status, 202);
  assert.equal((await srv.api('POST', `/v1/webhooks/${slack.json.id}/test`)).status, 202);
  for (let i = 0; i < 100 && rx.requests.length < 2; i++) await sleep(50);
  const got = rx.requests.find((r) => r.path === '/hook');
  assert.equal(got.headers['content-type'], 'application/json');
  assert.equal(got.headers['opendni-event-id'], t.json.event_id);
  assert.equal(got.headers['opendni-delivery'], '1');
  assert.ok(verifySignature(w.json.secret, got.headers['opendni-signature'], got.body, Math.floor(Date.now() / 1000)));
  assert.ok(!verifySignature('whsec_wrong', got.headers['opendni-signature'], got.body, null));
  const body = JSON.parse(got.body);
  assert.equal(body.id, t.json.event_id);
  assert.equal(body.type, 'webhook.test');
  assert.equal(body.account, srv.accountId);
  assert.match(body.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.equal(body.data.status, 'completed');
  const s = rx.requests.find((r) => r.path === '/slack');
  assert.equal(typeof JSON.parse(s.body).text, 'string');
  assert.equal(s.headers['opendni-signature'], undefined);
  // A receiver whose certificate the server does not trust: TLS fails, the log says so.
  const other = makeTestCa(mkdtempSync(join(dir, 'ca2-')));
  const rogue = await httpsReceiver(other);
  cleanups.push(() => rogue.close());
  const r = await srv.api('POST', '/v1/webhooks', { url: rogue.url + '/x', events: ['call.completed'] });
  await srv.api('POST', `/v1/webhooks/${r.json.id}/test`);
  let log = [];
  for (let i = 0; i < 100 && !log.length; i++) {
    log = (await srv.api('GET', `/v1/webhooks/${r.json.id}/deliveries`)).json.deliveries;
    await sleep(50);
  }
  assert.equal(log[0].delivered, false);
  assert.match(log[0].error, /certificate|SSL|TLS/i);
  assert.equal(rogue.requests.length, 0);
});

test('/v1/stream sends call.completed once, though both legs report a final status', async () => {
  const srv = await server();
  await sourceNumber(srv, '+15555550301');
  const ac = new AbortController();
  const res = await fetch(srv.url + '/v1/stream', { headers: { Authorization: `Bearer ${srv.apiKey}` }, signal: ac.signal });
  let events = '';
  const reading = (async () => { try { for await (const c of res.body) events += new TextDecoder().decode(c); } catch {} })();
  // The listener is registered once the stream greets (a loaded machine may take a while).
  for (let i = 0; i < 200 && !/: connected/.test(events); i++) await sleep(25);
  assert.match(events, /: connected/);
  const p = await call(srv, '+15555550301', '+15125550400');
  assert.equal(await hook(srv, '/v1/telephony/twilio/dial', { ...p, CallStatus: 'in-progress',
    DialCallSid: 'CA' + randomBytes(16).toString('hex'), DialCallStatus: 'completed', DialCallDuration: '70' }), 200);
  for (let i = 0; i < 200 && !/conversion\.created/.test(events); i++) await sleep(50);
  await sleep(300);
  ac.abort();
  await reading;
  assert.equal((events.match(/event: call\.completed\n/g) || []).length, 1, events);
  assert.equal((events.match(/event: call\.started\n/g) || []).length, 1);
  assert.equal((events.match(/event: conversion\.created\n/g) || []).length, 1);
});

test('200 calls, every event failing three times, two kill -9s: each delivered, signed, logged', async () => {
  const srv = await server();
  await sourceNumber(srv, '+15555550302');
  // The first three answers to every event fail: 500, 429 with Retry-After, 503.
  const faults = [{ status: 500 }, { status: 429, headers: { 'Retry-After': '30' } }, { status: 503 }];
  const rx = await httpsReceiver(tls, (req, n) => (n < 3 ? faults[n] : { status: 200 }));
  cleanups.push(() => rx.close());
  const w = await srv.api('POST', '/v1/webhooks', { url: rx.url + '/hook',
    events: ['call.started', 'call.completed', 'conversion.created'] });
  assert.equal(w.status, 201);
  const kills = [];
  for (let i = 0; i < 200; i++) {
    await call(srv, '+15555550302', `+1512555${String(1000 + i).padStart(4, '0')}`);
    if (i === 70 || i === 140) {
      await srv.advance(15000); // some retries are due while the server dies
      await sleep(150);
      kills.push(Date.now());
      await srv.kill9();
      await srv.start();
    }
  }
  const expected = new Set(sql(srv, 'select event_id from outbox_events').split('\n'));
  assert.equal(expected.size, 600, 'three events per call, written with the call');
  const ok = () => new Set(rx.requests.filter((r) => r.status === 200).map((r) => r.headers['opendni-event-id']));
  await until(srv, () => ok().size >= 600, 61000, 'every event delivered', 600);
  // Every event received, with a valid signature, the same id in header and body on each try.
  for (const r of rx.requests) {
    assert.ok(verifySignature(w.json.secret, r.headers['opendni-signature'], r.body, null));
    assert.equal(JSON.parse(r.body).id, r.headers['opendni-event-id']);
  }
  for (const id of expected) assert.ok(ok().has(id), `event ${id} delivered`);
  const byEvent = new Map();
  for (const r of rx.requests) {
    const id = r.headers['opendni-event-id'];
    byEvent.set(id, [...(byEvent.get(id) || []), r]);
  }
  for (const [id, rs] of byEvent) {
    assert.ok(rs.length >= 4, `event ${id}: three failures then a success`);
    // Each attempt has a number of its own. Arrival order is not asserted: an attempt sent by a
    // process being killed can reach the receiver after its successor's (seen once under load:
    // 1,2,3,5,4).
    const n = rs.map((r) => Number(r.headers['opendni-delivery']));
    assert.equal(new Set(n).size, n.length, `event ${id}: OpenDNI-Delivery numbers repeat: ${n}`);
    assert.ok(n.every((x) => Number.isInteger(x) && x >= 1), `event ${id}: ${n}`);
    assert.equal(new Set(rs.map((r) => r.body)).size, 1, 'the same body on every retry');
  }
  // The delivery log has a row for every attempt the receiver answered, but those whose answer
  // arrived as the server was being killed.
  // The sender records an attempt's answer at its next step (one transaction with the next
  // claim), which a loaded machine can delay by seconds: an attempt answered that long before a
  // kill may still be unlogged, and the last answers are logged a step after they arrived.
  const cut = (m) => kills.some((k) => m.at <= k + 1500 && k - m.at < 5000);
  let log = [];
  let missing = [];
  for (const stop = Date.now() + 15000; ;) {
    log = [];
    let cursor = '';
    for (;;) {
      const page = await srv.api('GET', `/v1/webhooks/${w.json.id}/deliveries?limit=1000${cursor}`);
      log.push(...page.json.deliveries);
      if (!page.json.next_cursor) break;
      cursor = `&cursor=${page.json.next_cursor}`;
    }
    const logged = new Set(log.map((d) => `${d.event_id}/${d.attempt}`));
    missing = rx.requests.filter((r) => !logged.has(`${r.headers['opendni-event-id']}/${r.headers['opendni-delivery']}`));
    if (missing.every(cut) || Date.now() > stop) break;
    await sleep(200);
  }
  for (const m of missing) assert.ok(cut(m), `an unlogged attempt was cut by a kill (${m.headers['opendni-event-id']}/${m.headers['opendni-delivery']}, ${kills.map((k) => m.at - k)} ms from the kills)`);
  const statuses = new Map(log.map((d) => [`${d.event_id}/${d.attempt}`, d.status]));
  for (const r of rx.requests) {
    const s = statuses.get(`${r.headers['opendni-event-id']}/${r.headers['opendni-delivery']}`);
    if (s !== undefined) assert.equal(s, r.status, 'the log has the answer the receiver gave');
  }
  assert.ok(log.every((d) => d.latency_ms >= 0 && typeof d.response === 'string'));
  console.log(`# 200 calls: ${rx.requests.length} requests for 600 events, ${log.length} logged, ${missing.length} cut by the kills`);
});

test('a claim whose commit fails sends nothing: an attempt number is never sent twice', async () => {
  const srv = await server();
  await sourceNumber(srv, '+15555550305');
  const rx = await httpsReceiver(tls, (req, n) => ({ status: n === 0 ? 500 : 200 }));
  cleanups.push(() => rx.close());
  const w = await srv.api('POST', '/v1/webhooks', { url: rx.url + '/hook', events: ['call.started'] });
  assert.equal(w.status, 201);
  await call(srv, '+15555550305', '+15125550999');
  const logged = async () => (await srv.api('GET', `/v1/webhooks/${w.json.id}/deliveries`)).json.deliveries;
  for (let i = 0; i < 100 && (await logged()).length < 1; i++) await sleep(50);
  assert.equal((await logged()).length, 1, 'the first attempt (500) is recorded');
  // The retry comes due while every commit fails (a full disk): the sender claims it at each
  // step, and each claim rolls back; nothing may reach the receiver before a claim is on disk.
  const faults = async (f) => assert.equal((await srv.api('POST', '/v1/test/faults', f, null)).status, 200);
  await faults({ visit_commit: true });
  await srv.advance(120000);
  await sleep(1000);
  assert.equal(rx.requests.length, 1, 'no send of a claim that did not commit');
  await faults({ visit_commit: false });
  for (let i = 0; i < 100 && rx.requests.length < 2; i++) await sleep(50);
  await srv.advance(120000); // past any lease: a second claim of the same attempt would show now
  await sleep(500);
  assert.deepEqual(rx.requests.map((r) => Number(r.headers['opendni-delivery'])), [1, 2]);
  assert.deepEqual(rx.requests.map((r) => r.status), [500, 200]);
});

test('a destination failing for 3 days is disabled and raises alert.destination_failing; redelivery', async () => {
  const smtp = await smtpReceiver();
  cleanups.push(() => smtp.close());
  const srv = await server(['--smtp-url', smtp.url, '--smtp-from', 'alerts@opendni.test']);
  await sourceNumber(srv, '+15555550303');
  const rx = await httpsReceiver(tls, (req) => (req.path === '/down' ? { status: 500 } : { status: 200 }));
  cleanups.push(() => rx.close());
  const down = await srv.api('POST', '/v1/webhooks', { url: rx.url + '/down', events: ['call.completed'] });
  const ops = await srv.api('POST', '/v1/webhooks', { url: rx.url + '/ops', events: ['alert.destination_failing'] });
  const mail = await srv.api('POST', '/v1/webhooks', { url: 'mailto:ops@plumber.example', format: 'email', events: ['alert.destination_failing'] });
  assert.equal(mail.status, 201, mail.text);
  await call(srv, '+15555550303', '+15125550500');
  const alerts = () => rx.requests.filter((r) => r.path === '/ops');
  await until(srv, async () => alerts().length > 0, 3600 * 1000, 'alert.destination_failing', 110, 150);
  const a = JSON.parse(alerts()[0].body);
  assert.equal(a.type, 'alert.destination_failing');
  assert.equal(a.data.destination, down.json.id);
  assert.ok(verifySignature(ops.json.secret, alerts()[0].headers['opendni-signature'], alerts()[0].body, null));
  const d = (await srv.api('GET', `/v1/webhooks/${down.json.id}`)).json;
  assert.equal(d.enabled, false);
  const tries = rx.requests.filter((r) => r.path === '/down').length;
  assert.ok(tries > 10, `retried with backoff (${tries} tries in 3 days)`);
  for (let i = 0; i < 100 && !smtp.mails.length; i++) await sleep(50);
  // One alert, delivered at least once: while the test clock jumps an hour a step, a send in
  // flight can outlive its claim and go out again (seen on PostgreSQL under load) — the same
  // event, the same Message-ID, which mail readers fold into one.
  assert.ok(smtp.mails.length >= 1);
  const ids = new Set(smtp.mails.map((m) => (m.data.match(/Message-ID: <(evt_[a-z0-9]+)@opendni>/) || [])[1]));
  assert.equal(ids.size, 1, [...ids].join(' '));
  assert.ok([...ids][0], 'a Message-ID naming the event');
  assert.match(smtp.mails[0].data, /Subject: \[opendni\] alert\.destination_failing/);
  assert.deepEqual(smtp.mails[0].to, ['<ops@plumber.example>']);
  // Disabled: nothing more is tried; enabled again and redelivered by hand, it is delivered.
  await srv.advance(7200 * 1000);
  await sleep(400);
  assert.equal(rx.requests.filter((r) => r.path === '/down').length, tries);
  assert.equal(alerts().length, 1, 'one alert');
  const log = (await srv.api('GET', `/v1/webhooks/${down.json.id}/deliveries`)).json.deliveries;
  assert.equal(log.length, tries);
  assert.equal((await srv.api('POST', `/v1/webhooks/${down.json.id}/enable`)).json.enabled, true);
  assert.equal((await srv.api('POST', `/v1/webhooks/${down.json.id}/redeliver`, { event_id: 'evt_nope' })).status, 404);
  const rd = await srv.api('POST', `/v1/webhooks/${down.json.id}/redeliver`, { event_id: log[0].event_id });
  assert.equal(rd.status, 202, rd.text);
  for (let i = 0; i < 100 && rx.requests.filter((r) => r.path === '/down').length === tries; i++) await sleep(50);
  assert.equal(rx.requests.filter((r) => r.path === '/down').at(-1).headers['opendni-event-id'], log[0].event_id);
});

test('an exhausted pool raises one alert per cool-down: webhook, Slack format and email', async () => {
  const smtp = await smtpReceiver();
  cleanups.push(() => smtp.close());
  const srv = await server(['--smtp-url', smtp.url, '--smtp-from', 'alerts@opendni.test']);
  const rx = await httpsReceiver(tls);
  cleanups.push(() => rx.close());
  const p = await srv.api('POST', '/v1/pools', { name: 'tiny', target: '+15555550100', forward_to: '+15555550100',
    lease_ttl: 600, cooldown: 60, on_exhaust: 'share' });
  assert.equal(p.status, 201, p.text);
  assert.equal((await srv.api('POST', '/v1/numbers', { number: '+15555550304', pool: p.json.id })).status, 201);
  const events = ['alert.pool_exhausted'];
  const wh = await srv.api('POST', '/v1/webhooks', { url: rx.url + '/hook', events });
  await srv.api('POST', '/v1/webhooks', { url: rx.url + '/slack', events, format: 'slack' });
  await srv.api('POST', '/v1/webhooks', { url: 'mailto:ops@plumber.example', events, format: 'email' });
  const visits = async (n) => { for (let i = 0; i < n; i++) assert.equal((await srv.visit({ url: 'https://plumber.example/' })).status, 200); };
  const hooks = () => rx.requests.filter((r) => r.path === '/hook');
  // One alert is one event: at-least-once delivery may repeat an event (a send whose result was
  // not yet recorded when the test clock jumps past its claim's lease), never make a second one.
  const eventIds = (reqs) => new Set(reqs.map((r) => { assert.ok(r.headers['opendni-event-id']); return r.headers['opendni-event-id']; }));
  const recorded = async () => { // every alert's attempt is in the delivery log
    for (let i = 0; i < 100; i++) {
      const ds = (await srv.api('GET', '/v1/webhooks')).json.webhooks;
      const logs = await Promise.all(ds.map((d) => srv.api('GET', `/v1/webhooks/${d.id}/deliveries`)));
      if (logs.every((l) => l.json.deliveries.length >= 1)) return;
      await sleep(50);
    }
    assert.fail('the alert\'s deliveries were not recorded');
  };
  await visits(12);
  await srv.advance(61000);
  for (let i = 0; i < 100 && (rx.requests.length < 2 || !smtp.mails.length); i++) await sleep(50);
  await recorded();
  await visits(12); // still exhausted: no second alert within the cool-down
  await srv.advance(61000);
  await sleep(500);
  await srv.advance(61000);
  await sleep(500);
  assert.equal(eventIds(hooks()).size, 1, 'one webhook alert, not one per visit');
  const a = JSON.parse(hooks()[0].body);
  assert.equal(a.type, 'alert.pool_exhausted');
  assert.equal(a.data.pool, p.json.id);
  assert.ok(a.data.exhaustion_events >= 11);
  assert.ok(a.data.numbers_short >= 1);
  assert.ok(verifySignature(wh.json.secret, hooks()[0].headers['opendni-signature'], hooks()[0].body, null));
  const slack = rx.requests.filter((r) => r.path === '/slack');
  assert.equal(slack.length, 1); // no event id in Slack's format: recorded() left no lease to run out
  assert.match(JSON.parse(slack[0].body).text, /pool "tiny" ran out of numbers/);
  assert.equal(new Set(smtp.mails.map((m) => (m.data.match(/Message-ID: <(evt_[a-z0-9]+)@opendni>/) || [])[1])).size, 1);
  assert.match(smtp.mails[0].data, /Subject: \[opendni\] alert\.pool_exhausted/);
  assert.match(smtp.mails[0].data, /pool "tiny" ran out of numbers/);
  // After the cool-down, new exhaustion alerts again.
  await srv.advance(3600 * 1000);
  await visits(3);
  await srv.advance(61000);
  for (let i = 0; i < 100 && eventIds(hooks()).size < 2; i++) await sleep(50);
  assert.equal(eventIds(hooks()).size, 2);
});
