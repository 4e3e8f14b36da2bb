// SPDX-License-Identifier: AGPL-3.0-or-later
// The Settings screen: the tracking snippet for the account's site (the server's public URL and
// the account id, from /v1/app/me) with a copy button; the allowed origins (changed by admins);
// for admins the API keys (a new key shown once) and the provider credentials (write-only, shown
// masked); for owners the users and roles and the account's audit log (GET /v1/app/audit, newest
// first, 100 a page). Everything stored is shown as text.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { usePoll, ErrorLine } from './views.js';
import { fmtDateTime } from './format.js';

export function snippet(me) {
  const base = (me.public_url || location.origin).replace(/\/+$/, '');
  return `<script src="${base}/dni.js" data-account="${me.account.id}" async></script>`;
}

/** Copies text: the Clipboard API, else a selected textarea and execCommand. */
async function copyText(text, fallback) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (e) {
    fallback.select();
    return document.execCommand('copy');
  }
}

function Snippet({ me }) {
  const [status, setStatus] = useState('');
  const text = snippet(me);
  const copy = async () => {
    const ok = await copyText(text, document.getElementById('snippet'));
    setStatus(ok ? 'Copied.' : 'Copy failed: select the text and copy it.');
  };
  return html`<section class="panel">
    <h2 id="snippet-title">Tracking snippet</h2>
    <p>Put this in every page of your site, before <code>${'</body>'}</code>. It swaps your phone
      numbers for tracking numbers (docs/tracker.md).</p>
    <label class="sr" for="snippet">Tracking snippet</label>
    <textarea id="snippet" class="snippet" readonly rows="2"
      value=${text}></textarea>
    <p class="actions"><button type="button" class="copy" onClick=${copy}>Copy</button>
      <span class="status" role="status">${status}</span></p>
  </section>`;
}

function Audit() {
  const [pages, setPages] = useState([null]); // the `before` of each page shown so far
  const [entries, setEntries] = useState(null);
  const [error, setError] = useState(null);
  const before = pages[pages.length - 1];
  usePoll(async () => {
    try {
      const r = await api('GET', '/v1/app/audit' + (before ? '?before=' + before : ''));
      setEntries(r.entries);
      setError(null);
    } catch (e) { setError(e); }
  }, 0, [before]);
  const last = entries && entries.length === 100 ? entries[entries.length - 1].id : null;
  return html`<section class="panel">
    <h2>Audit log</h2>
    <${ErrorLine} error=${error} />
    ${entries && (entries.length === 0 ? html`<p class="empty">Nothing yet.</p>` : html`
      <table class="audit"><caption class="sr">Audit log, newest first</caption>
        <thead><tr><th scope="col">Time</th><th scope="col">Who</th><th scope="col">Action</th>
          <th scope="col">Subject</th><th scope="col">Detail</th></tr></thead>
        <tbody>${entries.map((e) => html`<tr class="entry" key=${e.id}>
          <td>${fmtDateTime(e.at)}</td><td class="a-actor">${e.actor}</td>
          <td class="a-action">${e.action}</td><td class="a-subject">${e.subject || '—'}</td>
          <td class="a-detail">${e.detail || '—'}</td>
        </tr>`)}</tbody>
      </table>`)}
    ${(pages.length > 1 || last) && html`<nav class="pager" aria-label="Audit pages">
      <button type="button" disabled=${pages.length < 2} onClick=${() => setPages(pages.slice(0, -1))}>Newer</button>
      <button type="button" disabled=${!last} onClick=${() => setPages(pages.concat(last))}>Older</button>
    </nav>`}
  </section>`;
}

/** A button that asks once more before it acts (no window.confirm: nothing modal). */
function ConfirmButton({ label, confirm, onConfirm, className = '' }) {
  const [armed, setArmed] = useState(false);
  if (!armed) return html`<button type="button" class=${'secondary ' + className} onClick=${() => setArmed(true)}>${label}</button>`;
  return html`<span class="confirm"><button type="button" class=${'danger ' + className} onClick=${async () => { setArmed(false); await onConfirm(); }}>${confirm}</button>
    <button type="button" class="link" onClick=${() => setArmed(false)}>Cancel</button></span>`;
}

/** Loads with fn on mount and after each change; returns [data, error, reload, setError]. */
function useLoad(fn) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const reload = async () => {
    try { setData(await fn()); setError(null); } catch (e) { setError(e); }
  };
  usePoll(reload, 0, []);
  return [data, error, reload, setError];
}

function Origins({ me }) {
  const [origins, error, reload, setError] = useLoad(async () => (await api('GET', '/v1/app/origins')).origins);
  const [value, setValue] = useState('');
  const add = async (ev) => {
    ev.preventDefault();
    try { await api('POST', '/v1/app/origins', { origin: value.trim() }); setValue(''); await reload(); } catch (e) { setError(e); }
  };
  const remove = async (o) => {
    try { await api('DELETE', '/v1/app/origins?' + new URLSearchParams({ origin: o })); await reload(); } catch (e) { setError(e); }
  };
  return html`<section class="panel" aria-labelledby="origins-title">
    <h2 id="origins-title">Allowed origins</h2>
    <p>The sites whose pages may ask for tracking numbers (the visit API answers no other origin).</p>
    <${ErrorLine} error=${error} />
    ${origins && (origins.length ? html`<ul class="origins">${origins.map((o) => html`<li key=${o}>
      <code class="origin">${o}</code>
      ${me.rights.manage && html` <${ConfirmButton} label="Remove" confirm=${'Remove ' + o} onConfirm=${() => remove(o)} />`}
    </li>`)}</ul>` : html`<p class="empty">None: no site can show tracking numbers yet.</p>`)}
    ${me.rights.manage ? html`<form class="inline" onSubmit=${add}>
      <label for="new-origin">Add an origin</label>
      <input id="new-origin" name="origin" placeholder="https://www.example.com" value=${value}
        onInput=${(e) => setValue(e.currentTarget.value)} required />
      <button type="submit">Add</button>
    </form>` : html`<p class="needs-role" role="note">Changing them needs the admin role.</p>`}
  </section>`;
}

function Keys() {
  const [keys, error, reload, setError] = useLoad(async () => (await api('GET', '/v1/app/keys')).keys);
  const [made, setMade] = useState(null);
  const [status, setStatus] = useState('');
  const create = async () => {
    try { setMade(await api('POST', '/v1/app/keys', {})); setStatus(''); await reload(); } catch (e) { setError(e); }
  };
  const revoke = async (id) => {
    try { await api('DELETE', '/v1/app/keys/' + encodeURIComponent(id)); await reload(); } catch (e) { setError(e); }
  };
  const copy = async () => setStatus((await copyText(made.key, document.getElementById('new-key'))) ? 'Copied.' : 'Copy failed: select the key and copy it.');
  return html`<section class="panel" aria-labelledby="keys-title">
    <h2 id="keys-title">API keys</h2>
    <p>For machines (the admin API, exports, the event stream). A key is shown once, when it is made; only its fingerprint afterwards.</p>
    <${ErrorLine} error=${error} />
    ${made && html`<div class="new-key" role="status">
      <label for="new-key">Your new key — copy it now, it will not be shown again</label>
      <input id="new-key" class="key" readonly value=${made.key} />
      <p class="actions"><button type="button" onClick=${copy}>Copy</button>
        <button type="button" class="link" onClick=${() => setMade(null)}>Done</button> <span class="status">${status}</span></p>
    </div>`}
    ${keys && html`<table class="keys"><caption class="sr">API keys</caption>
      <thead><tr><th scope="col">Fingerprint</th><th scope="col">Created</th><th scope="col">State</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
      <tbody>${keys.slice().reverse().map((k) => html`<tr key=${k.id} class=${'key-row' + (k.revoked_at ? ' revoked' : '')} data-key=${k.id}>
        <td><code>${k.fingerprint}…</code></td><td>${fmtDateTime(k.created_at)}</td>
        <td>${k.revoked_at ? 'revoked ' + fmtDateTime(k.revoked_at) : 'working'}</td>
        <td>${!k.revoked_at && html`<${ConfirmButton} label="Revoke" confirm="Revoke this key" className="revoke" onConfirm=${() => revoke(k.id)} />`}</td>
      </tr>`)}</tbody></table>`}
    <p class="actions"><button type="button" class="create-key" onClick=${create}>Create a key</button></p>
  </section>`;
}

const PROVIDERS = [['twilio', 'Twilio', 'AccountSid (AC…)', 'Auth token'],
  ['signalwire', 'SignalWire', 'Project id', 'Signing key'], ['telnyx', 'Telnyx', 'Account id', 'Webhook public key']];

function Providers() {
  const [creds, error, reload, setError] = useLoad(async () => (await api('GET', '/v1/app/providers')).providers);
  const [form, setForm] = useState({ provider: 'twilio', account_sid: '', secret: '' });
  const [status, setStatus] = useState('');
  const p = PROVIDERS.find(([id]) => id === form.provider);
  const save = async (ev) => {
    ev.preventDefault();
    const body = { provider: form.provider };
    if (form.account_sid.trim()) body.account_sid = form.account_sid.trim();
    if (form.secret) body.secret = form.secret;
    try {
      await api('POST', '/v1/app/providers', body);
      setForm({ ...form, account_sid: '', secret: '' });
      setStatus('Saved.');
      await reload();
    } catch (e) { setError(e); setStatus(''); }
  };
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  return html`<section class="panel" aria-labelledby="providers-title">
    <h2 id="providers-title">Telephony provider credentials</h2>
    <p>Write-only: secrets are stored sealed and never shown again, only their last characters.</p>
    <${ErrorLine} error=${error} />
    ${creds && (creds.length ? html`<table class="providers"><caption class="sr">Stored credentials</caption>
      <thead><tr><th scope="col">Provider</th><th scope="col">Account</th><th scope="col">Secret</th><th scope="col">Updated</th></tr></thead>
      <tbody>${creds.map((c) => html`<tr key=${c.provider}><td>${c.provider}</td><td>${orDashText(c.account_sid)}</td>
        <td class="masked">${c.secret || 'none'}</td><td>${fmtDateTime(c.updated_at)}</td></tr>`)}</tbody></table>`
      : html`<p class="empty">None stored.</p>`)}
    <form class="grid-form" onSubmit=${save} autocomplete="off">
      <label for="prov">Provider</label>
      <select id="prov" value=${form.provider} onChange=${set('provider')}>
        ${PROVIDERS.map(([id, name]) => html`<option value=${id}>${name}</option>`)}
      </select>
      <label for="prov-sid">${p[2]}</label>
      <input id="prov-sid" value=${form.account_sid} onInput=${set('account_sid')} />
      <label for="prov-secret">${p[3]}</label>
      <input id="prov-secret" type="password" autocomplete="new-password" value=${form.secret} onInput=${set('secret')} />
      <p class="actions"><button type="submit">Save credentials</button> <span class="status" role="status">${status}</span></p>
    </form>
  </section>`;
}

const orDashText = (v) => (v == null || v === '' ? '—' : String(v));
const ROLES = ['owner', 'admin', 'analyst', 'viewer'];

function Users({ me }) {
  const [users, error, reload, setError] = useLoad(async () => (await api('GET', '/v1/app/users')).users);
  const [form, setForm] = useState({ email: '', role: 'viewer', password: '' });
  const [status, setStatus] = useState('');
  const act = async (fn, done) => {
    try { await fn(); setError(null); setStatus(done); await reload(); } catch (e) { setError(e); setStatus(''); }
  };
  const add = (ev) => {
    ev.preventDefault();
    const body = { email: form.email.trim(), role: form.role };
    if (form.password) body.password = form.password;
    act(async () => { await api('POST', '/v1/app/users', body); setForm({ email: '', role: 'viewer', password: '' }); }, 'Added.');
  };
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  return html`<section class="panel" aria-labelledby="users-title">
    <h2 id="users-title">Users and roles</h2>
    <${ErrorLine} error=${error} />
    ${users && html`<table class="users"><caption class="sr">Users of this account</caption>
      <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
      <tbody>${users.map((u, i) => html`<tr key=${u.email} class="user-row" data-email=${u.email}>
        <td>${u.email}${u.email === me.user.email ? ' (you)' : ''}</td>
        <td><label class="sr" for=${'role-' + i}>Role of ${u.email}</label>
          <select id=${'role-' + i} class="role" value=${u.role}
            onChange=${(e) => act(() => api('POST', '/v1/app/users', { email: u.email, role: e.currentTarget.value }), 'Role changed.')}>
            ${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}
          </select></td>
        <td><${ConfirmButton} label="Remove" confirm=${'Remove ' + u.email} className="remove-user"
          onConfirm=${() => act(() => api('DELETE', '/v1/app/users?' + new URLSearchParams({ email: u.email })), 'Removed.')} /></td>
      </tr>`)}</tbody></table>`}
    <h3>Add a user</h3>
    <form class="grid-form add-user" onSubmit=${add} autocomplete="off">
      <label for="u-email">Email</label>
      <input id="u-email" type="email" value=${form.email} onInput=${set('email')} required />
      <label for="u-role">Role</label>
      <select id="u-role" value=${form.role} onChange=${set('role')}>${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}</select>
      <label for="u-password">Password <small>(a new user: 10 characters or more; tell them, they sign in with it)</small></label>
      <input id="u-password" type="password" autocomplete="new-password" value=${form.password} onInput=${set('password')} />
      <p class="actions"><button type="submit">Add user</button> <span class="status" role="status">${status}</span></p>
    </form>
  </section>`;
}

export function Settings({ me }) {
  return html`<h1>Settings</h1>
    <${Snippet} me=${me} />
    <${Origins} me=${me} />
    ${me.rights.manage ? html`<${Keys} /><${Providers} />`
      : html`<section class="panel"><h2>API keys and provider credentials</h2>
          <p class="needs-role" role="note">API keys and provider credentials are managed by the account's admins and owners.</p></section>`}
    ${me.rights.users ? html`<${Users} me=${me} />` : null}
    ${me.rights.users
      ? html`<${Audit} />`
      : html`<section class="panel"><h2>Audit log</h2>
          <p class="needs-role audit-note" role="note">The audit log is for the account's owners.</p></section>`}`;
}
