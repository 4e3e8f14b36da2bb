// SPDX-License-Identifier: AGPL-3.0-or-later
// Issue 17 item 1: the configuration file. `serve --check-config` validates the file, the
// environment and the flags together and exits 0, or 2 naming the key and the line; a server
// started with --config takes its settings from the file, the environment and flags override it;
// the other commands read the settings they share with serve (db) from the same file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, cli, freshDb, dropDb, PG } from '../helpers/server.mjs';

let dir;
const dbs = [];
before(() => { dir = mkdtempSync(join(tmpdir(), 'opendni-config-')); });
after(() => {
  for (const db of dbs) dropDb(db);
  rmSync(dir, { recursive: true, force: true });
});

let nConf = 0;
function conf(text) {
  const p = join(dir, `c${nConf++}.conf`);
  writeFileSync(p, text);
  return p;
}
const check = (path, extra = [], env = {}) =>
  cli(['serve', '--config', path, '--check-config', ...extra], { env: { ...process.env, ...env } });

test('--check-config: a good file exits 0 and says so', () => {
  const p = conf(`# opendni
db = ${join(dir, 'x.db')}
listen = 127.0.0.1:0
public-url = https://calls.example.com
trust-proxy = 127.0.0.1
threads = 2
demo = off
log-level = "warn"
`);
  const r = check(p);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `configuration ok (file ${p})\n`);
  const none = cli(['serve', '--check-config']);
  assert.equal(none.status, 0, none.stderr);
  assert.equal(none.stdout, 'configuration ok (no configuration file)\n');
  assert.equal(existsSync(join(dir, 'x.db')), false, 'checking opens no store');
});

test('--check-config: each mistake exits 2 naming the file, the line and the key', () => {
  const cases = [
    ['listen = 127.0.0.1:8080\nlisen = 127.0.0.1:1\n', /c\d+\.conf:2: unknown key 'lisen'/],
    ['\n\nlisten = nonsense\n', /c\d+\.conf:3: bad value 'nonsense' for listen: give IPV4:PORT/],
    ['threads = lots\n', /c\d+\.conf:1: bad value 'lots' for threads/],
    ['client-share = 101\n', /c\d+\.conf:1: bad value '101' for client-share: give 0 to 100/],
    ['log-level = loud\n', /c\d+\.conf:1: bad value 'loud' for log-level: give error, warn, info or debug/],
    ['trust-proxy = 10.0.0.0/99\n', /c\d+\.conf:1: bad value '10\.0\.0\.0\/99' for trust-proxy/],
    ['public-url = calls.example.com\n', /c\d+\.conf:1: bad value 'calls\.example\.com' for public-url/],
    ['demo = maybe\n', /c\d+\.conf:1: bad value 'maybe' for demo/],
    ['listen 127.0.0.1:8080\n', /c\d+\.conf:1: expected 'key = value'/],
    ['db = a\ndb = b\n', /c\d+\.conf:2: 'db' given twice \(first on line 1\)/],
    ['port-file = /tmp/p\n', /c\d+\.conf:1: unknown key 'port-file'/],
    ['check-config = on\n', /c\d+\.conf:1: unknown key 'check-config'/],
  ];
  for (const [text, re] of cases) {
    const r = check(conf(text));
    assert.equal(r.status, 2, `${text}: ${r.stderr}`);
    assert.match(r.stderr, re, text);
  }
  const missing = check(join(dir, 'nope.conf'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read configuration file '.*nope\.conf'/);
});

test('the environment and the flags override the file, and errors say where a value came from', () => {
  const p = conf('threads = 300\n');
  let r = check(p);
  assert.equal(r.status, 2);
  r = check(p, [], { OPENDNI_THREADS: '4' });
  assert.equal(r.status, 0, r.stderr);
  r = check(p, ['--threads', '4']);
  assert.equal(r.status, 0, r.stderr);
  r = check(conf('threads = 4\n'), [], { OPENDNI_THREADS: '999' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad value '999' for OPENDNI_THREADS/);
  r = check(conf('threads = 4\n'), ['--threads', '999']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad value '999' for --threads/);
  // OPENDNI_CONFIG names the file when --config does not.
  r = cli(['serve', '--check-config'], { env: { ...process.env, OPENDNI_CONFIG: conf('lisen = x\n') } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown key 'lisen'/);
});

test('init, account and serve take the store from the file; serve runs on its settings', async () => {
  const db = PG ? freshDb(dir) : join(dir, 'from-conf.db');
  dbs.push(db);
  const portFile = join(dir, 'port');
  const p = conf(`db = ${db}\nlisten = 127.0.0.1:0\npublic-url = https://calls.example.com/\nlog-level = info\n`);
  assert.equal(cli(['init', '--config', p]).status, 0);
  if (!PG) assert.equal(existsSync(db), true);
  const made = cli(['account', 'create', 'Conf', '--origin', 'https://example.com', '--config', p, '--json']);
  assert.equal(made.status, 0, made.stderr);
  const listed = cli(['account', 'list', '--config', p]);
  assert.match(listed.stdout, /Conf/);
  const proc = spawn(BIN, ['serve', '--config', p, '--port-file', portFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  try {
    const end = Date.now() + 10000;
    while (!existsSync(portFile) && Date.now() < end && proc.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    const port = parseInt(readFileSync(portFile, 'utf8'), 10);
    assert.ok(port > 0, stderr);
    // the port file can appear before the pipe has delivered the log line written before it
    const logged = Date.now() + 5000;
    while (!/public url /.test(stderr) && Date.now() < logged) await new Promise((r) => setTimeout(r, 20));
    assert.match(stderr, /public url https:\/\/calls\.example\.com/);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(res.status, 200);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
  }
});
