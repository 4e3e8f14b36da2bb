// SPDX-License-Identifier: AGPL-3.0-or-later
// GET /v1/stream with a dashboard session cookie (docs/reports.md "GET /v1/stream", docs/dashboard.md): an owner's
// session gets the account's call events as they ring and end; a viewer's gets them with the
// caller masked and no money; another account's session gets nothing of them; no cookie is 401.
// A session's stream ends at its logout and at a switch of account (the stream re-checks its
// credential every 5 s: the test moves the test clock instead of waiting).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createAccount, cli } from '../helpers/server.mjs';

const PW = 'correct horse battery';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let srv;
after(async () => { if (srv) await srv.cleanup(); });

function addUser(email, role, account = srv.accountId) {
  const r = cli(['user', 'add', email, '--account', account, '--role', role, '--password-stdin', '--db', srv.db],
    { input: PW + '\n' });
  assert.equal(r.status, 0, r.stderr);
}

async function login(email) {
  const res = await fetch(srv.url + '/app/login', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password: PW }),
  });
  assert.equal(res.status, 200);
  const me = await res.json();
  return { sid: /opendni_sid=([^;]*)/.exec(res.headers.get('set-cookie'))[1], csrf: me.csrf };
}

const post = (sess, path, body) => fetch(srv.url + path, {
  method: 'POST', body: JSON.stringify(body),
  headers: { Cookie: 'opendni_sid=' + sess.sid, 'X-CSRF-Token': sess.csrf, 'Content-Type': 'application/json' },
});

/** An SSE reader on a session's cookie: events {event, data} and comments, and when it ended. */
function listen(sess) {
  const ctl = new AbortController();
  const l = { events: [], comments: [], ended: false, byServer: false, status: 0, ctl };
  l.done = (async () => {
    const headers = sess ? { Cookie: 'opendni_sid=' + sess.sid } : {};
    const res = await fetch(`${srv.url}/v1/stream`, { headers, signal: ctl.signal });
    l.status = res.status;
    if (res.status !== 200) { await res.text(); l.ended = true; return; }
    const dec = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += dec.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) l.comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) ev.event = line.slice(7);
            else if (line.startsWith('data: ')) ev.data = JSON.parse(line.slice(6));
          }
          if (ev.event) l.events.push(ev);
        }
      }
      l.byServer = true;
    } catch { /* aborted by the test */ }
    l.ended = true;
  })();
  l.waitFor = async (pred, ms) => {
    const end = Date.now() + ms;
    while (Date.now() < end) { if (pred()) return true; await sleep(10); }
    return false;
  };
  return l;
}

test('a session cookie streams its account\'s calls, masked for a viewer; logout and a switch end it', async () => {
  srv = await startServer();
  const pool = await srv.api('POST', '/v1/pools', { name: 'w', target: '+15555550100' });
  assert.equal(pool.status, 201);
  assert.equal((await srv.api('POST', '/v1/numbers', { number: '+15555550101', pool: pool.json.id })).status, 201);
  const other = createAccount(srv.db, 'Other', ['https://other.example']);
  addUser('owner@example.com', 'owner');
  addUser('viewer@example.com', 'viewer');
  addUser('viewer@example.com', 'viewer', other.accountId);
  addUser('stranger@example.com', 'owner', other.accountId);
  const owner = await login('owner@example.com');
  const viewer = await login('viewer@example.com');
  const stranger = await login('stranger@example.com');

  const none = listen(null);
  await none.done;
  assert.equal(none.status, 401, 'no cookie, no key: 401');

  const lo = listen(owner), lv = listen(viewer), ls = listen(stranger);
  for (const l of [lo, lv, ls])
    assert.ok(await l.waitFor(() => l.comments.includes('connected'), 5000), 'stream open');
  assert.equal(lo.status, 200);

  const t0 = Date.now();
  const r = cli(['call', 'simulate', '--to', '+15555550101', '--from', '+15125550111', '--duration', '0',
    '--server', srv.url, '--db', srv.db]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const both = (l) => ['call.started', 'call.completed'].every((e) => l.events.some((x) => x.event === e));
  assert.ok(await lo.waitFor(() => both(lo), 2000), 'the owner saw it ring and end within 2 s');
  console.log(`session stream: call.completed ${Date.now() - t0} ms after the simulate began`);
  assert.ok(await lv.waitFor(() => both(lv), 2000), 'the viewer too');
  const started = lo.events.find((x) => x.event === 'call.started').data;
  assert.equal(started.status, 'ringing');
  assert.equal(started.from, '+15125550111');
  for (const ev of lv.events) {
    assert.doesNotMatch(JSON.stringify(ev.data), /5125550111/, 'the viewer sees no caller number');
    if (ev.data.from) assert.match(ev.data.from, /0111$/);
  }
  assert.equal(lv.events.find((x) => x.event === 'call.completed').data.outcome.revenue, null);
  await sleep(200);
  assert.deepEqual(ls.events, [], 'another account\'s session gets none of these events');

  // the owner logs out, the viewer looks at the other account: both streams end; the stranger's stays
  assert.equal((await post(owner, '/app/logout', {})).status, 204);
  assert.equal((await post(viewer, '/v1/app/account', { account: other.accountId })).status, 200);
  await srv.advance(6000); // past the 5 s re-check interval: the next 1 s tick checks
  assert.ok(await lo.waitFor(() => lo.ended, 10000), 'the logged-out session\'s stream ended');
  assert.ok(lo.byServer && lo.comments.includes('credential revoked'));
  assert.ok(await lv.waitFor(() => lv.ended, 10000), 'the switched session\'s stream ended');
  assert.equal(ls.ended, false, 'the other session\'s stream stays');
  const again = listen(owner);
  await again.done;
  assert.equal(again.status, 401);
  ls.ctl.abort();
  await ls.done;
});
