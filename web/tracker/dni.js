/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni tracker, served at /dni.js. Leases a tracking number for the visit (POST /v1/visits),
 * swaps the target numbers wherever a human sees them, keeping their format; renews the lease
 * while the page is visible; reports tel: clicks, chats, copies, form submissions and misses;
 * passes its numbers to the page's iframes that run /dni-frame.js. ES2017, no dependencies,
 * strict-CSP safe; any failure is silent and leaves the static numbers. */
(function (W, D, N) {
  'use strict';
  if (W.OpenDNI && W.OpenDNI.track) return;
  const dbg = (e) => console.debug('[opendni]', e);
  const safe = (f) => function () { try { return f.apply(this, arguments); } catch (e) { dbg(e); } };
  const dig = (s) => String(s || '').replace(/\D/g, '');
  const now = () => Date.now();
  const on = (o, t, f, c) => o.addEventListener(t, safe(f), c);
  /* Crawlers and automation keep the static number and get no session (the server agrees). */
  const BOT = /bot[/;)-]|spider|crawl|slurp|facebookexternalhit|whatsapp|preview|lighthouse|headless|embedly|chatgpt|googleother|google-|-google|curl\/|wget|python-|go-http/i;
  /* Phone-like text: digit groups, maybe in parentheses, joined by at most one separator. */
  const PH = /\+?\(?\d+\)?(?:[ \u00a0./-]?\(?\d+\)?)*/g;
  const SKIP = 'script,style,noscript,textarea,select,template,title,[data-dni-noswap],[contenteditable]';
  const INLINE = /^(A|ABBR|B|BR|CODE|EM|FONT|I|MARK|S|SMALL|SPAN|STRONG|SUB|SUP|TIME|U)$/;
  const TEL = 'a[href^="tel:" i]';
  const K = '_odni_';
  const S = D.currentScript || D.querySelector('script[src*="dni.js"]');
  const at = (n) => (S && S.getAttribute(n)) || '';
  const cfg = { account: at('data-account'), base: S && S.src ? new URL(S.src, location.href).origin : '', targets: null, sels: [], cbs: [] };
  let map = {};    /* digits of a target, or of a number shown for it -> its current number */
  let nums = null; /* numbers of the last answer */
  let ids = {};    /* v: visitor id, s: session id, x: session expiry (ms), n: its numbers */
  let ttl = 1200;
  let found = 0;   /* targets met on this page view */
  let hidden = []; /* anti-flicker (on unless data-anti-flicker="off"): [element, its inline visibility] */
  let hiding = at('data-anti-flicker') != 'off';
  let kids = [];   /* iframes running dni-frame.js: [window, origin] */
  let state = 0;   /* 0 loading the queue, 1 idle, 2 started */
  let timer = 0;
  let mo = null;
  let dom = null;

  /* ---- identity: first-party cookies on the site's domain, mirrored in localStorage ---- */
  const cookie = (n, v, age) => {
    const tail = '; path=/; SameSite=Lax' + (location.protocol == 'https:' ? '; Secure' : '') + '; max-age=';
    const h = location.hostname;
    /* The widest domain the browser accepts (it refuses public suffixes); IPs stay host-only. */
    for (let i = h.split('.').length - 2; dom === null && i >= 0 && !/^[\d.]+$|:/.test(h); i--) {
      const d = '; domain=' + h.split('.').slice(i).join('.');
      D.cookie = K + 't=1' + d + tail + 9;
      if (D.cookie.indexOf(K + 't=1') >= 0) dom = d;
      D.cookie = K + 't=' + d + tail + 0;
    }
    dom = dom || '';
    D.cookie = K + n + '=' + encodeURIComponent(v) + dom + tail + age;
  };
  const load = () => {
    let o = {};
    try { o = JSON.parse(localStorage.getItem(K)) || {}; } catch (e) { /* blocked */ }
    try {
      const c = (n) => decodeURIComponent((D.cookie.match('(?:^|; )' + K + n + '=([^;]*)') || [0, ''])[1]);
      o.v = c('v') || o.v;
      if (c('s') && c('s') != o.s) o = { v: o.v, s: c('s'), x: now() + 1e3 };
    } catch (e) { /* blocked */ }
    if (!(o.x > now())) o.s = o.n = null;
    return o;
  };
  const stores = () => {
    try { localStorage.setItem(K + 't', 1); localStorage.removeItem(K + 't'); return 1; } catch (e) { /* blocked */ }
    try { D.cookie = K + 't=1; path=/'; return D.cookie.indexOf(K + 't=1') >= 0; } catch (e) { return 0; }
  };
  /* t0: when the answered request was sent. The lease was renewed after that, so the stored
   * expiry is never later than the server's: a stored number is shown only while its lease
   * lives, and a number cannot leave its pool while leased (docs/tracker.md, stale numbers). */
  const save = safe((t0) => {
    ids.x = t0 + ttl * 1e3;
    ids.n = nums;
    try { localStorage.setItem(K, JSON.stringify(ids)); } catch (e) { /* blocked */ }
    cookie('v', ids.v, 34560000);
    cookie('s', ids.s, ttl);
  });

  /* ---- network: CORS simple requests (JSON as text/plain), 2 s budget, beacons when leaving ---- */
  const post = (path, body, beacon) => {
    const url = cfg.base + '/v1/visits' + (path ? '/' + encodeURIComponent(ids.s) + path : '');
    const o = { method: 'POST', body: JSON.stringify(body), credentials: 'omit', keepalive: !!beacon };
    if (beacon) {
      try { if (N.sendBeacon(url, o.body)) return; } catch (e) { /* fetch below */ }
      return fetch(url, o).catch(dbg);
    }
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), 2000);
    o.signal = ac.signal;
    return fetch(url, o).then((r) => {
      if (!r.ok) throw Object.assign(Error('HTTP ' + r.status), { status: r.status });
      return r.json();
    }).then((j) => { clearTimeout(t); return j; }, (e) => { clearTimeout(t); throw e; });
  };
  const send = (type, number, detail) => { if (ids.s) post('/events', { type, number, detail }, 1); };

  /* ---- matching: a candidate's digits -> key of map: E.164 digits, or a national form ---- */
  const find = (d) => {
    const z = d.replace(/^0/, ''); /* trunk prefix */
    if (!nums) return z.length > 6 && d.length < 16 ? d : null; /* pending: any phone-like */
    if (map[d] || z.length < 7) return map[d] ? d : null;
    for (const k in map) if (k.length > z.length && k.length < z.length + 4 && k.endsWith(z)) return k;
    return null;
  };
  /* [index, text, key] of the numbers in s that match a key. A phone-like run may hold more
   * than a number ("24/7 (555) 555-0100"): try its spans of up to 5 digit groups, longest first. */
  const cands = (s) => {
    const r = [];
    PH.lastIndex = 0;
    for (let m = PH.exec(s); m; m = PH.exec(s)) {
      const g = [];
      const G = /\+?\(?\d+\)?/g;
      for (let x = G.exec(m[0]); x; x = G.exec(m[0])) g.push([m.index + x.index, m.index + G.lastIndex]);
      for (let i = 0; i < g.length; i++) {
        for (let j = Math.min(g.length, i + 5) - 1; j >= i; j--) {
          const t = s.slice(g[i][0], g[j][1]);
          const k = find(dig(t));
          if (k) { r.push([g[i][0], t, k]); i = j; break; }
        }
      }
    }
    return r;
  };
  /* The first current tracking number in s, in any format. */
  const shows = (s) => cands(s).map((c) => map[c[2]]).find((n) => map[dig(n.number)] == n);
  /* New text for candidate t: the new digits in t's format, else the server's display form. */
  const fmt = (t, k) => {
    const d = dig(t);
    const z = d == k ? d : d.replace(/^0/, '');
    const r = d.slice(0, d.length - z.length) + dig(map[k].number).slice(k.length - z.length);
    let i = 0;
    return r.length == d.length ? t.replace(/\d/g, () => r[i++]) : map[k].display || map[k].number;
  };

  /* ---- swapping ---- */
  const hide = (e) => {
    if (e.style && !hidden.some((h) => h[0] == e)) {
      hidden.push([e, e.style.visibility]);
      e.style.visibility = 'hidden';
    }
  };
  const reveal = () => {
    hiding = false;
    hidden.forEach((h) => { h[0].style.visibility = h[1]; });
    hidden = [];
  };
  const block = (n) => {
    while (n && n.nodeType != 9 && (n.nodeType == 3 || INLINE.test(n.tagName))) n = n.parentNode;
    return n;
  };
  /* run: consecutive text nodes of one block, as [node, offset in the joined text]. Edits go
   * backwards so a change of length never moves a later match; same-length text keeps each
   * node's share, so numbers split across inline elements keep their markup. */
  const swapRun = (run) => {
    const s = run.map((r) => r[0].data).join('');
    if (!/\d{3}/.test(s)) return;
    for (const [a, t, k] of cands(s).reverse()) {
      const b = a + t.length;
      const r = nums ? fmt(t, k) : '';
      found++;
      if (r != t) {
        run.filter(([n, o]) => o < b && o + n.data.length > a).forEach(([n, o], j) => {
          const x = Math.max(a, o) - o;
          const y = Math.min(b, o + n.data.length) - o;
          const p = r.length == t.length ? r.slice(x + o - a, y + o - a) : j ? '' : r;
          if (nums) n.data = n.data.slice(0, x) + p + n.data.slice(y);
          else hide(n.parentNode);
        });
      }
    }
  };
  const scanText = (root) => {
    const w = D.createTreeWalker(root, 5, { acceptNode: (n) => (n.nodeType == 3 ? 1 : n.matches(SKIP) ? 2 : 3) });
    let run = [];
    let len = 0;
    for (let n = w.nextNode(); n; n = w.nextNode()) {
      if (run[0] && block(run[0][0]) != block(n)) { swapRun(run); run = []; len = 0; }
      run.push([n, len]);
      len += n.data.length;
    }
    swapRun(run);
  };
  const all = (root, sel) => [root].concat(Array.from(root.querySelectorAll(sel)))
    .filter((e) => e.matches(sel) && !e.closest(SKIP));
  const scanEls = (root) => {
    for (const a of all(root, TEL)) {
      const k = find(dig(a.getAttribute('href')));
      found += !!k;
      if (k && nums && a.getAttribute('href') != 'tel:' + map[k].number) a.setAttribute('href', 'tel:' + map[k].number);
    }
    for (const e of all(root, ['[data-dni-phone]'].concat(cfg.sels).join(','))) {
      const k = find(dig(e.getAttribute('data-dni-phone'))) || find(dig(e.textContent)) || (nums && nums[0] && dig(nums[0].target));
      found++;
      if (!nums) hide(e);
      else if (map[k] && !shows(e.textContent)) e.textContent = map[k].display || map[k].number;
    }
  };
  /* While the answer is pending, scans only hide phone-like text (anti-flicker). */
  const scan = safe((root) => {
    if (!D.body || !(nums || hiding) || root.nodeType != 1 || !D.body.contains(root) || root.closest(SKIP)) return;
    scanText(root);
    scanEls(root);
    if (mo) mo.takeRecords(); /* our own edits */
  });
  const observe = () => {
    mo = new MutationObserver(safe((recs) => {
      const roots = new Set(recs.map((r) => block(r.target)));
      (roots.size > 50 ? [D.body] : roots).forEach(scan);
    }));
    mo.observe(D.documentElement, { childList: true, subtree: true, characterData: true });
  };

  /* ---- applying an answer ---- */
  const apply = safe((list) => {
    if (JSON.stringify(list) == JSON.stringify(nums)) return;
    map = nums ? map : {};
    for (const n of list) {
      for (const k in map) if (map[k].target == n.target) map[k] = n;
      map[dig(n.target)] = map[dig(n.number)] = n;
    }
    nums = list;
    found = 0;
    scan(D.body);
    reveal();
    tell();
    try { performance.mark('opendni:swap'); } catch (e) { /* old browser */ }
    cfg.cbs.forEach((f) => safe(f)(list, null));
  });
  const fail = (e) => {
    dbg(e);
    reveal();
    cfg.cbs.forEach((f) => safe(f)(null, e));
  };

  /* ---- the visit and its lease: renewed while visible, with a beacon when hidden ---- */
  const visit = (t0) => post('', {
    account: cfg.account, url: location.href, title: D.title, referrer: D.referrer || null,
    visitor_id: ids.v || null, session_id: ids.s || null, targets: cfg.targets,
  }).then(safe((r) => {
    if (r.bot) return stop();
    ids.v = r.visitor_id;
    ids.s = r.session_id;
    ttl = r.ttl || ttl;
    apply(r.numbers || []);
    ga();
    save(t0);
    renew();
  }), fail);
  /* GA4: the visitor's GA client id (_ga) and GA session id (_ga_<stream>), once per change. */
  const ga = () => {
    const c = D.cookie;
    const m = /(?:^|; )_ga=GA\d\.\d\.(\d+\.\d+)/.exec(c);
    const n = /(?:^|; )_ga_\w+=GS\d\.\d\.s?(\d+)/.exec(c);
    const g = m && m[1] + (n ? ' ' + n[1] : '');
    if (g && ids.s + g != ids.g) { ids.g = ids.s + g; send('ga_client', null, g); }
  };
  const renew = () => {
    clearTimeout(timer);
    if (!D.hidden && ids.s) timer = setTimeout(ping, Math.min(Math.max(ttl * 500, 1000), 3e5));
  };
  const ping = safe(() => {
    const s = ids.s;
    const t0 = now();
    if (s) {
      post('/ping', { url: location.href, title: D.title })
        .then((r) => { apply(r.numbers || nums); ga(); save(t0); },
          (e) => { if (e.status == 404 && ids.s == s) { ids.s = null; return visit(t0); } dbg(e); })
        .then(renew);
    }
  });
  const stop = () => {
    reveal();
    mo.disconnect();
    nums = null;
    ids = {};
  };

  /* ---- events ---- */
  const CHATS = {
    intercom: ['Intercom', (o, f) => o('onUserEmailSupplied', f)],
    drift: ['drift', 'startConversation'],
    hubspot: ['HubSpotConversations', 'conversationStarted'],
    zendesk: ['zE', (o, f) => o('webWidget:on', 'chat:start', f)],
    crisp: ['$crisp', (o, f) => o.push(['on', 'message:sent', f])],
    tawk: ['Tawk_API', (o, f) => {
      const p = o.onChatStarted;
      o.onChatStarted = function () { f(); return p && p.apply(this, arguments); };
    }],
    tidio: ['tidioChatApi', 'conversationStart'],
    livechat: ['LiveChatWidget', (o, f) => o.on('customer_status_changed', (d) => d && d.status == 'chatting' && f())],
  };
  /* Widgets load late: poll their globals for 10 s, then hook "chat started" once per widget. */
  const chats = (tries) => {
    for (const w in CHATS) {
      const o = W[CHATS[w][0]];
      if (o) {
        let sent = 0;
        const f = safe(() => sent++ || send('chat_started', null, w));
        const h = CHATS[w][1];
        try { if (h.call) h(o, f); else o.on(h, f); } catch (e) { dbg(e); }
        delete CHATS[w];
      }
    }
    if (tries < 20) setTimeout(chats, 500, tries + 1);
  };
  /* ---- iframes: numbers to the page's child frames that ask (dni-frame.js checks our origin
   * against the account's), their tel: clicks and form submissions back as our events ---- */
  const tell = () => nums && kids.forEach((k) => k[0].postMessage({ odni: 'nums', numbers: nums }, k[1]));
  const bridge = (e) => {
    const d = e.data || {};
    const k = kids.find((k) => k[0] == e.source && k[1] == e.origin);
    if (d.odni == 'hi' && !k && [].some.call(W.frames, (f) => f == e.source)) {
      kids.push([e.source, e.origin]);
      tell();
    }
    if (d.odni == 'ev' && k && /^(tel_click|form_submit|chat_started)$/.test(d.type)) send(d.type, d.number || null, d.detail || null);
  };
  /* form_submit: the form's id or name and the page; field values only of [data-dni-capture]. */
  const form = (f) => {
    const o = { form: f.getAttribute('id') || f.getAttribute('name') || null, page: location.pathname.slice(0, 100) };
    for (const x of f.querySelectorAll('[data-dni-capture][name]')) {
      const p = JSON.stringify(o);
      (o.fields = o.fields || {})[x.getAttribute('name').slice(0, 40)] = String(x.value).slice(0, 60);
      if (new TextEncoder().encode(JSON.stringify(o)).length > 255) return p;
    }
    return JSON.stringify(o);
  };
  const listen = () => {
    on(W, 'message', bridge);
    on(D, 'submit', (e) => send('form_submit', null, form(e.target)), true);
    /* Another tab renewed or changed the session's numbers: follow it. */
    on(W, 'storage', (e) => {
      const o = e.key == K && load();
      if (o && o.s && o.s == ids.s && o.n) apply(o.n);
    });
    on(D, 'click', (e) => {
      const d = dig(e.target.closest && (e.target.closest(TEL) || {}).href);
      if (d) send('tel_click', '+' + (d.length == 10 ? 1 + d : d), null);
    }, true);
    on(D, 'copy', () => {
      const n = nums && shows(String(W.getSelection()));
      if (n) send('number_copy', n.number, null);
    });
    on(D, 'visibilitychange', () => {
      clearTimeout(timer);
      if (!D.hidden) ping();
      else if (ids.s) post('/ping', { url: location.href, title: D.title }, 1);
    });
    const push = history.pushState;
    history.pushState = function () {
      const r = push.apply(this, arguments);
      setTimeout(ping);
      return r;
    };
    on(W, 'popstate', ping);
    const miss = () => setTimeout(() => {
      if (!nums || !ids.s) return;
      if (!found) send('swap_miss', nums[0] ? nums[0].target : null, 'no target on ' + location.pathname);
      cfg.sels.forEach((s) => D.querySelector(s) || send('swap_miss', null, 'selector ' + s + ' matched nothing'));
    }, 2000);
    if (D.readyState == 'complete') miss();
    else on(W, 'load', miss);
  };

  /* ---- start ---- */
  const start = safe(() => {
    if (state != 1 || !cfg.account || !cfg.base) return;
    state = 2;
    if (N.webdriver || BOT.test(N.userAgent) || !W.fetch || !W.MutationObserver) return reveal();
    ids = load();
    if (!stores()) return reveal(); /* a new session per page view would drain the pool */
    observe();
    if (hiding) setTimeout(reveal, 300);
    if (ids.n) apply(ids.n); /* a returning session shows its stored number at once */
    else scan(D.body);       /* anti-flicker: hide what is already parsed */
    on(D, 'DOMContentLoaded', () => scan(D.body));
    listen();
    chats(0);
    visit(now());
  });
  const track = safe((o) => {
    o = o || {};
    cfg.account = o.account || cfg.account;
    cfg.base = o.base ? String(o.base).replace(/\/$/, '') : cfg.base;
    if (typeof o.onSwap == 'function') {
      cfg.cbs.push(o.onSwap);
      if (nums) safe(o.onSwap)(nums, null);
    }
    if (o.selector) {
      try { D.querySelector(o.selector); cfg.sels.push(o.selector); } catch (e) { fail(e); }
    }
    const more = (o.targets || []).filter((t) => !(cfg.targets || []).includes(t));
    if (more.length) cfg.targets = (cfg.targets || []).concat(more);
    if (state == 2 && more.length && ids.s) visit(now());
    else if (nums) scan(D.body);
    start();
  });

  const queued = Array.isArray(W.OpenDNI) ? W.OpenDNI : [];
  W.OpenDNI = { track, push: track };
  queued.forEach(track);
  state = 1;
  if (D.prerendering) on(D, 'prerenderingchange', start);
  else start();
})(window, document, navigator);
