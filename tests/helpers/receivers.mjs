// SPDX-License-Identifier: AGPL-3.0-or-later
// Local receivers for outbound messages: a test CA made here with openssl (so opendni's TLS
// verification is exercised: serve --test-outbound-ca), an HTTPS receiver that records each
// request and answers from a per-request plan (statuses, 429 with Retry-After, hangs), an SMTP
// receiver that speaks just enough SMTP for libcurl, and the webhook signature check of API.md.
import { execFileSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttps } from 'node:https';
import { createServer as createTcp } from 'node:net';
import { join } from 'node:path';

/** Makes a CA and a server certificate for 127.0.0.1 and localhost in dir; returns paths and PEMs. */
export function makeTestCa(dir) {
  const f = (n) => join(dir, n);
  const ssl = (args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'),
    '-days', '2', '-subj', '/CN=opendni test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('srv.key'), '-out', f('srv.csr'),
    '-subj', '/CN=127.0.0.1']);
  const ext = f('srv.ext');
  execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nbasicConstraints=CA:FALSE\\n' > '${ext}'`]);
  ssl(['x509', '-req', '-in', f('srv.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-out', f('srv.pem'), '-days', '2', '-extfile', ext]);
  return { caFile: f('ca.pem'), key: readFileSync(f('srv.key')), cert: readFileSync(f('srv.pem')) };
}

/**
 * An HTTPS receiver. plan(req, n) -> {status, headers, hang} decides each answer (n: how many
 * requests with this OpenDNI-Event-Id came before, or of this path when there is none).
 * Returns {url, requests, close()}; requests: [{at, path, headers, body, status}].
 */
export async function httpsReceiver(tls, plan = () => ({ status: 200 })) {
  const requests = [];
  const seen = new Map();
  const hung = new Set();
  const srv = createHttps({ key: tls.key, cert: tls.cert }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const key = req.headers['opendni-event-id'] || req.url;
      const n = seen.get(key) || 0;
      seen.set(key, n + 1);
      const a = plan({ path: req.url, headers: req.headers, body }, n);
      const rec = { at: Date.now(), path: req.url, headers: req.headers, body, status: a.hang ? 0 : a.status };
      requests.push(rec);
      if (a.hang) { hung.add(res); return; }
      res.writeHead(a.status, { 'Content-Type': 'text/plain', ...(a.headers || {}) });
      res.end(a.body ?? `answer ${a.status}`);
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${srv.address().port}`,
    requests,
    close: () => new Promise((r) => { for (const h of hung) h.destroy(); srv.closeAllConnections?.(); srv.close(() => r()); }),
  };
}

/** A minimal SMTP server (no TLS offered: libcurl's STARTTLS is then skipped). mails: [{from, to, data}]. */
export async function smtpReceiver() {
  const mails = [];
  const srv = createTcp((sock) => {
    let buf = '';
    let inData = false;
    let cur = { from: '', to: [], data: '' };
    sock.write('220 opendni-test ESMTP\r\n');
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          cur.data = buf.slice(0, end).replace(/\r\n\.\./g, '\r\n.');
          buf = buf.slice(end + 5);
          inData = false;
          mails.push(cur);
          cur = { from: '', to: [], data: '' };
          sock.write('250 OK queued\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO' || cmd === 'HELO') sock.write('250-opendni-test\r\n250 8BITMIME\r\n');
        else if (cmd === 'MAIL') { cur.from = line.slice(10).trim(); sock.write('250 OK\r\n'); }
        else if (cmd === 'RCPT') { cur.to.push(line.slice(8).trim()); sock.write('250 OK\r\n'); }
        else if (cmd === 'DATA') { inData = true; sock.write('354 go ahead\r\n'); }
        else if (cmd === 'QUIT') { sock.end('221 bye\r\n'); return; }
        else sock.write('250 OK\r\n');
      }
    });
    sock.on('error', () => {});
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `smtp://127.0.0.1:${srv.address().port}`, mails, close: () => new Promise((r) => srv.close(() => r())) };
}

/** Verifies OpenDNI-Signature (API.md): t=UNIX,v1=HEX HMAC-SHA256(secret, t + "." + body), and
 * that t is within 5 minutes of nowS (null: not checked, for a server on the test clock). */
export function verifySignature(secret, header, body, nowS = Math.floor(Date.now() / 1000)) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header || '');
  if (!m) return false;
  const want = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(want, Buffer.from(m[2], "hex")) && (nowS === null || Math.abs(nowS - Number(m[1])) <= 300);
}
