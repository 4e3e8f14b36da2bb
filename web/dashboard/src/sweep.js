// SPDX-License-Identifier: AGPL-3.0-or-later
// The pool page's one-click sweep: POST /v1/pools/{id}/simulate replays the pool's own history
// through the simulator on the server; this draws what it answered: accuracy (all calls, and
// calls within 30 min of the visit) against pool size with uPlot, the pool's current size and
// the recommended size marked, and the same figures in a table. Analysts and up may run it.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { api } from './api.js';
import { COLOURS } from './charts.js';
import { fmtCount, fmtPct } from './format.js';

const MARK_CURRENT = '#4b5563';
const MARK_RECOMMENDED = '#15803d';

/** uPlot plugin: a dashed vertical line at each x of marks ([{x, colour}]). */
function marksPlugin(marks) {
  return {
    hooks: {
      draw: (u) => {
        const { ctx } = u;
        const { top, height } = u.bbox;
        for (const m of marks) {
          if (m.x == null) continue;
          const x = Math.round(u.valToPos(m.x, 'x', true));
          ctx.save();
          ctx.strokeStyle = m.colour;
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          ctx.restore();
        }
      },
    },
  };
}

const pctOrNull = (x) => (x == null ? null : Math.round(x * 1000) / 10);

function SweepChart({ sweep, label }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const width = () => Math.max(280, Math.min(el.parentElement.clientWidth || 800, 1200));
    const xs = sweep.results.map((r) => r.pool_size);
    const data = [xs, sweep.results.map((r) => pctOrNull(r.accuracy)),
      sweep.results.map((r) => pctOrNull(r.accuracy_within_30min))];
    const opts = {
      width: width(), height: 240,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false }, y: { range: [0, 100] } },
      axes: [{ label: 'numbers in the pool' }, { label: '% of calls credited right', size: 56 }],
      series: [{}, { label: 'all calls', stroke: COLOURS[0], width: 2 },
        { label: 'within 30 min', stroke: COLOURS[1], width: 2, dash: [4, 3] }],
      plugins: [marksPlugin([{ x: sweep.current_size, colour: MARK_CURRENT },
        { x: sweep.recommended_pool_size, colour: MARK_RECOMMENDED }])],
    };
    const u = new uPlot(opts, data, el);
    const onResize = () => u.setSize({ width: width(), height: 240 });
    addEventListener('resize', onResize);
    return () => { removeEventListener('resize', onResize); u.destroy(); };
  }, [sweep]);
  return html`<figure class="chart sweep-chart">
    <div ref=${box} role="img" aria-label=${label}></div>
    <figcaption class="legend">
      <span class="key"><span class="swatch" data-colour="0"></span>all calls</span>
      <span class="key"><span class="swatch" data-colour="1"></span>calls within 30 min of the visit</span>
      <span class="key"><span class="swatch mark-current"></span>now: ${fmtCount(sweep.current_size)} numbers</span>
      ${sweep.recommended_pool_size != null ? html`<span class="key"><span class="swatch mark-recommended"></span>recommended: ${fmtCount(sweep.recommended_pool_size)}</span>` : null}
    </figcaption>
  </figure>`;
}

/** The sweep of one pool: a button, then the chart and the table of what the server answered. */
export function Sweep({ pool, me }) {
  const [sweep, setSweep] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [days, setDays] = useState('30');
  if (!me.rights.analyse) {
    return html`<p class="needs-role" role="note">Simulating other pool sizes on this pool's traffic needs the analyst role.</p>`;
  }
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      setSweep(await api('POST', `/v1/pools/${encodeURIComponent(pool.id)}/simulate`, { days: +days }));
    } catch (e) { setError(e); }
    setBusy(false);
  };
  const id = 'sweep-days-' + pool.id;
  const at = sweep && sweep.results.find((r) => r.pool_size === sweep.current_size);
  const rec = sweep && sweep.recommended_pool_size;
  const label = sweep && `Share of calls credited to the right visit for each pool size, replaying this pool's last ${sweep.days} days: `
    + `${fmtPct(at && at.accuracy)} with the ${sweep.current_size} numbers it has now; `
    + (rec != null ? `${rec} numbers reach ${fmtPct(sweep.target_accuracy)}.` : `no size tried reaches ${fmtPct(sweep.target_accuracy)}.`);
  return html`<section class="sweep" aria-label=${'Pool sizes for ' + pool.name}>
    <h3>Which size does this pool need?</h3>
    <div class="filters">
      <label for=${id}>History</label>
      <select id=${id} value=${days} onChange=${(e) => setDays(e.currentTarget.value)}>
        <option value="7">7 days</option><option value="30">30 days</option><option value="90">90 days</option>
      </select>
      <button type="button" class="run-sweep" onClick=${run} disabled=${busy}>${busy ? 'Simulating…' : 'Simulate pool sizes'}</button>
    </div>
    ${error && html`<p class="error" role="alert">${error.message}</p>`}
    ${sweep && html`
      <p class="sweep-summary">Replayed ${fmtCount(sweep.history.sessions)} visits and ${fmtCount(sweep.history.calls)} calls
        of the last ${sweep.days} days through the server's lease and attribution rules (ttl ${sweep.policy.ttl} s,
        cooldown ${sweep.policy.cooldown} s, ${sweep.policy.on_exhaust} when exhausted).
        ${rec != null ? html` Recommended: <strong class="sweep-recommended">${fmtCount(rec)}</strong> ${rec === 1 ? 'number' : 'numbers'} (the smallest pool crediting ${fmtPct(sweep.target_accuracy)} of calls right).`
          : sweep.history.calls ? ` No size tried credits ${fmtPct(sweep.target_accuracy)} of calls right.` : ' There were no calls to measure.'}</p>
      <${SweepChart} sweep=${sweep} label=${label} />
      <details><summary>The figures</summary>
      <table class="sweep-table"><caption class="sr">Accuracy per pool size</caption>
        <thead><tr><th scope="col" class="num">Numbers</th><th scope="col" class="num">Calls credited right</th>
          <th scope="col" class="num">Within 30 min</th><th scope="col" class="num">Exhaustion events</th></tr></thead>
        <tbody>${sweep.results.map((r) => html`<tr key=${r.pool_size} class=${r.pool_size === sweep.current_size ? 'current' : null}>
          <th scope="row" class="num">${fmtCount(r.pool_size)}${r.pool_size === sweep.current_size ? ' (now)' : ''}</th>
          <td class="num s-acc">${fmtPct(r.accuracy)}</td><td class="num">${fmtPct(r.accuracy_within_30min)}</td>
          <td class="num">${fmtCount(r.exhaustion_events)}</td></tr>`)}</tbody>
      </table></details>`}
  </section>`;
}
