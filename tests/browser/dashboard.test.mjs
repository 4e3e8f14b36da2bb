// SPDX-License-Identifier: AGPL-3.0-or-later
// The operator dashboard at /app/ in Chromium against the real server (API.md "Dashboard entry",
// docs/dashboard.md): a bad login stays on the form with a message and no cookie; `opendni user
// add` then a good login shows the account's calls (made with `opendni call simulate` after
// visits with UTMs) with source, campaign and keyword as text; a campaign that is HTML shows as
// text and runs nothing; a call's attribution explained; a viewer cannot change anything (no
// control in the UI, 403 from the API); logout ends the session; cross-origin posts are refused;
// the initial load stays within 100 KB gzipped; screenshots of the calls, a call and Settings
// (browser/make_run takes Overview, Numbers and Reports, on the demo's week). Reports (grouped
// by source / campaign / …, a period, totals, the CSV) for an analyst and a note plus 403 for a
// viewer; Settings (the tracking snippet, copied; the audit log for owners); axe-core finds no
// serious or critical violation on any screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { launch, serverWithPool, fixtureServer, waitFor, html, TEST_BIN } from './support.mjs';
import { spawn } from 'node:child_process';
import { cli, createAccount, sql, SHOTS, BIN } from '../helpers/server.mjs';

const PW = 'correct horse battery';
const XSS = '<img src=x onerror=alert(1)>';
const UTM = (campaign, keyword) => 'https://plumber.example/landing?utm_source=google&utm_medium=cpc' +
  `&utm_campaign=${encodeURIComponent(campaign)}&utm_term=${encodeURIComponent(keyword)}&gclid=TEST123`;

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

function addUser(s, email, role) {
  const r = cli(['user', 'add', email, '--account', s.accountId, '--role', role, '--password-stdin', '--db', s.db],
    { input: PW + '\n' });
  assert.equal(r.status, 0, r.stderr);
}

/** A visit with these UTMs, then a simulated call to the number it was shown. */
async function visitAndCall(s, campaign, keyword, from) {
  const v = await s.visit({ url: UTM(campaign, keyword) });
  assert.equal(v.status, 200, JSON.stringify(v.json));
  const r = cli(['call', 'simulate', '--to', v.json.numbers[0].number, '--from', from, '--duration', '95',
    '--no-wait', '--server', s.url, '--db', s.db]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
}

function get(url, headers = {}) {
  return new Promise((ok, fail) => {
    http.get(url, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', fail);
  });
}

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

async function page(t, { axe = false, origin = null } = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  t.after(() => ctx.close());
  // axe-core from node_modules, put into every page by the browser itself (an init script is not
  // subject to the page's CSP, which allows no inline script)
  if (axe) await ctx.addInitScript({ path: AXE });
  if (origin) await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  const p = await ctx.newPage();
  p.errors = [];
  p.dialogs = [];
  p.on('pageerror', (e) => p.errors.push(String(e)));
  p.on('dialog', (d) => { p.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  return p;
}

async function signIn(p, s, email, password = PW) {
  await p.goto(s.url + '/app/');
  await p.fill('input[name=email]', email);
  await p.fill('input[name=password]', password);
  await p.click('button[type=submit]');
}

/** axe-core's serious and critical violations on the page as it is now ([] when none). */
async function axeProblems(p, screen) {
  const found = await p.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  });
  return found.map((f) => `${screen}: ${f}`);
}

/** The audit log as "actor action" lines. */
const sqlAudit = (s) => sql(s.db, 'select actor, action from audit_log order by id');

const cookieNames = async (p) => (await p.context().cookies()).map((c) => c.name);

/** The app's own fetch, with the CSRF token it holds (as the UI would send it). */
const appPost = (p, url, body) => p.evaluate(async ([u, b]) => {
  const me = await (await fetch('/v1/app/me')).json();
  const r = await fetch(u, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf },
    body: JSON.stringify(b) });
  return { status: r.status, body: await r.json().catch(() => null) };
}, [url, body]);

test('login, the calls as text, an HTML campaign that runs nothing, attribution, screenshots', async (t) => {
  const s = await serverWithPool(t, { self: true });
  await visitAndCall(s, 'spring-sale', 'emergency plumber', '+15125550111');
  await visitAndCall(s, XSS, 'water heater', '+15125550122');
  addUser(s, 'owner@example.com', 'owner');
  const p = await page(t);

  // a bad login: still the form, a message, no cookie
  await signIn(p, s, 'owner@example.com', 'not the password');
  await p.waitForSelector('[role=alert]');
  assert.match(await p.textContent('[role=alert]'), /wrong email or password/i);
  assert.ok(await p.isVisible('input[name=email]'));
  assert.deepEqual(await cookieNames(p), []);

  // a good one: the account's calls, source / campaign / keyword as text
  await signIn(p, s, 'owner@example.com');
  await p.waitForSelector('tr.call');
  const cookie = (await p.context().cookies()).find((c) => c.name === 'opendni_sid');
  assert.ok(cookie.httpOnly);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(await p.textContent('[data-period=today]'), '2');
  const campaigns = await p.$$eval('tr.call .t-campaign', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(campaigns.sort(), [XSS, 'spring-sale'].sort());
  const keywords = await p.$$eval('tr.call .t-keyword', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(keywords.sort(), ['emergency plumber', 'water heater']);
  assert.deepEqual(await p.$$eval('tr.call .t-source', (tds) => tds.map((td) => td.textContent)),
    ['google / cpc', 'google / cpc']);
  assert.equal(await p.$$eval('main img', (imgs) => imgs.length), 0, 'the campaign made no element');
  fs.mkdirSync(SHOTS, { recursive: true });

  // the Calls screen and a call's attribution explained
  await p.click('nav a[href="#/calls"]');
  await p.waitForSelector('table.calls tr.call');
  await p.screenshot({ path: path.join(SHOTS, 'dashboard-calls.png'), fullPage: true });
  const xssRow = p.locator('tr.call', { hasText: 'water heater' });
  await xssRow.locator('a').click();
  await p.waitForSelector('.attribution .d-campaign');
  assert.equal(await p.textContent('.attribution .d-campaign'), XSS);
  assert.match(await p.textContent('.attribution'), /exact/);
  assert.ok((await p.textContent('.attribution .reason')).length > 3, 'a reason is given');
  await p.screenshot({ path: path.join(SHOTS, 'dashboard-call.png'), fullPage: true });
  await p.click('nav a[href="#/numbers"]');
  await p.waitForSelector('.pool dl.health');
  await p.waitForSelector('.pool figure.chart canvas'); // numbers in use over time
  assert.match(await p.getAttribute('.pool figure.chart [role=img]', 'aria-label'), /at most 2 of 10/);

  // a call made now shows up on the Overview within the 2 s poll
  await p.click('nav a[href="#/overview"]');
  await p.waitForSelector('[data-period=today]');
  await visitAndCall(s, 'autumn', 'drain cleaning', '+15125550133');
  await p.waitForFunction(() => document.querySelector('[data-period=today]').textContent === '3', null, { timeout: 5000 });
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.dialogs, [], 'nothing ran: no alert');
});

test('a viewer sees, cannot change anything; logout ends the session', async (t) => {
  const s = await serverWithPool(t, { self: true });
  await visitAndCall(s, 'spring-sale', 'emergency plumber', '+15125550111');
  addUser(s, 'viewer@example.com', 'viewer');
  const p = await page(t);
  await signIn(p, s, 'viewer@example.com');
  await p.waitForSelector('tr.call');
  assert.match(await p.textContent('header .user'), /viewer/);
  // the UI has no control that changes data: the only buttons are logout (and none in main)
  assert.equal(await p.$$eval('main button, main form', (els) => els.length), 0);
  const r = await appPost(p, '/v1/pools', { name: 'x', target: '+15555550100', forward_to: '+15555550100' });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'forbidden');
  assert.equal((await s.api('GET', '/v1/pools')).json.pools.length, 1, 'nothing created');
  // the caller is masked for a viewer, in the table and in the API
  assert.match(await p.textContent('tr.call td:nth-child(2)'), /0111$/);
  const calls = await p.evaluate(async () => (await (await fetch('/v1/calls')).json()).calls);
  assert.doesNotMatch(calls[0].from, /5125550111/);

  const sid = (await p.context().cookies()).find((c) => c.name === 'opendni_sid').value;
  await p.click('text=Log out');
  await p.waitForSelector('input[name=email]');
  assert.deepEqual(await cookieNames(p), []);
  const old = await get(s.url + '/v1/calls', { Cookie: 'opendni_sid=' + sid });
  assert.equal(old.status, 401, 'the old session is over on the server too');
  await p.reload();
  await p.waitForSelector('input[name=email]');
  assert.deepEqual(p.errors, []);
});

test('cross-origin posts are refused: a login form and a state change from another site', async (t) => {
  const routes = {};
  const fx = await fixtureServer(t, routes);
  const s = await serverWithPool(t, { self: true });
  addUser(s, 'admin@example.com', 'admin');
  const p = await page(t);
  await signIn(p, s, 'admin@example.com');
  await p.waitForSelector('header .user');
  // another site posts a login form (login CSRF) and a JSON write with the victim's cookie
  routes['/evil.html'] = { body: html('', `
    <form id="f" method="post" action="${s.url}/app/login">
      <input name="email" value="admin@example.com"><input name="password" value="${PW}"></form>
    <script>
      fetch('${s.url}/v1/pools', { method: 'POST', mode: 'no-cors', credentials: 'include',
        headers: { 'Content-Type': 'text/plain' }, body: '{"name":"evil","target":"+15555550100","forward_to":"+15555550100"}' })
        .finally(() => document.getElementById('f').submit());
    </script>`) };
  const answers = [];
  p.on('response', (r) => { if (r.url().startsWith(s.url)) answers.push([new URL(r.url()).pathname, r.status()]); });
  await p.goto(fx.origin + '/evil.html');
  await waitFor(() => answers.some(([u]) => u === '/app/login'), 5000, 'the cross-site form post');
  assert.deepEqual(answers.find(([u]) => u === '/app/login'), ['/app/login', 403]);
  const pools = await s.api('GET', '/v1/pools');
  assert.deepEqual(pools.json.pools.map((x) => x.name), ['website'], 'nothing was created');
});

test('the initial load is at most 100 KB gzipped, with a strict CSP and no inline script', async (t) => {
  const s = await serverWithPool(t);
  let total = 0;
  const page0 = await get(s.url + '/app/', { 'Accept-Encoding': 'gzip' });
  assert.equal(page0.status, 200);
  const csp = page0.headers['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  total += page0.body.length;
  for (const f of ['/app/app.js', '/app/app.css']) {
    const r = await get(s.url + f, { 'Accept-Encoding': 'gzip' });
    assert.equal(r.status, 200, f);
    assert.equal(r.headers['content-encoding'], 'gzip', f);
    total += r.body.length;
  }
  console.log(`dashboard initial load: ${total} bytes gzipped`);
  assert.ok(total <= 100 * 1024, `initial load ${total} B > 100 KB gzipped`);
  const p = await page(t);
  const violations = [];
  p.on('console', (m) => { if (/Content Security Policy/.test(m.text())) violations.push(m.text()); });
  await p.goto(s.url + '/app/');
  await p.waitForSelector('input[name=email]');
  assert.equal(await p.$$eval('script:not([src])', (els) => els.length), 0);
  assert.deepEqual(violations, []);
  assert.deepEqual(p.errors, []);
});

test('Reports and Settings; a viewer is told reports need the analyst role; axe on every screen', async (t) => {
  const s = await serverWithPool(t, { self: true });
  await visitAndCall(s, 'spring-sale', 'emergency plumber', '+15125550111');
  await visitAndCall(s, XSS, 'water heater', '+15125550122');
  addUser(s, 'owner@example.com', 'owner');
  addUser(s, 'analyst@example.com', 'analyst');
  addUser(s, 'viewer@example.com', 'viewer');
  const problems = [];
  const p = await page(t, { axe: true, origin: s.url });
  const csp = [];
  p.on('console', (m) => { if (/Content Security Policy/.test(m.text())) csp.push(m.text()); });

  await p.goto(s.url + '/app/');
  await p.waitForSelector('input[name=email]');
  problems.push(...await axeProblems(p, 'login'));

  // an analyst: the Reports screen, by source then by campaign, with totals and the CSV
  await signIn(p, s, 'analyst@example.com');
  await p.waitForSelector('tr.call');
  problems.push(...await axeProblems(p, 'overview'));
  await p.click('nav a[href="#/reports"]');
  await p.waitForSelector('table.report tr.group');
  const rows = async () => p.$$eval('table.report tr.group', (trs) => trs.map((tr) =>
    [tr.querySelector('.r-key').textContent, tr.querySelector('.r-calls').textContent]));
  assert.deepEqual(await rows(), [['google', '2']]);
  assert.equal(await p.textContent('table.report tr.totals .r-calls'), '2');
  assert.deepEqual(await p.$$eval('table.report thead th', (ths) => ths.map((th) => th.textContent)),
    ['Source', 'Calls', 'Answered', 'Qualified', 'Conversions', 'Value', 'Average duration']);
  problems.push(...await axeProblems(p, 'reports'));
  await p.selectOption('#group', 'campaign');
  await p.waitForFunction(() => document.querySelector('table.report thead th')?.textContent === 'Campaign');
  // the header follows the select at once; the rows once the new report has arrived
  await p.waitForFunction(() => document.querySelectorAll('table.report tr.group').length === 2);
  assert.deepEqual((await rows()).sort(), [[XSS, '1'], ['spring-sale', '1']].sort());
  assert.equal(await p.$$eval('main img', (imgs) => imgs.length), 0, 'the campaign made no element');
  await p.selectOption('#rperiod', '0');
  await p.waitForFunction(() => document.querySelector('a.csv').href.includes('group_by=campaign'));
  assert.equal(await p.textContent('table.report tr.totals .r-calls'), '2', 'both calls are today');
  const href = await p.getAttribute('a.csv', 'href');
  assert.match(href, /^\/v1\/reports\/calls\?group_by=campaign&since=.*&format=csv$/);
  const [dl] = await Promise.all([p.waitForEvent('download'), p.click('a.csv')]);
  const csv = fs.readFileSync(await dl.path(), 'utf8');
  assert.match(csv.split('\n')[0], /^campaign,calls,answered/);
  assert.match(csv, /spring-sale,1,/);

  // Settings: the tracking snippet with the server's URL and the account, copied; no audit log
  await p.click('nav a[href="#/settings"]');
  await p.waitForSelector('textarea.snippet');
  const snippet = `<script src="${s.url}/dni.js" data-account="${s.accountId}" async></script>`;
  assert.equal(await p.inputValue('textarea.snippet'), snippet);
  await p.click('button.copy');
  await p.waitForFunction(() => document.querySelector('.status').textContent === 'Copied.');
  assert.equal(await p.evaluate(() => navigator.clipboard.readText()), snippet);
  assert.match(await p.textContent('.audit-note'), /owners/);
  assert.equal(await p.$$eval('table.audit', (els) => els.length), 0);
  problems.push(...await axeProblems(p, 'settings (analyst)'));

  // the other screens, for axe
  await p.click('nav a[href="#/calls"]');
  await p.waitForSelector('table.calls tr.call');
  problems.push(...await axeProblems(p, 'calls'));
  await p.locator('tr.call a').first().click();
  await p.waitForSelector('.attribution .d-campaign');
  problems.push(...await axeProblems(p, 'call'));
  await p.click('nav a[href="#/numbers"]');
  await p.waitForSelector('.pool dl.health');
  problems.push(...await axeProblems(p, 'numbers'));
  await p.click('.pool .run-sweep');
  await p.waitForSelector('.sweep-chart canvas');
  await p.click('.sweep details summary');
  problems.push(...await axeProblems(p, 'numbers (a pool sweep)'));
  await p.click('text=Log out');
  await p.waitForSelector('input[name=email]');

  // an owner: the audit log (the `opendni user add` above, by the CLI)
  await signIn(p, s, 'owner@example.com');
  await p.waitForSelector('tr.call');
  await p.click('nav a[href="#/settings"]');
  await p.waitForSelector('table.audit tr.entry');
  const audit = await p.$$eval('table.audit tr.entry', (trs) => trs.map((tr) =>
    [tr.querySelector('.a-actor').textContent, tr.querySelector('.a-action').textContent,
      tr.querySelector('.a-subject').textContent]));
  assert.ok(audit.some(([actor, , subject]) => actor === 'cli' && subject.includes('viewer@example.com')),
    JSON.stringify(audit));
  problems.push(...await axeProblems(p, 'settings (owner)'));
  await p.click('text=Log out');
  await p.waitForSelector('input[name=email]');

  // a viewer: the screen says reports need the analyst role; the API answers 403
  await signIn(p, s, 'viewer@example.com');
  await p.waitForSelector('tr.call');
  await p.click('nav a[href="#/reports"]');
  await p.waitForSelector('.needs-role');
  assert.match(await p.textContent('.needs-role'), /analyst role/);
  assert.equal(await p.$$eval('table.report, a.csv', (els) => els.length), 0);
  const r403 = await p.evaluate(async () => {
    const r = await fetch('/v1/reports/calls?group_by=source');
    return { status: r.status, body: await r.json() };
  });
  assert.equal(r403.status, 403);
  assert.equal(r403.body.error.code, 'forbidden');
  problems.push(...await axeProblems(p, 'reports (viewer)'));

  assert.deepEqual(problems, [], 'axe-core: no serious or critical violation');
  assert.deepEqual(csp, [], 'no CSP violation');
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.dialogs, [], 'nothing ran: no alert');
});

/** `opendni call simulate` in the background: rings now, ends after `seconds`. */
function simulateLive(s, to, from, seconds) {
  const child = spawn(BIN, ['call', 'simulate', '--to', to, '--from', from, '--duration', String(seconds),
    '--server', s.url, '--db', s.db], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((ok, fail) => child.on('exit', (code) => (code === 0 ? ok() : fail(new Error('simulate: ' + err)))));
}

test('live feed by SSE, the calls table with filters, a call\'s journey, a tag, the CSV; charts', async (t) => {
  const s = await serverWithPool(t, { self: true });
  await visitAndCall(s, 'spring-sale', 'emergency plumber', '+15125550111');
  addUser(s, 'analyst@example.com', 'analyst');
  const p = await page(t);
  const csp = [];
  p.on('console', (m) => { if (/Content Security Policy/.test(m.text())) csp.push(m.text()); });
  await signIn(p, s, 'analyst@example.com');
  await p.waitForSelector('.live-state.live');
  assert.equal(await p.$$eval('figure.chart canvas', (c) => c.length), 1, 'the calls-by-source chart');
  assert.match(await p.getAttribute('figure.chart [role=img]', 'aria-label'), /google 1/);

  // a call made now: ringing in the live feed within 2 s, then ended within 2 s of its end
  const v = await s.visit({ url: UTM('autumn', 'drain cleaning') });
  // the visitor reads two more pages (a page load, then a single-page app's move) before calling
  const more = await s.visit({ url: 'https://plumber.example/services?x=1', title: 'Our services', session_id: v.json.session_id });
  assert.equal(more.status, 200, more.text);
  const moved = await s.api('POST', `/v1/visits/${v.json.session_id}/ping`, { url: 'https://plumber.example/contact', title: XSS }, null);
  assert.equal(moved.status, 200, moved.text);
  const t0 = Date.now();
  const done = simulateLive(s, v.json.numbers[0].number, '+15125550177', 2);
  await p.waitForSelector('.feed li.s-ringing', { timeout: 2000 });
  const ringingMs = Date.now() - t0;
  await done;
  const t1 = Date.now();
  await p.waitForFunction(() => document.querySelector('.feed li')?.classList.contains('s-completed'), null, { timeout: 2000 });
  console.log(`live feed: ringing ${ringingMs} ms after simulate started; completed ${Date.now() - t1} ms after it ended`);
  assert.match(await p.textContent('.feed li'), /autumn/);

  // the calls table: filter by campaign, the call is there; the CSV with the filter
  await p.click('nav a[href="#/calls"]');
  await p.waitForSelector('table.calls tr.call');
  await p.fill('#f-campaign', 'autumn');
  await p.press('#f-campaign', 'Enter');
  await p.waitForFunction(() => document.querySelectorAll('table.calls tr.call').length === 1);
  assert.equal(await p.textContent('tr.call .t-campaign'), 'autumn');
  assert.equal(await p.textContent('tr.call .t-caller'), '(512) 555-0177', 'an analyst sees the caller');
  await p.selectOption('#f-first', 'true');
  await p.waitForFunction(() => document.querySelector('a.csv').href.includes('first_time=true'));
  const [dl] = await Promise.all([p.waitForEvent('download'), p.click('a.csv')]);
  const csv = fs.readFileSync(await dl.path(), 'utf8').trim().split('\r\n');
  assert.equal(csv.length, 2, csv.join('\n'));
  assert.match(csv[1], /,\+15125550177,/);
  assert.match(csv[1], /,autumn,drain cleaning$/);

  // its page: attribution, the journey, the outcome editor; a tag set here is in the API
  await p.locator('tr.call a').first().click();
  await p.waitForSelector('.journey .visit');
  assert.equal(await p.textContent('.journey .j-campaign'), 'autumn');
  assert.match(await p.textContent('.journey .j-landing'), /plumber\.example\/landing/);
  // the pages seen, in order, the title a site wrote shown as text
  assert.deepEqual(await p.$$eval('.journey .pages .pv-path', (els) => els.map((e) => e.textContent)),
    ['/landing', '/services', '/contact']);
  assert.deepEqual(await p.$$eval('.journey .pages .pv-title', (els) => els.map((e) => e.textContent)),
    ['Our services', XSS]);
  assert.equal(await p.$$eval('.journey .pages img', (els) => els.length), 0);
  assert.match(await p.textContent('.attribution'), /exact/);
  await p.fill('#o-tags', 'vip, roof repair');
  await p.selectOption('#o-lead', 'won');
  await p.click('.outcome-form button[type=submit]');
  await p.waitForFunction(() => document.querySelector('.outcome .status').textContent === 'Saved.');
  const id = new URL(p.url()).hash.split('/')[2];
  const call = await s.api('GET', '/v1/calls/' + id);
  assert.deepEqual(call.json.outcome.tags, ['vip', 'roof repair']);
  assert.equal(call.json.outcome.lead_status, 'won');
  const audit = sqlAudit(s);
  assert.ok(audit.includes('analyst@example.com|PATCH /v1/calls/{}'), audit);
  // earlier calls from the same caller are listed
  await visitAndCall(s, 'winter', 'boiler', '+15125550177');
  const calls = (await s.api('GET', '/v1/calls?from=%2B15125550177')).json.calls;
  await p.goto(s.url + '/app/#/calls/' + calls[1].id);
  await p.waitForSelector('.earlier li');
  assert.equal(await p.$$eval('.earlier li', (lis) => lis.length), 1);

  // a chart on Reports
  await p.click('nav a[href="#/reports"]');
  await p.waitForSelector('table.report tr.group');
  await p.waitForSelector('figure.chart canvas'); // the chart draws after its table (uPlot loads apart)
  assert.equal(await p.$$eval('figure.chart canvas', (c) => c.length), 1);
  assert.deepEqual(csp, [], 'no CSP violation (uPlot styles through the CSSOM)');
  assert.deepEqual(p.errors, []);
});

test('the pool page\'s sweep: a uPlot chart of the API\'s figures, the current and recommended sizes', async (t) => {
  const s = await serverWithPool(t);
  for (let i = 0; i < 3; i++) await visitAndCall(s, 'sweep', 'kw' + i, `+151255502${i}0`);
  addUser(s, 'sweeper@example.com', 'analyst');
  addUser(s, 'looker@example.com', 'viewer');
  const p = await page(t);
  const csp = [];
  p.on('console', (m) => { if (/Content Security Policy/.test(m.text())) csp.push(m.text()); });
  await signIn(p, s, 'sweeper@example.com');
  await p.click('nav a[href="#/numbers"]');
  await p.waitForSelector('.pool .run-sweep');
  const [res] = await Promise.all([
    p.waitForResponse((r) => r.url().endsWith(`/v1/pools/${s.poolId}/simulate`)),
    p.click('.pool .run-sweep'),
  ]);
  assert.equal(res.status(), 200);
  const sweep = await res.json();
  await p.waitForSelector('.sweep-chart canvas');
  // the canvas has something drawn on it
  const inked = await p.$eval('.sweep-chart canvas', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return n;
  });
  assert.ok(inked > 100, `the chart drew ${inked} pixels`);
  // the numbers on the page are the API's: one row per size, the current size marked
  assert.equal(sweep.current_size, 10); // the pool's 10 numbers
  assert.equal(sweep.history.calls, 3);
  await p.click('.sweep details summary');
  const rows = await p.$$eval('.sweep-table tbody tr', (trs) => trs.map((tr) => [tr.querySelector('th').textContent,
    tr.querySelector('.s-acc').textContent]));
  assert.equal(rows.length, sweep.results.length);
  sweep.results.forEach((r, i) => {
    assert.equal(rows[i][0], String(r.pool_size) + (r.pool_size === sweep.current_size ? ' (now)' : ''));
    assert.equal(rows[i][1], r.accuracy == null ? '—' : `${Math.round(r.accuracy * 100)}%`);
  });
  assert.match(await p.textContent('.sweep-chart .legend'), /now: 10 numbers/);
  if (sweep.recommended_pool_size != null) {
    assert.equal(await p.textContent('.sweep-recommended'), String(sweep.recommended_pool_size));
    assert.match(await p.textContent('.sweep-chart .legend'), new RegExp(`recommended: ${sweep.recommended_pool_size}`));
  }
  assert.match(await p.getAttribute('.sweep-chart [role=img]', 'aria-label'), /with the 10 numbers it has now/);
  // the same history through the API with a key: the same figures
  const again = await s.api('POST', `/v1/pools/${s.poolId}/simulate`, { days: 30 });
  assert.deepEqual(again.json.results, sweep.results);
  await p.screenshot({ path: path.join(SHOTS, 'dashboard-numbers.png'), fullPage: true });
  assert.deepEqual(csp, []);
  assert.deepEqual(p.errors, []);
  // a viewer sees no button, only why
  await p.click('text=Log out');
  await signIn(p, s, 'looker@example.com');
  await p.click('nav a[href="#/numbers"]');
  await p.waitForSelector('.pool dl.health');
  assert.equal(await p.$$eval('.run-sweep', (b) => b.length), 0);
  assert.match(await p.textContent('.pool .needs-role'), /analyst role/);
});

test('a viewer: no outcome editor, no settings changes (403 from the API)', async (t) => {
  const s = await serverWithPool(t, { self: true });
  await visitAndCall(s, 'spring-sale', 'emergency plumber', '+15125550111');
  addUser(s, 'viewer@example.com', 'viewer');
  const p = await page(t);
  await signIn(p, s, 'viewer@example.com');
  await p.waitForSelector('tr.call');
  await p.locator('tr.call a').first().click();
  await p.waitForSelector('.outcome .needs-role');
  assert.equal(await p.$$eval('.outcome form, .outcome button', (els) => els.length), 0);
  const id = new URL(p.url()).hash.split('/')[2];
  const patch = await p.evaluate(async (callId) => {
    const me = await (await fetch('/v1/app/me')).json();
    const r = await fetch('/v1/calls/' + callId, { method: 'PATCH', body: '{"tags":["x"]}',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf } });
    return r.status;
  }, id);
  assert.equal(patch, 403);
  assert.equal(await p.$$eval('.earlier', (els) => els.length), 0, 'callers are masked: no earlier calls');
  await p.click('nav a[href="#/settings"]');
  await p.waitForSelector('textarea.snippet');
  assert.equal(await p.$$eval('#new-origin, button.create-key, .add-user, select.role', (els) => els.length), 0);
  for (const [url, body] of [['/v1/app/keys', {}], ['/v1/app/origins', { origin: 'https://evil.example' }],
    ['/v1/app/users', { email: 'x@example.com', role: 'owner', password: PW }]]) {
    const r = await appPost(p, url, body);
    assert.equal(r.status, 403, url);
  }
  assert.equal((await s.api('GET', '/v1/calls/' + id)).json.outcome.tags.length, 0, 'nothing changed');
  assert.deepEqual(p.errors, []);
});

test('an owner: keys shown once and revoked, an origin, a user; switching accounts; the roll-up; the session expires', async (t) => {
  const s = await serverWithPool(t, { self: true, bin: TEST_BIN }); // the test clock: expiry
  await visitAndCall(s, 'spring-sale', 'emergency plumber', '+15125550111');
  addUser(s, 'owner@example.com', 'owner');
  const second = createAccount(s.db, 'Second site', ['https://second.example']);
  const r0 = cli(['user', 'add', 'owner@example.com', '--account', second.accountId, '--role', 'owner', '--db', s.db]);
  assert.equal(r0.status, 0, r0.stderr);
  const p = await page(t, { axe: true });
  await signIn(p, s, 'owner@example.com');
  await p.waitForSelector('table.rollup tr.acct');
  const rollup = await p.$$eval('table.rollup tr.acct', (trs) => trs.map((tr) =>
    [tr.querySelector('th').textContent, tr.querySelector('.r-calls').textContent]));
  assert.deepEqual(rollup.sort(), [['Second site', '0'], ['Test (this one)', '1']]);
  const problems = await axeProblems(p, 'overview (owner, roll-up)');

  await p.click('nav a[href="#/settings"]');
  await p.waitForSelector('button.create-key');
  await p.click('button.create-key');
  await p.waitForSelector('input.key');
  const key = await p.inputValue('input.key');
  assert.match(key, /^odk_/);
  assert.equal((await s.api('GET', '/v1/pools', undefined, key)).status, 200, 'the key shown works');
  problems.push(...await axeProblems(p, 'settings (owner, a new key)'));
  await p.click('.new-key button.link');
  assert.equal(await p.$$eval('input.key', (els) => els.length), 0, 'shown once');
  assert.equal((await p.content()).includes(key), false);
  const rows = p.locator('tr.key-row:not(.revoked)');
  assert.equal(await rows.count(), 2);
  await rows.first().locator('button.revoke').click();
  await rows.first().locator('button.danger').click();
  await p.waitForFunction(() => document.querySelectorAll('tr.key-row.revoked').length === 1);
  assert.equal((await s.api('GET', '/v1/pools', undefined, key)).status, 401, 'the newest key was revoked');

  await p.fill('#new-origin', 'https://shop.example.com');
  await p.click('form.inline button[type=submit]');
  await p.waitForFunction(() => [...document.querySelectorAll('code.origin')].some((c) => c.textContent === 'https://shop.example.com'));
  await p.fill('#u-email', 'clerk@example.com');
  await p.selectOption('#u-role', 'analyst');
  await p.fill('#u-password', 'a long enough password');
  await p.click('.add-user button[type=submit]');
  await p.waitForSelector('tr.user-row[data-email="clerk@example.com"]');
  await p.fill('#prov-sid', 'AC42');
  await p.fill('#prov-secret', 'abcdefghijklmnopqrstuvwxyz123456');
  await p.click('text=Save credentials');
  await p.waitForFunction(() => document.querySelector('td.masked')?.textContent === '••••3456');
  assert.equal((await p.content()).includes('abcdefghijklmnop'), false, 'the secret is not shown');
  problems.push(...await axeProblems(p, 'settings (owner, everything)'));
  await p.screenshot({ path: path.join(SHOTS, 'dashboard-settings.png'), fullPage: true });

  // switch to the other account: its (empty) data, the stream scoped to it
  await p.selectOption('#account', second.accountId);
  await p.waitForFunction((n) => document.querySelector('#account').value === n, second.accountId);
  await p.click('nav a[href="#/overview"]');
  await p.waitForSelector('[data-period=today]');
  assert.equal(await p.textContent('[data-period=today]'), '0');
  await p.selectOption('#account', s.accountId);
  await p.waitForFunction(() => document.querySelector('[data-period=today]')?.textContent === '1');

  // the session expires after 12 h idle (test clock): the app is back at the login form
  await s.advance(13 * 3600 * 1000);
  await p.evaluate(() => { location.hash = '#/calls'; }); // any request now finds the session over
  await p.waitForSelector('input[name=email]', { timeout: 5000 });
  assert.deepEqual(problems, [], 'axe-core: no serious or critical violation');
  assert.deepEqual(p.errors, []);
});
