// SPDX-License-Identifier: AGPL-3.0-or-later
// Issue 17 item 2: `opendni backup` copies the store while a server writes to it (SQLite's online
// backup API), the copy is private (0600) and restores (docs/operations.md: stop, copy back with
// its mode, serve) with everything acknowledged before the backup began; a damaged store is
// refused by init (integrity_check) and by serve (quick_check at start).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, statSync, copyFileSync, chmodSync, openSync, writeSync, closeSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, cli, BIN, PG } from '../helpers/server.mjs';

// Backups of a PostgreSQL store are pg_dump's (store_backup answers so: conformance case), and
// its pages are the server's to check: these tests are about the SQLite file.
const skip = PG && 'PostgreSQL: pg_dump backs it up (docs/operations.md "Backups")';

const run = promisify(execFile);
const cleanups = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'opendni-backup-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('a backup taken under load restores into a store that serves everything acknowledged before it', { skip }, async () => {
  const srv = await startServer({ origins: ['https://site.example'] });
  cleanups.push(() => srv.cleanup());
  const p = (await srv.api('POST', '/v1/pools', { name: 'p', target: '+15555550100' })).json;
  for (let i = 1; i <= 40; i++)
    assert.equal((await srv.api('POST', '/v1/numbers', { number: `+1555555${String(200 + i).padStart(4, '0')}`, pool: p.id })).status, 201);
  const acked = [];
  let stop = false;
  const workers = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const r = await srv.visit({ url: 'https://site.example/?utm_source=news', targets: ['+15555550100'] });
      if (r.status === 200) acked.push(r.json.session_id);
    }
  });
  while (acked.length < 50) await sleep(10);
  const before = acked.slice();
  const dir = tmp();
  const copy = join(dir, 'backup.db');
  const { stdout } = await run(BIN, ['backup', '--db', srv.db, '--to', copy]);
  const during = acked.length - before.length;
  await sleep(100);
  stop = true;
  await Promise.all(workers);
  assert.match(stdout, /backed up/);
  assert.ok(during > 0 || acked.length > before.length, 'the server kept answering visits while the backup ran');
  assert.equal(statSync(copy).mode & 0o777, 0o600, 'the copy is private');
  assert.equal(existsSync(`${copy}.partial`), false);

  // Restore (docs/operations.md): the copy goes to the store's place with its mode; serve it.
  const dir2 = tmp();
  const restored = join(dir2, 'opendni.db');
  copyFileSync(copy, restored);
  chmodSync(restored, 0o600);
  const again = await startServer({ dir: dir2, db: restored, origins: ['https://site.example'],
    account: { accountId: srv.accountId, apiKey: srv.apiKey } });
  cleanups.push(() => again.cleanup());
  const pools = (await again.api('GET', '/v1/pools')).json.pools;
  assert.deepEqual(pools.map((x) => x.id), [p.id]);
  assert.equal((await again.api('GET', '/v1/numbers')).json.numbers.length, 40);
  for (const sid of before) {
    const r = await again.api('GET', `/v1/sessions/${sid}`);
    assert.equal(r.status, 200, `session ${sid} acknowledged before the backup is in the copy`);
    assert.equal(r.json.leases.length, 1);
  }
  assert.equal((await again.visit({ url: 'https://site.example/' })).status, 200, 'the restored store takes writes');
});

test('backup refuses a missing --to, the store itself, and a store that does not exist', { skip }, () => {
  const dir = tmp();
  const db = join(dir, 's.db');
  assert.equal(cli(['init', '--db', db]).status, 0);
  let r = cli(['backup', '--db', db]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--to FILE/);
  r = cli(['backup', '--db', db, '--to', db]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /the database itself/);
  r = cli(['backup', '--db', join(dir, 'none.db'), '--to', join(dir, 'c.db')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /does not exist/);
  assert.equal(existsSync(join(dir, 'c.db')), false);
});

test('init refuses a damaged store and serve will not start on it', { skip }, () => {
  const dir = tmp();
  const db = join(dir, 's.db');
  assert.equal(cli(['init', '--db', db]).status, 0);
  const bad = join(dir, 'damaged.db');
  copyFileSync(db, bad);
  const fd = openSync(bad, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 4096 * 9); // page 10: garbage
  closeSync(fd);
  let r = cli(['init', '--db', bad]);
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stderr, /is damaged \(integrity_check: .*Page 10.*\); restore it from a backup/);
  assert.doesNotMatch(r.stdout, /ready/);
  r = cli(['serve', '--db', bad, '--listen', '127.0.0.1:0']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /is damaged \(quick_check: /);
  assert.equal(cli(['init', '--db', db]).status, 0, 'the undamaged original is still fine');
});
