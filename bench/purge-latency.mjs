// SPDX-License-Identifier: AGPL-3.0-or-later
// The retention purge beside the visit path (docs/operations.md "Privacy"): a store with N
// sessions (and one event each) older than any retention, a server started on it, and visits
// sent one after another while its purge runs and after. Prints the purge's log line and the
// visits' latency during and after. Not a test: a measurement.
//   node bench/purge-latency.mjs [N=200000] [SECONDS=45]     (BIN=build/opendni by default)
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const N = Number(process.argv[2] || 200000), SECONDS = Number(process.argv[3] || 45);
const BIN = process.env.BIN || 'build/opendni';
const dir = mkdtempSync(join(tmpdir(), 'opendni-purge-'));
const db = join(dir, 'm.db'), portFile = join(dir, 'port');
try {
  execFileSync(BIN, ['init', '--db', db], { stdio: 'ignore' });
  const acct = JSON.parse(execFileSync(BIN, ['account', 'create', 'M', '--db', db, '--origin', 'https://s.example', '--json']).toString());
  execFileSync('sqlite3', [db, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ${N})
    INSERT INTO sessions(ext_id, account_id, visitor_id, created_at, last_active_at, landing_page, click_ids)
    SELECT 's_old' || i, 1, 'v_old' || i, 1000 + i, 1000 + i, 'https://s.example/?gclid=x' || i, '{"gclid":"x' || i || '"}' FROM n;
    INSERT INTO events(session_id, type, at) SELECT id, 'tel_click', created_at FROM sessions;`]);
  const p = spawn(BIN, ['serve', '--db', db, '--listen', '127.0.0.1:0', '--port-file', portFile, '--client-share', '0',
    '--client-new-sessions', '0', '--rate-limit-visits', '0', '--max-new-sessions', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const t0 = Date.now();
  let done = 0;
  p.stderr.on('data', (d) => {
    for (const l of d.toString().split('\n')) if (/retention purge/.test(l)) { done ||= Date.now() - t0; console.log(l); }
  });
  while (!existsSync(portFile) || !readFileSync(portFile, 'utf8').trim()) await new Promise((r) => setTimeout(r, 20));
  const url = `http://127.0.0.1:${readFileSync(portFile, 'utf8').trim()}/v1/visits`;
  const lat = [];
  while (Date.now() < t0 + SECONDS * 1000) {
    const a = performance.now();
    const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: 'https://s.example', 'User-Agent': 'Mozilla/5.0 Chrome/120' },
      body: JSON.stringify({ account: acct.account_id, url: 'https://s.example/' }) });
    await r.text();
    lat.push([Date.now() - t0, performance.now() - a]);
  }
  p.kill('SIGTERM');
  await new Promise((r) => p.once('exit', r));
  const q = (a, f) => (a.length ? a[Math.min(a.length - 1, Math.floor(a.length * f))].toFixed(2) : 'n/a');
  const show = (name, a) => { a.sort((x, y) => x - y); console.log(`${name}: n=${a.length} p50=${q(a, 0.5)} ms p99=${q(a, 0.99)} ms max=${q(a, 1)} ms`); };
  if (!done) console.log(`the purge did not finish within ${SECONDS} s`);
  show('visits while purging', lat.filter(([t]) => !done || t < done).map((x) => x[1]));
  if (done) show('visits after', lat.filter(([t]) => t > done + 200).map((x) => x[1]));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
