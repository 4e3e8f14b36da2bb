// SPDX-License-Identifier: AGPL-3.0-or-later
// The operator dashboard at /app/ (docs/dashboard.md): bundled by esbuild at build time with
// Preact and htm into the one script the binary serves (scripts/gen-embed). Asks who is logged
// in (/v1/app/me), shows the login form or the app, and routes on the URL's hash:
// #/overview, #/calls, #/calls/{id}, #/numbers, #/reports, #/settings.
import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setSession, setLoggedOut } from './src/api.js';
import { Login, Shell, Overview, Calls, CallDetail, Numbers } from './src/views.js';
import { Reports } from './src/reports.js';
import { Settings } from './src/settings.js';

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  return { screen: parts[0] || 'overview', id: parts[1] ? decodeURIComponent(parts[1]) : null };
}

function App() {
  const [me, setMe] = useState(undefined); // undefined: asking; null: logged out
  const [route, setRoute] = useState(parseHash());
  const failed = new URLSearchParams(location.search).get('login') === 'failed';

  const signedIn = (m) => { setSession(m); setMe(m); };
  const signedOut = () => { setSession(null); setMe(null); };

  useEffect(() => {
    setLoggedOut(signedOut);
    api('GET', '/v1/app/me').then(signedIn, signedOut);
    const onHash = () => setRoute(parseHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  if (me === undefined) return html`<main class="login"><p>Loading…</p></main>`;
  if (me === null) return html`<${Login} onLogin=${signedIn} failed=${failed} />`;

  const logout = async () => {
    try { await api('POST', '/app/logout'); } finally { signedOut(); }
  };
  const switchTo = async (id) => signedIn(await api('POST', '/v1/app/account', { account: id }));
  let screen;
  if (route.screen === 'calls' && route.id) screen = html`<${CallDetail} id=${route.id} me=${me} />`;
  else if (route.screen === 'calls') screen = html`<${Calls} me=${me} />`;
  else if (route.screen === 'numbers') screen = html`<${Numbers} me=${me} />`;
  else if (route.screen === 'reports') screen = html`<${Reports} me=${me} />`;
  else if (route.screen === 'settings') screen = html`<${Settings} me=${me} />`;
  else screen = html`<${Overview} me=${me} />`;
  // key: a switch of account remounts the screens, so they load that account's data
  return html`<${Shell} me=${me} route=${route.screen} onSwitch=${switchTo} onLogout=${logout}>
    <div key=${me.account.id}>${screen}</div>
  <//>`;
}

render(html`<${App} />`, document.getElementById('root'));
