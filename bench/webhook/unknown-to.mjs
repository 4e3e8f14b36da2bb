// SPDX-License-Identifier: AGPL-3.0-or-later
// What a webhook to a number nobody owns costs with many accounts (issue #13 item 2): a store
// with ACCOUNTS accounts (default 5,000), each holding a Telnyx key and a Twilio token, and
// REQUESTS (default 40) signed voice webhooks sent one after another to a To no account owns,
// signed by the last account (the worst case for a scan in id order). Three rows:
//   telnyx-no-id  the Telnyx keys stored without the account id (the old behaviour: every
//                 account without an id is tried, one Ed25519 check each);
//   telnyx-by-id  the same with each account's Telnyx id stored (--telnyx-account-sid): found
//                 through the index by the request's AccountSid;
//   twilio-by-id  Twilio, found by AccountSid.
// Prints one line per row: "name accounts=N requests=N mean_ms=X p50_ms=X p90_ms=X".
// Usage: node bench/webhook/unknown-to.mjs [ACCOUNTS] [REQUESTS]   (OPENDNI_BIN: the binary)
// The rows are written with sqlite3 in clear and then sealed by `opendni init` (it encrypts
// clear provider secrets with the secrets key: OPENDNI_SECRETS_KEY, generated when unset).
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = process.env.OPENDNI_BIN || join(root, 'build/opendni');
const ACCOUNTS = Number(process.argv[2] || 5000);
const REQUESTS = Number(process.argv[3] || 40);
process.env.OPENDNI_SECRETS_KEY ||= randomBytes(32).toString('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const rawKey = (pub) => pub.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');
const signer = generateKeyPairSync('ed25519');
const TOKEN = 'unknown-to-token-' + randomBytes(8).toString('hex');
const twilioSid = (i) => 'AC' + i.toString(16).padStart(32, '0');
const telnyxSid = (i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

function run(args) {
  const r = spawnSync(BIN, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`opendni ${args[0]} failed: ${r.stderr}`);
}

/** A store with ACCOUNTS accounts; withIds: the Telnyx ids are stored too. */
function makeStore(dir, withIds) {
  const db = join(dir, `bench-${withIds ? 'ids' : 'noids'}.db`);
  run(['init', '--db', db]);
  const other = rawKey(generateKeyPairSync('ed25519').publicKey); // valid, never the signer's
  let sql = 'BEGIN;\n';
  for (let i = 1; i <= ACCOUNTS; i++) {
    const key = i === ACCOUNTS ? rawKey(signer.publicKey) : other;
    const token = i === ACCOUNTS ? TOKEN : `token-${i}`;
    sql += `INSERT INTO accounts(id, ext_id, name, created_at) VALUES (${i}, 'acc_b${i}', 'b${i}', 0);\n`;
    sql += `INSERT INTO account_providers VALUES (${i}, 'twilio', '${twilioSid(i)}', '${token}', 0);\n`;
    sql += `INSERT INTO account_providers VALUES (${i}, 'telnyx', ${withIds ? `'${telnyxSid(i)}'` : 'NULL'}, '${key}', 0);\n`;
  }
  sql += 'COMMIT;\n';
  const r = spawnSync('sqlite3', [db], { input: sql, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sqlite3: ${r.stderr}`);
  run(['init', '--db', db]); // seals the clear rows (a build that encrypts provider secrets)
  return db;
}

async function serve(dir, db) {
  const portFile = join(dir, `port-${Math.random()}`);
  // Builds before the bad-signature limit (the "before" figure) do not know its flag.
  const help = spawnSync(BIN, ['serve', '--help'], { encoding: 'utf8' }).stdout;
  const limit = help.includes('--rate-limit-bad-signatures') ? ['--rate-limit-bad-signatures', '0'] : [];
  const proc = spawn(BIN, ['serve', '--db', db, '--listen', '127.0.0.1:0', '--port-file', portFile,
    ...limit, '--log-level', 'error'], { stdio: 'ignore' });
  for (let i = 0; i < 500 && !existsSync(portFile); i++) await sleep(20);
  return { proc, url: `http://127.0.0.1:${parseInt(readFileSync(portFile, 'utf8'), 10)}` };
}

function params(accountSid) {
  return { AccountSid: accountSid, CallSid: 'v3:' + randomBytes(16).toString('hex'),
    CallStatus: 'ringing', Direction: 'inbound', From: '+15125550100', To: '+15555559999' };
}

async function telnyx(url, accountSid) {
  const body = new URLSearchParams(params(accountSid)).toString();
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = sign(null, Buffer.from(`${ts}|${body}`), signer.privateKey).toString('base64');
  return fetch(url + '/v1/telephony/telnyx/voice', { method: 'POST', body, headers: {
    'Content-Type': 'application/x-www-form-urlencoded', 'telnyx-timestamp': ts,
    'telnyx-signature-ed25519': sig } });
}

async function twilio(url) {
  const p = { ...params(twilioSid(ACCOUNTS)), CallSid: 'CA' + randomBytes(16).toString('hex') };
  let data = url + '/v1/telephony/twilio/voice';
  for (const k of Object.keys(p).sort()) data += k + p[k];
  const sig = createHmac('sha1', TOKEN).update(data).digest('base64');
  return fetch(url + '/v1/telephony/twilio/voice', { method: 'POST',
    body: new URLSearchParams(p).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sig } });
}

async function measure(name, send) {
  for (let i = 0; i < 3; i++) await (await send()).text(); // warm the connections and caches
  const ms = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = process.hrtime.bigint();
    const res = await send();
    const text = await res.text();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (res.status !== 200) throw new Error(`${name}: ${res.status} ${text}`);
  }
  ms.sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  const q = (f) => ms[Math.min(ms.length - 1, Math.floor(f * ms.length))].toFixed(2);
  console.log(`${name} accounts=${ACCOUNTS} requests=${REQUESTS} mean_ms=${mean.toFixed(2)}` +
    ` p50_ms=${q(0.5)} p90_ms=${q(0.9)}`);
}

const dir = mkdtempSync(join(tmpdir(), 'opendni-unknown-to-'));
writeFileSync(join(dir, 'README'), 'bench/webhook/unknown-to.mjs scratch directory\n');
const procs = [];
try {
  for (const withIds of [false, true]) {
    const s = await serve(dir, makeStore(dir, withIds));
    procs.push(s.proc);
    const sid = withIds ? telnyxSid(ACCOUNTS) : 'not-stored-' + randomBytes(4).toString('hex');
    await measure(withIds ? 'telnyx-by-id' : 'telnyx-no-id', () => telnyx(s.url, sid));
    if (withIds) await measure('twilio-by-id', () => twilio(s.url));
    s.proc.kill('SIGTERM');
  }
} finally {
  for (const p of procs) try { p.kill('SIGKILL'); } catch {}
  rmSync(dir, { recursive: true, force: true });
}
