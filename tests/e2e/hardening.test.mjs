// SPDX-License-Identifier: AGPL-3.0-or-later
// Issue 13 (hardening): honest health (/readyz while the store cannot commit, logs that do not
// flood), slow clients (a per-address connection limit and a request deadline), and HTTP edges.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer } from '../helpers/server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv.cleanup(); });

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.json?.error, 'object', r.text);
  if (code) assert.equal(r.json.error.code, code, r.text);
  assert.equal(typeof r.json.error.message, 'string');
  assert.ok('field' in r.json.error);
}

const faults = (f) => srv.api('POST', '/v1/test/faults', f, null);
const lines = (re) => srv.logs().split('\n').filter((l) => re.test(l)).length;

test('readyz fails while the store cannot commit, healthz stays up, the log does not flood, and it recovers without a restart', async () => {
  let r = await srv.api('GET', '/readyz', undefined, null);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { status: 'ready' });

  assert.equal((await faults({ store_readonly: true })).status, 200);
  await srv.advance(1100); /* past the readiness probe's one-second memory */
  r = await srv.api('GET', '/readyz', undefined, null);
  assertError(r, 503, 'unavailable');
  assert.match(r.json.error.message, /read-?only/); /* SQLite: readonly; PostgreSQL: read-only */
  assert.equal(r.json.error.field, 'db');
  r = await srv.api('GET', '/healthz', undefined, null);
  assert.equal(r.status, 200, 'healthz only says the process is alive');
  const pool = { name: 'p', target: '+15555550100', forward_to: '+15555550100' };
  for (let i = 0; i < 20; i++) {
    r = await srv.api('POST', '/v1/pools', { ...pool, name: `p${i}` });
    assertError(r, 503, 'unavailable'); /* an outage, not this request's fault */
    assert.equal(r.headers.get('retry-after'), '5');
  }
  for (let i = 0; i < 20; i++) {
    await srv.advance(1100);
    assert.equal((await srv.api('GET', '/readyz', undefined, null)).status, 503);
  }
  /* The checkpointer runs on the real clock (every 25 ms when healthy): give it a second and a
   * half of failing, which used to log about 60 lines. */
  await sleep(1500);
  const logs = srv.logs();
  assert.ok(lines(/checkpoint failed/) <= 1, `checkpoint failures logged once per interval:\n${logs}`);
  assert.ok(lines(/ error store /) <= 3, `store errors logged once per condition and interval:\n${logs}`);
  assert.equal(lines(/not ready/), 1, logs);

  assert.equal((await faults({ store_readonly: false })).status, 200);
  await srv.advance(1100);
  r = await srv.api('GET', '/readyz', undefined, null);
  assert.equal(r.status, 200, r.text);
  assert.equal(lines(/ready again/), 1);
  r = await srv.api('POST', '/v1/pools', pool);
  assert.equal(r.status, 201, r.text);
});

/* ---- slow clients ---- */

/* Opens a socket that sends a request line and then one header line a second, never ending its
 * headers (slowloris). Resolves once connected; .closed tells whether the server ended it. */
function slowSocket(port, localAddress) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    const slow = { socket: s, closed: false, timer: null };
    const done = () => { slow.closed = true; clearInterval(slow.timer); };
    s.on('close', done);
    s.on('error', done);
    s.on('end', () => s.destroy());
    s.on('connect', () => {
      s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      let i = 0;
      slow.timer = setInterval(() => { if (!s.destroyed) s.write(`X-Slow-${i++}: 1\r\n`); }, 1000);
      resolve(slow);
    });
    s.on('error', () => resolve(slow));
  });
}

/* One complete request on a fresh socket from localAddress; resolves with the status line and the
 * milliseconds it took. */
function quickRequest(port, localAddress, path = '/healthz', body = null) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    let data = '';
    const req = body === null ? `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`
      : `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    s.on('connect', () => s.write(req));
    s.on('data', (d) => { data += d; });
    s.on('close', () => resolve({ status: data.split('\r\n')[0], ms: Date.now() - t0, data }));
    s.on('error', reject);
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('no answer within 5 s')); });
  });
}

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('slow clients from one address are limited and cut at the request deadline; others are served and streams are not cut', async (t) => {
  const s = await startServer({ args: ['--max-conns-per-addr', '40', '--request-timeout', '5'] });
  t.after(() => s.cleanup());
  /* a suspended connection (an event stream) opened first, from its own address */
  const stream = await new Promise((resolve, reject) => {
    const c = net.connect({ host: '127.0.0.1', port: s.port, localAddress: '127.0.0.3' });
    const st = { closed: false, data: '' };
    c.on('connect', () => c.write(`GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.apiKey}\r\n\r\n`));
    c.on('data', (d) => { st.data += d; if (/\r\n\r\n/.test(st.data)) resolve(st); });
    c.on('close', () => { st.closed = true; });
    c.on('error', reject);
    st.socket = c;
  });
  assert.match(stream.data, /^HTTP\/1\.1 200/);

  const slow = await Promise.all(Array.from({ length: 300 }, () => slowSocket(s.port, '127.0.0.1')));
  await until(() => slow.filter((x) => x.closed).length >= 260, 5000, 'the connections over the limit to close');
  await sleep(1200); /* two header lines more: sending slowly is not by itself a reason to close */
  const open = slow.filter((x) => !x.closed).length;
  assert.ok(open > 0 && open <= 40, `at most 40 connections from one address stay open (${open})`);

  /* another client is answered promptly, while 127.0.0.1 is at its limit */
  const other = await quickRequest(s.port, '127.0.0.2');
  assert.match(other.status, / 200 /, other.data);
  assert.ok(other.ms < 1000, `answered in ${other.ms} ms`);

  /* the deadline: 5 s on the server's clock after they connected, the slow sockets are closed */
  /* (from another address: 127.0.0.1 is at its limit) */
  const moved = await quickRequest(s.port, '127.0.0.2', '/v1/test/clock', JSON.stringify({ advance_ms: 6000 }));
  assert.match(moved.status, / 200 /, moved.data);
  await until(() => slow.every((x) => x.closed), 3000, 'the slow connections to be closed by the deadline');
  assert.match(s.logs(), /closed \d+ connections still sending their request/);
  /* the event stream, deferred (suspended) all along, was not cut */
  await sleep(300);
  assert.equal(stream.closed, false, 'the event stream survives the deadline');
  stream.socket.destroy();
  /* and 127.0.0.1 is served again */
  const again = await quickRequest(s.port, '127.0.0.1');
  assert.match(again.status, / 200 /);
  for (const x of slow) x.socket.destroy();
});

/* ---- HTTP edges ---- */

/* Sends raw bytes on a fresh connection and resolves with everything the server sent back. */
function raw(port, bytes) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let data = Buffer.alloc(0);
    s.on('connect', () => s.end(bytes));
    s.on('data', (d) => { data = Buffer.concat([data, d]); });
    s.on('close', () => {
      const text = data.toString('latin1');
      const [head, ...rest] = text.split('\r\n\r\n');
      const body = rest.join('\r\n\r\n');
      let json = null;
      try { json = JSON.parse(body); } catch {}
      resolve({ status: Number(head.split(' ')[1]), head, body, json });
    });
    s.on('error', reject);
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('no answer')); });
  });
}

test('conflicting Content-Length headers are refused with 400 in the error format', async () => {
  const body = '{"account":"acc_x"}';
  const r = await raw(srv.port, `POST /v1/visits HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\nContent-Length: 5\r\n\r\n${body}`);
  assert.equal(r.status, 400, r.head);
  assert.equal(r.json?.error?.code, 'invalid', r.body);
  assert.equal(r.json.error.field, 'Content-Length');
  const both = await raw(srv.port, `POST /v1/visits HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n` +
    `Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`);
  assert.equal(both.status, 400, both.head);
  /* the same length twice is harmless */
  const same = await raw(srv.port, `POST /v1/visits HTTP/1.1\r\nHost: x\r\nConnection: close\r\n` +
    `Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}`);
  assert.equal(same.status, 400, same.head); /* {} lacks the account: an ordinary 400 */
  assert.notEqual(same.json.error.field, 'Content-Length');
});

test('HEAD on a GET route answers as GET without a body', async () => {
  const r = await raw(srv.port, 'HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 200, r.head);
  assert.match(r.head, /Content-Length: 15/i);
  assert.equal(r.body, '');
  const js = await fetch(srv.url + '/dni.js', { method: 'HEAD' });
  assert.equal(js.status, 200);
  assert.equal(await js.text(), '');
});

test('the Bearer scheme is case-insensitive', async () => {
  for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
    const r = await fetch(srv.url + '/v1/pools', { headers: { Authorization: `${scheme} ${srv.apiKey}` } });
    assert.equal(r.status, 200, scheme);
  }
  const r = await fetch(srv.url + '/v1/pools', { headers: { Authorization: `Basic ${srv.apiKey}` } });
  assert.equal(r.status, 401);
});

test('a path with invalid UTF-8 is a 404 not_found in the error format', async () => {
  const r = await raw(srv.port, 'GET /v1/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 404, r.head);
  assert.equal(r.json?.error?.code, 'not_found', r.body);
  const e = await srv.api('GET', '/v1/%FF%FE', undefined, null);
  assertError(e, 404, 'not_found');
});

test('ping validates its body', async () => {
  const p = await srv.api('POST', '/v1/pools', { name: 'edges', target: '+15555550170', forward_to: '+15555550170' });
  assert.equal(p.status, 201, p.text);
  assert.equal((await srv.api('POST', '/v1/numbers', { number: '+15555550171', pool: p.json.id })).status, 201);
  const v = await srv.visit({ url: 'http://127.0.0.1/' }, { Origin: 'http://127.0.0.1' });
  assert.equal(v.status, 200, v.text);
  const ping = (body) => srv.api('POST', `/v1/visits/${v.json.session_id}/ping`, body, null, { Origin: 'http://127.0.0.1' });
  assertError(await ping('{"url":'), 400, 'invalid');
  assertError(await ping('[1]'), 400, 'invalid');
  const bad = await ping({ url: 7 });
  assertError(bad, 400, 'invalid');
  assert.equal(bad.json.error.field, 'url');
  assert.equal((await ping({ url: 'http://127.0.0.1/next' })).status, 200);
  assert.equal((await ping({ url: null })).status, 200);
  assert.equal((await ping(undefined)).status, 200);
});

test('GET /v1/calls refuses since after until, as the reports do', async () => {
  const q = '?since=2026-11-27T00:00:00Z&until=2026-11-26T00:00:00Z';
  const calls = await srv.api('GET', '/v1/calls' + q);
  assertError(calls, 400, 'invalid');
  assert.equal(calls.json.error.field, 'since');
  assertError(await srv.api('GET', '/v1/reports/calls' + q), 400, 'invalid');
  assertError(await srv.api('GET', '/v1/calls?since=2026-02-30'), 400, 'invalid');
  assert.equal((await srv.api('GET', '/v1/calls?since=2026-11-26&until=2026-11-26')).status, 200);
});

test('metrics: loopback only without a token; with --metrics-token the token is required', async (t) => {
  assert.equal((await srv.api('GET', '/metrics', undefined, null)).status, 200, 'a direct local client');
  const proxied = await startServer({ args: ['--trust-proxy', '10.0.0.1'] });
  t.after(() => proxied.cleanup());
  assertError(await proxied.api('GET', '/metrics', undefined, null), 403, 'forbidden');
  const tok = await startServer({ args: ['--metrics-token', 'm3tr1cs-s3cret'] });
  t.after(() => tok.cleanup());
  assertError(await tok.api('GET', '/metrics', undefined, null), 401, 'unauthorized');
  assertError(await tok.api('GET', '/metrics', undefined, 'm3tr1cs-s3cre'), 401);
  assertError(await tok.api('GET', '/metrics', undefined, tok.apiKey), 401, 'unauthorized');
  const ok = await tok.api('GET', '/metrics', undefined, 'm3tr1cs-s3cret');
  assert.equal(ok.status, 200);
  assert.match(ok.text, /opendni_http_requests_total/);
});

test('the demo site is served only with --demo, and HTML carries a CSP and frame protection', async (t) => {
  assertError(await srv.api('GET', '/demo/', undefined, null), 404, 'not_found');
  const demo = await startServer({ args: ['--demo'] });
  t.after(() => demo.cleanup());
  const r = await fetch(demo.url + '/demo/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/html/);
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  const js = await fetch(demo.url + '/dni.js');
  assert.equal(js.headers.get('content-security-policy'), null, 'scripts need none');
});
