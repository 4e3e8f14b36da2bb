// SPDX-License-Identifier: AGPL-3.0-or-later
// Issue 17 item 5: what a new user tripped over. Bad serve values exit 2 with a message that
// says what is allowed, a Twilio AccountSid is checked, a store that does not exist is reported
// (and not created) by commands that only read, serve --help shows defaults and variables, 201
// answers carry Location, and an unknown field is named in the error's `field`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startServer, cli, SRC, BIN } from '../helpers/server.mjs';

let srv, dir;
before(async () => {
  srv = await startServer();
  dir = mkdtempSync(join(tmpdir(), 'opendni-newcomer-'));
});
after(async () => {
  await srv.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('serve --listen nonsense is a bad value: exit 2 and what to give', () => {
  for (const listen of ['nonsense', '127.0.0.1:99999', 'localhost:8080', '127.0.0.1:']) {
    const r = cli(['serve', '--db', srv.db, '--listen', listen]);
    assert.equal(r.status, 2, `${listen}: ${r.stderr}`);
    assert.match(r.stderr, /--listen/);
    assert.match(r.stderr, /127\.0\.0\.1:8080/);
  }
});

test('--log-level loud names the allowed levels', () => {
  const r = cli(['serve', '--db', srv.db, '--log-level', 'loud']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /'loud' for --log-level/);
  assert.match(r.stderr, /error, warn, info or debug/);
});

test('account set refuses a Twilio AccountSid that is not AC + 32 hex digits', () => {
  for (const sid of ['XX123', 'AC123', 'AC' + 'zz'.repeat(16), 'ac' + 'ab'.repeat(16)]) {
    const r = cli(['account', 'set', srv.accountId, '--twilio-account-sid', sid, '--db', srv.db]);
    assert.equal(r.status, 2, `${sid}: ${r.stderr}`);
    assert.match(r.stderr, /AccountSid: AC and 32 hexadecimal digits/);
  }
  const ok = cli(['account', 'set', srv.accountId, '--twilio-account-sid', 'AC' + 'aB'.repeat(16),
    '--twilio-auth-token', 't0ken', '--db', srv.db]);
  assert.equal(ok.status, 0, ok.stderr);
});

test('a store that does not exist: read commands say so and create nothing; init creates it', () => {
  const db = join(dir, 'missing.db');
  for (const args of [['account', 'list'], ['export', 'trace', '--account', 'acc_x', '--since', '2026-11-01'], ['user', 'list'],
    ['backup', '--to', join(dir, 'copy.db')]]) {
    const r = cli([...args, '--db', db]);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /does not exist: create it with opendni init/, args.join(' '));
    assert.equal(existsSync(db), false, `${args.join(' ')} left a file behind`);
  }
  const deep = join(dir, 'a/b/opendni.db');
  const r = cli(['serve', '--db', deep, '--listen', '127.0.0.1:0']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /does not exist/);
  assert.equal(existsSync(deep), false);
  assert.equal(cli(['init', '--db', deep]).status, 0);
  assert.equal(existsSync(deep), true);
  assert.equal(cli(['account', 'list', '--db', deep]).status, 0);
});

test('serve --help shows each flag\'s default and environment variable', () => {
  const r = cli(['serve', '--help'], { env: { ...process.env, OPENDNI_LISTEN: '10.1.2.3:9' } });
  assert.equal(r.status, 0);
  const line = (flag) => r.stdout.split('\n').find((l) => l.startsWith(`  --${flag} `)) || '';
  assert.match(line('listen'), /default 127\.0\.0\.1:8080; env OPENDNI_LISTEN\)/, 'the built-in default, not the environment\'s');
  assert.match(line('db'), /default \.\/opendni\.db; env OPENDNI_DB\)/);
  assert.match(line('client-share'), /default 10; env OPENDNI_CLIENT_SHARE\)/);
  assert.match(line('log-level'), /default info; env OPENDNI_LOG_LEVEL\)/);
  assert.match(line('demo'), /\(default off; env OPENDNI_DEMO\)/);
  assert.match(line('port-file'), /\(STR\)$/);
});

test('201 answers carry Location, the created object\'s URL', async () => {
  const p = await srv.api('POST', '/v1/pools', { name: 'loc', target: '+15555550100', forward_to: '+15555550100' });
  assert.equal(p.status, 201, p.text);
  assert.equal(p.headers.get('location'), `/v1/pools/${p.json.id}`);
  assert.equal((await srv.api('GET', p.headers.get('location'))).json.id, p.json.id);
  const n = await srv.api('POST', '/v1/numbers', { number: '+15555550181', pool: p.json.id });
  assert.equal(n.status, 201, n.text);
  assert.equal(n.headers.get('location'), `/v1/numbers/${n.json.id}`);
  assert.equal((await srv.api('GET', n.headers.get('location'))).json.id, n.json.id);
  const w = await srv.api('POST', '/v1/webhooks', { url: 'https://example.com/hook', events: ['call.completed'] });
  assert.equal(w.status, 201, w.text);
  assert.equal(w.headers.get('location'), `/v1/webhooks/${w.json.id}`);
});

test('an unknown field is named in the error\'s field', async () => {
  const r = await srv.api('POST', '/v1/pools', { name: 'x', target: '+15555550100', forward_to: '+15555550100', colour: 'red' });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error.field, 'colour');
  assert.match(r.json.error.message, /unknown field 'colour'/);
});

test('the README\'s configuration table lists exactly the flags of serve --help, with their variables', () => {
  // The production binary's help: the test binary's --test-* flags are not settings.
  const bin = process.env.OPENDNI_PROD_BIN || BIN;
  const help = spawnSync(bin, ['serve', '--help'], { encoding: 'utf8' }).stdout;
  const fromHelp = new Map();
  for (const line of help.split('\n')) {
    const m = /^ {2}--([a-z-]+) /.exec(line);
    if (m && m[1] !== 'help') fromHelp.set(m[1], (/\benv (OPENDNI_[A-Z_]+)/.exec(line) || [])[1] || '');
  }
  assert.ok(fromHelp.size > 20, help);
  const readme = readFileSync(join(SRC, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 3));
  const fromReadme = new Map();
  for (const m of section.matchAll(/^\| `--([a-z-]+)` \| (?:`(OPENDNI_[A-Z_]+)`)? *\|/gm)) fromReadme.set(m[1], m[2] || '');
  assert.deepEqual([...fromReadme.keys()].sort(), [...fromHelp.keys()].sort(), 'README flags vs serve --help');
  for (const [flag, env] of fromHelp) assert.equal(fromReadme.get(flag), env, `--${flag}'s variable`);
});
