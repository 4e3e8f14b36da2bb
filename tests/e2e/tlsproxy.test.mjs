// SPDX-License-Identifier: AGPL-3.0-or-later
// Issue 17 item 1: opendni behind a TLS proxy. nginx (dist/nginx/opendni.conf, the example the
// docs give, with this test's ports, paths and a self-signed certificate made here by openssl)
// runs in the foreground from a temp prefix in front of the real server, which is started with
// --public-url https://127.0.0.1:PORT and --trust-proxy 127.0.0.1. Signed Twilio webhooks sent
// over TLS to the proxy verify; a bad signature, or one made for the server's local http URL, is
// refused with 403 and the log names the URL it was checked against. `call simulate` sends to the
// local address and signs for the public URL (--public-url).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createAccount, cli, freshDb, SRC, sql } from '../helpers/server.mjs';

const TOKEN = 'tlsproxy-test-auth-token-012345';
const SID = 'AC' + 'cd'.repeat(16);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let dir, srv, nginx, port, httpPort, cert;

/** A port free at this moment (nginx cannot be given port 0 and report it). */
function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
  });
}

function sign(token, url, params) {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', token).update(data, 'utf8').digest('base64');
}

/** One HTTPS request to the proxy, trusting only the test's certificate. */
function https(method, path, headers = {}, body = '') {
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port, method, path, ca: cert, headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } },
      (r) => { let text = ''; r.setEncoding('utf8'); r.on('data', (d) => { text += d; }); r.on('end', () => res({ status: r.statusCode, text, headers: r.headers })); });
    req.on('error', rej);
    req.end(body);
  });
}

/** The docs' nginx example made runnable here: its upstream, listen ports and certificate
 * replaced, wrapped in the main context nginx needs to run unprivileged from dir. */
function nginxConf(upstream) {
  let site = readFileSync(join(SRC, 'dist/nginx/opendni.conf'), 'utf8');
  const swap = (from, to) => {
    assert.ok(site.includes(from), `dist/nginx/opendni.conf no longer has '${from}'`);
    site = site.split(from).join(to);
  };
  swap('server 127.0.0.1:8080;', `server 127.0.0.1:${upstream};`);
  swap('listen 443 ssl http2;', `listen 127.0.0.1:${port} ssl http2;`);
  swap('listen 80;', `listen 127.0.0.1:${httpPort};`);
  swap('/etc/letsencrypt/live/calls.example.com/fullchain.pem', join(dir, 'cert.pem'));
  swap('/etc/letsencrypt/live/calls.example.com/privkey.pem', join(dir, 'key.pem'));
  writeFileSync(join(dir, 'site.conf'), site);
  const t = (n) => join(dir, 'nginx', n);
  return `daemon off;
worker_processes 1;
pid ${t('nginx.pid')};
error_log ${t('error.log')} warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ${t('body')};
    proxy_temp_path ${t('proxy')};
    fastcgi_temp_path ${t('fastcgi')};
    uwsgi_temp_path ${t('uwsgi')};
    scgi_temp_path ${t('scgi')};
    include ${join(dir, 'site.conf')};
}
`;
}

async function startNginx(upstream) {
  const nd = join(dir, 'nginx');
  mkdirSync(nd, { recursive: true });
  const conf = join(nd, 'nginx.conf');
  writeFileSync(conf, nginxConf(upstream));
  nginx = spawn('nginx', ['-p', nd, '-c', conf, '-e', join(nd, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  nginx.stderr.on('data', (d) => { stderr += d; });
  const end = Date.now() + 10000;
  for (;;) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited ${nginx.exitCode}: ${stderr} ${readFileSync(join(nd, 'error.log'), 'utf8')}`);
    try {
      const r = await https('GET', '/healthz');
      if (r.status === 200) return;
    } catch {}
    if (Date.now() > end) throw new Error(`nginx did not answer: ${stderr}`);
    await sleep(50);
  }
}
process.on('exit', () => { try { nginx?.kill('SIGKILL'); } catch {} });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'opendni-tls-'));
  chmodSync(dir, 0o755); // nginx's workers drop root's privileges when the tests run as root
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  cert = readFileSync(join(dir, 'cert.pem'));
  port = await freePort();
  httpPort = await freePort();
  const db = freshDb(dir);
  assert.equal(cli(['init', '--db', db]).status, 0);
  const account = createAccount(db, 'Behind TLS', ['https://plumber.example']);
  const set = cli(['account', 'set', account.accountId, '--twilio-auth-token', TOKEN, '--twilio-account-sid', SID, '--db', db]);
  assert.equal(set.status, 0, set.stderr);
  srv = await startServer({ dir, db, account, keepDir: true,
    args: ['--public-url', `https://127.0.0.1:${port}`, '--trust-proxy', '127.0.0.1'] });
  const p = await srv.api('POST', '/v1/pools', { name: 'tls', target: '+15555550100', forward_to: '+15555550109' });
  assert.equal(p.status, 201, p.text);
  assert.equal((await srv.api('POST', '/v1/numbers', { number: '+15555550101', pool: p.json.id })).status, 201);
  await startNginx(srv.port);
});

after(async () => {
  if (nginx && nginx.exitCode === null) {
    nginx.kill('SIGTERM');
    await new Promise((r) => { const t = setTimeout(() => { nginx.kill('SIGKILL'); r(); }, 5000); nginx.once('exit', () => { clearTimeout(t); r(); }); });
  }
  await srv?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const voiceParams = (sid) => ({ AccountSid: SID, ApiVersion: '2010-04-01', CallSid: sid, CallStatus: 'ringing',
  Called: '+15555550101', Caller: '+15125550123', Direction: 'inbound', From: '+15125550123', To: '+15555550101' });
const form = (p) => new URLSearchParams(p).toString();
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

test('a webhook signed for the public https URL verifies through the proxy', async () => {
  const sid = 'CA' + randomBytes(16).toString('hex');
  const p = voiceParams(sid);
  const path = '/v1/telephony/twilio/voice';
  const r = await https('POST', path, { ...FORM, 'X-Twilio-Signature': sign(TOKEN, `https://127.0.0.1:${port}${path}`, p) }, form(p));
  assert.equal(r.status, 200, r.text);
  // The TwiML's callbacks point at the public URL too, so Twilio's next requests come through TLS.
  assert.match(r.text, new RegExp(`action="https://127\\.0\\.0\\.1:${port}/v1/telephony/twilio/dial"`));
  assert.match(r.text, />\+15555550109</);
  const done = { ...p, CallStatus: 'completed', CallDuration: '42', SequenceNumber: '3', CallbackSource: 'call-progress-events' };
  const spath = '/v1/telephony/twilio/status';
  const s = await https('POST', spath, { ...FORM, 'X-Twilio-Signature': sign(TOKEN, `https://127.0.0.1:${port}${spath}`, done) }, form(done));
  assert.equal(s.status, 204, s.text);
  assert.equal(sql(srv.db, `select status || ' ' || duration from calls where provider_call_id = '${sid}'`), 'completed 42');
});

test('a bad signature, or one made for the local http URL, is refused and the URL checked is logged', async () => {
  const path = '/v1/telephony/twilio/voice';
  const before = Number(sql(srv.db, 'select count(*) from calls'));
  for (const sig of [sign('wrong-token', `https://127.0.0.1:${port}${path}`, voiceParams('CA' + '0'.repeat(32))),
    sign(TOKEN, `${srv.url}${path}`, voiceParams('CA' + '0'.repeat(32)))]) {
    const p = voiceParams('CA' + '0'.repeat(32));
    const r = await https('POST', `${path}?q=%22x%0a`, { ...FORM, 'X-Twilio-Signature': sig }, form(p));
    assert.equal(r.status, 403, r.text);
  }
  assert.equal(Number(sql(srv.db, 'select count(*) from calls')), before, 'nothing stored');
  const line = srv.logs().split('\n').find((l) => l.includes('invalid twilio webhook signature'));
  assert.ok(line, srv.logs());
  // The URL as checked: the public URL + the URI as received, escaped (the query is the sender's).
  assert.ok(line.includes(`for url 'https://127.0.0.1:${port}${path}?q=%22x%0a'`), line);
});

test('call simulate sends to the local address and signs for the public URL', () => {
  const args = ['call', 'simulate', '--to', '+15555550101', '--from', '+15125550177', '--duration', '30', '--no-wait',
    '--server', srv.url, '--db', srv.db];
  const wrong = cli(args);
  assert.equal(wrong.status, 1, 'signed for http://…: the server checks https://…');
  assert.match(wrong.stdout, /-> 403/);
  const ok = cli([...args, '--public-url', `https://127.0.0.1:${port}/`]);
  assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  assert.match(ok.stdout, /POST \/v1\/telephony\/twilio\/voice -> 200/);
  assert.match(ok.stdout, /POST \/v1\/telephony\/twilio\/status -> 204/);
  const tls = cli(['call', 'simulate', '--to', '+15555550101', '--from', '+15125550177', '--server', `https://127.0.0.1:${port}`, '--token', 'x']);
  assert.equal(tls.status, 2);
  assert.match(tls.stderr, /bad value 'https:\/\/127\.0\.0\.1:\d+' for --server: .*--public-url/);
  assert.doesNotMatch(tls.stderr, /--duration/);
});

test('plain http to the proxy is redirected to https', async () => {
  const r = await fetch(`http://127.0.0.1:${httpPort}/v1/visits`, { redirect: 'manual' });
  assert.equal(r.status, 301);
  assert.equal(r.headers.get('location'), `https://127.0.0.1/v1/visits`);
});
