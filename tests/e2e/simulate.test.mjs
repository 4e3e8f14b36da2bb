// SPDX-License-Identifier: AGPL-3.0-or-later
// `opendni simulate`: the hand-checked trace (tests/data/traces/small.csv; every call's right
// answer is worked out in tests/unit/sim/test_sim.c), a sweep with a target and a chart, bad
// traces and bad flags, and synthetic traffic that the same seed reproduces.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, SRC, sql as storeSql, freshDb, PG } from '../helpers/server.mjs';

const small = join(SRC, 'tests/data/traces/small.csv');
const dir = mkdtempSync(join(tmpdir(), 'opendni-sim-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const jsonLines = (out) => out.trim().split('\n').map((l) => JSON.parse(l));

test('the hand-written trace gives the hand-checked numbers with 5 numbers', () => {
  const r = cli(['simulate', '--policy', 'old', '--trace', small, '--pool-size', '5', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const rows = jsonLines(r.stdout);
  assert.equal(rows.length, 1);
  // 8 calls: A exact (right), F shared (right), B shared but F's fresh click wins (wrong),
  // C late (right), A exact again (right), C after G inherited #3 (wrong), E late (right),
  // and a caller with no session 30 days on (unattributed).
  assert.deepEqual(rows[0], {
    pool_size: 5, calls: 8, attributable: 7, correct: 5, accuracy: 0.714286,
    accuracy_within_30min: 0.8, misattributed: 2, unattributed: 1,
    by_method: { exact: 3, shared: 2, late: 2, source: 0, unattributed: 1 },
    exhaustion_events: 2,
  });
  assert.deepEqual(Object.keys(rows[0]), ['pool_size', 'calls', 'attributable', 'correct',
    'accuracy', 'accuracy_within_30min', 'misattributed', 'unattributed', 'by_method',
    'exhaustion_events']);
});

test('fallback mode sends the refused visitors to the fallback number (source)', () => {
  const r = cli(['simulate', '--policy', 'old', '--trace', small, '--pool-size', '5', '--json', '--on-exhaust', 'fallback']);
  assert.equal(r.status, 0, r.stderr);
  const [row] = jsonLines(r.stdout);
  assert.equal(row.correct, 6);
  assert.equal(row.misattributed, 0);
  assert.equal(row.unattributed, 2);
  assert.equal(row.by_method.source, 1);
});

test('a sweep prints the table, the smallest size reaching the target, and the chart', () => {
  const svg = join(dir, 'acc.svg');
  const r = cli(['simulate', '--policy', 'old', '--trace', small, '--pool-size', '1..9', '--target-accuracy', '0.99', '--svg', svg]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^pool size +calls +attributable +correct +accuracy/);
  assert.equal(r.stdout.split('\n').filter((l) => /^ +\d+ +8 +7 /.test(l)).length, 9);
  assert.match(r.stdout, /smallest pool reaching 99\.0 % accuracy: 6 numbers/);
  assert.match(r.stdout, /1 per 20 daily visitors +1 numbers/);
  const text = readFileSync(svg, 'utf8');
  assert.match(text, /^<\?xml version="1.0"/);
  assert.match(text, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok(text.trimEnd().endsWith('</svg>'));
  assert.equal((text.match(/<polyline/g) || []).length, 2);

  const j = cli(['simulate', '--policy', 'old', '--trace', small, '--pool-size', '1..9:2', '--target-accuracy', '0.99', '--json']);
  assert.equal(j.status, 0, j.stderr);
  const rows = jsonLines(j.stdout);
  assert.deepEqual(rows.slice(0, -1).map((x) => x.pool_size), [1, 3, 5, 7, 9]);
  assert.deepEqual(rows.at(-1), { recommended_pool_size: 7 });
  const none = cli(['simulate', '--policy', 'old', '--trace', small, '--pool-size', '1..5', '--target-accuracy', '0.99', '--json']);
  assert.deepEqual(jsonLines(none.stdout).at(-1), { recommended_pool_size: null });
});

test('a bad row stops the run with its line number and reason', () => {
  const bad = join(dir, 'trace.csv');
  writeFileSync(bad, 'time,event,session,device,region\n0,visit,a,mobile,US-TX\n1,clik,a,,\n');
  const r = cli(['simulate', '--trace', bad, '--pool-size', '3']);
  assert.equal(r.status, 1);
  assert.ok(r.stderr.includes("trace.csv:3: unknown event 'clik'"), r.stderr);
  assert.equal(r.stdout, '');
  const missing = cli(['simulate', '--trace', join(dir, 'nope.csv'), '--pool-size', '3']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot open/);
});

test('bad flags exit 2 with one line', () => {
  for (const args of [['--pool-size', '0'], ['--pool-size', '5..3'], ['--pool-size', '1..x'],
    ['--pool-size', '5', '--on-exhaust', 'drop'], ['--pool-size', '5', '--ttl', '0'],
    ['--pool-size', '5', '--target-accuracy', '1.5'], ['--pool-size', '5', '--bogus'],
    ['--pool-size', '5', '--trace', small, '--visits-per-day', '10'],
    ['--pool-size', '5', '--mobile-share', '2'], ['--pool-size', '5', '--call-delay', '1,2']]) {
    const r = cli(['simulate', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const help = cli(['simulate', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--pool-size/);
});

test('synthetic traffic: same seed, same output; the written trace replays the same', () => {
  const args = ['simulate', '--visits-per-day', '400', '--days', '2', '--seed', '9', '--pool-size', '4..24:10', '--json'];
  const trace = join(dir, 'synth.csv');
  const a = cli([...args, '--write-trace', trace]);
  const b = cli(args);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
  const rows = jsonLines(a.stdout);
  assert.equal(rows.length, 3);
  assert.ok(rows[0].calls > 10);
  const replay = cli(['simulate', '--trace', trace, '--seed', '9', '--pool-size', '4..24:10', '--json']);
  assert.equal(replay.status, 0, replay.stderr);
  assert.equal(replay.stdout, a.stdout);
  const other = cli([...args.slice(0, 6), '--seed', '10', ...args.slice(8)]);
  assert.notEqual(other.stdout, a.stdout);
  assert.match(readFileSync(trace, 'utf8'), /^time,event,session,device,region,caller,copy\n\d+\.\d{3},visit,s1,/);
});

// The store's history as a trace: sessions created since --since, their lease activity as page
// views (deduplicated, never at the visit itself), tel: clicks, and calls to pool numbers, in
// time order. Older sessions, other event types and calls to source numbers stay out.
test('export trace writes the store history that simulate replays', () => {
  const db = freshDb(dir, 'export.db');
  assert.equal(cli(['init', '--db', db]).status, 0);
  const acct = cli(['account', 'create', 'Acme', '--origin', 'https://acme.example', '--db', db, '--id', 'acc_export']);
  assert.equal(acct.status, 0, acct.stderr);
  const t0 = Date.UTC(2026, 10, 1);
  const at = (s) => t0 + s * 1000;
  // PostgreSQL's leases and events name their account (sql_pg/0034); SQLite's do not
  const acc = PG ? ', account_id' : '';
  const one = PG ? ', 1' : '';
  const sql = `
    INSERT INTO pools(id, ext_id, account_id, name, target, forward_to, lease_ttl, cooldown, on_exhaust, created_at)
      VALUES (1, 'pool_x', 1, 'main', '+15125550100', '+15125550100', 1200, 1800, 'share', ${at(-999)});
    INSERT INTO numbers(id, ext_id, account_id, number, pool_id, created_at) VALUES (1, 'num_1', 1, '+15125550101', 1, 0);
    INSERT INTO numbers(id, ext_id, account_id, number, source, created_at) VALUES (2, 'num_2', 1, '+15125550199', 'billboard', 0);
    INSERT INTO sessions(id, ext_id, account_id, visitor_id, created_at, last_active_at, device, region) VALUES
      (1, 'ses_a', 1, 'v1', ${at(10)}, ${at(400)}, 'mobile', 'US-TX'),
      (2, 'ses_b', 1, 'v2', ${at(60)}, ${at(60)}, 'Desktop', 'US-CA'),
      (3, 'ses_old', 1, 'v3', ${at(-86400)}, ${at(-86000)}, 'mobile', 'US-TX');
    INSERT INTO leases(session_id, number_id, pool_id, leased_at, last_active_at, expires_at${acc}) VALUES
      (1, 1, 1, ${at(10)}, ${at(300)}, ${at(1500)}${one}), (1, 1, 1, ${at(350)}, ${at(400)}, ${at(1600)}${one}),
      (2, 1, 1, ${at(60)}, ${at(60)}, ${at(1260)}${one}), (3, 1, 1, ${at(-86400)}, ${at(-86000)}, ${at(-84800)}${one});
    INSERT INTO events(session_id, type, at${acc}) VALUES (1, 'tel_click', ${at(405)}${one}), (1, 'chat_started', ${at(20)}${one});
    INSERT INTO calls(ext_id, account_id, provider, provider_call_id, number_id, to_number, from_number, started_at, status, method, session_id, updated_at) VALUES
      ('call_1', 1, 'twilio', 'CA1', 1, '+15125550101', '+15125550123', ${at(410)}, 'completed', 'exact', 1, 0),
      ('call_2', 1, 'twilio', 'CA2', 1, '+15125550101', '+14155550123', ${at(500)}, 'completed', 'unattributed', NULL, 0),
      ('call_3', 1, 'twilio', 'CA3', 2, '+15125550199', '+15125550123', ${at(600)}, 'completed', 'source', NULL, 0),
      ('call_4', 1, 'twilio', 'CA4', 1, '+15125550101', '+15125550123', ${at(700)}, 'completed', 'late', 3, 0),
      ('call_5', 1, 'twilio', 'CA5', 1, '+15125550101', '+15125550123', ${at(-100)}, 'completed', 'exact', 3, 0);`;
  storeSql(db, sql);
  const out = join(dir, 'exported.csv');
  const r = cli(['export', 'trace', '--db', db, '--since', '2026-11-01', '--account', 'acc_export', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(out, 'utf8'), [
    'time,event,session,device,region',
    '10.000,visit,ses_a,mobile,US-TX',
    '60.000,visit,ses_b,desktop,US-CA',
    '300.000,pageview,ses_a,,',
    '350.000,pageview,ses_a,,',
    '400.000,pageview,ses_a,,',
    '405.000,tel_click,ses_a,,',
    '410.000,call,ses_a,,US-TX', // credited exact: keeps its session; 512 is Texas
    '500.000,call,,,US-CA', // unattributed: no session; 415 is California
    '700.000,call,,,US-TX', // credited to a session older than --since: no session
    '',
  ].join('\n'));
  const sim = cli(['simulate', '--trace', out, '--pool-size', '2', '--json']);
  assert.equal(sim.status, 0, sim.stderr);
  const [row] = jsonLines(sim.stdout);
  assert.equal(row.calls, 3);
  assert.equal(row.attributable, 1);
  assert.equal(row.correct, 1);
  assert.equal(cli(['export', 'trace', '--db', db]).status, 2);
  assert.equal(cli(['export', 'trace', '--db', db, '--since', '2026-11-01', '--account', 'acc_nope']).status, 1);
  assert.equal(cli(['export', 'bogus']).status, 2);
});
