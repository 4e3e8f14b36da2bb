// SPDX-License-Identifier: AGPL-3.0-or-later
// The Reports screen: GET /v1/reports/calls grouped by one dimension over a period, as a table
// with totals and a CSV download (the same endpoint with format=csv). Reports need the analyst
// role: a lesser role sees a note instead (and the API would answer 403). Group keys are what
// visitors brought (UTM values, landing pages): they are rendered as text, never as HTML.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { usePoll, ErrorLine } from './views.js';
import { Chart } from './charts.js';
import { fmtCount, fmtMoney, fmtDuration, startOfDay } from './format.js';

const GROUPS = [
  ['source', 'Source'], ['medium', 'Medium'], ['campaign', 'Campaign'], ['keyword', 'Keyword'],
  ['landing_page', 'Landing page'], ['device', 'Device'],
];
const PERIODS = [['0', 'Today'], ['6', '7 days'], ['29', '30 days'], ['89', '90 days']];

function Counters({ row }) {
  return html`<td class="num r-calls">${fmtCount(row.calls)}</td>
    <td class="num">${fmtCount(row.answered)}</td>
    <td class="num">${fmtCount(row.qualified)}</td>
    <td class="num">${fmtCount(row.conversions)}</td>
    <td class="num">${fmtMoney(row.value)}</td>
    <td class="num">${fmtDuration(row.avg_duration)}</td>`;
}

/** Calls and qualified calls per group (the 12 biggest groups), as bars. */
function ReportChart({ rows, group, label }) {
  const top = rows.slice(0, 12);
  const names = top.map((r) => (r.key[group] == null ? '(none)' : String(r.key[group])));
  const short = names.map((n) => (n.length > 18 ? n.slice(0, 17) + '…' : n));
  const data = [top.map((r, i) => i), top.map((r) => r.calls), top.map((r) => r.qualified)];
  return html`<${Chart} kind="bars" x="index" labels=${short} data=${data}
    series=${[{ label: 'Calls' }, { label: 'Qualified' }]}
    label=${`Calls and qualified calls by ${label.toLowerCase()}: ` + top.map((r, i) => `${names[i]} ${r.calls} calls, ${r.qualified} qualified`).join('; ')} />`;
}

export function Reports({ me }) {
  const [group, setGroup] = useState('source');
  const [period, setPeriod] = useState('29');
  const [report, setReport] = useState(null);
  const [error, setError] = useState(null);
  const allowed = me.rights.analyse;
  const q = new URLSearchParams({ group_by: group, since: new Date(startOfDay(+period)).toISOString() });
  usePoll(async () => {
    if (!allowed) return;
    try {
      const data = await api('GET', '/v1/reports/calls?' + q);
      setReport({ ...data, group, period }); // what it answers, so a switch never shows stale rows
      setError(null);
    } catch (e) { setError(e); }
  }, 0, [group, period, allowed]);
  if (!allowed) {
    return html`<h1>Reports</h1>
      <p class="needs-role" role="note">Reports need the analyst role (or admin or owner); you are ${me.role} in this account.</p>`;
  }
  const label = GROUPS.find(([g]) => g === group)[1];
  const csv = '/v1/reports/calls?' + new URLSearchParams({ group_by: group, since: q.get('since'), format: 'csv' });
  return html`<h1>Reports</h1>
    <div class="filters">
      <label for="group">Group by</label>
      <select id="group" value=${group} onChange=${(e) => setGroup(e.currentTarget.value)}>
        ${GROUPS.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
      </select>
      <label for="rperiod">Period</label>
      <select id="rperiod" value=${period} onChange=${(e) => setPeriod(e.currentTarget.value)}>
        ${PERIODS.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
      </select>
      <a class="csv" href=${csv} download="calls-report.csv">Download CSV</a>
    </div>
    <${ErrorLine} error=${error} />
    ${report && report.group === group && report.period === period && (report.rows.length === 0
      ? html`<p class="empty">No calls in this period.</p>`
      : html`<${ReportChart} rows=${report.rows} group=${group} label=${label} />
      <table class="report">
        <caption class="sr">Calls by ${label.toLowerCase()}</caption>
        <thead><tr>
          <th scope="col">${label}</th><th scope="col" class="num">Calls</th>
          <th scope="col" class="num">Answered</th><th scope="col" class="num">Qualified</th>
          <th scope="col" class="num">Conversions</th><th scope="col" class="num">Value</th>
          <th scope="col" class="num">Average duration</th>
        </tr></thead>
        <tbody>${report.rows.map((r) => html`<tr class="group">
          <th scope="row" class="r-key">${r.key[group] == null ? '(none)' : r.key[group]}</th>
          <${Counters} row=${r} />
        </tr>`)}</tbody>
        <tfoot><tr class="totals"><th scope="row">Total</th><${Counters} row=${report.totals} /></tr></tfoot>
      </table>`)}`;
}
