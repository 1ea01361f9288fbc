/**
 * The dashboard page's script (served as /dashboard/assets/dashboard.js, bundled by esbuild: see
 * src/web/browser-assets.ts). It reads /dashboard/api/stats with the page's own query string
 * (group, from, to) and draws each section: a chart (chart.ts), the table under it and its CSV
 * link (table.ts); charts are redrawn to their box's width when the window changes. Its own words
 * come from the page in the body's data-text attribute (the course's locale, ../../i18n.ts); the
 * figures' words (status line, stage and source names) come with the figures.
 */
import { chart, destroyCharts } from './chart.js';
import { must, el } from './dom.js';
import { renderTable } from './table.js';
import type { DashboardStats, PageWords } from './types.js';

const T = JSON.parse(document.body.getAttribute('data-text') ?? '{}') as PageWords;
const qs = location.search;
const params = new URLSearchParams(qs);
for (const k of ['group', 'cohort', 'from', 'to']) {
  const input = document.getElementById(`f-${k}`) as HTMLInputElement | HTMLSelectElement | null;
  const v = params.get(k);
  if (input && v) input.value = v;
}
const status = must('status');
/** The figures drawn last: redrawn as they are when the window's width changes. */
let last: DashboardStats | undefined;

/** A rate 0–1 as a percentage with one decimal, or null. */
const pct = (rate: number | null | undefined) => (rate === null || rate === undefined ? null : Math.round(rate * 1000) / 10);
/** 2026-03-20 → 03-20: the year is in the filter, the axis has little room. */
const short = (day: string) => day.slice(5);

function draw(d: DashboardStats): void {
  last = d;
  destroyCharts();
  const C = T.charts;
  for (const t of d.tables) renderTable(t, T.noData, qs);
  const cs = d.channel.steps;
  chart(
    'channel-funnel',
    cs.map((s) => C.steps[s.step] ?? s.label),
    [
      { label: C.members, values: cs.map((s) => s.members) },
      { label: C.through, values: cs.map((s) => s.through) },
    ],
    { bars: true, x: C.step, unit: C.members, kind: 'count', empty: T.noData },
  );
  const f = d.funnel.stages;
  chart(
    'funnel',
    f.map((s) => d.stageNames[s.stage] ?? s.stage),
    [
      { label: C.reached, values: f.map((s) => s.reached) },
      { label: C.now, values: f.map((s) => s.now) },
    ],
    { bars: true, x: C.stage, unit: C.members, kind: 'count', empty: T.noData },
  );
  const maxK = Math.max(0, ...d.retention.map((c) => c.rates.length));
  const ks: string[] = [];
  for (let k = 0; k < maxK; k++) ks.push(C.week.replace('{k}', String(k)));
  chart(
    'retention',
    ks,
    d.retention.slice(-8).map((c) => ({ label: c.week, values: ks.map((_, k) => (k < c.rates.length ? pct(c.rates[k]) : null)) })),
    { x: C.weeksAfter, unit: C.activePct, kind: 'pct', empty: T.noData },
  );
  chart(
    'checkins',
    d.checkins.days.map(short),
    d.checkins.groups.map((g) => ({ label: d.groupNames[g.group] ?? g.group, values: g.days.map((x) => pct(x.rate)) })),
    { x: C.day, unit: C.checkinPct, kind: 'pct', empty: T.noData },
  );
  chart(
    'streaks',
    d.checkins.streaks.map((s) => s.bucket),
    [{ label: C.members, values: d.checkins.streaks.map((s) => s.members) }],
    { bars: true, x: C.daysInRow, unit: C.members, kind: 'count', empty: T.noData },
  );
  for (const [id, rows] of [
    ['sources', d.referrals.sources],
    ['groups', d.referrals.groups],
  ] as const) {
    chart(
      id,
      rows.map((s) => d.sourceLabels[s.source] ?? s.source),
      [
        { label: C.revenue, values: rows.map((s) => s.revenue) },
        { label: C.cost, values: rows.map((s) => s.cost) },
      ],
      { bars: true, x: C.source, unit: C.yuan, kind: 'money', empty: T.noData },
    );
  }
  // The cost form's sources, keeping the one the seller had picked.
  const pick = must<HTMLSelectElement>('cost-source');
  const chosen = pick.value;
  pick.textContent = '';
  for (const s of d.costSources) {
    const o = el('option', s.label);
    o.value = s.source;
    pick.appendChild(o);
  }
  if (chosen) pick.value = chosen;
  status.textContent = d.statusLine;
  status.className = '';
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
      status.textContent = T.error + e.message;
      status.className = 'error';
    });
}

let resizing: ReturnType<typeof setTimeout> | undefined;
window.addEventListener('resize', () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => {
    if (last) draw(last);
  }, 150);
});

must('cost').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const msg = must('cost-msg');
  const yuan = must<HTMLInputElement>('cost-yuan').value.trim();
  fetch('/dashboard/api/costs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify({ source: must<HTMLSelectElement>('cost-source').value, yuan: yuan === '' ? null : yuan }),
  })
    .then((r) =>
      r.json().then((b: { error?: string }) => {
        if (!r.ok) throw new Error(b.error ?? String(r.status));
        msg.textContent = T.cost.saved;
        load();
      }),
    )
    .catch((e: Error) => {
      msg.textContent = e.message;
    });
});

load();
