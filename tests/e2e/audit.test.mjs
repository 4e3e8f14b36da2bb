// SPDX-License-Identifier: AGPL-3.0-or-later
// The quarterly audit from the CLI (issue #17 item 4; docs/operations.md "The quarterly audit"):
// `opendni audit` draws a reproducible sample (same seed and period, same calls; the seed is
// printed and recorded in both files), writes a CSV (the file the checker marks; user-written
// text neutralized) and a self-contained, escaped HTML page; `opendni audit --score` reads the
// marked CSV back and reports accuracy by method with a 95 % Wilson interval.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startServer, cli } from '../helpers/server.mjs';

let srv;
let out;
let until;

/** RFC 4180 rows (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text) {
  const rows = [];
  let row = [], f = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { f += '"'; i++; } else if (c === '"') q = false; else f += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(f); f = ''; } else if (c === '\r') {} else if (c === '\n') { row.push(f); rows.push(row); row = []; f = ''; } else f += c;
  }
  return rows;
}

const toCsv = (rows) => rows.map((r) => r.map((f) => (/[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',') + '\r\n').join('');

function audit(dir, ...extra) {
  const r = cli(['audit', '--account', srv.accountId, '--sample', '4', '--period', '30d', '--until', until,
    '--out', join(out, dir), '--db', srv.db, ...extra]);
  assert.equal(r.status, 0, r.stderr);
  const csv = readFileSync(join(out, dir, 'audit.csv'), 'utf8');
  return { r, csv, html: readFileSync(join(out, dir, 'audit.html'), 'utf8'), rows: parseCsv(csv) };
}

/** Wilson score interval, written from the formula. */
function wilson(k, n, z = 1.959963984540054) {
  const p = k / n, d = 1 + z * z / n;
  const c = (p + z * z / (2 * n)) / d, h = z / d * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

before(async () => {
  out = mkdtempSync(join(tmpdir(), 'opendni-audit-'));
  srv = await startServer({ origins: ['https://site.example'] });
  const p = await srv.api('POST', '/v1/pools', { name: 'p', target: '+15555550600' });
  const n = await srv.api('POST', '/v1/numbers', { number: '+15555550601', pool: p.json.id });
  assert.equal(n.status, 201, n.text);
  for (let i = 0; i < 9; i++) {
    const campaign = i === 0 ? '<script>alert(1)</script>' : i === 1 ? '=HYPERLINK("http://x.example")' : `c${i}`;
    if (i % 3 !== 2) {
      const v = await srv.visit({ url: `https://site.example/?utm_source=google&utm_medium=cpc&utm_campaign=${encodeURIComponent(campaign)}&gclid=G${i}` },
        { Origin: 'https://site.example' });
      assert.equal(v.status, 200, v.text);
    }
    const r = cli(['call', 'simulate', '--to', '+15555550601', '--from', `+1512555${String(1000 + i)}`, '--duration', '70',
      '--no-wait', '--server', srv.url, '--db', srv.db]);
    assert.equal(r.status, 0, r.stderr);
  }
  // later visitors share the one number: exact, shared and late calls, with runners-up
  until = new Date(Date.now() + 3600e3).toISOString();
});
after(async () => {
  if (process.env.SHOWLOG) console.error(srv?.logs());
  await srv?.cleanup();
  rmSync(out, { recursive: true, force: true });
});

test('the same seed draws the same calls; the seed is printed and recorded in both files', async () => {
  const a = audit('a', '--seed', '20261207');
  const b = audit('b', '--seed', '20261207');
  const c = audit('c', '--seed', '99');
  assert.equal(a.csv, b.csv);
  assert.match(a.r.stdout, /seed 20261207/);
  assert.match(a.rows[0][0], /^# opendni audit of account acc_\S+: 4 of 9 calls/);
  assert.ok(a.rows[0].join(',').includes('seed 20261207'));
  assert.ok(a.html.includes('seed 20261207'));
  const ids = (x) => x.rows.slice(2).map((r) => r[0]);
  assert.equal(ids(a).length, 4);
  assert.equal(new Set(ids(a)).size, 4);
  assert.notDeepEqual(ids(a), ids(c), 'another seed, another sample');
  // no --seed: a new one, printed; running again with it draws the same calls
  const d = audit('d');
  const seed = /seed (\d+)/.exec(d.r.stdout)[1];
  assert.deepEqual(ids(audit('e', '--seed', seed)), ids(d));
  // every call once: the sample is the calls of the period
  const all = audit('f', '--seed', '1', '--sample', '100');
  assert.equal(all.rows.length - 2, 9);
  const listed = (await srv.api('GET', '/v1/calls?limit=500')).json.calls.map((x) => x.id).sort();
  assert.deepEqual(ids(all).sort(), listed);
});

test('the files: evidence per call, escaped and self-contained HTML, neutralized CSV', () => {
  const all = audit('g', '--seed', '1', '--sample', '100');
  const head = all.rows[1];
  for (const col of ['call_id', 'method', 'confidence', 'session_id', 'lease_start', 'lease_end', 'landing_page', 'click_ids', 'runner_up_session', 'correct'])
    assert.ok(head.includes(col), `column ${col}`);
  const byCampaign = (c) => all.rows.find((r) => r[head.indexOf('campaign')] === c);
  assert.ok(byCampaign('\'=HYPERLINK("http://x.example")'), 'a formula is neutralized in the CSV');
  const attributed = all.rows.slice(2).filter((r) => r[head.indexOf('method')] === 'exact');
  assert.ok(attributed.length >= 1);
  for (const r of attributed) {
    assert.match(r[head.indexOf('session_id')], /^s_/);
    assert.match(r[head.indexOf('lease_start')], /^\d{4}-\d\d-\d\dT/);
    assert.match(r[head.indexOf('click_ids')], /gclid/);
  }
  assert.ok(!all.html.includes('<script>alert'), 'escaped');
  assert.ok(all.html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(!/<script|<link|<img|src=|@import|url\(/i.test(all.html), 'no script or external resource');
});

test('--score reads the marked CSV back: accuracy by method with a Wilson interval', () => {
  const all = audit('h', '--seed', '1', '--sample', '100');
  const head = all.rows[1];
  const m = head.indexOf('method'), k = head.indexOf('correct');
  const tally = {};
  all.rows.slice(2).forEach((r, i) => {
    if (i === 8) return; // one left unmarked
    r[k] = i % 4 === 3 ? 'wrong' : 'right';
    tally[r[m]] ??= [0, 0];
    tally[r[m]][0] += r[k] === 'right';
    tally[r[m]][1]++;
  });
  const file = join(out, 'marked.csv');
  writeFileSync(file, toCsv(all.rows));
  const r = cli(['audit', '--score', file]);
  assert.equal(r.status, 0, r.stderr);
  const pct = (x) => (100 * x).toFixed(1);
  const line = (name, right, n) => {
    const [lo, hi] = wilson(right, n);
    const want = new RegExp(`^${name}\\s+${n}\\s+${right}\\s+${pct(right / n)} %\\s+${pct(lo)} % -\\s+${pct(hi)} %$`, 'm');
    assert.match(r.stdout, want);
  };
  let right = 0, n = 0;
  for (const [name, [k1, n1]] of Object.entries(tally)) { line(name, k1, n1); right += k1; n += n1; }
  line('all', right, n);
  assert.match(r.stdout, /1 calls not marked yet/);
  // an unmarked file, and a file that is not an audit
  assert.equal(cli(['audit', '--score', join(out, 'h', 'audit.csv')]).status, 1);
  writeFileSync(join(out, 'other.csv'), 'a,b\r\n1,2\r\n');
  const bad = cli(['audit', '--score', join(out, 'other.csv')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no 'method' and 'correct' columns/);
  assert.equal(cli(['audit', '--account', srv.accountId, '--out', out, '--period', 'soon', '--db', srv.db]).status, 2);
  assert.equal(cli(['audit', '--account', srv.accountId, '--out', out, '--sample', '0', '--db', srv.db]).status, 2);
});
