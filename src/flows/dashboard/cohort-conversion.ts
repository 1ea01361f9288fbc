/**
 * Cohort conversion (trial → paid per 期): for each cohort of kequn.yaml, the members who were in
 * its trial groups and how many of them paid, the seats it sold and the members in it now. Staff
 * are left out of every count (store/staff.ts). A cohort is its own time range: the dashboard's
 * from/to do not narrow it; its `cohort` filter shows one cohort.
 */
import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';
import type { Locale } from './i18n.js';
import type { StatsContext, StatsFilter } from './stats-context.js';
import type { StatsTable } from './stats-table.js';
import { staffMemberIds } from './store/staff.js';

export interface CohortConversion {
  cohort: string;
  name: string;
  /** the start's local day */
  start: string;
  /** members ever in one of its trial groups */
  trial: number;
  /** of those, members with a paid order (any product, any cohort) */
  paid: number;
  /** paid / trial */
  rate: number | null;
  /** its seats sold: paid orders that name it (non-staff buyers) */
  sold: number;
  seats: number | null;
  /** members in the cohort now (membership: a join, a paid seat, a deferral) */
  members: number;
}

const TAKEN = "('paid', 'partially_refunded')";

function ids(db: Db, sql: string, ...args: unknown[]): string[] {
  return (db.prepare(sql).all(...args) as { member_id: string }[]).map((r) => r.member_id);
}

export function cohortConversion(ctx: StatsContext, f: StatsFilter = {}): CohortConversion[] {
  const staff = new Set(staffMemberIds(ctx.db, ctx.config.staff));
  const students = (xs: string[]) => new Set(xs.filter((x) => !staff.has(x)));
  return ctx.config.cohorts
    .filter((c) => f.cohort === undefined || c.id === f.cohort)
    .map((c) => {
      const marks = c.trialGroups.map(() => '?').join(', ');
      const trial = c.trialGroups.length ? students(ids(ctx.db, `SELECT DISTINCT member_id FROM memberships WHERE group_id IN (${marks})`, ...c.trialGroups)) : new Set<string>();
      const paid = c.trialGroups.length
        ? students(
            ids(
              ctx.db,
              `SELECT DISTINCT o.member_id FROM orders o WHERE o.state IN ${TAKEN}
                 AND EXISTS (SELECT 1 FROM memberships m WHERE m.member_id = o.member_id AND m.group_id IN (${marks}))`,
              ...c.trialGroups,
            ),
          )
        : new Set<string>();
      const sold = ids(ctx.db, `SELECT member_id FROM orders WHERE cohort_id = ? AND state IN ${TAKEN}`, c.id).filter((m) => !staff.has(m)).length;
      const members = students((stmt(ctx.db, 'SELECT member_id FROM cohort_members WHERE cohort_id = ?').all(c.id) as { member_id: string }[]).map((r) => r.member_id));
      return {
        cohort: c.id,
        name: c.name,
        start: c.startDay,
        trial: trial.size,
        paid: paid.size,
        rate: trial.size > 0 ? paid.size / trial.size : null,
        sold,
        seats: c.seats ?? null,
        members: members.size,
      };
    });
}

const WORDS: Record<Locale, { title: string; columns: string[] }> = {
  zh: { title: '分期转化（体验 → 付费）', columns: ['期', '开营', '体验群人数', '其中付费', '转化率 %', '本期售出', '名额', '本期学员'] },
  en: { title: 'Cohort conversion (trial → paid)', columns: ['Cohort', 'Starts', 'In trial groups', 'Of them paid', 'Conversion %', 'Seats sold', 'Seats', 'Members now'] },
};

export const COHORT_SECTION: Record<Locale, string> = { zh: WORDS.zh.title, en: WORDS.en.title };

export function cohortTable(rows: CohortConversion[], locale: Locale): StatsTable {
  const w = WORDS[locale];
  return {
    id: 'cohorts',
    title: w.title,
    columns: w.columns,
    rows: rows.map((r) => [`${r.name}（${r.cohort}）`, r.start, r.trial, r.paid, r.rate === null ? null : Math.round(r.rate * 1000) / 10, r.sold, r.seats, r.members]),
  };
}
