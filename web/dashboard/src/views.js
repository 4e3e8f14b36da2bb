// SPDX-License-Identifier: AGPL-3.0-or-later
// The dashboard's screens (Preact + htm). Every value that a visitor or a caller wrote (UTM
// fields, referrers, landing pages, caller ids) is passed to htm as a child or an attribute
// value, which Preact writes as text: nothing here builds HTML from strings, and
// dangerouslySetInnerHTML is never used.
import { html } from 'htm/preact';
import { useEffect, useState, useRef } from 'preact/hooks';
import { api, callsSince } from './api.js';
import { Chart, perDay } from './charts.js';
import { useLiveCalls } from './live.js';
import { Sweep } from './sweep.js';
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

/** The caller as this role may see it: in full for analysts and up, else the last four digits
 * (the server has masked it already for a viewer). */
const caller = (me, from) => (me.rights.analyse ? fmtPhone(from) : maskPhone(from));

function CallRow({ call, me }) {
  const a = call.attribution || {};
  const s = a.source || {};
  return html`<tr class="call" data-call=${call.id}>
    <td><a href=${'#/calls/' + call.id}>${fmtTime(call.started_at)}</a></td>
    <td class="t-caller">${caller(me, call.from)}</td>
    <td>${fmtPhone(call.to)}</td>
    <td class="t-source">${sourceMedium(s)}</td>
    <td class="t-campaign">${orDash(s.campaign)}</td>
    <td class="t-keyword">${orDash(s.keyword)}</td>
    <td><${Method} a=${a} /></td>
    <td>${fmtDuration(call.duration)}</td>
    <td class="t-status">${call.status}</td>
    <td>${call.first_time ? 'yes' : call.first_time === false ? 'no' : '—'}</td>
    <td>${call.conversion ? call.conversion.name : '—'}</td>
  </tr>`;
}

function CallTable({ calls, caption, me }) {
  if (!calls.length) return html`<p class="empty">No calls yet.</p>`;
  return html`<table class="calls">
    <caption class="sr">${caption}</caption>
    <thead><tr>
      <th scope="col">Time</th><th scope="col">Caller</th><th scope="col">Tracking number</th>
      <th scope="col">Source / medium</th><th scope="col">Campaign</th><th scope="col">Keyword</th>
      <th scope="col">Method</th><th scope="col">Duration</th><th scope="col">Status</th>
      <th scope="col">First call</th><th scope="col">Conversion</th>
    </tr></thead>
    <tbody>${calls.map((c) => html`<${CallRow} key=${c.id} call=${c} me=${me} />`)}</tbody>
  </table>`;
}

// ---- overview ----

const CARD_PERIODS = [['today', 'Today', 0, 1], ['7d', '7 days', 6, 7], ['30d', '30 days', 29, 30]];

/** The figures of calls in [from, to): calls, first-time callers, conversions. */
function figures(calls, from, to) {
  const inRange = calls.filter((c) => { const t = Date.parse(c.started_at); return t >= from && t < to; });
  return {
    calls: inRange.length,
    first: inRange.filter((c) => c.first_time === true).length,
    conversions: inRange.filter((c) => c.conversion).length,
  };
}

function Delta({ now, before }) {
  if (before == null) return null;
  const d = now - before;
  const text = d === 0 ? 'same as the period before' : `${d > 0 ? '+' : '−'}${fmtCount(Math.abs(d))} on the period before (${fmtCount(before)})`;
  return html`<span class=${'delta ' + (d > 0 ? 'up' : d < 0 ? 'down' : '')}>${text}</span>`;
}

function Card({ id, label, what, now, before, truncated }) {
  return html`<div class="card"><span class="n" data-period=${id} data-what=${what}>${fmtCount(now)}${truncated ? '+' : ''}</span>
    ${label}<${Delta} now=${now} before=${before} /></div>`;
}

/** calls: every call since 60 days ago (sorted oldest first), merged with what the stream said. */
function upsert(calls, call) {
  const i = calls.findIndex((c) => c.id === call.id);
  if (i >= 0) { const next = calls.slice(); next[i] = call; return next; }
  return calls.concat(call).sort((a, b) => (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : 0));
}

function LiveFeed({ calls, state, me }) {
  const recent = calls.slice(-10).reverse();
  return html`<section aria-labelledby="live-title">
    <h2 id="live-title">Live calls <small class=${'live-state ' + state}>${state === 'live' ? '● live' : state === 'connecting' ? 'connecting…' : 'reconnecting…'}</small></h2>
    ${recent.length ? html`<ul class="feed" aria-live="polite">
      ${recent.map((c) => html`<li key=${c.id} class=${'feed-call s-' + c.status} data-call=${c.id}>
        <a href=${'#/calls/' + c.id}>${fmtTime(c.started_at)}</a>
        <span class="f-status">${c.status}</span>
        <span>${caller(me, c.from)} → ${fmtPhone(c.to)}</span>
        <span class="f-source">${sourceMedium(c.attribution && c.attribution.source)}</span>
        ${c.attribution && c.attribution.source && c.attribution.source.campaign
          ? html`<span class="campaign">${c.attribution.source.campaign}</span>` : null}
        <span>${fmtDuration(c.duration)}</span>
      </li>`)}
    </ul>` : html`<p class="empty">No calls yet.</p>`}
  </section>`;
}

/** The roll-up of an owner of several accounts: calls, qualified, conversions per account. */
function Rollup({ me }) {
  const [period, setPeriod] = useState('29');
  const [rows, setRows] = useState(null);
  const [error, setError] = useState(null);
  usePoll(async () => {
    try {
      const q = new URLSearchParams({ since: new Date(startOfDay(+period)).toISOString() });
      setRows((await api('GET', '/v1/app/rollup?' + q)).accounts);
      setError(null);
    } catch (e) { setError(e); }
  }, 0, [period]);
  return html`<section class="panel rollup" aria-labelledby="rollup-title">
    <h2 id="rollup-title">Your accounts</h2>
    <div class="filters"><label for="rollup-period">Period</label>
      <select id="rollup-period" value=${period} onChange=${(e) => setPeriod(e.currentTarget.value)}>
        ${PERIODS.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
      </select></div>
    <${ErrorLine} error=${error} />
    ${rows && html`<table class="rollup"><caption class="sr">Calls per account</caption>
      <thead><tr><th scope="col">Account</th><th scope="col" class="num">Calls</th>
        <th scope="col" class="num">Qualified</th><th scope="col" class="num">Conversions</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr key=${r.id} class="acct">
        <th scope="row">${r.name}${r.id === me.account.id ? ' (this one)' : ''}</th>
        <td class="num r-calls">${fmtCount(r.calls)}</td><td class="num">${fmtCount(r.qualified)}</td>
        <td class="num">${fmtCount(r.conversions)}</td></tr>`)}</tbody></table>`}
  </section>`;
}

export function Overview({ me }) {
  const [data, setData] = useState(null);
  const [qualified, setQualified] = useState(null);
  const [error, setError] = useState(null);
  const load = async () => {
    try {
      const r = await callsSince(startOfDay(59));
      setData(r);
      setError(null);
    } catch (e) { setError(e); }
    if (!me.rights.analyse) return;
    try { // qualified calls (the conversion rule's talk time): the reports' totals
      const q = {};
      for (const [id, , back, len] of CARD_PERIODS) {
        const [now, before] = await Promise.all([[back, null], [back + len, back]].map(([a, b]) =>
          api('GET', '/v1/reports/calls?' + new URLSearchParams({ since: new Date(startOfDay(a)).toISOString(),
            ...(b != null ? { until: new Date(startOfDay(b)).toISOString() } : {}) }))));
        q[id] = [now.totals.qualified, before.totals.qualified];
      }
      setQualified(q);
    } catch (e) { /* the cards show what they have */ }
  };
  const state = useLiveCalls(
    (call) => setData((d) => (d ? { ...d, calls: upsert(d.calls, call) } : d)),
    () => load(),
  );
  useEffect(() => { load(); }, []);
  const multi = me.accounts.filter((a) => a.role === 'owner').length > 1;
  const calls = data ? data.calls : [];
  const chart = data && perDay(calls.filter((c) => Date.parse(c.started_at) >= startOfDay(29)), 30,
    (c) => (c.attribution && c.attribution.source && c.attribution.source.source) || '(none)');
  return html`<h1>Overview</h1>
    <${ErrorLine} error=${error} />
    ${data && html`
      ${CARD_PERIODS.map(([id, label, back, len]) => {
        const now = figures(calls, startOfDay(back), Infinity);
        const before = figures(calls, startOfDay(back + len), startOfDay(back));
        return html`<section class="cards" aria-label=${label} key=${id}>
          <h2 class="period">${label}</h2>
          <${Card} id=${id} what="calls" label="calls" now=${now.calls} before=${before.calls} truncated=${data.truncated} />
          <${Card} id=${id + '-first'} what="first" label="first-time callers" now=${now.first} before=${before.first} />
          ${qualified && html`<${Card} id=${id + '-qualified'} what="qualified" label="qualified calls" now=${qualified[id][0]} before=${qualified[id][1]} />`}
          <${Card} id=${id + '-conv'} what="conversions" label="conversions" now=${now.conversions} before=${before.conversions} />
        </section>`;
      })}
      <section class="panel" aria-labelledby="by-source-title">
        <h2 id="by-source-title">Calls by source, last 30 days</h2>
        <${Chart} data=${chart.data} series=${chart.series} kind="line"
          label=${'Calls per day by source over the last 30 days: ' + chart.series.map((s, i) =>
            `${s.label} ${chart.data[i + 1].reduce((a, b) => a + b, 0)}`).join(', ')} />
      </section>
      <${LiveFeed} calls=${calls} state=${state} me=${me} />
      ${multi && html`<${Rollup} me=${me} />`}
      <h2>Recent calls</h2>
      <${CallTable} calls=${calls.slice(-10).reverse()} caption="Recent calls, newest first" me=${me} />`}`;
}

// ---- calls ----

const PERIODS = [['0', 'Today'], ['6', '7 days'], ['29', '30 days']];

const METHOD_OPTIONS = ['exact', 'shared', 'late', 'source', 'repeat', 'unattributed'];
const NO_FILTERS = { period: '29', source: '', campaign: '', method: '', qualified: '', first_time: '' };

/** The query of the calls API for these filters (no cursor, no limit). */
function callsQuery(f) {
  const q = new URLSearchParams({ since: new Date(startOfDay(+f.period)).toISOString() });
  for (const k of ['source', 'campaign', 'method', 'qualified', 'first_time']) if (f[k]) q.set(k, f[k]);
  return q;
}

/** A text filter: what is typed is kept in the field (a live reload re-rendering the screen used
 * to put the applied value back into it, wiping the text) and applied on change (Enter, leaving
 * the field). */
function TextFilter({ k, label, value, onCommit }) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  return html`<label for=${'f-' + k}>${label}</label>
    <input id=${'f-' + k} class="f-text" value=${draft} placeholder="any"
      onInput=${(e) => setDraft(e.currentTarget.value)}
      onChange=${(e) => onCommit(e.currentTarget.value)} />`;
}

function CallFilters({ filters, onChange }) {
  const set = (k) => (e) => onChange({ ...filters, [k]: e.currentTarget.value });
  const text = (k, label) => html`<${TextFilter} k=${k} label=${label} value=${filters[k]}
    onCommit=${(v) => onChange({ ...filters, [k]: v })} />`;
  return html`<form class="filters" role="search" aria-label="Filter calls" onSubmit=${(e) => e.preventDefault()}>
    <label for="period">Period</label>
    <select id="period" value=${filters.period} onChange=${set('period')}>
      ${PERIODS.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
    </select>
    ${text('source', 'Source')}
    ${text('campaign', 'Campaign')}
    <label for="f-method">Method</label>
    <select id="f-method" value=${filters.method} onChange=${set('method')}>
      <option value="">any</option>${METHOD_OPTIONS.map((m) => html`<option value=${m}>${m}</option>`)}
    </select>
    <label for="f-qualified">Qualified</label>
    <select id="f-qualified" value=${filters.qualified} onChange=${set('qualified')}>
      <option value="">any</option><option value="true">qualified</option><option value="false">not qualified</option>
    </select>
    <label for="f-first">Caller</label>
    <select id="f-first" value=${filters.first_time} onChange=${set('first_time')}>
      <option value="">any</option><option value="true">first-time</option><option value="false">repeat</option>
    </select>
  </form>`;
}

export function Calls({ me }) {
  const [filters, setFilters] = useState(NO_FILTERS);
  const [cursors, setCursors] = useState([null]); // the cursor of each page shown so far
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const cursor = cursors[cursors.length - 1];
  const base = callsQuery(filters);
  const shown = useRef('');
  shown.current = base.toString() + '|' + cursor; // what the screen asks for now
  const load = async () => {
    const key = base.toString() + '|' + cursor;
    const q = new URLSearchParams(base);
    q.set('limit', '50');
    if (cursor) q.set('cursor', cursor);
    try {
      const p = await api('GET', '/v1/calls?' + q);
      if (shown.current !== key) return; // the filters or the page changed meanwhile
      setPage(p);
      setError(null);
    } catch (e) { setError(e); }
  };
  useEffect(() => { load(); }, [base.toString(), cursor]);
  // a call that rings or ends reloads the page shown (its cursor stays: the page does not jump),
  // at most once a second however busy the account is
  const pending = useRef(null);
  useEffect(() => () => clearTimeout(pending.current), []);
  const state = useLiveCalls(() => {
    if (!pending.current) pending.current = setTimeout(() => { pending.current = null; load(); }, 1000);
  }, () => {});
  const csv = '/v1/calls?' + new URLSearchParams({ ...Object.fromEntries(base), format: 'csv' });
  return html`<h1>Calls</h1>
    <${CallFilters} filters=${filters} onChange=${(f) => { setFilters(f); setCursors([null]); }} />
    <p class="toolbar"><span class="hint">oldest first · ${state === 'live' ? 'live' : 'not live'}</span>
      <a class="csv" href=${csv} download="calls.csv">Download CSV</a></p>
    <${ErrorLine} error=${error} />
    ${page && html`<${CallTable} calls=${page.calls} caption="Calls" me=${me} />
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

const LEAD_STATUSES = ['new', 'qualified', 'won', 'lost', 'spam'];

/** What the outcome form holds, from the call's outcome. */
function outcomeForm(o) {
  return {
    tags: (o.tags || []).join(', '), notes: o.notes || '', lead_status: o.lead_status || 'new',
    revenue: o.revenue == null ? '' : (o.revenue / 100).toFixed(2),
    billable: o.billable == null ? '' : String(o.billable),
  };
}

/** The PATCH body: only the fields that changed (the API refuses an empty one). */
function outcomeChanges(form, o) {
  const was = outcomeForm(o);
  const body = {};
  if (form.tags !== was.tags) body.tags = form.tags.split(',').map((t) => t.trim()).filter(Boolean);
  if (form.notes !== was.notes) body.notes = form.notes;
  if (form.lead_status !== was.lead_status) body.lead_status = form.lead_status;
  if (form.revenue !== was.revenue && form.revenue.trim() !== '') {
    const cents = Math.round(parseFloat(form.revenue.replace(/,/g, '')) * 100);
    body.revenue = Number.isFinite(cents) ? cents : form.revenue;
  }
  if (form.billable !== was.billable) body.billable = form.billable === '' ? null : form.billable === 'true';
  return body;
}

/** The call's outcome: an editor for analysts and above, read-only for a viewer. */
function Outcome({ call, me, onSaved }) {
  const o = call.outcome || {};
  const [form, setForm] = useState(outcomeForm(o));
  const [status, setStatus] = useState('');
  const [error, setError] = useState(null);
  useEffect(() => { setForm(outcomeForm(call.outcome || {})); }, [call.id]);
  if (!me.rights.analyse) {
    return html`<section class="outcome"><h2>Outcome</h2><dl>
      <${Field} label="Lead status">${o.lead_status || 'new'}<//>
      <${Field} label="Tags">${(o.tags || []).length ? o.tags.map((t) => html`<span class="tag">${t}</span> `) : 'none'}<//>
      <${Field} label="Notes"><span class="notes">${orDash(o.notes)}</span><//>
    </dl><p class="needs-role" role="note">Setting the outcome needs the analyst role.</p></section>`;
  }
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const save = async (ev) => {
    ev.preventDefault();
    const body = outcomeChanges(form, o);
    if (!Object.keys(body).length) { setStatus('Nothing changed.'); return; }
    setStatus('Saving…');
    try {
      const saved = await api('PATCH', '/v1/calls/' + encodeURIComponent(call.id), body);
      setError(null);
      setStatus('Saved.');
      setForm(outcomeForm(saved.outcome || {}));
      onSaved(saved);
    } catch (e) { setError(e); setStatus(''); }
  };
  return html`<section class="outcome"><h2>Outcome</h2>
    <form class="outcome-form" onSubmit=${save}>
      <label for="o-tags">Tags <small>(comma separated)</small></label>
      <input id="o-tags" name="tags" value=${form.tags} onInput=${set('tags')} />
      <label for="o-lead">Lead status</label>
      <select id="o-lead" name="lead_status" value=${form.lead_status} onChange=${set('lead_status')}>
        ${LEAD_STATUSES.map((v) => html`<option value=${v}>${v}</option>`)}
      </select>
      <label for="o-revenue">Revenue</label>
      <input id="o-revenue" name="revenue" inputmode="decimal" value=${form.revenue} onInput=${set('revenue')} />
      <label for="o-billable">Billable</label>
      <select id="o-billable" name="billable" value=${form.billable} onChange=${set('billable')}>
        <option value="">not set</option><option value="true">yes</option><option value="false">no</option>
      </select>
      <label for="o-notes">Notes</label>
      <textarea id="o-notes" name="notes" rows="3" value=${form.notes} onInput=${set('notes')}></textarea>
      <${ErrorLine} error=${error} />
      <p class="actions"><button type="submit">Save outcome</button> <span class="status" role="status">${status}</span></p>
    </form></section>`;
}

const EVENT_TEXT = {
  tel_click: 'tapped the number', chat_started: 'started a chat', form_submit: 'sent a form',
  swap_miss: 'the number was not swapped', number_copy: 'copied the number',
};

/** One visit of the journey: where it came from and what the visitor did. */
function Visit({ title, sess }) {
  const src = sess.source || {};
  const ids = Object.entries(src.click_ids || {});
  return html`<section class="visit"><h3>${title}</h3><dl>
    <${Field} label="Started">${fmtDateTime(sess.created_at)}<//>
    <${Field} label="Last active">${fmtDateTime(sess.last_active_at)}<//>
    <${Field} label="Landing page"><span class="url j-landing">${orDash(sess.landing_page)}</span><//>
    <${Field} label="Referrer"><span class="url">${orDash(sess.referrer)}</span><//>
    <${Field} label="Source / medium"><span class="j-source">${sourceMedium(src)}</span><//>
    <${Field} label="Campaign"><span class="j-campaign">${orDash(src.campaign)}</span><//>
    <${Field} label="Keyword">${orDash(src.keyword)}<//>
    <${Field} label="Click ids">${ids.length ? ids.map(([k, v]) => html`<span class="clickid">${k}: ${v}</span> `) : 'none'}<//>
    <${Field} label="Device">${orDash(sess.device)}${sess.region ? ' · ' + sess.region : ''}<//>
    <${Field} label="Numbers shown">${(sess.leases || []).length
      ? sess.leases.map((l) => html`<span class="lease">${fmtPhone(l.number)} ${fmtTime(l.leased_at)}–${fmtTime(l.expires_at)}</span> `)
      : 'none'}<//>
  </dl>
  ${(sess.page_views || []).length ? html`<h4>Pages seen</h4><ol class="pages">
    ${sess.page_views.map((pv) => html`<li class=${pv.landing ? 'pv pv-landing' : 'pv'}>${fmtTime(pv.at)} — <span class="url pv-path">${pv.path}</span>${pv.title ? ' · ' : ''}${pv.title ? html`<span class="pv-title">${pv.title}</span>` : ''}${pv.landing ? ' (landing page)' : ''}</li>`)}
  </ol>${sess.page_views.length >= 200 ? html`<p class="note">The first 200 page views are kept.</p>` : null}` : null}
  ${(sess.events || []).length ? html`<h4>What the visitor did</h4><ol class="events">
    ${sess.events.map((e) => html`<li class=${'ev ev-' + e.type}>${fmtTime(e.at)} — ${EVENT_TEXT[e.type] || e.type}${e.number ? ' ' + fmtPhone(e.number) : ''}${e.detail ? ': ' : ''}${e.detail ? html`<span class="detail">${e.detail}</span>` : ''}</li>`)}
  </ol>` : html`<p class="empty">No page events were reported (tel: clicks, chats, forms).</p>`}
  </section>`;
}

/** The visitor's journey: the credited visit, the first touch, and earlier calls from the caller. */
function Journey({ call, me }) {
  const a = call.attribution || {};
  const [j, setJ] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let gone = false;
    (async () => {
      try {
        const get = (sid) => (sid ? api('GET', '/v1/sessions/' + encodeURIComponent(sid)) : null);
        const first = a.first_touch && a.first_touch !== a.session_id ? a.first_touch : null;
        const [sess, firstSess] = await Promise.all([get(a.session_id), get(first)]);
        let earlier = null;
        if (me.rights.analyse && call.from) { // callers are masked below analyst: no matching
          const q = new URLSearchParams({ from: call.from, limit: '100', until: call.started_at,
            since: new Date(Date.parse(call.started_at) - 90 * 86400000).toISOString() });
          earlier = (await api('GET', '/v1/calls?' + q)).calls.filter((c) => c.id !== call.id).reverse();
        }
        if (!gone) setJ({ sess, firstSess, earlier });
      } catch (e) { if (!gone) setError(e); }
    })();
    return () => { gone = true; };
  }, [call.id]);
  return html`<section class="journey"><h2>The visitor's journey</h2>
    <${ErrorLine} error=${error} />
    ${j && html`
      ${j.firstSess && html`<${Visit} title="First visit (first touch)" sess=${j.firstSess} />`}
      ${j.sess ? html`<${Visit} title="The visit credited with this call" sess=${j.sess} />`
        : html`<p class="empty">No visit is tied to this call.</p>`}
      <h3>Earlier calls from this caller</h3>
      ${j.earlier == null ? html`<p class="needs-role" role="note">Callers are masked for your role: earlier calls need the analyst role.</p>`
        : j.earlier.length ? html`<ul class="earlier">${j.earlier.map((c) => html`<li key=${c.id}>
            <a href=${'#/calls/' + c.id}>${fmtDateTime(c.started_at)}</a> · ${c.status} · ${fmtDuration(c.duration)} · ${sourceMedium(c.attribution && c.attribution.source)}</li>`)}</ul>`
        : html`<p class="empty">None in the 90 days before this call.</p>`}`}
  </section>`;
}

/** The call's recording: a player (the audio comes through opendni, which fetches it from the
 * provider with the account's credentials: GET /v1/calls/{id}/recording) for analysts and up. */
function Recording({ call, me }) {
  const rec = call.recording || (call.routing && call.routing.recording);
  if (!rec) {
    return call.recorded
      ? 'recorded at your telephony provider, which has not reported the recording to opendni (it does once the call has ended)'
      : 'none';
  }
  const len = rec.duration ? ` (${fmtDuration(rec.duration)})` : '';
  if (!me.rights.analyse) {
    return html`<span>a recording${len}</span> <span class="needs-role" role="note">— listening needs the analyst role.</span>`;
  }
  return html`<audio class="recording" controls preload="none"
      src=${'/v1/calls/' + encodeURIComponent(call.id) + '/recording'}
      aria-label=${'Recording of this call' + len}></audio>${len ? html` <span class="rec-len">${len.trim()}</span>` : null}`;
}

export function CallDetail({ id, me }) {
  const [call, setCall] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api('GET', '/v1/calls/' + encodeURIComponent(id)).then(setCall, setError);
  }, [id]);
  useLiveCalls((c) => { if (c.id === id) setCall(c); }, () => {});
  if (error) return html`<h1>Call</h1><${ErrorLine} error=${error} />`;
  if (!call) return html`<h1>Call</h1><p>Loading…</p>`;
  const a = call.attribution || {};
  const s = a.source || {};
  const ids = Object.entries(a.click_ids || {});
  return html`<p><a href="#/calls">← Calls</a></p>
    <h1>Call ${fmtDateTime(call.started_at)}</h1>
    <div class="detail">
      <section><h2>Call</h2><dl>
        <${Field} label="Caller">${caller(me, call.from)}<//>
        <${Field} label="First-time caller">${call.first_time == null ? '—' : call.first_time ? 'yes' : 'no'}<//>
        <${Field} label="Tracking number">${fmtPhone(call.to)}<//>
        <${Field} label="Forwarded to">${fmtPhone(call.forwarded_to)}<//>
        <${Field} label="Status"><span class="c-status">${call.status}</span><//>
        <${Field} label="Duration">${fmtDuration(call.duration)}<//>
        <${Field} label="Conversion">${call.conversion ? call.conversion.name : 'none'}<//>
        <${Field} label="Recording"><${Recording} call=${call} me=${me} /><//>
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
      <${Outcome} call=${call} me=${me} onSaved=${setCall} />
    </div>
    <${Journey} call=${call} me=${me} />`;
}

// ---- numbers: pools and their health, source numbers ----

function PoolCard({ pool, me }) {
  const [health, setHealth] = useState(null);
  const [usage, setUsage] = useState(null);
  usePoll(async () => {
    const id = encodeURIComponent(pool.id);
    const [h, u] = await Promise.all([api('GET', `/v1/pools/${id}/health`), api('GET', `/v1/pools/${id}/usage`)]);
    setHealth(h);
    setUsage(u);
  }, 30000, [pool.id]);
  const peak = usage ? Math.max(0, ...usage.points.map((p) => p.in_use)) : 0;
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
    ${health && health.recommended_size > health.size && html`<p class="warn" role="note">
      This pool has ${fmtCount(health.size)} numbers; its traffic needs about ${fmtCount(health.recommended_size)}
      (exhausted pools share numbers, and attribution gets less sure). Add numbers, or size it on
      its own traffic below (the simulator of <code>opendni simulate</code>, docs/pool-sizing.md).</p>`}
    ${usage && html`<h3>Numbers in use, last 7 days</h3>
      <${Chart} x="time" data=${[usage.points.map((p) => Date.parse(p.at) / 1000), usage.points.map((p) => p.in_use),
        usage.points.map(() => usage.size), usage.points.map(() => usage.recommended_size)]}
        series=${[{ label: 'in use' }, { label: 'numbers in the pool' }, { label: 'recommended size' }]}
        label=${`Numbers of pool ${pool.name} in use each hour over the last 7 days: at most ${peak} of ${usage.size}; recommended size ${usage.recommended_size}`} />`}
    <${Sweep} pool=${pool} me=${me} />
  </section>`;
}

export function Numbers({ me }) {
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
      ${data.pools.map((p) => html`<${PoolCard} key=${p.id} pool=${p} me=${me} />`)}
      <h2>Tracking numbers</h2>
      <table class="numbers"><caption class="sr">Tracking numbers</caption>
        <thead><tr><th scope="col">Number</th><th scope="col">Pool or source</th></tr></thead>
        <tbody>${data.numbers.map((n) => html`<tr key=${n.id}>
          <td>${fmtPhone(n.number)}</td>
          <td>${n.pool ? poolName(n.pool) : sourceMedium(n.source)}${n.source && n.source.campaign ? ' · ' + n.source.campaign : ''}</td>
        </tr>`)}</tbody>
      </table>`}`;
}
