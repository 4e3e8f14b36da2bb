// SPDX-License-Identifier: AGPL-3.0-or-later
// Numbers bought and released by opendni (issue #20 item 4): purchases, webhook configuration
// and releases against local HTTPS servers that play Twilio's and Telnyx's number APIs and
// check the documented request shapes (paths, query and form fields, JSON bodies, auth); the
// monthly spend cap; a crash between the purchase and its record (kill -9 through the
// number_crash fault) and a provider 500 after the sale never buy twice; pools autoscale under
// a burst of visits, in dry run and for real.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer as createHttps } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, cli, createAccount, freshDb, dropDb, PG } from '../helpers/server.mjs';
import { makeTestCa } from '../helpers/receivers.mjs';

const SID = 'AC' + '1f'.repeat(16);
const TOKEN = 'twilio-auth-token-numbers';
const TELNYX_KEY = 'KEY0123456789abcdef';
const CONN = '1234567890';
const PUBLIC = 'https://dni.example.com';

const cleanups = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

const dir = mkdtempSync(join(tmpdir(), 'opendni-numbers-'));
cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
const tls = makeTestCa(dir);

/** A stateful fake of Twilio's (kind 'twilio') or Telnyx's ('telnyx') number API. faults:
 * {buy500: n} answers the next n purchases 500 after making them. */
async function fakeProvider(kind) {
  const requests = [];
  const owned = []; // {id, phone_number, tag, voice_url, connection_id}
  const apps = {};  // Telnyx TeXML applications: id -> body
  const faults = { buy500: 0 };
  const p = {}; // p.delay: ms before each answer
  let next = 100;
  const avail = (prefix, n) => {
    const out = [];
    for (let i = 0; out.length < n && i < 9999; i++) {
      const num = `+1${prefix}555${String(1000 + i).slice(-4)}`;
      if (!owned.some((o) => o.phone_number === num)) out.push(num);
    }
    return out;
  };
  const srv = createHttps({ key: tls.key, cert: tls.cert }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => setTimeout(() => {
      const u = new URL(req.url, 'https://x');
      const rec = { method: req.method, path: u.pathname, query: u.searchParams, headers: req.headers, body };
      requests.push(rec);
      const send = (status, obj) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(obj === undefined ? '' : JSON.stringify(obj));
      };
      if (kind === 'twilio') {
        const auth = 'Basic ' + Buffer.from(`${SID}:${TOKEN}`).toString('base64');
        if (req.headers.authorization !== auth) return send(401, { code: 20003, message: 'Authenticate' });
        const base = `/2010-04-01/Accounts/${SID}`;
        const form = new URLSearchParams(body);
        if (req.method === 'GET' && u.pathname === `${base}/AvailablePhoneNumbers/US/Local.json`) {
          const ac = u.searchParams.get('AreaCode') || '737';
          return send(200, { available_phone_numbers: avail(ac, Number(u.searchParams.get('PageSize') || 5))
            .map((n) => ({ phone_number: n, friendly_name: n, region: 'TX', iso_country: 'US' })) });
        }
        if (req.method === 'POST' && u.pathname === `${base}/IncomingPhoneNumbers.json`) {
          if (owned.some((x) => x.phone_number === form.get('PhoneNumber')))
            return send(400, { code: 21422, message: 'PhoneNumber is not available' });
          const o = { id: `PN${String(next++).padStart(32, '0')}`, phone_number: form.get('PhoneNumber'),
            tag: form.get('FriendlyName'), voice_url: form.get('VoiceUrl') };
          owned.push(o);
          if (faults.buy500 > 0) { faults.buy500--; return send(500, { message: 'internal error' }); }
          return send(201, { sid: o.id, phone_number: o.phone_number, friendly_name: o.tag, voice_url: o.voice_url });
        }
        if (req.method === 'GET' && u.pathname === `${base}/IncomingPhoneNumbers.json`) {
          const fn = u.searchParams.get('FriendlyName');
          const pn = u.searchParams.get('PhoneNumber');
          const list = owned.filter((o) => (fn && o.tag === fn) || (pn && o.phone_number === pn));
          return send(200, { incoming_phone_numbers: list.map((o) => ({ sid: o.id, phone_number: o.phone_number, friendly_name: o.tag })) });
        }
        const m = u.pathname.match(/^\/2010-04-01\/Accounts\/[^/]+\/IncomingPhoneNumbers\/(PN\w+)\.json$/);
        const o = m && owned.find((x) => x.id === m[1]);
        if (m && !o) return send(404, { code: 20404, message: 'not found' });
        if (m && req.method === 'POST') { o.voice_url = form.get('VoiceUrl'); return send(200, { sid: o.id, phone_number: o.phone_number }); }
        if (m && req.method === 'DELETE') { owned.splice(owned.indexOf(o), 1); return send(204); }
        return send(404, { message: 'no route' });
      }
      // Telnyx v2
      if (req.headers.authorization !== `Bearer ${TELNYX_KEY}`) return send(401, { errors: [{ code: '10009' }] });
      const json = body ? JSON.parse(body) : null;
      if (req.method === 'GET' && u.pathname === '/v2/available_phone_numbers') {
        const ac = u.searchParams.get('filter[national_destination_code]') || '737';
        return send(200, { data: avail(ac, Number(u.searchParams.get('filter[limit]') || 5))
          .map((n) => ({ phone_number: n, record_type: 'available_phone_number' })), metadata: {} });
      }
      if (req.method === 'POST' && u.pathname === '/v2/number_orders') {
        const n = json.phone_numbers[0].phone_number;
        const o = { id: String(9000 + next++), phone_number: n, tag: json.customer_reference, connection_id: json.connection_id };
        owned.push(o);
        if (faults.buy500 > 0) { faults.buy500--; return send(500, { errors: [{ code: '10007' }] }); }
        return send(200, { data: { id: randomUUID(), status: 'pending', customer_reference: o.tag,
          phone_numbers: [{ id: randomUUID(), phone_number: n, status: 'pending' }] } });
      }
      if (req.method === 'GET' && u.pathname === '/v2/phone_numbers') {
        const cr = u.searchParams.get('filter[customer_reference]');
        const pn = u.searchParams.get('filter[phone_number]');
        const list = owned.filter((o) => (cr && o.tag === cr) || (pn && o.phone_number === pn));
        return send(200, { data: list.map((o) => ({ id: o.id, phone_number: o.phone_number, customer_reference: o.tag })) });
      }
      let m = u.pathname.match(/^\/v2\/texml_applications\/(\d+)$/);
      if (m && req.method === 'PATCH') { apps[m[1]] = json; return send(200, { data: { id: m[1], ...json } }); }
      m = u.pathname.match(/^\/v2\/phone_numbers\/(\d+)$/);
      const o = m && owned.find((x) => x.id === m[1]);
      if (m && !o) return send(404, { errors: [{ code: '10005' }] });
      if (m && req.method === 'PATCH') { o.connection_id = json.connection_id; return send(200, { data: { id: o.id } }); }
      if (m && req.method === 'DELETE') { owned.splice(owned.indexOf(o), 1); return send(200, { data: { id: o.id } }); }
      return send(404, { errors: [{ code: 'no route' }] });
    }, p.delay || 0).unref());
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  Object.assign(p, { url: `https://127.0.0.1:${srv.address().port}`, requests, owned, apps, faults,
    close: () => new Promise((r) => { srv.closeAllConnections?.(); srv.close(() => r()); }) });
  cleanups.push(p.close);
  return p;
}

async function setup(provider, extraArgs = [], opts = {}) {
  const fake = await fakeProvider(provider);
  const srv = await startServer({ ...opts, args: ['--outbound-allow-private', '--test-outbound-ca', tls.caFile,
    '--test-provider-api', `${provider}=${fake.url}`, '--public-url', PUBLIC, '--autoscale-interval', '0',
    ...extraArgs] });
  cleanups.push(srv.cleanup);
  if (provider === 'twilio') {
    const set = cli(['account', 'set', srv.accountId, '--db', srv.db, '--twilio-auth-token', TOKEN,
      '--twilio-account-sid', SID]);
    assert.equal(set.status, 0, set.stderr);
  }
  return { fake, srv };
}

async function makePool(srv, target, numbers = 0, extra = {}) {
  const p = await srv.api('POST', '/v1/pools', { name: `p${target}`, target, lease_ttl: 60, cooldown: 60, ...extra });
  assert.equal(p.status, 201, p.text);
  for (let i = 1; i <= numbers; i++) {
    const r = await srv.api('POST', '/v1/numbers', { number: `+1555555${String(Number(target.slice(-4)) + i).padStart(4, '0')}`, pool: p.json.id });
    assert.equal(r.status, 201, r.text);
  }
  return p.json;
}

const poolNumbers = async (srv, pool) => (await srv.api('GET', `/v1/numbers?pool=${pool}`)).json.numbers;
const actions = async (srv, pool) => (await srv.api('GET', `/v1/pools/${pool}/number-actions`)).json.data;

test('Twilio: dry run, buy with the documented requests, spend cap, release; bad input is 400', async () => {
  const { fake, srv } = await setup('twilio');
  const pool = await makePool(srv, '+15125550100');
  // No settings yet: a purchase is refused and says what to do.
  let r = await srv.api('POST', `/v1/pools/${pool.id}/numbers/buy`, { count: 1 });
  assert.equal(r.status, 409, r.text);
  assert.match(r.json.error.message, /number-settings/);
  r = await srv.api('PUT', '/v1/number-settings', { provider: 'twilio', monthly_cap: 300, number_cost: 100 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.credentials, true);
  for (const bad of [{ count: 0 }, { count: 21 }, { area_code: '5x2' }, { region: 'texas' }, { count: 1, extra: 1 }]) {
    r = await srv.api('POST', `/v1/pools/${pool.id}/numbers/buy`, bad);
    assert.equal(r.status, 400, JSON.stringify(bad) + r.text);
    assert.ok(r.json.error.code);
  }
  assert.equal((await srv.api('PUT', '/v1/number-settings', { provider: 'sip', monthly_cap: 1, number_cost: 1 })).status, 400);
  assert.equal((await srv.api('PUT', '/v1/number-settings', { provider: 'twilio', monthly_cap: 1, number_cost: 0 })).status, 400);
  assert.equal(fake.requests.length, 0);

  // Dry run: what would happen, nothing asked of the provider.
  r = await srv.api('POST', `/v1/pools/${pool.id}/numbers/buy`, { area_code: '512', count: 2, dry_run: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.dry_run, true);
  assert.equal(r.json.spend_after, 200);
  assert.deepEqual(r.json.bought, []);
  assert.equal(fake.requests.length, 0);

  r = await srv.api('POST', `/v1/pools/${pool.id}/numbers/buy`, { area_code: '512', count: 2 });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.bought.length, 2);
  const search = fake.requests.filter((q) => q.method === 'GET' && q.path.endsWith('/AvailablePhoneNumbers/US/Local.json'));
  assert.equal(search.length, 2);
  assert.equal(search[0].query.get('AreaCode'), '512');
  assert.equal(search[0].query.get('VoiceEnabled'), 'true');
  const buys = fake.requests.filter((q) => q.method === 'POST' && q.path === `/2010-04-01/Accounts/${SID}/IncomingPhoneNumbers.json`);
  assert.equal(buys.length, 2);
  const form = new URLSearchParams(buys[0].body);
  assert.equal(buys[0].headers['content-type'], 'application/x-www-form-urlencoded');
  assert.match(form.get('PhoneNumber'), /^\+1512555\d{4}$/);
  assert.match(form.get('FriendlyName'), /^opendni-ni_/);
  assert.equal(form.get('VoiceUrl'), `${PUBLIC}/v1/telephony/twilio/voice`);
  assert.equal(form.get('VoiceMethod'), 'POST');
  assert.equal(form.get('StatusCallback'), `${PUBLIC}/v1/telephony/twilio/status`);
  const conf = fake.requests.filter((q) => q.method === 'POST' && /IncomingPhoneNumbers\/PN\w+\.json$/.test(q.path));
  assert.equal(conf.length, 2);
  assert.equal(new URLSearchParams(conf[0].body).get('VoiceUrl'), `${PUBLIC}/v1/telephony/twilio/voice`);
  let nums = await poolNumbers(srv, pool.id);
  assert.deepEqual(nums.map((n) => n.number).sort(), fake.owned.map((o) => o.phone_number).sort());
  // The bought numbers are leased like any other.
  const v = await srv.visit({ url: 'https://site.example/', targets: ['+15125550100'] });
  assert.ok(nums.some((n) => n.number === v.json.numbers[0].number), v.text);

  // The cap: 2 held at 100 a month, cap 300: one more would do, two would not.
  const before = fake.requests.length;
  r = await srv.api('POST', `/v1/pools/${pool.id}/numbers/buy`, { area_code: '512', count: 2 });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.json.error.field, 'count');
  assert.match(r.json.error.message, /spend cap/);
  assert.equal(fake.requests.length, before, 'the provider is not asked');
  const log = await actions(srv, pool.id);
  assert.equal(log[0].action, 'refuse');
  assert.equal(log[0].ok, false);
  assert.ok(log.some((a) => a.action === 'buy' && a.ok && !a.dry_run));
  assert.ok(log.some((a) => a.action === 'buy' && a.dry_run));
  r = await srv.api('GET', '/v1/number-settings');
  assert.equal(r.json.spend_this_month, 200);

  // Release: not a leased one; the free one goes through the provider.
  const leased = nums.find((n) => n.number === v.json.numbers[0].number);
  const free = nums.find((n) => n !== leased);
  r = await srv.api('DELETE', `/v1/pools/${pool.id}/numbers/${leased.id}`);
  assert.equal(r.status, 409, r.text);
  r = await srv.api('DELETE', `/v1/pools/${pool.id}/numbers/${free.id}?dry_run=true`);
  assert.equal(r.status, 200, r.text);
  assert.equal(fake.owned.length, 2);
  r = await srv.api('DELETE', `/v1/pools/${pool.id}/numbers/${free.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.released, true);
  const del = fake.requests.filter((q) => q.method === 'DELETE');
  assert.equal(del.length, 1);
  assert.match(del[0].path, new RegExp(`^/2010-04-01/Accounts/${SID}/IncomingPhoneNumbers/PN\\w+\\.json$`));
  assert.equal(fake.owned.length, 1);
  nums = await poolNumbers(srv, pool.id);
  assert.equal(nums.length, 1);
  const metrics = await (await fetch(`${srv.url}/metrics`)).text();
  assert.match(metrics, /^opendni_numbers_bought_total 2$/m);
  assert.match(metrics, /^opendni_numbers_released_total 1$/m);
  assert.match(metrics, /^opendni_numbers_refused_total 1$/m);
  // A number opendni did not buy is not released through the provider.
  const manual = await srv.api('POST', '/v1/numbers', { number: '+15555550999', pool: pool.id });
  r = await srv.api('DELETE', `/v1/pools/${pool.id}/numbers/${manual.json.id}`);
  assert.equal(r.status, 409, r.text);
  // Another account sees none of it.
  const okey = createAccount(srv.db, 'Other', ['http://other.example']).apiKey;
  assert.equal((await srv.api('GET', `/v1/pools/${pool.id}/number-actions`, undefined, okey)).status, 404);
  assert.equal((await srv.api('POST', `/v1/pools/${pool.id}/numbers/buy`, { count: 1 }, okey)).status, 404);
});

test('Telnyx: search, order, TeXML application and number configuration, release', async () => {
  const { fake, srv } = await setup('telnyx');
  const pool = await makePool(srv, '+17375550100');
  let r = await srv.api('PUT', '/v1/number-settings', { provider: 'telnyx', monthly_cap: 1000, number_cost: 100,
    telnyx_api_key: TELNYX_KEY, telnyx_connection_id: CONN });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.credentials, true);
  assert.ok(!r.text.includes(TELNYX_KEY), 'the key is never shown');
  r = await srv.api('POST', `/v1/pools/${pool.id}/numbers/buy`, { count: 1 }); // the pool target's area code
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.area_code, '737');
  const [search] = fake.requests.filter((q) => q.path === '/v2/available_phone_numbers');
  assert.equal(search.query.get('filter[national_destination_code]'), '737');
  assert.equal(search.query.get('filter[country_code]'), 'US');
  const [order] = fake.requests.filter((q) => q.path === '/v2/number_orders');
  assert.equal(order.method, 'POST');
  assert.equal(order.headers['content-type'], 'application/json');
  const ob = JSON.parse(order.body);
  assert.match(ob.phone_numbers[0].phone_number, /^\+1737555\d{4}$/);
  assert.equal(ob.connection_id, CONN);
  assert.match(ob.customer_reference, /^opendni-ni_/);
  assert.equal(fake.apps[CONN].voice_url, `${PUBLIC}/v1/telephony/telnyx/voice`);
  assert.equal(fake.owned[0].connection_id, CONN);
  const patch = fake.requests.find((q) => q.method === 'PATCH' && q.path === `/v2/phone_numbers/${fake.owned[0].id}`);
  assert.deepEqual(JSON.parse(patch.body), { connection_id: CONN });
  const nums = await poolNumbers(srv, pool.id);
  assert.equal(nums.length, 1);
  assert.equal(nums[0].number, fake.owned[0].phone_number);
  // A pool holding a number opendni bought is not deleted (the number would be forgotten while
  // the provider bills it).
  r = await srv.api('DELETE', `/v1/pools/${pool.id}`);
  assert.equal(r.status, 409, r.text);
  assert.match(r.json.error.message, /bought/);
  r = await srv.api('DELETE', `/v1/pools/${pool.id}/numbers/${encodeURIComponent(nums[0].number)}`);
  assert.equal(r.status, 200, r.text);
  assert.ok(fake.requests.some((q) => q.method === 'DELETE' && q.path === `/v2/phone_numbers/${patch.path.split('/').pop()}`));
  assert.equal(fake.owned.length, 0);
  assert.equal((await poolNumbers(srv, pool.id)).length, 0);
  for (const q of fake.requests) assert.equal(q.headers.authorization, `Bearer ${TELNYX_KEY}`);
  assert.equal((await srv.api('DELETE', `/v1/pools/${pool.id}`)).status, 204);
});

test('a provider 500 after the sale, and a kill -9 between the sale and its record, never buy twice', async () => {
  const { fake, srv } = await setup('twilio');
  const pool = await makePool(srv, '+15125550200');
  await srv.api('PUT', '/v1/number-settings', { provider: 'twilio', monthly_cap: 1000, number_cost: 100 });
  const buys = () => fake.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/IncomingPhoneNumbers.json')).length;
  // 500 after the sale: opendni asks what was sold under its key and records it.
  fake.faults.buy500 = 1;
  let r = await srv.api('POST', `/v1/pools/${pool.id}/numbers/buy`, { count: 1 });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.bought.length, 1);
  assert.equal(buys(), 1);
  assert.ok(fake.requests.some((q) => q.method === 'GET' && q.query.get('FriendlyName')?.startsWith('opendni-ni_')));
  assert.equal((await poolNumbers(srv, pool.id)).length, 1);

  // Killed after the sale, before the record.
  r = await srv.api('POST', '/v1/test/faults', { number_crash: true }, null);
  assert.equal(r.status, 200, r.text);
  await assert.rejects(srv.api('POST', `/v1/pools/${pool.id}/numbers/buy`, { count: 1 }));
  for (let i = 0; i < 250 && srv.proc.exitCode === null && srv.proc.signalCode === null; i++)
    await new Promise((res) => setTimeout(res, 20));
  assert.equal(srv.proc.signalCode, 'SIGKILL');
  assert.equal(buys(), 2);
  assert.equal(fake.owned.length, 2);
  await srv.start();
  assert.equal((await poolNumbers(srv, pool.id)).length, 1, 'the sale was not recorded');
  await srv.advance(3 * 60 * 1000); // the purchase is settled once no node can still be making it
  r = await srv.api('POST', '/v1/test/numbers-check', {}, null);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ran, true);
  assert.ok(r.json.settled.some((a) => a.action === 'reconcile' && a.ok), JSON.stringify(r.json));
  assert.equal(buys(), 2, 'nothing bought again');
  const nums = await poolNumbers(srv, pool.id);
  assert.deepEqual(nums.map((n) => n.number).sort(), fake.owned.map((o) => o.phone_number).sort());
  // A second check finds nothing pending.
  r = await srv.api('POST', '/v1/test/numbers-check', {}, null);
  assert.equal(r.json.settled.length, 0);
  assert.equal(buys(), 2);
  // A bought number deleted with DELETE /v1/numbers/{id} is released at the provider by the
  // next check (it would otherwise be billed with no pool using it).
  assert.equal((await srv.api('DELETE', `/v1/numbers/${nums[0].id}`)).status, 204);
  r = await srv.api('POST', '/v1/test/numbers-check', {}, null);
  assert.ok(r.json.settled.some((a) => a.action === 'release' && a.ok), JSON.stringify(r.json));
  assert.equal(fake.owned.length, 1);
  assert.ok(!fake.owned.some((o) => o.phone_number === nums[0].number));
});

test('a pool autoscales under a burst of visits: dry run, then for real within max and cap', async () => {
  const { fake, srv } = await setup('twilio');
  const pool = await makePool(srv, '+15125550300', 1);
  await srv.api('PUT', '/v1/number-settings', { provider: 'twilio', monthly_cap: 300, number_cost: 100 });
  let r = await srv.api('GET', `/v1/pools/${pool.id}/autoscale`);
  assert.equal(r.json.enabled, false);
  assert.equal((await srv.api('PUT', `/v1/pools/${pool.id}/autoscale`, { min_size: 5, max_size: 2 })).status, 400);
  assert.equal((await srv.api('PUT', `/v1/pools/${pool.id}/autoscale`, { area_code: 'abc' })).status, 400);
  r = await srv.api('PUT', `/v1/pools/${pool.id}/autoscale`, { enabled: true, dry_run: true, min_size: 1, max_size: 3, area_code: '512' });
  assert.equal(r.status, 200, r.text);
  const burst = async (n) => {
    for (let i = 0; i < n; i++) {
      const v = await srv.visit({ url: 'https://site.example/', targets: ['+15125550300'] });
      assert.equal(v.status, 200, v.text);
    }
  };
  await burst(6);
  const health = (await srv.api('GET', `/v1/pools/${pool.id}/health`)).json;
  assert.ok(health.exhaustion_events >= 5, JSON.stringify(health));
  r = await srv.api('POST', '/v1/test/numbers-check', {}, null);
  assert.equal(r.status, 200, r.text);
  const dry = r.json.pools.find((p) => p.pool === pool.id);
  assert.equal(dry.decision, 'exhausted');
  assert.equal(dry.dry_run, true);
  assert.equal(dry.add, 2); // max 3
  assert.ok(dry.actions.some((a) => a.action === 'buy' && a.dry_run));
  assert.equal(fake.requests.length, 0, 'a dry run asks the provider nothing');
  assert.equal((await poolNumbers(srv, pool.id)).length, 1);
  // The same exhaustion is acted on once.
  r = await srv.api('POST', '/v1/test/numbers-check', {}, null);
  assert.notEqual(r.json.pools.find((p) => p.pool === pool.id).decision, 'exhausted');
  // A decision repeated with nothing new is not logged again.
  const lines = (await actions(srv, pool.id)).length;
  r = await srv.api('POST', '/v1/test/numbers-check', {}, null);
  assert.equal((await actions(srv, pool.id)).length, lines);

  await srv.api('PUT', `/v1/pools/${pool.id}/autoscale`, { dry_run: false });
  await burst(6);
  r = await srv.api('POST', '/v1/test/numbers-check', {}, null);
  const real = r.json.pools.find((p) => p.pool === pool.id);
  assert.equal(real.decision, 'exhausted');
  assert.equal(real.add, 2);
  assert.equal((await poolNumbers(srv, pool.id)).length, 3);
  assert.equal(fake.owned.length, 2);
  // At the maximum: another burst buys nothing more.
  await burst(8);
  r = await srv.api('POST', '/v1/test/numbers-check', {}, null);
  assert.equal(r.json.pools.find((p) => p.pool === pool.id).add, 0);
  assert.equal(fake.owned.length, 2);
  // Raise the maximum past what the cap allows: one more (3 x 100 = the cap), then refused.
  await srv.api('PUT', `/v1/pools/${pool.id}/autoscale`, { max_size: 10 });
  await burst(8);
  r = await srv.api('POST', '/v1/test/numbers-check', {}, null);
  const capped = r.json.pools.find((p) => p.pool === pool.id);
  assert.equal(fake.owned.length, 3, JSON.stringify(capped));
  assert.ok(capped.actions.some((a) => a.action === 'refuse'), JSON.stringify(capped));
  const log = await actions(srv, pool.id);
  assert.ok(log.some((a) => a.action === 'decide'));
});

test('the timer runs the checks inside serve (serve --autoscale-interval)', async () => {
  const { fake, srv } = await setup('twilio', ['--autoscale-interval', '1']);
  const pool = await makePool(srv, '+15125550400', 1);
  await srv.api('PUT', '/v1/number-settings', { provider: 'twilio', monthly_cap: 500, number_cost: 100 });
  await srv.api('PUT', `/v1/pools/${pool.id}/autoscale`, { enabled: true, min_size: 2, max_size: 2 });
  // Under its minimum: the next tick buys one number, with no request from the test.
  const end = Date.now() + 15000;
  while (Date.now() < end && (await poolNumbers(srv, pool.id)).length < 2)
    await new Promise((res) => setTimeout(res, 100));
  assert.equal((await poolNumbers(srv, pool.id)).length, 2);
  assert.equal(fake.owned.length, 1);
  assert.ok((await actions(srv, pool.id)).some((a) => a.action === 'decide' && /under_min/.test(a.detail)));
});

test('two nodes checking at once: one runs the work, the pool gets exactly what was decided', { skip: !PG && 'several nodes serve one database on PostgreSQL only' }, async () => {
  const fake = await fakeProvider('twilio');
  const db = freshDb(dir, 'nodes.db');
  assert.equal(cli(['init', '--db', db]).status, 0);
  cleanups.push(async () => dropDb(db));
  const account = createAccount(db, 'Nodes', ['https://site.example']);
  assert.equal(cli(['account', 'set', account.accountId, '--db', db, '--twilio-auth-token', TOKEN,
    '--twilio-account-sid', SID]).status, 0);
  const args = ['--outbound-allow-private', '--test-outbound-ca', tls.caFile, '--test-provider-api',
    `twilio=${fake.url}`, '--public-url', PUBLIC, '--autoscale-interval', '0'];
  const a = await startServer({ dir, db, account, args, keepDir: true });
  cleanups.push(a.stop);
  const b = await startServer({ dir, db, account, args, keepDir: true });
  cleanups.push(b.stop);
  const pool = await makePool(a, '+15125550500');
  await a.api('PUT', '/v1/number-settings', { provider: 'twilio', monthly_cap: 1000, number_cost: 100 });
  await a.api('PUT', `/v1/pools/${pool.id}/autoscale`, { enabled: true, min_size: 3, max_size: 5 });
  const [ra, rb] = await Promise.all([a.api('POST', '/v1/test/numbers-check', {}, null),
    b.api('POST', '/v1/test/numbers-check', {}, null)]);
  assert.equal(ra.status, 200, ra.text);
  assert.equal(rb.status, 200, rb.text);
  assert.deepEqual([ra.json.ran, rb.json.ran].sort(), [false, true]);
  assert.equal(fake.owned.length, 3);
  assert.equal((await poolNumbers(b, pool.id)).length, 3);
  // Two purchases at once, one on each node (each asks for one more number): both are made,
  // never of the same number, and each is recorded once.
  fake.delay = 300; // both nodes search before either has bought
  const [pa, pb] = await Promise.all([a.api('POST', `/v1/pools/${pool.id}/numbers/buy`, { count: 1 }),
    b.api('POST', `/v1/pools/${pool.id}/numbers/buy`, { count: 1 })]);
  assert.equal(pa.status, 201, pa.text);
  assert.equal(pb.status, 201, pb.text);
  assert.notEqual(pa.json.bought[0].number, pb.json.bought[0].number);
  assert.equal(fake.owned.length, 5);
  assert.equal(new Set(fake.owned.map((o) => o.phone_number)).size, 5);
  const nums = await poolNumbers(a, pool.id);
  assert.deepEqual(nums.map((n) => n.number).sort(), fake.owned.map((o) => o.phone_number).sort());
});

test('a burst from one client (the flood guard) does not autoscale the pool', async () => {
  const { fake, srv } = await setup('twilio', [], { guard: true });
  const pool = await makePool(srv, '+15125550600', 2);
  await srv.api('PUT', '/v1/number-settings', { provider: 'twilio', monthly_cap: 1000, number_cost: 100 });
  await srv.api('PUT', `/v1/pools/${pool.id}/autoscale`, { enabled: true, min_size: 1, max_size: 5 });
  // One address starting 40 sessions: over its share it reuses its own number, then it is
  // recognised as a flood; no lease it made counts as exhaustion.
  for (let i = 0; i < 40; i++)
    assert.equal((await srv.visit({ url: 'https://site.example/', targets: ['+15125550600'] })).status, 200);
  const health = (await srv.api('GET', `/v1/pools/${pool.id}/health`)).json;
  assert.equal(health.exhaustion_events, 0, JSON.stringify(health));
  const r = await srv.api('POST', '/v1/test/numbers-check', {}, null);
  const p = r.json.pools.find((x) => x.pool === pool.id);
  assert.equal(p.add, 0, JSON.stringify(p));
  assert.equal(fake.requests.length, 0);
});

test('SIGTERM while a purchase waits on the provider: the request is answered and serve exits cleanly', async () => {
  const { fake, srv } = await setup('twilio');
  const pool = await makePool(srv, '+15125550700');
  await srv.api('PUT', '/v1/number-settings', { provider: 'twilio', monthly_cap: 1000, number_cost: 100 });
  fake.delay = 8000; // the provider is slow
  const pending = srv.api('POST', `/v1/pools/${pool.id}/numbers/buy`, { count: 1 });
  while (fake.requests.length === 0) await new Promise((res) => setTimeout(res, 20));
  const t0 = Date.now();
  srv.proc.kill('SIGTERM');
  const exit = await srv.waitExit(5000);
  assert.equal(exit.code, 0, srv.logs());
  assert.ok(Date.now() - t0 < 4000, 'serve did not wait for the provider');
  const r = await pending.catch((e) => ({ status: 0, error: e }));
  assert.equal(r.status, 503, JSON.stringify(r.json));
  assert.equal(fake.owned.length, 0);
});
