// SPDX-License-Identifier: AGPL-3.0-or-later
// The dashboard's screens (Preact + htm). Every value that a visitor or a caller wrote (UTM
// fields, referrers, landing pages, caller ids) is passed to htm as a child or an attribute
// value, which Preact writes as text: nothing here builds HTML from strings, and
// dangerouslySetInnerHTML is never used.
import { html } from 'htm/preact';
import { useEffect, useState, useRef } from 'preact/hooks';
import { api, callsSince } from './api.js';
import {
  fmtCount, fmtPct, fmtTime, fmtDateTime, fmtDuration, fmtPhone, maskPhone, sourceMedium, orDash,
  startOfDay,
} from './format.js';

const POLL_MS = 2000;

/** Runs fn now and every ms while mounted (the latest fn; no overlap). */
export function usePoll(fn, ms, deps) {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    let stop = false;
    let timer = null;
    const tick = async () => {
      try { await saved.current(); } catch (e) { /* shown by the screen */ }
      if (!stop && ms) timer = setTimeout(tick, ms);
    };
    tick();
    return () => { stop = true; clearTimeout(timer); };
  }, deps);
}

export function ErrorLine({ error }) {
  return error ? html`<p class="error" role="alert">${error.message}</p>` : null;
}

// ---- login ----

export function Login({ onLogin, failed }) {
  const [error, setError] = useState(failed ? 'Wrong email or password.' : '');
  const [busy, setBusy] = useState(false);
  async function submit(ev) {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    setBusy(true);
    setError('');
    try {
      const me = await api('POST', '/app/login', { email: f.get('email'), password: f.get('password') });
      onLogin(me);
    } catch (e) {
      setError(e.status === 401 ? 'Wrong email or password.' : e.message);
      setBusy(false);
    }
  }
  return html`
    <main class="login">
      <h1>opendni</h1>
      <form method="post" action="/app/login" onSubmit=${submit} aria-labelledby="login-title">
        <h2 id="login-title">Sign in</h2>
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="username" required />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>`;
}

// ---- the frame: navigation, account switcher, logout ----

const SCREENS = [
  ['overview', 'Overview'],
  ['calls', 'Calls'],
  ['numbers', 'Numbers'],
  ['reports', 'Reports'],
  ['settings', 'Settings'],
];

export function Shell({ me, route, onSwitch, onLogout, children }) {
  return html`
    <header class="top">
      <span class="brand">opendni</span>
      <nav aria-label="Screens">
        ${SCREENS.map(([id, label]) => html`
          <a href=${'#/' + id} aria-current=${route === id ? 'page' : null}>${label}</a>`)}
      </nav>
      <div class="who">
        ${me.accounts.length > 1
          ? html`<label class="sr" for="account">Account</label>
            <select id="account" value=${me.account.id} onChange=${(e) => onSwitch(e.currentTarget.value)}>
              ${me.accounts.map((a) => html`<option value=${a.id}>${a.name}</option>`)}
            </select>`
          : html`<span class="account">${me.account.name}</span>`}
        <span class="user">${me.user.email} · ${me.role}</span>
        <button type="button" class="link" onClick=${onLogout}>Log out</button>
      </div>
    </header>
    <main>${children}</main>`;
}

// ---- call rows ----

function Source({ call }) {
  const s = (call.attribution && call.attribution.source) || {};
  return html`<span class="src">${sourceMedium(s)}</span>
    ${s.campaign && html`<span class="campaign">${s.campaign}</span>`}
    ${s.keyword && html`<span class="keyword">${s.keyword}</span>`}`;
}

function Method({ a }) {
  if (!a) return '—';
  return html`<span class=${'method m-' + a.method}>${a.method}</span> ${fmtPct(a.confidence)}`;
}

function CallRow({ call }) {
  const a = call.attribution || {};
  const s = a.source || {};
  return html`<tr class="call" data-call=${call.id}>
    <td><a href=${'#/calls/' + call.id}>${fmtTime(call.started_at)}</a></td>
    <td>${maskPhone(call.from)}</td>
    <td>${fmtPhone(call.to)}</td>
    <td class="t-source">${sourceMedium(s)}</td>
    <td class="t-campaign">${orDash(s.campaign)}</td>
    <td class="t-keyword">${orDash(s.keyword)}</td>
    <td><${Method} a=${a} /></td>
    <td>${fmtDuration(call.duration)}</td>
    <td>${call.status}</td>
  </tr>`;
}

function CallTable({ calls, caption }) {
  if (!calls.length) return html`<p class="empty">No calls yet.</p>`;
  return html`<table class="calls">
    <caption class="sr">${caption}</caption>
    <thead><tr>
      <th scope="col">Time</th><th scope="col">Caller</th><th scope="col">Tracking number</th>
      <th scope="col">Source / medium</th><th scope="col">Campaign</th><th scope="col">Keyword</th>
      <th scope="col">Method</th><th scope="col">Duration</th><th scope="col">Status</th>
    </tr></thead>
    <tbody>${calls.map((c) => html`<${CallRow} key=${c.id} call=${c} />`)}</tbody>
  </table>`;
}

// ---- overview ----

export function Overview() {
  const [state, setState] = useState(null);
  const [error, setError] = useState(null);
  usePoll(async () => {
    try {
      const { calls, truncated } = await callsSince(startOfDay(29));
      const today = startOfDay(0), week = startOfDay(6);
      const n = (from) => calls.filter((c) => Date.parse(c.started_at) >= from).length;
      setState({
        today: n(today), week: n(week), month: calls.length, truncated,
        recent: calls.slice(-10).reverse(),
      });
      setError(null);
    } catch (e) { setError(e); throw e; }
  }, POLL_MS, []);
  return html`<h1>Overview</h1>
    <${ErrorLine} error=${error} />
    ${state && html`
      <section class="cards" aria-label="Calls">
        <div class="card"><span class="n" data-period="today">${fmtCount(state.today)}</span>calls today</div>
        <div class="card"><span class="n" data-period="7d">${fmtCount(state.week)}</span>calls, 7 days</div>
        <div class="card"><span class="n" data-period="30d">${fmtCount(state.month)}${state.truncated ? '+' : ''}</span>calls, 30 days</div>
      </section>
      <h2>Recent calls <small>(live)</small></h2>
      <${CallTable} calls=${state.recent} caption="Recent calls, newest first" />`}`;
}

// ---- calls ----

const PERIODS = [['0', 'Today'], ['6', '7 days'], ['29', '30 days']];

export function Calls() {
  const [period, setPeriod] = useState('29');
  const [cursors, setCursors] = useState([null]); // the cursor of each page shown so far
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const cursor = cursors[cursors.length - 1];
  usePoll(async () => {
    const q = new URLSearchParams({ since: new Date(startOfDay(+period)).toISOString(), limit: '50' });
    if (cursor) q.set('cursor', cursor);
    try { setPage(await api('GET', '/v1/calls?' + q)); setError(null); } catch (e) { setError(e); }
  }, POLL_MS, [period, cursor]);
  return html`<h1>Calls</h1>
    <div class="filters">
      <label for="period">Period</label>
      <select id="period" value=${period}
        onChange=${(e) => { setPeriod(e.currentTarget.value); setCursors([null]); }}>
        ${PERIODS.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
      </select>
      <span class="hint">oldest first</span>
    </div>
    <${ErrorLine} error=${error} />
    ${page && html`<${CallTable} calls=${page.calls} caption="Calls" />
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled=${cursors.length < 2}
          onClick=${() => setCursors(cursors.slice(0, -1))}>Previous</button>
        <span>Page ${cursors.length}</span>
        <button type="button" disabled=${!page.next_cursor}
          onClick=${() => setCursors(cursors.concat(page.next_cursor))}>Next</button>
      </nav>`}`;
}

// ---- one call, its attribution explained ----

export function Field({ label, children }) {
  return html`<dt>${label}</dt><dd>${children}</dd>`;
}

const METHOD_TEXT = {
  exact: 'one visit held this number when the call came in',
  shared: 'several visits held this number; the best-scored one is credited',
  late: 'the call came after the lease ended; the last holder is credited, with less confidence',
  source: 'this number belongs to one source',
  repeat: 'the caller called before; their first attributed visit is noted',
  unattributed: 'no visit could be tied to this call',
};

export function CallDetail({ id, me }) {
  const [call, setCall] = useState(null);
  const [error, setError] = useState(null);
  usePoll(async () => {
    try { setCall(await api('GET', '/v1/calls/' + encodeURIComponent(id))); } catch (e) { setError(e); }
  }, POLL_MS, [id]);
  if (error) return html`<h1>Call</h1><${ErrorLine} error=${error} />`;
  if (!call) return html`<h1>Call</h1><p>Loading…</p>`;
  const a = call.attribution || {};
  const s = a.source || {};
  const ids = Object.entries(a.click_ids || {});
  return html`<p><a href="#/calls">← Calls</a></p>
    <h1>Call ${fmtDateTime(call.started_at)}</h1>
    <div class="detail">
      <section><h2>Call</h2><dl>
        <${Field} label="Caller">${me.rights.analyse ? fmtPhone(call.from) : maskPhone(call.from)}<//>
        <${Field} label="Tracking number">${fmtPhone(call.to)}<//>
        <${Field} label="Forwarded to">${fmtPhone(call.forwarded_to)}<//>
        <${Field} label="Status">${call.status}<//>
        <${Field} label="Duration">${fmtDuration(call.duration)}<//>
        <${Field} label="Conversion">${call.conversion ? call.conversion.name : 'none'}<//>
      </dl></section>
      <section class="attribution"><h2>Attribution</h2><dl>
        <${Field} label="Method"><span class=${'method m-' + a.method}>${a.method}</span>: ${METHOD_TEXT[a.method] || ''}<//>
        <${Field} label="Confidence">${fmtPct(a.confidence)}<//>
        <${Field} label="Why"><span class="reason">${orDash(a.reason)}</span><//>
        <${Field} label="Runner-up">${a.runner_up ? `${a.runner_up.session_id} (${fmtPct(a.runner_up.confidence)})` : 'none'}<//>
        <${Field} label="Source / medium"><span class="d-source">${sourceMedium(s)}</span><//>
        <${Field} label="Channel">${orDash(s.channel)}<//>
        <${Field} label="Campaign"><span class="d-campaign">${orDash(s.campaign)}</span><//>
        <${Field} label="Keyword"><span class="d-keyword">${orDash(s.keyword)}</span><//>
        <${Field} label="Landing page"><span class="url">${orDash(a.landing_page)}</span><//>
        <${Field} label="Referrer"><span class="url">${orDash(a.referrer)}</span><//>
        <${Field} label="Device">${orDash(a.device)}<//>
        <${Field} label="Click ids">${ids.length ? ids.map(([k, v]) => html`<span class="clickid">${k}: ${v}</span> `) : 'none'}<//>
      </dl></section>
    </div>`;
}

// ---- numbers: pools and their health, source numbers ----

function PoolCard({ pool }) {
  const [health, setHealth] = useState(null);
  usePoll(async () => setHealth(await api('GET', `/v1/pools/${encodeURIComponent(pool.id)}/health`)), 10000, [pool.id]);
  return html`<section class="pool">
    <h2>${pool.name} <small>${fmtPhone(pool.target)}</small></h2>
    ${health && html`<dl class="health">
      <${Field} label="Numbers">${fmtCount(health.size)}<//>
      <${Field} label="In use">${fmtCount(health.leased)}<//>
      <${Field} label="Cooling">${fmtCount(health.cooling)}<//>
      <${Field} label="Free">${fmtCount(health.free)}<//>
      <${Field} label="Exhaustion events">${fmtCount(health.exhaustion_events)}<//>
      <${Field} label="Peak concurrent">${fmtCount(health.peak_concurrent)}<//>
      <${Field} label="Recommended size">${fmtCount(health.recommended_size)}<//>
    </dl>`}
  </section>`;
}

export function Numbers() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  usePoll(async () => {
    try {
      const [pools, numbers] = await Promise.all([api('GET', '/v1/pools'), api('GET', '/v1/numbers')]);
      setData({ pools: pools.pools, numbers: numbers.numbers });
    } catch (e) { setError(e); }
  }, 0, []);
  const poolName = (id) => ((data && data.pools.find((p) => p.id === id)) || {}).name || '—';
  return html`<h1>Numbers</h1>
    <${ErrorLine} error=${error} />
    ${data && html`
      ${data.pools.map((p) => html`<${PoolCard} key=${p.id} pool=${p} />`)}
      <h2>Tracking numbers</h2>
      <table class="numbers"><caption class="sr">Tracking numbers</caption>
        <thead><tr><th scope="col">Number</th><th scope="col">Pool or source</th></tr></thead>
        <tbody>${data.numbers.map((n) => html`<tr key=${n.id}>
          <td>${fmtPhone(n.number)}</td>
          <td>${n.pool ? poolName(n.pool) : sourceMedium(n.source)}${n.source && n.source.campaign ? ' · ' + n.source.campaign : ''}</td>
        </tr>`)}</tbody>
      </table>`}`;
}
