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
  assert.match(r.json.error.message, /readonly/);
  assert.equal(r.json.error.field, 'db');
  r = await srv.api('GET', '/healthz', undefined, null);
  assert.equal(r.status, 200, 'healthz only says the process is alive');
  const pool = { name: 'p', target: '+15555550100', forward_to: '+15555550100' };
  for (let i = 0; i < 20; i++) {
    r = await srv.api('POST', '/v1/pools', { ...pool, name: `p${i}` });
    assert.equal(r.status, 500, r.text);
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
