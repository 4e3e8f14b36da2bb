// SPDX-License-Identifier: AGPL-3.0-or-later
// Issue #12 item 3: an open /v1/stream ends once its API key is revoked by another process
// (`opendni account key --revoke-others`), within 10 s; a stream opened with the kept key stays.
// The server re-checks stream credentials every 5 s (app/stream.h STREAM_RECHECK_MS) on either
// its monotonic clock or its (test) wall clock, so the test moves the test clock instead of
// waiting for the interval.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, cli } from '../helpers/server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let srv;
after(async () => { if (srv) await srv.cleanup(); });

/** An SSE reader: comments seen, whether the server ended the response, and when. */
function listen(key) {
  const ctl = new AbortController();
  const l = { comments: [], ended: false, endedAt: 0, status: 0, ctl };
  l.done = (async () => {
    const res = await fetch(`${srv.url}/v1/stream`, { headers: { Authorization: `Bearer ${key}` }, signal: ctl.signal });
    l.status = res.status;
    if (res.status !== 200) { await res.text(); l.ended = true; return; }
    const dec = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        for (const line of dec.decode(chunk, { stream: true }).split('\n'))
          if (line.startsWith(':')) l.comments.push(line.slice(1).trim());
      }
      l.endedAt = Date.now(); // the server ended the response (not our abort)
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

test('a stream ends within 10 s of its key being revoked by the CLI; the kept key\'s stream stays', async () => {
  srv = await startServer();
  const add = cli(['account', 'key', srv.accountId, '--json', '--db', srv.db]);
  assert.equal(add.status, 0, add.stderr);
  const kept = JSON.parse(add.stdout).api_key;

  const old = listen(srv.apiKey);
  const fresh = listen(kept);
  assert.ok(await old.waitFor(() => old.comments.includes('connected'), 5000), 'old-key stream open');
  assert.ok(await fresh.waitFor(() => fresh.comments.includes('connected'), 5000), 'kept-key stream open');

  const rev = cli(['account', 'key', srv.accountId, '--revoke-others', kept, '--db', srv.db]);
  assert.equal(rev.status, 0, rev.stderr);
  const revokedAt = Date.now();
  await srv.advance(6000); // past the 5 s re-check interval: the next 1 s tick checks

  assert.ok(await old.waitFor(() => old.ended, 10000), 'the revoked key\'s stream ended');
  const took = old.endedAt - revokedAt;
  console.log(`stream of the revoked key ended ${took} ms after the CLI revoked it`);
  assert.ok(old.endedAt > 0, 'ended by the server, not by the client');
  assert.ok(took < 10000, `ended ${took} ms after the revocation`);
  assert.ok(old.comments.includes('credential revoked'), 'the last thing sent says why');
  // The kept key's stream was checked in the same round and is still open.
  assert.equal(fresh.ended, false, 'the kept key\'s stream stays open');
  // The revoked key opens nothing new; the kept one still does.
  const again = listen(srv.apiKey);
  await again.done;
  assert.equal(again.status, 401);
  fresh.ctl.abort();
  await fresh.done;
  await old.done;
});
