// SPDX-License-Identifier: AGPL-3.0-or-later
// Starts the real `opendni serve` for end-to-end and browser tests: a temp store, an account,
// a free loopback port (port 0 + --port-file), and helpers to talk to it. Every server started
// here is killed when the test process exits, even if a test forgets stop().
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const SRC = process.env.OPENDNI_SRC || resolve(here, '../..');
export const BIN = process.env.OPENDNI_BIN || join(SRC, 'build/opendni');
/** Where the browser suite writes its screenshots: build/screenshots, or docs/screenshots with
 * SCREENSHOTS=docs (to refresh the ones the docs show) — a test run leaves the source tree alone. */
export const SHOTS = process.env.SCREENSHOTS === 'docs' ? join(SRC, 'docs/screenshots') : join(dirname(BIN), 'screenshots');

// Provider secrets are stored sealed with a key kept outside the database (docs/operations.md
// "Security"): every opendni this process starts (init, account set, serve, call simulate)
// inherits this run's random key unless the caller set one.
process.env.OPENDNI_SECRETS_KEY ||= randomBytes(32).toString('hex');
// No configuration file unless a test names one: an /etc/opendni/opendni.conf on the machine
// running the tests (an installed opendni) must not change what they start.
process.env.OPENDNI_CONFIG = '';

// The store under test: SQLite files (the default), or with OPENDNI_TEST_STORE=pg a fresh
// database per server on the throwaway PostgreSQL that scripts/pg-test-server started (ctest's
// fixture `pg`; OPENDNI_PG_STATE names its state file). No server with pg asked is a failure.
export const STORE = process.env.OPENDNI_TEST_STORE === 'pg' ? 'pg' : 'sqlite';
export const PG = STORE === 'pg';
const isPgUrl = (db) => /^postgres(ql)?:\/\//.test(db);

let pgServer = null;
function pgState() {
  if (pgServer) return pgServer;
  const file = process.env.OPENDNI_PG_STATE;
  if (!file || !existsSync(file)) throw new Error(`OPENDNI_TEST_STORE=pg needs a PostgreSQL test server (OPENDNI_PG_STATE=${file})`);
  const v = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\w+)='(.*)'$/.exec(line);
    if (m) v[m[1]] = m[2];
  }
  pgServer = { host: v.PGHOST, port: v.PGPORT };
  return pgServer;
}

/** The libpq URL of database name on the test server. */
export function pgUrl(name) {
  const { host, port } = pgState();
  return `postgresql://postgres@/${name}?host=${encodeURIComponent(host)}&port=${port}`;
}

let nDb = 0;
/** A fresh, empty store for a test: dir/name on SQLite, a new database on PostgreSQL. */
export function freshDb(dir, name = 'test.db') {
  if (!PG) return join(dir, name);
  const db = `e2e_${process.pid}_${nDb++}_${randomBytes(3).toString('hex')}`;
  psql(pgUrl('postgres'), `CREATE DATABASE ${db}`);
  return pgUrl(db);
}

/** Drops a database freshDb made (a no-op for a SQLite path). */
export function dropDb(db) {
  if (!isPgUrl(db)) return;
  const name = /@\/(\w+)\?/.exec(db)[1];
  try { psql(pgUrl('postgres'), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); } catch {}
}

function psql(url, q) {
  return execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', q],
    { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Runs SQL on a store behind the server's back: sqlite3 on a file, psql on PostgreSQL. Both
 * print rows one a line, columns separated by '|'. Returns the output, trimmed. */
export function sql(db, q) {
  return (isPgUrl(db) ? psql(db, q) : execFileSync('sqlite3', [db, q]).toString()).trim();
}

const live = new Set();
process.on('exit', () => { for (const p of live) { try { p.kill('SIGKILL'); } catch {} } });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs a CLI command synchronously; returns {status, stdout, stderr}. */
export function cli(args, opts = {}) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', ...opts });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Creates an account in db; returns {accountId, apiKey}. */
export function createAccount(db, name, origins, id) {
  const args = ['account', 'create', name, '--db', db, '--json'];
  for (const o of origins) args.push('--origin', o);
  if (id) args.push('--id', id);
  const r = cli(args);
  if (r.status !== 0) throw new Error(`account create failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout);
  return { accountId: j.account_id, apiKey: j.api_key };
}

async function waitPort(file, proc, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`opendni exited with ${proc.exitCode}`);
    if (existsSync(file)) {
      const port = parseInt(readFileSync(file, 'utf8'), 10);
      if (port > 0) return port;
    }
    await sleep(20);
  }
  throw new Error('opendni did not start in time');
}

/**
 * Starts a server. opts: {origins: [...], args: [...extra serve flags], dir, db, keepDir,
 * accountName, guard, bin: the binary to serve with (default BIN)}. Most suites model many distinct visitors from the one loopback address, so
 * the per-client flood guard (serve --client-share, --client-new-sessions) is off unless
 * opts.guard is true; tests/e2e/hostile.test.mjs runs it with its defaults. Returns an object with url, port, db, dir, accountId, apiKey, logs(),
 * api(method, path, body, key?), visit(body, headers?), advance(ms), stop(), kill9(), restart().
 */
export async function startServer(opts = {}) {
  const dir = opts.dir || mkdtempSync(join(tmpdir(), 'opendni-test-'));
  const db = opts.db || freshDb(dir);
  const env = { ...process.env, ...(opts.env || {}) }; // undefined values unset a variable
  const init = cli(['init', '--db', db], { env });
  if (init.status !== 0) throw new Error(`init failed: ${init.stderr}`);
  const origins = opts.origins || ['http://127.0.0.1'];
  const acct = opts.account || createAccount(db, opts.accountName || 'Test', origins);
  // Each server keeps its own spool (calls answered while the store is away), the same one
  // across restarts, so what it spooled before a kill -9 is written after it comes back.
  const spoolDir = join(dir, `spool-${randomBytes(4).toString('hex')}`);
  const srv = { dir, db, ...acct, proc: null, port: 0, url: '', stderr: '', spoolDir };

  srv.start = async () => {
    const portFile = join(dir, `port-${Date.now()}-${Math.random()}`);
    const guardOff = opts.guard ? [] : ['--client-share', '0', '--client-new-sessions', '0'];
    const extra = opts.args || [];
    const spool = extra.includes('--spool-dir') ? [] : ['--spool-dir', spoolDir];
    const args = ['serve', '--db', db, '--listen', '127.0.0.1:0', '--port-file', portFile,
      ...guardOff, ...spool, ...extra];
    const proc = spawn(opts.bin || BIN, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    live.add(proc);
    proc.stderr.on('data', (d) => { srv.stderr += d.toString(); });
    proc.on('exit', () => live.delete(proc));
    srv.proc = proc;
    srv.port = await waitPort(portFile, proc, 10000);
    srv.url = `http://127.0.0.1:${srv.port}`;
    return srv;
  };
  srv.logs = () => srv.stderr;
  /** Test binary only: moves the server's clock forward by ms (tests never sleep for time to pass). */
  srv.advance = async (ms) => {
    const r = await srv.api('POST', '/v1/test/clock', { advance_ms: ms }, null);
    if (r.status !== 200) throw new Error(`clock not advanced (${r.status}): is this the test binary?`);
    return Date.parse(r.json.now);
  };
  srv.api = async (method, path, body, key = srv.apiKey, headers = {}) => {
    const h = { ...headers };
    if (key) h.Authorization = `Bearer ${key}`;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    const send = () => fetch(srv.url + path, {
      method, headers: h, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
    });
    let res;
    try {
      res = await send();
    } catch (e) {
      // A GET on a kept-alive connection the server closed as idle (--request-timeout) while the
      // test blocked node's event loop (a synchronous CLI or psql run) fails before it is sent;
      // HTTP clients retry such an idempotent request once on a new connection (RFC 9110 9.2.2).
      const code = e.cause && e.cause.code;
      if (method !== 'GET' || srv.proc.exitCode !== null ||
          !['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'].includes(code)) throw e;
      res = await send();
    }
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch {}
    return { status: res.status, json, text, headers: res.headers };
  };
  srv.visit = (body, headers = {}) => srv.api('POST', '/v1/visits', { account: srv.accountId, ...body }, null,
    { 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36', ...headers });
  /** Waits for the process to exit; returns {code, signal, ms}. */
  srv.waitExit = (ms = 5000) => new Promise((res, rej) => {
    const t0 = Date.now();
    if (srv.proc.exitCode !== null) return res({ code: srv.proc.exitCode, signal: null, ms: 0 });
    const timer = setTimeout(() => rej(new Error('server did not exit')), ms);
    srv.proc.once('exit', (code, signal) => { clearTimeout(timer); res({ code, signal, ms: Date.now() - t0 }); });
  });
  srv.stop = async () => {
    if (srv.proc && srv.proc.exitCode === null) {
      srv.proc.kill('SIGTERM');
      await srv.waitExit(5000).catch(() => srv.proc.kill('SIGKILL'));
    }
  };
  srv.kill9 = async () => {
    srv.proc.kill('SIGKILL');
    await srv.waitExit(5000);
  };
  srv.restart = async () => { await srv.stop(); return srv.start(); };
  srv.cleanup = async () => {
    await srv.stop();
    if (!opts.db) dropDb(db);
    if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
  };
  await srv.start();
  return srv;
}
