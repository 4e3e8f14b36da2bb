// SPDX-License-Identifier: AGPL-3.0-or-later
// The dashboard's one way to the server: same-origin fetches with the session cookie, the CSRF
// token on every state change, JSON in and out, and the server's error format turned into
// Error objects ({status, code, message}). A 401 means the session ended: onLoggedOut runs.

let csrf = '';
let onLoggedOut = () => {};

/** Remembers the CSRF token the server gave with the session (login, /v1/app/me). */
export function setSession(me) { csrf = me ? me.csrf : ''; }
/** Sets what happens when the server says the session is over. */
export function setLoggedOut(fn) { onLoggedOut = fn; }

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `request failed (${status})`);
    this.status = status;
    this.code = e.code || 'error';
    this.field = e.field || null;
  }
}

/** fetch + JSON. method GET has no body; others carry the CSRF token. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (res.status === 401 && path !== '/app/login') onLoggedOut();
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

/** Every call with since <= started_at, following cursors, at most max (a bigger store is cut). */
export async function callsSince(sinceMs, max = 5000) {
  const since = new Date(sinceMs).toISOString();
  let out = [];
  let cursor = null;
  do {
    const q = new URLSearchParams({ since, limit: '500' });
    if (cursor) q.set('cursor', cursor);
    const page = await api('GET', '/v1/calls?' + q);
    out = out.concat(page.calls);
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  return { calls: out, truncated: !!cursor };
}
