// SPDX-License-Identifier: AGPL-3.0-or-later
// Ping-post auctions (issue #15; docs/routing.md "Ping-post") through the real server with signed
// Twilio webhooks and three local HTTPS bid servers (opendni's TLS verification on, through the
// test CA): one answers after the deadline, one answers an invalid bid, one a valid bid; the
// valid one wins, its post names the destination, the call is dialled there and the price is
// on the call. An auction without a valid bid falls back to the plan's next step. The webhook
// waits (suspended) for the auction and is answered within the deadline plus a margin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, sql as storeSql, freshDb } from '../helpers/server.mjs';
import { makeTestCa, httpsReceiver } from '../helpers/receivers.mjs';

const TOKEN = 'pingpost-test-auth-token-0123456789';
const SID = 'AC' + 'ef'.repeat(16);
const LAST = '+15555550999';
const DEADLINE = 600; // ms: short, so the slow buyer is past it quickly
const PROTO = 'opendni-ping-post/1';
let srv, tls, slow, bad, good, none;

const json = (status, body) => ({ status, headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body) });
// Each buyer's signing secret, as its plan's answer showed it once (one per buyer id).
const buyerSecrets = {};
const remember = (plan) => { for (const t of plan.targets) if (t.signing_secret) buyerSecrets[t.id] = t.signing_secret; };
let verifiedRequests = 0;
// docs/routing.md "Ping-post": the buyer's check of OpenDNI-Signature.
function signedBy(secret, req) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(req.headers['opendni-signature'] || '');
  if (!m || Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false;
  const want = createHmac('sha256', secret).update(`${m[1]}.${req.body}`).digest();
  return timingSafeEqual(want, Buffer.from(m[2], 'hex'));
}
// The buyers: each answers pings at /ping and posts at /post, and refuses (401) a request whose
// signature does not verify with the secret its plan showed.
function buyer(onPing, onPost) {
  return (req) => {
    const body = JSON.parse(req.body);
    const secret = buyerSecrets[body.buyer];
    if (!secret || !signedBy(secret, req)) return json(401, { error: 'bad signature' });
    verifiedRequests++;
    return req.path === '/ping' ? onPing(body) : onPost(body);
  };
}

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-pingpost-'));
  tls = makeTestCa(dir);
  slow = await httpsReceiver(tls, buyer(() => ({ hang: true }), () => json(200, {})));
  bad = await httpsReceiver(tls, buyer(() => json(200, { protocol: PROTO, bid: { id: 'b!d', price: 'lots' } }),
    () => json(200, { accepted: true, destination: '+15555550302' })));
  good = await httpsReceiver(tls, buyer(
    (b) => json(200, { protocol: PROTO, bid: { id: `g-${b.auction_id.slice(-6)}`, price: 2500 } }),
    (b) => json(200, { protocol: PROTO, accepted: true, bid_id: b.bid.id, destination: 'sip:agent-7@127.0.0.1:5061' })));
  none = await httpsReceiver(tls, buyer(() => ({ status: 204 }), () => json(200, {})));
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Network', ['https://network.example']);
  const set = cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID, '--db', db]);
  assert.equal(set.status, 0, set.stderr);
  srv = await startServer({ dir, db, account,
    args: ['--outbound-allow-private', '--test-outbound-ca', tls.caFile] });
});
after(async () => {
  if (srv) await srv.cleanup();
  for (const r of [slow, bad, good, none]) if (r) await r.close();
});

const callSid = () => 'CA' + randomBytes(16).toString('hex');
function sign(url, params) {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', TOKEN).update(data, 'utf8').digest('base64');
}
async function hook(pathAndQuery, params) {
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded',
    'X-Twilio-Signature': sign(srv.url + pathAndQuery, params) };
  const res = await fetch(srv.url + pathAndQuery, { method: 'POST', headers,
    body: new URLSearchParams(params).toString() });
  return { status: res.status, text: await res.text() };
}
const base = (to, from, sid) => ({ AccountSid: SID, CallSid: sid, CallStatus: 'ringing',
  Direction: 'inbound', From: from, To: to });
function callback(xml) {
  const m = xml.match(/action="([^"]+)"/);
  assert.ok(m, `no action in ${xml}`);
  return m[1].replaceAll('&amp;', '&').slice(srv.url.length);
}
async function callOf(sid) {
  const ext = storeSql(srv.db, `select ext_id from calls where provider_call_id = '${sid}'`);
  assert.ok(ext, `no call stored for ${sid}`);
  const r = await srv.api('GET', `/v1/calls/${ext}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}
async function number(n) {
  const r = await srv.api('POST', '/v1/numbers', { number: n, target: '+15555550100',
    forward_to: '+15555550100', source: { source: 'radio', medium: 'offline', campaign: 'kxan-am' } });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
}
const buyers = () => [
  { id: 'slow', number: '+15555550301', bid_url: `${slow.url}/ping`, post_url: `${slow.url}/post` },
  { id: 'bad', number: '+15555550302', bid_url: `${bad.url}/ping`, post_url: `${bad.url}/post` },
  { id: 'good', number: '+15555550303', bid_url: `${good.url}/ping`, post_url: `${good.url}/post`,
    min_duration: 60 },
  { id: 'house', number: '+15555550304', priority: 1 },
];

test('plans: ping_post needs buyers with a bid_url; bad URLs, deadlines and reserves are 400', async () => {
  const num = await number('+15125550400');
  for (const body of [
    { targets: [{ id: 'x', number: '+15555550301' }], steps: [{ type: 'distribute', method: 'ping_post' }] },
    { targets: [{ id: 'x', number: '+15555550301', bid_url: 'ftp://buyer.example/ping' }],
      steps: [{ type: 'distribute', method: 'ping_post' }] },
    { targets: [{ id: 'x', number: '+15555550301', post_url: 'https://buyer.example/post' }],
      steps: [{ type: 'distribute' }] },
    { targets: buyers(), steps: [{ type: 'distribute', method: 'ping_post', deadline_ms: 20 }] },
    { targets: buyers(), steps: [{ type: 'distribute', method: 'ping_post', reserve: -1 }] },
  ]) {
    const r = await srv.api('POST', '/v1/routing-plans', { name: 'x', attach: { number: num }, last_resort: LAST, ...body });
    assert.equal(r.status, 400, JSON.stringify(body) + r.text);
    assert.ok(['steps', 'targets'].includes(r.json.error.field), r.text);
  }
  assert.equal((await srv.api('GET', '/v1/routing-plans')).json.routing_plans.length, 0);
});

test('an auction with three buyers (slow, invalid, valid) is won by the valid bid', async () => {
  const num = await number('+15125550401');
  const r = await srv.api('POST', '/v1/routing-plans', { name: 'Leads', attach: { number: num },
    last_resort: LAST, targets: buyers(),
    steps: [{ type: 'distribute', method: 'ping_post', targets: ['slow', 'bad', 'good'],
      deadline_ms: DEADLINE, reserve: 1000 },
    { type: 'distribute', method: 'priority', targets: ['house'] }] });
  assert.equal(r.status, 201, r.text);
  // Every buyer (a bid_url) gets a signing secret, shown once; the house line none.
  for (const t of r.json.targets) {
    if (t.bid_url) assert.match(t.signing_secret, /^bsec_[0-9a-z]{32}$/, t.id);
    else assert.equal(t.signing_secret, undefined);
  }
  remember(r.json);
  const shown = await srv.api('GET', `/v1/routing-plans/${r.json.id}`);
  assert.ok(!/signing_secret|enc1:/.test(shown.text), 'write-only: never shown again');
  assert.ok(!/bsec_/.test(storeSql(srv.db, `select body from route_docs where ext_id = '${r.json.id}'`)),
    'sealed at rest');
  const sid = callSid();
  const p = base('+15125550401', '+15125557777', sid);
  const t0 = Date.now();
  const v = await hook('/v1/telephony/twilio/voice', p);
  const took = Date.now() - t0;
  assert.equal(v.status, 200, v.text);
  // The slow buyer holds its ping past the deadline: the answer comes at the deadline, not
  // later (a generous margin: the point is it does not hang).
  assert.ok(took >= DEADLINE - 50, `answered in ${took} ms, before the deadline`);
  assert.ok(took < DEADLINE + 3000, `answered in ${took} ms`);
  assert.match(v.text, /<Dial [^>]*action="[^"]*ev=dial[^"]*"[^>]*><Sip[^>]*>sip:agent-7@127.0.0.1:5061<\/Sip><\/Dial>/);
  // Every buyer got the same anonymised ping; only the winner got a post.
  const ping = (rcv) => rcv.requests.filter((q) => q.path === '/ping').map((q) => JSON.parse(q.body));
  const pings = [ping(slow), ping(bad), ping(good)];
  for (const [i, id] of ['slow', 'bad', 'good'].entries()) {
    assert.equal(pings[i].length, 1, id);
    const b = pings[i][0];
    assert.equal(b.protocol, PROTO);
    assert.equal(b.type, 'ping');
    assert.equal(b.buyer, id);
    assert.match(b.auction_id, /^auc_/);
    assert.equal(b.auction_id, pings[0][0].auction_id);
    assert.equal(b.deadline_ms, DEADLINE);
    assert.equal(b.reserve, 1000);
    assert.equal(b.call.area_code, '512');
    assert.equal(b.call.source, 'radio');
    assert.match(b.call.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(!JSON.stringify(b).includes('5125557777'), 'the caller number never leaves');
  }
  const auctionId = pings[0][0].auction_id;
  assert.equal(good.requests.filter((q) => q.path === '/post').length, 1);
  for (const q of [...bad.requests, ...good.requests]) // every ping and post signed
    assert.ok(signedBy(buyerSecrets[JSON.parse(q.body).buyer], q), q.path);
  assert.ok(verifiedRequests >= 3);
  const post = JSON.parse(good.requests.find((q) => q.path === '/post').body);
  assert.equal(post.type, 'post');
  assert.equal(post.auction_id, auctionId);
  assert.equal(post.bid.price, 2500);
  assert.equal(bad.requests.filter((q) => q.path === '/post').length, 0);
  assert.equal(slow.requests.filter((q) => q.path === '/post').length, 0);
  // The call and its routing record: the winner, the destination, the auction and its price.
  let c = await callOf(sid);
  assert.equal(c.routing.target, 'good');
  assert.equal(c.routing.target_number, 'sip:agent-7@127.0.0.1:5061');
  assert.equal(c.routing.outcome, 'dialing');
  assert.deepEqual(c.routing.auction, { id: auctionId, bid_id: `g-${auctionId.slice(-6)}`, price: 2500 });
  const steps = c.routing.steps.join('\n');
  assert.match(steps, /auction among 3 buyers/);
  assert.match(steps, /ping good: bid 2500/);
  assert.match(steps, /ping bad: invalid bid/);
  assert.match(steps, /ping slow: no answer within 600 ms/);
  assert.match(steps, /good won at 2500/);
  // The buyer's leg connects past its minimum duration: billable at the winning price.
  const d = await hook(callback(v.text), { ...p, CallStatus: 'in-progress', DialCallStatus: 'completed',
    DialCallDuration: '75' });
  assert.match(d.text, /<Hangup\/>/);
  c = await callOf(sid);
  assert.equal(c.routing.outcome, 'connected');
  assert.equal(c.routing.payout, 2500);
  const price = storeSql(srv.db, `select bid_price from call_routes where call_sid = '${sid}'`);
  assert.equal(Number(price), 2500);
  // A provider retry of the voice webhook gets the same dial, without a second auction.
  const again = await hook('/v1/telephony/twilio/voice', p);
  assert.match(again.text, /<Sip[^>]*>sip:agent-7@127.0.0.1:5061<\/Sip>/);
  assert.equal(ping(good).length, 1);
});

test('an auction without a valid bid falls back to the next step', async () => {
  const num = await number('+15125550402');
  const targets = buyers();
  targets.push({ id: 'none', number: '+15555550305', bid_url: `${none.url}/ping` });
  const r = await srv.api('POST', '/v1/routing-plans', { name: 'No bids', attach: { number: num },
    last_resort: LAST, targets,
    steps: [{ type: 'distribute', method: 'ping_post', targets: ['bad', 'none', 'good'], reserve: 5000,
      deadline_ms: DEADLINE },
    { type: 'distribute', method: 'priority', targets: ['house'] }] });
  assert.equal(r.status, 201, r.text);
  remember(r.json);
  assert.equal(r.json.targets.find((t) => t.id === 'good').signing_secret, undefined, 'one secret per buyer id');
  assert.match(r.json.targets.find((t) => t.id === 'none').signing_secret, /^bsec_/);
  const before = good.requests.length;
  const sid = callSid();
  const t0 = Date.now();
  const v = await hook('/v1/telephony/twilio/voice', base('+15125550402', '+13125550123', sid));
  const took = Date.now() - t0;
  assert.equal(v.status, 200, v.text);
  assert.ok(took < DEADLINE + 3000, `answered in ${took} ms`);
  // Every buyer answered (none waited for the deadline); the good bid is under the reserve.
  assert.match(v.text, /<Number[^>]*>\+15555550304<\/Number>/);
  assert.equal(good.requests.length, before + 1); // its ping, no post
  const c = await callOf(sid);
  assert.equal(c.routing.target, 'house');
  assert.equal(c.routing.auction.bid_id, null);
  assert.equal(c.routing.auction.price, 0);
  const steps = c.routing.steps.join('\n');
  assert.match(steps, /ping none: no bid/);
  assert.match(steps, /ping good: under the reserve 5000/);
  assert.match(steps, /auction: no valid bid/);
  assert.match(steps, /no winning bid/);
});

test('a buyer whose post refuses: the next bid is posted; the webhook after a menu waits too', async () => {
  const num = await number('+15125550403');
  const refuse = await httpsReceiver(tls, buyer(
    () => json(200, { bid: { id: 'r-1', price: 9000 } }), () => json(200, { accepted: false })));
  try {
    const targets = buyers();
    targets.push({ id: 'refuse', number: '+15555550306', bid_url: `${refuse.url}/ping`, post_url: `${refuse.url}/post` });
    const r = await srv.api('POST', '/v1/routing-plans', { name: 'Menu then auction', attach: { number: num },
      last_resort: LAST, targets,
      steps: [{ type: 'screen', say: 'Press 1 to be connected.' },
        { type: 'distribute', method: 'ping_post', targets: ['refuse', 'good'], deadline_ms: DEADLINE }] });
    assert.equal(r.status, 201, r.text);
    remember(r.json);
    const sid = callSid();
    const p = base('+15125550403', '+13125550124', sid);
    const v = await hook('/v1/telephony/twilio/voice', p);
    assert.match(v.text, /<Gather/);
    const g = await hook(callback(v.text), { ...p, Digits: '1' });
    assert.equal(g.status, 200, g.text);
    assert.match(g.text, /<Sip[^>]*>sip:agent-7@127.0.0.1:5061<\/Sip>/);
    assert.equal(refuse.requests.filter((q) => q.path === '/post').length, 1);
    const c = await callOf(sid);
    assert.equal(c.routing.target, 'good');
    assert.equal(c.routing.auction.price, 2500);
    const steps = c.routing.steps.join('\n');
    assert.match(steps, /post refuse: the buyer did not accept/);
    assert.match(steps, /post good: accepted at 2500/);
  } finally {
    await refuse.close();
  }
  // /metrics counts the auctions: two won (the first and this one), one unsold.
  const m = await (await fetch(`${srv.url}/metrics`)).text();
  assert.match(m, /^opendni_auctions_won_total 2$/m);
  assert.match(m, /^opendni_auctions_unsold_total 1$/m);
});

test('re-auction: the winner does not answer, the next-highest bid of the same auction is posted and dialled', async () => {
  const num = await number('+15125550404');
  const top = await httpsReceiver(tls, buyer(
    () => json(200, { protocol: PROTO, bid: { id: 't:1', price: 4000 } }),
    (b) => json(200, { accepted: true, bid_id: b.bid.id, destination: '+15555550401' })));
  try {
    const targets = buyers();
    targets.push({ id: 'top', number: '+15555550307', bid_url: `${top.url}/ping`, post_url: `${top.url}/post` });
    const r = await srv.api('POST', '/v1/routing-plans', { name: 'Re-auction', attach: { number: num },
      last_resort: LAST, targets,
      steps: [{ type: 'distribute', method: 'ping_post', targets: ['top', 'good'], deadline_ms: DEADLINE },
        { type: 'distribute', method: 'priority', targets: ['house'] }] });
    assert.equal(r.status, 201, r.text);
    remember(r.json);
    const goodPings = good.requests.filter((q) => q.path === '/ping').length;
    const goodPosts = good.requests.filter((q) => q.path === '/post').length;
    const sid = callSid();
    const p = base('+15125550404', '+13125550125', sid);
    const v = await hook('/v1/telephony/twilio/voice', p);
    assert.equal(v.status, 200, v.text);
    assert.match(v.text, /<Number[^>]*>\+15555550401<\/Number>/); // top won at 4000
    const auctionId = (await callOf(sid)).routing.auction.id;
    // top's buyer is busy: good's bid (2500, same auction) is posted now, and dialled.
    const d = await hook(callback(v.text), { ...p, CallStatus: 'in-progress', DialCallStatus: 'busy' });
    assert.equal(d.status, 200, d.text);
    assert.match(d.text, /<Sip[^>]*>sip:agent-7@127.0.0.1:5061<\/Sip>/);
    assert.equal(good.requests.filter((q) => q.path === '/ping').length, goodPings + 1, 'no second ping');
    assert.equal(good.requests.filter((q) => q.path === '/post').length, goodPosts + 1);
    const post = JSON.parse(good.requests.filter((q) => q.path === '/post').at(-1).body);
    assert.equal(post.auction_id, auctionId);
    assert.equal(post.bid.price, 2500);
    let c = await callOf(sid);
    assert.equal(c.routing.target, 'good');
    assert.equal(c.routing.auction.id, auctionId);
    assert.equal(c.routing.auction.price, 2500);
    let steps = c.routing.steps.join('\n');
    assert.match(steps, /top won at 4000/);
    assert.match(steps, /top's dial ended busy: post to the next bid/);
    assert.match(steps, /auction: post good: accepted at 2500/);
    assert.match(steps, /good won at 2500/);
    // good does not answer either, and no bid is left: the plan's fallback (house).
    const d2 = await hook(callback(d.text), { ...p, CallStatus: 'in-progress', DialCallStatus: 'no-answer' });
    assert.match(d2.text, /<Number[^>]*>\+15555550304<\/Number>/);
    c = await callOf(sid);
    assert.equal(c.routing.target, 'house');
    steps = c.routing.steps.join('\n');
    assert.doesNotMatch(steps, /good's dial ended no-answer: post/);
    // A callback whose bids were altered is refused by the signature check (the URL is signed).
    const forged = callback(v.text).replace(/rb=[^&]*/, 'rb=0~99999~x');
    const f = await fetch(srv.url + forged, { method: 'POST', body: new URLSearchParams({ ...p, DialCallStatus: 'busy' }).toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sign(srv.url + callback(v.text), { ...p, DialCallStatus: 'busy' }) } });
    assert.equal(f.status, 403);
  } finally {
    await top.close();
  }
});

test('signatures: a buyer refuses a ping that does not verify; a body with secrets is a 400', async () => {
  const num = await number('+15125550405');
  for (const t of [{ signing_secret: 'bsec_mine' }, { signing_secret_sealed: 'enc1:x' }]) {
    const r = await srv.api('POST', '/v1/routing-plans', { name: 'x', attach: { number: num }, last_resort: LAST,
      targets: [{ id: 'good', number: '+15555550303', bid_url: `${good.url}/ping`, ...t }],
      steps: [{ type: 'distribute', method: 'ping_post' }] });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.field, 'targets');
  }
  const r = await srv.api('POST', '/v1/routing-plans', { name: 'Signed', attach: { number: num }, last_resort: LAST,
    targets: buyers(), steps: [{ type: 'distribute', method: 'ping_post', targets: ['good'], deadline_ms: DEADLINE },
      { type: 'distribute', method: 'priority', targets: ['house'] }] });
  assert.equal(r.status, 201, r.text);
  // The buyer holds another key than the server signs with: it refuses, the bid is invalid.
  const real = buyerSecrets.good;
  buyerSecrets.good = 'bsec_' + 'x'.repeat(32);
  try {
    const sid = callSid();
    const v = await hook('/v1/telephony/twilio/voice', base('+15125550405', '+13125550126', sid));
    assert.match(v.text, /<Number[^>]*>\+15555550304<\/Number>/);
    const c = await callOf(sid);
    assert.match(c.routing.steps.join('\n'), /ping good: invalid bid/);
    assert.equal(good.requests.at(-1).status, 401);
  } finally {
    buyerSecrets.good = real;
  }
});

test('a provider retry of the webhook while the auction runs joins it: one auction, the same answer', async () => {
  const num = await number('+15125550406');
  const r = await srv.api('POST', '/v1/routing-plans', { name: 'Retried', attach: { number: num }, last_resort: LAST,
    targets: buyers(), steps: [{ type: 'distribute', method: 'ping_post', targets: ['slow', 'good'], deadline_ms: DEADLINE },
      { type: 'distribute', method: 'priority', targets: ['house'] }] });
  assert.equal(r.status, 201, r.text);
  const pings = (rcv) => rcv.requests.filter((q) => q.path === '/ping').length;
  const slow0 = pings(slow), good0 = pings(good);
  const sid = callSid();
  const p = base('+15125550406', '+13125550127', sid);
  const first = hook('/v1/telephony/twilio/voice', p);
  // The auction is running once the buyers have their pings (the slow one holds its answer
  // past the deadline): the provider retries the webhook now.
  for (let i = 0; i < 2000 && (pings(slow) === slow0 || pings(good) === good0); i++)
    await new Promise((res) => setTimeout(res, 5)); // polls for the pings (at most 10 s)
  assert.equal(pings(good), good0 + 1, 'the auction started');
  const retry = await hook('/v1/telephony/twilio/voice', p);
  const v = await first;
  assert.equal(v.status, 200, v.text);
  assert.equal(retry.status, 200, retry.text);
  assert.match(v.text, /<Sip[^>]*>sip:agent-7@127.0.0.1:5061<\/Sip>/);
  assert.match(retry.text, /<Sip[^>]*>sip:agent-7@127.0.0.1:5061<\/Sip>/);
  assert.equal(pings(slow), slow0 + 1, 'no second auction');
  assert.equal(pings(good), good0 + 1, 'no second auction');
  const c = await callOf(sid);
  assert.equal(c.routing.target, 'good');
  const steps = c.routing.steps.join('\n');
  assert.equal(steps.match(/auction among/g).length, 1, steps);
  assert.equal(storeSql(srv.db, `select count(*) from calls where provider_call_id = '${sid}'`), '1');
});
