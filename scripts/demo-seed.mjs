#!/usr/bin/env node
// SPDX-License-Identifier: AGPL-3.0-or-later
// The demo's week of calls (scripts/demo runs it once, on a fresh store): replays seven days of
// visits and calls through the real paths — the visit API, tracker events, and Twilio-signed
// webhooks sent by `opendni call simulate` — on the test binary, whose clock starts a week ago
// (serve --test-clock-start) and is moved forward to each visit (POST /v1/test/clock). So every
// session, lease, attribution, conversion and stream event is what the server itself decided,
// at the time it would have happened. The generator is seeded: the same week every time.
// Usage: demo-seed.mjs TEST_BIN BIN DB ACCOUNT_JSON
// Environment: OPENDNI_SECRETS_KEY_FILE (the demo's), DEMO_SEED (default 1).
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { existsSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [testBin, bin, db, accountFile] = process.argv.slice(2);
if (!accountFile) {
  console.error('usage: demo-seed.mjs TEST_BIN BIN DB ACCOUNT_JSON');
  process.exit(2);
}
const { account_id: account, api_key: key } = JSON.parse(readFileSync(accountFile, 'utf8'));
const DAY = 86400000;
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const MOBILE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';

// mulberry32: small, seeded, good enough for demo data
let seed = Number(process.env.DEMO_SEED || 1) >>> 0;
function rand() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const weighted = (xs) => { let r = rand() * xs.reduce((a, x) => a + x.w, 0); for (const x of xs) { r -= x.w; if (r < 0) return x; } return xs[0]; };

const SITE = 'https://plumber.example';
const SOURCES = [
  { w: 30, url: '/landing?utm_source=google&utm_medium=cpc&utm_campaign=spring&utm_term={kw}&gclid=Cj0{id}', ref: 'https://www.google.com/' },
  { w: 12, url: '/water-heaters?utm_source=google&utm_medium=cpc&utm_campaign=water-heaters&utm_term=water+heater+repair&gclid=Cj0{id}', ref: 'https://www.google.com/' },
  { w: 14, url: '/', ref: 'https://www.google.com/' },
  { w: 8, url: '/landing?utm_source=bing&utm_medium=cpc&utm_campaign=spring&utm_term={kw}&msclkid={id}', ref: 'https://www.bing.com/' },
  { w: 8, url: '/?utm_source=facebook&utm_medium=paid_social&utm_campaign=retargeting&fbclid=IwAR{id}', ref: 'https://m.facebook.com/' },
  { w: 6, url: '/reviews', ref: 'https://www.yelp.com/biz/demo-plumbing' },
  { w: 6, url: '/', ref: '' },
  { w: 4, url: '/?utm_source=newsletter&utm_medium=email&utm_campaign=november', ref: '' },
];
const KEYWORDS = ['emergency+plumber', 'plumber+near+me', 'burst+pipe', 'drain+cleaning', 'leak+repair'];
const CALLERS = Array.from({ length: 40 }, (_, i) => '+1512555' + String(2000 + i * 37).padStart(4, '0'));

function cli(args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`${args.slice(0, 2).join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'opendni-demo-seed-'));
  const portFile = join(dir, 'port');
  const start = new Date(Date.now() - 7 * DAY);
  start.setHours(0, 0, 0, 0);
  const server = spawn(testBin, ['serve', '--db', db, '--listen', '127.0.0.1:0', '--port-file', portFile,
    '--client-share', '0', '--client-new-sessions', '0', '--log-level', 'warn',
    '--test-clock-start', start.toISOString()], { stdio: ['ignore', 'ignore', 'inherit'], env: process.env });
  const stop = () => { if (server.exitCode === null) server.kill('SIGTERM'); };
  process.on('exit', stop);
  try {
    const end = Date.now() + 10000;
    while (!existsSync(portFile) || !readFileSync(portFile, 'utf8').trim()) {
      if (Date.now() > end || server.exitCode !== null) throw new Error('the test server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = 'http://127.0.0.1:' + readFileSync(portFile, 'utf8').trim();
    const api = async (method, path, body, auth = true) => {
      const headers = { 'Content-Type': 'application/json', 'User-Agent': body && body.ua ? body.ua : UA };
      if (auth) headers.Authorization = 'Bearer ' + key;
      if (body) delete body.ua;
      // a new connection each time: a clock jump of hours makes the server's request-timeout
      // sweep close kept-alive connections
      const data = body ? JSON.stringify(body) : '';
      const { status, text } = await new Promise((ok, fail) => {
        const req = http.request(url + path, { method, headers: { ...headers, 'Content-Length': Buffer.byteLength(data) }, agent: false },
          (res) => { let t = ''; res.on('data', (c) => { t += c; }); res.on('end', () => ok({ status: res.statusCode, text: t })); });
        req.on('error', fail);
        req.end(data);
      });
      let json = null;
      try { json = text ? JSON.parse(text) : null; } catch { json = null; }
      if (status >= 400) throw new Error(`${method} ${path}: ${status} ${text}`);
      return json;
    };
    let now = start.getTime();
    const moveTo = async (t) => { t = Math.round(t); if (t > now) { await api('POST', '/v1/test/clock', { advance_ms: t - now }, false); now = t; } };

    // the pool and the billboard number, as scripts/demo provisions them
    const pools = await api('GET', '/v1/pools');
    if (!pools.pools.some((p) => p.name === 'website')) {
      const pool = await api('POST', '/v1/pools', { name: 'website', target: '+15555550100', forward_to: '+15555550100' });
      for (let i = 101; i <= 110; i++) await api('POST', '/v1/numbers', { number: '+1555555' + String(i).padStart(4, '0'), pool: pool.id });
      await api('POST', '/v1/numbers', { number: '+15555550199', target: '+15555550100', forward_to: '+15555550100',
        source: { source: 'billboard', medium: 'offline', campaign: 'i95-north' } });
    }

    // each day: visitors from 7:00 to 20:00, some of whom call
    const events = [];
    for (let d = 0; d < 7; d++) {
      const day = start.getTime() + d * DAY;
      const weekend = [0, 6].includes(new Date(day).getDay());
      const calls = weekend ? 3 + Math.floor(rand() * 3) : 7 + Math.floor(rand() * 6);
      for (let i = 0; i < calls; i++) events.push(Math.round(day + (7 + rand() * 13) * 3600000));
    }
    events.sort((a, b) => a - b);
    let n = 0;
    for (const at of events) {
      await moveTo(at - (2 + rand() * 10) * 60000);
      const from = rand() < 0.2 ? pick(CALLERS.slice(0, 6)) : pick(CALLERS);
      const duration = rand() < 0.15 ? 0 : Math.floor(20 + rand() * 400);
      let to;
      if (rand() < 0.1) {
        to = '+15555550199'; // the billboard: no visit
      } else {
        const src = weighted(SOURCES);
        const path = src.url.replace('{kw}', pick(KEYWORDS)).replace('{id}', Math.floor(rand() * 1e9).toString(36));
        const v = await api('POST', '/v1/visits', { account, url: SITE + path, referrer: src.ref || null,
          targets: ['+15555550100'], ua: rand() < 0.6 ? MOBILE : UA }, false);
        to = v.numbers[0].number;
        if (rand() < 0.5) {
          await moveTo(at - 20000);
          await api('POST', `/v1/visits/${v.session_id}/events`, { type: 'tel_click', number: to, detail: null }, false);
        }
      }
      await moveTo(at);
      cli(['call', 'simulate', '--to', to, '--from', from, '--duration', String(duration), '--no-wait',
        '--server', url, '--db', db]);
      n++;
    }
    console.log(`demo: replayed a week of ${n} calls (visits and signed webhooks at their times)`);
  } finally {
    stop();
    await new Promise((r) => (server.exitCode !== null ? r() : server.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error('demo: seeding failed: ' + e.message); process.exit(1); });
