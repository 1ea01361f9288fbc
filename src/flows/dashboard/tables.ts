import type { Dashboard, SourceRevenue } from './metrics.js';
import { channelTables } from './channel-tables.js';
import { cohortTable } from './cohort-conversion.js';
import { dashboardText, stageName, type DashboardText } from './i18n.js';

export type { StatsTable } from './stats-table.js';
import type { StatsTable } from './stats-table.js';

const pct = (r: number | null) => (r === null ? null : Math.round(r * 1000) / 10);
/** Hours with one decimal: time in stage and waiting times read best in hours. */
const hours = (ms: number | null) => (ms === null ? null : Math.round(ms / 360_000) / 10);
/** A sum of yuan amounts (each already to the fen), to the fen. */
const sumYuan = (xs: number[]) => Math.round(xs.reduce((a, x) => a + x, 0) * 100) / 100;

/** How a stage reads in a table: its name and, when that differs, the id the config uses. */
function stageLabel(t: DashboardText, id: string): string {
  const name = stageName(t, id);
  return name === id ? id : `${name}（${id}）`;
}

/** How a revenue source (the key its cost is entered under) reads. */
export function sourceLabel(d: Pick<Dashboard, 'locale' | 'groupNames'>, source: string): string {
  const t = dashboardText(d.locale);
  if (source === 'referral') return t.sources.referral;
  if (source === 'direct') return t.sources.direct;
  if (source.startsWith('channel:')) return t.sources.channel(source.slice(8));
  if (source === 'group:(none)') return t.sources.none;
  if (source.startsWith('group:')) {
    const h = source.slice(6);
    const name = d.groupNames[h];
    return name ? `${name}（${h}）` : h;
  }
  return source;
}

/** The sources a cost can be entered for on the page: those shown, and every source a course has. */
export function costSources(d: Dashboard): { source: string; label: string }[] {
  const keys = new Set(['referral', 'direct', ...d.referrals.sources.map((s) => s.source), ...Object.keys(d.groupNames).map((h) => `group:${h}`)]);
  return [...keys].map((source) => ({ source, label: sourceLabel(d, source) }));
}

function revenueTable(id: string, title: string, columns: string[], rows: SourceRevenue[], d: Dashboard, total: string): StatsTable {
  const costs = rows.flatMap((r) => (r.cost === null ? [] : [r.cost]));
  return {
    id,
    title,
    columns,
    rows: [
      ...rows.map((r) => [sourceLabel(d, r.source), r.orders, r.revenue, r.cost, pct(r.roi)]),
      // Each order is in exactly one row: the rows add up to the revenue.
      ...(rows.length > 0 ? [[total, rows.reduce((a, r) => a + r.orders, 0), sumYuan(rows.map((r) => r.revenue)), costs.length ? sumYuan(costs) : null, null]] : []),
    ],
  };
}

export function dashboardTables(d: Dashboard): StatsTable[] {
  const t = dashboardText(d.locale);
  const tt = t.tables;
  const maxK = Math.max(0, ...d.retention.map((c) => c.active.length));
  const days = d.checkins.days;
  const groupName = (h: string) => d.groupNames[h] ?? h;
  const r = tt.revenue;
  return [
    {
      id: 'funnel',
      title: tt.funnel.title,
      columns: tt.funnel.columns,
      rows: d.funnel.stages.map((s) => [stageLabel(t, s.stage), s.phase, s.reached, s.entered, s.now, pct(s.conversion), hours(s.medianMs), s.stays, s.open]),
    },
    {
      id: 'revenue',
      title: r.title,
      columns: r.columns,
      rows: [
        [r.reached(stageLabel(t, d.revenue.trialToPaid.trialStage)), d.revenue.trialToPaid.trial],
        [r.paid, d.revenue.trialToPaid.paid],
        [r.rate, pct(d.revenue.trialToPaid.rate)],
        [r.orders, d.revenue.cny.orders],
        [r.gross, d.revenue.cny.gross],
        [r.refunded, d.revenue.cny.refunded],
        [r.refunds, d.revenue.cny.refunds],
        [r.net, d.revenue.cny.net],
        [r.average, d.revenue.cny.averageOrder],
        ...(d.revenue.staff.orders > 0 ? ([[r.staffOrders, d.revenue.staff.orders], [r.staffNet, d.revenue.staff.net]] as [string, number][]) : []),
        ...(d.revenue.stars ? ([[r.starsOrders, d.revenue.stars.orders], [r.starsNet, d.revenue.stars.net]] as [string, number][]) : []),
      ],
    },
    {
      id: 'discounts',
      title: tt.discounts.title,
      columns: tt.discounts.columns,
      rows: d.revenue.discounts.map((x) => [t.discountKinds[x.kind] ?? x.kind, x.orders, x.yuan]),
    },
    {
      id: 'retention',
      title: tt.retention.title,
      columns: [tt.retention.joinWeek, tt.retention.members, ...Array.from({ length: maxK }, (_, k) => tt.retention.week(k))],
      rows: d.retention.map((c) => [c.week, c.members, ...Array.from({ length: maxK }, (_, k) => (k < c.rates.length ? pct(c.rates[k]!) : null))]),
    },
    {
      id: 'checkins',
      title: tt.checkins.title,
      columns: [tt.checkins.day, ...d.checkins.groups.flatMap((g) => [tt.checkins.checkins(groupName(g.group)), tt.checkins.members(groupName(g.group)), tt.checkins.rate(groupName(g.group))])],
      rows: days.map((day, i) => [day, ...d.checkins.groups.flatMap((g) => [g.days[i]!.checkins, g.days[i]!.members, pct(g.days[i]!.rate)])]),
    },
    {
      id: 'streaks',
      title: tt.streaks.title,
      columns: tt.streaks.columns,
      rows: d.checkins.streaks.map((s) => [s.bucket, s.members]),
    },
    {
      id: 'homework',
      title: tt.homework.title,
      columns: tt.homework.columns,
      rows: d.checkins.homework.map((h) => [h.week, h.title, h.submitted, h.late, h.members, pct(h.rate)]),
    },
    {
      id: 'referrers',
      title: tt.referrers.title,
      columns: tt.referrers.columns,
      rows: d.referrals.leaderboard.map((x) => [x.referrer, x.name, x.referred, x.paid, x.rewards]),
    },
    revenueTable('sources', tt.sources.title, tt.sources.columns, d.referrals.sources, d, t.total),
    revenueTable('groups', tt.groups.title, tt.groups.columns, d.referrals.groups, d, t.total),
    {
      id: 'qa',
      title: tt.qa.title,
      columns: tt.qa.columns,
      rows: [
        [tt.qa.asked, d.qa.asked],
        [tt.qa.bot, d.qa.answeredByBot],
        [tt.qa.faq, d.qa.faq],
        [tt.qa.llm, d.qa.llm],
        [tt.qa.escalated, d.qa.escalated],
        [tt.qa.resolved, d.qa.resolved],
        [tt.qa.median, hours(d.qa.medianInstructorMs)],
      ],
    },
    ...channelTables(d.channel, t),
    // Trial → paid per 期: a course with cohorts (a filter naming one cohort may leave one row).
    ...(d.cohorts.length > 0 || d.filter.cohort !== null ? [cohortTable(d.cohorts, d.locale)] : []),
  ];
}

/**
 * One table as CSV (RFC 4180 quoting). A cell that a spreadsheet would read as a formula
 * (starting with = + - @, tab or carriage return) gets a leading apostrophe: member names and
 * codes come from strangers. Numbers are written as numbers.
 */
export function toCsv(t: StatsTable): string {
  const cell = (v: string | number | null): string => {
    if (v === null) return '';
    if (typeof v === 'number') return String(v);
    const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
    return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  return [t.columns, ...t.rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** A table as aligned text for the terminal. */
export function toText(t: StatsTable): string {
  const cells = [t.columns, ...t.rows.map((r) => r.map((v) => (v === null ? '–' : String(v))))];
  const width = (s: string) => [...s].reduce((w, ch) => w + (/[\u2e80-\uffdc]/.test(ch) ? 2 : 1), 0);
  const widths = t.columns.map((_, i) => Math.max(...cells.map((r) => width(r[i] ?? ''))));
  const line = (r: string[]) => r.map((c, i) => c + ' '.repeat(Math.max(0, widths[i]! - width(c)))).join('  ').trimEnd();
  return [`== ${t.title}`, line(cells[0]!), ...cells.slice(1).map(line), ...(t.rows.length === 0 ? ['(none)'] : [])].join('\n');
}
