// SPDX-License-Identifier: AGPL-3.0-or-later
// `make run` end to end: scripts/demo provisions a demo store and serves the demo; the page's
// numbers swap in Chromium; the `opendni call simulate` command it prints puts a call attributed
// to the demo campaign into GET /v1/calls, after the demo's week of generated calls. Runs on a
// free port with its own data directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { BIN, SHOTS } from '../helpers/server.mjs';
import { SRC, launch, humanContext } from './support.mjs';

function freePort() {
  return new Promise((ok) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); });
  });
}

test('the demo that make run serves swaps numbers, and its printed call command is attributed', async (t) => {
  const data = mkdtempSync(path.join(tmpdir(), 'opendni-demo-'));
  const port = await freePort();
  const demo = spawn('sh', [path.join(SRC, 'scripts/demo')], {
    cwd: SRC, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, OPENDNI_BIN: BIN, DEMO_LISTEN: `127.0.0.1:${port}`, DEMO_DATA: data },
  });
  t.after(() => {
    try { process.kill(-demo.pid, 'SIGTERM'); } catch {}
    rmSync(data, { recursive: true, force: true });
  });
  let out = '';
  demo.stdout.on('data', (d) => { out += d; });
  demo.stderr.on('data', () => {});
  for (let i = 0; i < 300 && !/password: /.test(out); i++) await new Promise((r) => setTimeout(r, 50));
  const open = out.match(/(http:\/\/\S+\/demo\/\?\S+)/);
  const call = out.match(/(\S*opendni call simulate .*)/);
  const key = out.match(/Bearer (odk_\w+)/);
  const dash = out.match(/(http:\/\/\S+\/app\/)\s+login: (\S+)\s+password: (\S+)/);
  assert.ok(open && call && key && dash, out);

  const browser = await launch();
  t.after(() => browser.close());
  const page = await (await humanContext(browser)).newPage();
  await page.goto(open[1]);
  await page.waitForFunction(() => /tel:\+1555555010[1-9]|tel:\+15555550110/.test(document.body.innerHTML));
  const shown = (await page.getAttribute('a[href^="tel:"]', 'href')).replace('tel:', '');
  assert.match(shown, /^\+15555550(10[1-9]|110)$/);
  const jsonld = await page.evaluate(() => document.querySelector('script[type="application/ld+json"]').textContent);
  assert.ok(!jsonld.includes(shown.slice(2)) && /555.?555.?0100/.test(jsonld), 'JSON-LD keeps the real number');

  // The README tour's headless look: chromium's own --headless is a bot (no swap) unless given a
  // desktop User-Agent, as the tour says; with it, the dumped page shows a tracking number.
  const dump = (extra) => execFileSync('/usr/bin/chromium', ['--headless', '--no-sandbox', ...extra,
    '--virtual-time-budget=5000', '--dump-dom', open[1]], { timeout: 60000, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  assert.doesNotMatch(dump([]), /555-555-01(0[1-9]|10)/, 'HeadlessChrome is a bot: no swap');
  const tour = readFileSync(path.join(SRC, 'README.md'), 'utf8').match(/--user-agent='([^']+)'/);
  assert.ok(tour, 'the README tour gives the User-Agent');
  assert.match(dump([`--user-agent=${tour[1]}`]), /555-555-01(0[1-9]|10)/, 'with the tour\'s User-Agent it swaps');

  // The printed command, as a person would run it: it reports the call at once (--no-wait).
  assert.match(call[1], / --no-wait /, 'the tour prints call simulate with --no-wait');
  const args = call[1].trim().split(/\s+/).slice(1)
    .map((a) => (a === '<the' ? null : a)).filter((a) => a !== null && a !== 'number' && a !== 'shown>');
  const to = args.indexOf('--to');
  args.splice(to + 1, 0, shown);
  args[args.indexOf('--duration') + 1] = '61';
  execFileSync(BIN, args.map((a) => a.replace(/^demo-data\//, data + '/')), { cwd: SRC, timeout: 30000, stdio: 'ignore' });
  const res = await fetch(`http://127.0.0.1:${port}/v1/calls?limit=500`, { headers: { Authorization: `Bearer ${key[1]}` } });
  const all = (await res.json()).calls;
  // the demo's week of calls (scripts/demo-seed.mjs) came first: every one of the 7 days before
  // today has calls, attributed by the server itself; the call just made is the newest
  const week = all.slice(0, -1);
  const days = new Set(week.map((c) => c.started_at.slice(0, 10)));
  assert.ok(week.length >= 30, `a week of demo calls: ${week.length}`);
  assert.ok(days.size >= 7, [...days].join(' '));
  assert.ok(week.every((c) => Date.parse(c.started_at) < Date.now() - 3600000), 'time-shifted into the past');
  assert.ok(week.some((c) => c.attribution.method === 'exact') && week.some((c) => c.attribution.method === 'source'));
  assert.ok(week.some((c) => c.conversion), 'some demo calls converted');
  const calls = all.slice(-1);
  const a = calls[0].attribution;
  assert.equal(calls[0].to, shown);
  assert.equal(a.method, 'exact');
  assert.equal(a.source.campaign, 'spring');
  assert.equal(a.source.keyword, 'emergency plumber');
  assert.deepEqual(a.click_ids, { gclid: 'TEST123' });
  assert.equal(calls[0].conversion?.name, 'Phone call', 'a 61 s call is a conversion');

  // The printed dashboard login shows that call.
  await page.goto(dash[1]);
  await page.fill('input[name=email]', dash[2]);
  await page.fill('input[name=password]', dash[3]);
  await page.click('button[type=submit]');
  await page.waitForSelector('tr.call .t-campaign');
  assert.equal(await page.textContent('tr.call .t-campaign'), 'spring');

  // the demo's week on the dashboard: screenshots of Overview, Numbers and Reports (README,
  // docs/dashboard.md; to docs/screenshots/ with SCREENSHOTS=docs)
  mkdirSync(SHOTS, { recursive: true });
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.waitForSelector('figure.chart canvas');
  assert.match(await page.getAttribute('figure.chart [role=img]', 'aria-label'), /google \d+/);
  await page.waitForSelector('.live-state.live');
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-overview.png'), fullPage: true });
  await page.click('nav a[href="#/numbers"]');
  await page.waitForSelector('.pool figure.chart canvas');
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-numbers.png'), fullPage: true });
  await page.click('nav a[href="#/reports"]');
  await page.waitForSelector('table.report tr.group');
  assert.ok(await page.$$eval('table.report tr.group', (trs) => trs.length) >= 4, 'several sources in the week');
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-reports.png'), fullPage: true });
});
