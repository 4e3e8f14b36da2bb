// SPDX-License-Identifier: AGPL-3.0-or-later
// The Settings screen: the tracking snippet for the account's site (the server's public URL and
// the account id, from /v1/app/me) with a copy button, and for owners the account's audit log
// (GET /v1/app/audit, newest first, 100 a page). Audit entries are shown as text.
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

export function Settings({ me }) {
  return html`<h1>Settings</h1>
    <${Snippet} me=${me} />
    ${me.rights.users
      ? html`<${Audit} />`
      : html`<section class="panel"><h2>Audit log</h2>
          <p class="needs-role" role="note">The audit log is for the account's owners.</p></section>`}`;
}
