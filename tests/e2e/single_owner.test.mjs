// SPDX-License-Identifier: AGPL-3.0-or-later
// One serving process per SQLite file: a second `opendni serve` on the same database fails with a
// message naming the file and the holder's pid while the first keeps serving; commands that do
// not serve (init, account) still open the file; the lock goes with the process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer, createAccount, cli, BIN, PG } from '../helpers/server.mjs';

let srv;
// SQLite only: on PostgreSQL any number of nodes serve one database, which is not refused but
// tested as such (tests/e2e/nodes.test.mjs, and store conformance's second server case).
const skip = PG && 'PostgreSQL: several nodes serve one database (nodes.test.mjs)';

before(async () => { if (!skip) srv = await startServer(); });
after(async () => { if (srv) await srv.cleanup(); });

function serveAgain() {
  return spawnSync(BIN, ['serve', '--db', srv.db, '--listen', '127.0.0.1:0', '--port-file',
    join(srv.dir, 'second-port')], { encoding: 'utf8', timeout: 10000 });
}

test('a second serve on the same file exits non-zero naming the file and the holder', { skip }, async () => {
  const r = serveAgain();
  assert.notEqual(r.status, 0, r.stderr);
  assert.equal(r.signal, null, 'it must exit by itself, not hang');
  assert.ok(r.stderr.includes(`'${srv.db}'`), r.stderr);
  assert.match(r.stderr, /already served by another opendni/);
  assert.ok(r.stderr.includes(`pid ${srv.proc.pid}`), r.stderr);
  const h = await srv.api('GET', '/healthz', undefined, null);
  assert.equal(h.status, 200, 'the first server keeps serving');
  const p = await srv.api('POST', '/v1/pools', { name: 'p', target: '+15555550100' });
  assert.equal(p.status, 201, p.text);
});

test('init and account commands still open a served file', { skip }, () => {
  assert.equal(cli(['init', '--db', srv.db]).status, 0);
  const a = createAccount(srv.db, 'Second', ['https://second.example']);
  assert.match(a.accountId, /^acc_/);
});

test('the lock goes with the serving process', { skip }, async () => {
  await srv.restart();
  const h = await srv.api('GET', '/healthz', undefined, null);
  assert.equal(h.status, 200);
  assert.notEqual(serveAgain().status, 0);
});
