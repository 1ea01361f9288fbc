/**
 * The dashboard page's script (served as /dashboard/assets/dashboard.js, bundled by esbuild: see
 * src/web/browser-assets.ts). It reads /dashboard/api/stats with the page's own query string
 * (group, from, to) and draws each section: a uPlot chart, the table under it and a CSV link.
 * uPlot is loaded by the page before it (/dashboard/assets/uplot.js): only its types come from here.
 */
import type uPlotType from 'uplot';
import type { DashboardStats, StatsTable } from './types.js';

type UPlot = typeof uPlotType;
interface Series {
  label: string;
  values: (number | null)[];
}

const qs = location.search;
const params = new URLSearchParams(qs);
for (const k of ['group', 'from', 'to']) {
  const input = document.getElementById(`f-${k}`) as HTMLInputElement | HTMLSelectElement | null;
  const v = params.get(k);
  if (input && v) input.value = v;
}
const status = document.getElementById('status')!;
const COLORS = ['#2b7bb9', '#d9822b', '#2ca05a', '#c23b3b', '#7a4fb5', '#8c6d3f', '#d65fa8', '#555'];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string | number | null, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function renderTable(t: StatsTable): void {
  const box = document.getElementById(`table-${t.id}`);
  if (!box) return;
  box.textContent = '';
  const table = el('table');
  table.setAttribute('data-table', t.id);
  const head = el('tr');
  for (const c of t.columns) head.appendChild(el('th', c));
  table.appendChild(el('thead')).appendChild(head);
  const body = el('tbody');
  for (const r of t.rows) {
    const tr = el('tr');
    r.forEach((v, i) => {
      const td = el('td', v === null ? '–' : v, typeof v === 'number' ? 'num' : '');
      td.setAttribute('data-col', t.columns[i]!);
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }
  if (t.rows.length === 0) {
    const tr = el('tr');
    const td = el('td', 'no data');
    td.colSpan = t.columns.length;
    tr.appendChild(td);
    body.appendChild(tr);
  }
  table.appendChild(body);
  box.appendChild(table);
  const a = document.getElementById(`csv-${t.id}`);
  if (a) {
    a.setAttribute('href', `/dashboard/api/export/${t.id}.csv${qs}`);
    a.setAttribute('download', `kequn-${t.id}.csv`);
  }
}

function chart(id: string, labels: string[], series: Series[], opts: { bars?: boolean; x?: string; unit?: string }): void {
  const box = document.getElementById(`chart-${id}`);
  const uPlot = (window as unknown as { uPlot?: UPlot }).uPlot;
  if (!box || !uPlot || labels.length === 0) return;
  box.textContent = '';
  const bars = opts.bars;
  const xs = labels.map((_, i) => i);
  const u: uPlotType.Options = {
    width: Math.min(box.clientWidth || 800, 900),
    height: 240,
    scales: { x: { time: false, range: bars ? [-0.5, labels.length - 0.5] : undefined } },
    axes: [{ values: (_: uPlotType, ticks: number[]) => ticks.map((t) => (Number.isInteger(t) && labels[t] !== undefined ? labels[t]! : '')) }, { label: opts.unit }],
    series: [
      { label: opts.x },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: COLORS[i % COLORS.length],
        fill: bars ? `${COLORS[i % COLORS.length]}99` : undefined,
        width: 2,
        paths: bars ? uPlot.paths.bars!({ size: [0.6 / series.length, 60], align: 0 }) : undefined,
        points: { show: !bars },
      })),
    ],
  };
  new uPlot(u, [xs, ...series.map((s) => s.values)] as uPlotType.AlignedData, box);
}

function draw(d: DashboardStats): void {
  d.tables.forEach(renderTable);
  const cs = d.channel.steps;
  chart('channel-funnel', cs.map((s) => s.step), [{ label: 'members', values: cs.map((s) => s.members) }, { label: 'through every step', values: cs.map((s) => s.through) }], { bars: true, x: 'step', unit: 'members' });
  const f = d.funnel.stages;
  chart('funnel', f.map((s) => s.stage), [{ label: 'reached', values: f.map((s) => s.reached) }, { label: 'now', values: f.map((s) => s.now) }], { bars: true, x: 'stage', unit: 'members' });
  const maxK = Math.max(0, ...d.retention.map((c) => c.rates.length));
  const ks: string[] = [];
  for (let k = 0; k < maxK; k++) ks.push(`week ${k}`);
  chart(
    'retention',
    ks,
    d.retention.slice(-8).map((c) => ({ label: c.week, values: ks.map((_, k) => (k < c.rates.length ? Math.round(c.rates[k]! * 1000) / 10 : null)) })),
    { x: 'weeks after joining', unit: '% active' },
  );
  chart('checkins', d.checkins.days, d.checkins.groups.map((g) => ({ label: g.group, values: g.days.map((x) => (x.rate === null ? null : Math.round(x.rate * 1000) / 10)) })), { x: 'day', unit: '% checked in' });
  chart('streaks', d.checkins.streaks.map((s) => s.bucket), [{ label: 'members', values: d.checkins.streaks.map((s) => s.members) }], { bars: true, x: 'days in a row', unit: 'members' });
  chart('sources', d.referrals.sources.map((s) => s.source), [{ label: 'revenue', values: d.referrals.sources.map((s) => s.revenue) }, { label: 'cost', values: d.referrals.sources.map((s) => s.cost) }], { bars: true, x: 'source', unit: 'yuan' });
  status.textContent = `Cohort: ${d.funnel.cohort} members${d.filter.group ? ` in ${d.filter.group}` : ''}. Updated ${new Date(d.generatedAt).toLocaleString()}.`;
  status.setAttribute('data-ready', '1');
}

function load(): void {
  fetch(`/dashboard/api/stats${qs}`, { cache: 'no-store', credentials: 'same-origin' })
    .then((r) =>
      r.json().then((b: DashboardStats & { error?: string }) => {
        if (!r.ok) throw new Error(b.error ?? String(r.status));
        return b;
      }),
    )
    .then(draw)
    .catch((e: Error) => {
      status.textContent = `Error: ${e.message}`;
      status.className = 'error';
    });
}

document.getElementById('cost')!.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const msg = document.getElementById('cost-msg')!;
  const yuan = (document.getElementById('cost-yuan') as HTMLInputElement).value.trim();
  fetch('/dashboard/api/costs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify({ source: (document.getElementById('cost-source') as HTMLInputElement).value.trim(), yuan: yuan === '' ? null : yuan }),
  })
    .then((r) =>
      r.json().then((b: { error?: string }) => {
        if (!r.ok) throw new Error(b.error);
        msg.textContent = 'saved';
        load();
      }),
    )
    .catch((e: Error) => {
      msg.textContent = e.message;
    });
});
load();
