/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni iframe side, served at /dni-frame.js: in a booking form, chat or other widget that a
 * tracked page embeds (same-site or cross-site), shows the parent page's tracking numbers. It asks
 * the parent (postMessage {odni:'hi'}), accepts {odni:'nums'} only from the parent window and only
 * when the message's origin is one of the account's allowed origins (GET /v1/origins), then swaps
 * the targets' digits in place (keeping their format), tel: links and [data-dni-phone]; tel:
 * clicks and form submissions go back to the parent, which reports them for its session. Never
 * leases a number itself. ES2017, strict-CSP safe, silent on failure. */
(function (W, D) {
  'use strict';
  const S = D.currentScript;
  if (!S || W.parent == W || W.OpenDNIFrame) return;
  const dbg = (e) => console.debug('[opendni]', e);
  const dig = (s) => String(s || '').replace(/\D/g, '');
  const acct = S.getAttribute('data-account') || '';
  const origins = fetch(new URL(S.src).origin + '/v1/origins?account=' + encodeURIComponent(acct), { credentials: 'omit' })
    .then((r) => r.json()).then((j) => j.origins || [], () => []);
  let map = {};     /* digits (international and national) of a target or a shown number -> number */
  let parent = '';  /* the parent's origin, once trusted */
  let mo = null;
  const PH = /\+?\(?\d[\d ().\/\u00a0-]{5,}\d/g;
  const SKIP = 'script,style,noscript,textarea,select,template,[data-dni-noswap],[contenteditable]';
  /* The map key that the digits of t end with (a phone-like run may start with other digits:
   * "24/7 (555) 555-0100"), or null. */
  const key = (t) => [15, 14, 13, 12, 11, 10].map((l) => dig(t).slice(-l)).find((k) => map[k]);
  /* t with its last digits (those of key k) replaced by the number's, keeping the format. */
  const fmt = (t, k) => {
    const r = dig(map[k].number).slice(-k.length);
    let i = r.length;
    return t.split('').reverse().map((c) => (/\d/.test(c) && i > 0 ? r[--i] : c)).reverse().join('');
  };
  const swap = (root) => {
    if (mo) mo.disconnect();
    const w = D.createTreeWalker(root, 5, { acceptNode: (n) => (n.nodeType == 3 ? 1 : n.matches(SKIP) ? 2 : 3) });
    for (let n = w.nextNode(); n; n = w.nextNode()) {
      const s = n.data.replace(PH, (t) => { const k = key(t); return k ? fmt(t, k) : t; });
      if (s != n.data) n.data = s;
    }
    for (const a of root.querySelectorAll('a[href^="tel:" i]')) {
      const k = key(a.getAttribute('href'));
      if (k && !a.closest(SKIP)) a.setAttribute('href', 'tel:' + map[k].number);
    }
    for (const e of root.querySelectorAll('[data-dni-phone]')) {
      const k = key(e.getAttribute('data-dni-phone') || e.textContent);
      if (k && e.textContent != map[k].display) e.textContent = map[k].display || map[k].number;
    }
    if (mo) mo.observe(D.documentElement, { childList: true, subtree: true, characterData: true });
  };
  const use = (list) => {
    for (const n of list) {
      if (!n || !/^\+\d{8,15}$/.test(n.number) || !/^\+\d{8,15}$/.test(n.target)) continue;
      for (const k in map) if (map[k].target == n.target) map[k] = n;
      for (const d of [dig(n.target), dig(n.number)]) map[d] = map[d.replace(/^1(?=\d{10}$)/, '')] = n;
    }
    if (!D.body) return D.addEventListener('DOMContentLoaded', () => use([]));
    swap(D.body);
    if (!mo) {
      mo = new MutationObserver(() => swap(D.body));
      mo.observe(D.documentElement, { childList: true, subtree: true, characterData: true });
    }
    W.OpenDNIFrame.numbers = list.length ? list : W.OpenDNIFrame.numbers;
    D.dispatchEvent(new CustomEvent('opendni:numbers', { detail: W.OpenDNIFrame.numbers }));
  };
  W.OpenDNIFrame = { numbers: null };
  W.addEventListener('message', (e) => {
    const d = e.data;
    if (e.source != W.parent || !d || d.odni != 'nums' || !Array.isArray(d.numbers)) return;
    origins.then((list) => {
      if (!list.includes(e.origin)) return dbg('parent origin not allowed: ' + e.origin);
      parent = e.origin;
      use(d.numbers);
    }).catch(dbg);
  });
  const tell = (type, number, detail) => parent && W.parent.postMessage({ odni: 'ev', type, number, detail }, parent);
  D.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[href^="tel:" i]');
    const d = a && dig(a.getAttribute('href'));
    if (d) tell('tel_click', '+' + (d.length == 10 ? 1 + d : d), null);
  }, true);
  D.addEventListener('submit', (e) => {
    tell('form_submit', null, JSON.stringify({ form: (e.target.getAttribute('id') || e.target.getAttribute('name') || '').slice(0, 40) || null, page: location.pathname.slice(0, 80), frame: location.origin.slice(0, 80) }));
  }, true);
  /* The parent's dni.js may start after this frame (both load async) and miss a first hello: ask
   * every 250 ms until an allowed parent answers, for 10 s at most. */
  let asks = 0;
  const ask = () => {
    if (parent || asks++ >= 40) return;
    W.parent.postMessage({ odni: 'hi' }, '*');
    setTimeout(ask, 250);
  };
  ask();
})(window, document);
