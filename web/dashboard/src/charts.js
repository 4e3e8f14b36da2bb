// SPDX-License-Identifier: AGPL-3.0-or-later
// Charts with uPlot (bundled; its stylesheet is bundled into app.css, and it styles its elements
// through the CSSOM, which the CSP allows). A chart is a canvas: each one carries a text
// description (role="img" and aria-label) and its own HTML legend, and the screens show the same
// figures in a table. Series names are what visitors brought (UTM sources): they reach the page
// only as text (the legend is Preact text nodes, uPlot's own legend is off).
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/** Colours with at least 3:1 contrast on white, told apart by lightness too. */
export const COLOURS = ['#0b5cad', '#c2410c', '#15803d', '#7e22ce', '#a16207', '#be123c', '#0e7490', '#4b5563'];

/**
 * A uPlot chart. data: uPlot's columns ([xs, ys1, ys2, …]); series: [{label, colour}] for the
 * ys; kind: 'line' | 'bars'; x: 'time' (xs in seconds) or 'index' (labels: the x tick texts);
 * label: what the chart shows, in words (for screen readers).
 */
export function Chart({ data, series, kind = 'line', x = 'time', labels = null, label, height = 220, yLabel = '' }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const width = () => Math.max(280, Math.min(el.parentElement.clientWidth || 800, 1200));
    // bars: one per series side by side around each x (align -1 left of it, 1 right of it)
    const n = series.length;
    const barPath = (i) => uPlot.paths.bars({ size: [n > 1 ? 0.35 : 0.6, 48], align: n > 1 ? (i === 0 ? -1 : 1) : 0 });
    const opts = {
      width: width(), height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        // bars: half a slot of room at each end, so the first and last bars are whole
        x: x === 'index' ? { time: false, range: () => [-0.5, data[0].length - 0.5] } : { time: x === 'time' },
        y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] },
      },
      axes: [
        x === 'index'
          ? {
            splits: () => data[0].map((_, i) => i), // a tick under each bar group
            values: (u, splits) => splits.map((i) => (labels && labels[i] != null ? labels[i] : '')),
          }
          : {},
        { label: yLabel, size: 50 },
      ],
      series: [{}, ...series.map((s, i) => ({
        label: s.label, stroke: s.colour || COLOURS[i % COLOURS.length], width: 2,
        fill: kind === 'bars' ? (s.colour || COLOURS[i % COLOURS.length]) : undefined,
        paths: kind === 'bars' ? barPath(i) : undefined, points: { show: kind !== 'bars' && data[0].length < 40 },
      }))],
    };
    const u = new uPlot(opts, data, el);
    const onResize = () => u.setSize({ width: width(), height });
    addEventListener('resize', onResize);
    return () => { removeEventListener('resize', onResize); u.destroy(); };
  }, [JSON.stringify(data), JSON.stringify(series), kind, x, height]);
  return html`<figure class="chart">
    <div ref=${box} role="img" aria-label=${label}></div>
    ${series.length > 1 || kind !== 'bars' ? html`<figcaption class="legend">
      ${series.map((s, i) => html`<span class="key"><span class="swatch" data-colour=${i % COLOURS.length}></span>${s.label}</span>`)}
    </figcaption>` : null}
  </figure>`;
}

/** Midnights (local) of the last `days` days, oldest first, in ms. */
export function dayStarts(days) {
  const out = [];
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  d.setDate(d.getDate() - (days - 1));
  for (let i = 0; i < days; i++) {
    out.push(d.getTime());
    d.setDate(d.getDate() + 1);
  }
  return out;
}

/**
 * Calls per day and per group (the top `top` groups by calls, the rest as "other"): uPlot
 * columns and the series. keyOf(call) names its group.
 */
export function perDay(calls, days, keyOf, top = 5) {
  const starts = dayStarts(days);
  const totals = new Map();
  for (const c of calls) totals.set(keyOf(c), (totals.get(keyOf(c)) || 0) + 1);
  const names = [...totals.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
  const shown = names.slice(0, top);
  const rest = names.length > top;
  const cols = shown.map(() => starts.map(() => 0));
  const other = starts.map(() => 0);
  for (const c of calls) {
    const t = Date.parse(c.started_at);
    let i = starts.length - 1;
    while (i >= 0 && starts[i] > t) i--;
    if (i < 0) continue;
    const k = shown.indexOf(keyOf(c));
    if (k >= 0) cols[k][i]++;
    else other[i]++;
  }
  const series = shown.map((label) => ({ label }));
  const data = [starts.map((ms) => ms / 1000), ...cols];
  if (rest) { series.push({ label: 'other' }); data.push(other); }
  return { data, series };
}
