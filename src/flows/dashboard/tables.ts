import type { Dashboard } from './metrics.js';
import { channelTables } from './channel-tables.js';

export type { StatsTable } from './stats-table.js';
import type { StatsTable } from './stats-table.js';

const pct = (r: number | null) => (r === null ? null : Math.round(r * 1000) / 10);
/** Hours with one decimal: time in stage and waiting times read best in hours. */
const hours = (ms: number | null) => (ms === null ? null : Math.round(ms / 360_000) / 10);

export function dashboardTables(d: Dashboard): StatsTable[] {
  const maxK = Math.max(0, ...d.retention.map((c) => c.active.length));
  const days = d.checkins.days;
  return [
    {
      id: 'funnel',
      title: 'Funnel by lifecycle stage',
      columns: ['stage', 'phase', 'reached', 'entered', 'now', 'conversion %', 'median hours in stage', 'finished stays', 'still in stage'],
      rows: d.funnel.stages.map((s) => [s.stage, s.phase, s.reached, s.entered, s.now, pct(s.conversion), hours(s.medianMs), s.stays, s.open]),
    },
    {
      id: 'revenue',
      title: 'Trial → paid and revenue (yuan)',
      columns: ['figure', 'value'],
      rows: [
        [`reached ${d.revenue.trialToPaid.trialStage}`, d.revenue.trialToPaid.trial],
        [`of whom paid`, d.revenue.trialToPaid.paid],
        ['trial → paid %', pct(d.revenue.trialToPaid.rate)],
        ['paid orders', d.revenue.cny.orders],
        ['gross', d.revenue.cny.gross],
        ['refunded', d.revenue.cny.refunded],
        ['refunded orders', d.revenue.cny.refunds],
        ['revenue (paid − refunded)', d.revenue.cny.net],
        ['average order value', d.revenue.cny.averageOrder],
        ...(d.revenue.stars ? ([['Stars orders', d.revenue.stars.orders], ['Stars net', d.revenue.stars.net]] as [string, number][]) : []),
      ],
    },
    {
      id: 'discounts',
      title: 'Discounts given (yuan)',
      columns: ['kind', 'orders', 'yuan'],
      rows: d.revenue.discounts.map((x) => [x.kind, x.orders, x.yuan]),
    },
    {
      id: 'retention',
      title: 'Weekly retention by join week (% active)',
      columns: ['join week', 'members', ...Array.from({ length: maxK }, (_, k) => `week ${k}`)],
      rows: d.retention.map((c) => [c.week, c.members, ...Array.from({ length: maxK }, (_, k) => (k < c.rates.length ? pct(c.rates[k]!) : null))]),
    },
    {
      id: 'checkins',
      title: 'Daily check-in rate per group (%)',
      columns: ['day', ...d.checkins.groups.flatMap((g) => [`${g.group} check-ins`, `${g.group} members`, `${g.group} %`])],
      rows: days.map((day, i) => [day, ...d.checkins.groups.flatMap((g) => [g.days[i]!.checkins, g.days[i]!.members, pct(g.days[i]!.rate)])]),
    },
    {
      id: 'streaks',
      title: 'Longest check-in streak in the range',
      columns: ['days in a row', 'members'],
      rows: d.checkins.streaks.map((s) => [s.bucket, s.members]),
    },
    {
      id: 'homework',
      title: 'Homework submissions',
      columns: ['week', 'title', 'submitted', 'late', 'members', 'submission %'],
      rows: d.checkins.homework.map((h) => [h.week, h.title, h.submitted, h.late, h.members, pct(h.rate)]),
    },
    {
      id: 'referrers',
      title: 'Referrers',
      columns: ['referrer', 'name', 'referred', 'paid', 'rewards (yuan)'],
      rows: d.referrals.leaderboard.map((r) => [r.referrer, r.name, r.referred, r.paid, r.rewards]),
    },
    {
      id: 'sources',
      title: 'Revenue and ROI by source (yuan)',
      columns: ['source', 'orders', 'revenue', 'cost', 'ROI %'],
      rows: d.referrals.sources.map((s) => [s.source, s.orders, s.revenue, s.cost, pct(s.roi)]),
    },
    {
      id: 'qa',
      title: 'Q&A',
      columns: ['figure', 'value'],
      rows: [
        ['asked', d.qa.asked],
        ['answered by the bot', d.qa.answeredByBot],
        ['  from the FAQ', d.qa.faq],
        ['  by the LLM', d.qa.llm],
        ['escalated', d.qa.escalated],
        ['  answered by an instructor', d.qa.resolved],
        ['median hours to an instructor answer', hours(d.qa.medianInstructorMs)],
      ],
    },
    ...channelTables(d.channel),
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
