import type { Db } from '../../../store/db.js';
import { coversDaySql, dayNumberSql, inCohortSql, inGroupSql, jsonArrayColumn, jsonArrayValuesSql, jsonObjectIntEntriesSql, notImported } from './sql.js';
import { stmt } from '../../../store/statements.js';

/**
 * The dashboard's reads (metrics.ts turns them into figures). Every query takes the same scope:
 * a time range [from, to) in epoch ms and an optional group handle. Times are bound as numbers,
 * the group as a parameter that is NULL when there is no group filter, so each query is one
 * prepared statement whatever the filter.
 */
export interface StatsScope {
  from: number;
  to: number;
  group: string | null;
  /** A cohort id (the 期 filter): members in that cohort by membership; null: no filter. */
  cohort: string | null;
  /** Member keys of the staff (store/staff.ts): never counted as members of a cohort or a group. */
  staff: string[];
}

const DAY_MS = 86_400_000;

/** YYYY-MM-DD of a day number (days since 1970-01-01). */
const dayName = (d: number) => new Date(d * DAY_MS).toISOString().slice(0, 10);

/**
 * The cohort: members first seen in the range (and, with a group, who joined that group). The
 * funnel and retention follow this cohort to today.
 */
function cohortCte(db: Db, s: StatsScope): string {
  return `cohort AS (
  SELECT m.id, m.created_at FROM members m
  WHERE m.created_at >= @from AND m.created_at < @to
    AND (CAST(@group AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM memberships g WHERE g.member_id = m.id AND g.group_id = @group))
    AND ${inCohortSql(db, s.cohort, 'm.id')}
    AND ${notStaff(db, 'm.id')}
    AND ${notImported('m.id')}
)`;
}

/** "The member in `col` is not staff" (parameter @staff: a JSON array of member keys). */
export function notStaff(db: Db, col: string): string {
  return `${col} NOT IN (${jsonArrayValuesSql(db, 'staff')})`;
}

function params(s: StatsScope): { from: number; to: number; group: string | null; cohort: string | null; staff: string } {
  return { from: s.from, to: s.to, group: s.group, cohort: s.cohort, staff: JSON.stringify(s.staff) };
}

export function countCohort(db: Db, s: StatsScope): number {
  return (stmt(db, `WITH ${cohortCte(db, s)} SELECT COUNT(*) AS n FROM cohort`).get(params(s)) as { n: number }).n;
}

/** Distinct cohort members who ever entered each stage. */
export function stageReach(db: Db, s: StatsScope): { stage: string; members: number }[] {
  return stmt(
    db,
    `WITH ${cohortCte(db, s)}
     SELECT t.to_stage AS stage, COUNT(DISTINCT t.member_id) AS members
     FROM cohort c JOIN stage_transitions t ON t.member_id = c.id
     GROUP BY t.to_stage`,
  ).all(params(s)) as { stage: string; members: number }[];
}

/**
 * For each path rank, how many cohort members got at most that far: `ranks` maps the stages of the
 * growth path to their position (exit stages are left out).
 */
export function furthestRank(db: Db, s: StatsScope, ranks: Record<string, number>): { rank: number; members: number }[] {
  return stmt(
    db,
    `WITH ${cohortCte(db, s)}, r AS (SELECT key AS stage, value AS rank FROM (${jsonObjectIntEntriesSql(db, 'ranks')}) e),
     best AS (SELECT t.member_id, MAX(r.rank) AS rank FROM cohort c JOIN stage_transitions t ON t.member_id = c.id JOIN r ON r.stage = t.to_stage GROUP BY t.member_id)
     SELECT rank, COUNT(*) AS members FROM best GROUP BY rank`,
  ).all({ ...params(s), ranks: JSON.stringify(ranks) }) as { rank: number; members: number }[];
}

/** Cohort members in each stage now. */
export function currentStages(db: Db, s: StatsScope): { stage: string; members: number }[] {
  return stmt(
    db,
    `WITH ${cohortCte(db, s)}
     SELECT m.stage AS stage, COUNT(*) AS members FROM cohort c JOIN members m ON m.id = c.id GROUP BY m.stage`,
  ).all(params(s)) as { stage: string; members: number }[];
}

/** Cohort members who entered stage `a` and (at any time) stage `b`. */
export function countReachedBoth(db: Db, s: StatsScope, a: string, b: string): number {
  return (
    stmt(
      db,
      `WITH ${cohortCte(db, s)}
       SELECT COUNT(*) AS n FROM cohort c
       WHERE EXISTS (SELECT 1 FROM stage_transitions t WHERE t.member_id = c.id AND t.to_stage = @a)
         AND EXISTS (SELECT 1 FROM stage_transitions t WHERE t.member_id = c.id AND t.to_stage = @b)`,
    ).get({ ...params(s), a, b }) as { n: number }
  ).n;
}

/**
 * How long each finished stay in a stage lasted (ms), per stage, sorted: a stay ends with the
 * member's next transition. Stays still going are counted apart (`open`).
 */
export function stageStays(db: Db, s: StatsScope): { stage: string; durations: number[]; open: number }[] {
  const rows = stmt(
    db,
    `WITH ${cohortCte(db, s)}, stays AS (
       SELECT t.to_stage AS stage, LEAD(t.at) OVER (PARTITION BY t.member_id ORDER BY t.at, t.id) - t.at AS ms
       FROM cohort c JOIN stage_transitions t ON t.member_id = c.id
     )
     SELECT stage, ms FROM stays ORDER BY stage, ms`,
  )
    .raw()
    .all(params(s)) as [string, number | null][];
  const by = new Map<string, { stage: string; durations: number[]; open: number }>();
  for (const [stage, ms] of rows) {
    let e = by.get(stage);
    if (!e) by.set(stage, (e = { stage, durations: [], open: 0 }));
    if (ms === null) e.open++;
    else e.durations.push(ms);
  }
  return [...by.values()];
}

/** Cohort members who reached `stage` and have a paid order (paid at any time). */
export function countReachedAndPaid(db: Db, s: StatsScope, stage: string): { reached: number; paid: number } {
  return stmt(
    db,
    `WITH ${cohortCte(db, s)}, reached AS (
       SELECT c.id FROM cohort c WHERE EXISTS (SELECT 1 FROM stage_transitions t WHERE t.member_id = c.id AND t.to_stage = @stage)
     )
     SELECT COUNT(*) AS reached,
            COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.member_id = r.id AND o.paid_at IS NOT NULL) THEN 1 ELSE 0 END), 0) AS paid
     FROM reached r`,
  ).get({ ...params(s), stage }) as { reached: number; paid: number };
}

export interface RevenueRow {
  currency: string;
  orders: number;
  gross: number;
  refunded: number;
  refunds: number;
}

/** Orders paid in the range (buyers in the group), per currency: what came in and went back. */
export function paidOrderTotals(db: Db, s: StatsScope): RevenueRow[] {
  return stmt(
    db,
    `SELECT o.currency AS currency, COUNT(*) AS orders, COALESCE(SUM(o.paid_amount), 0) AS gross,
            COALESCE(SUM(o.refunded_amount), 0) AS refunded, COALESCE(SUM(CASE WHEN o.refunded_amount > 0 THEN 1 ELSE 0 END), 0) AS refunds
     FROM orders o
     WHERE o.paid_at IS NOT NULL AND o.paid_at >= @from AND o.paid_at < @to AND ${inGroupSql(db, s.group, 'o.member_id')} AND ${inCohortSql(db, s.cohort, 'o.member_id')}
     GROUP BY o.currency ORDER BY o.currency`,
  ).all(params(s)) as RevenueRow[];
}

/** Orders (CNY) paid in the range by staff (store/staff.ts): their test purchases, part of the revenue. */
export function staffOrderTotals(db: Db, s: StatsScope): { orders: number; net: number } {
  if (s.staff.length === 0) return { orders: 0, net: 0 };
  return stmt(
    db,
    `SELECT COUNT(*) AS orders, COALESCE(SUM(o.paid_amount - o.refunded_amount), 0) AS net FROM orders o
     WHERE o.paid_at IS NOT NULL AND o.paid_at >= @from AND o.paid_at < @to AND o.currency = 'CNY' AND ${inGroupSql(db, s.group, 'o.member_id')} AND ${inCohortSql(db, s.cohort, 'o.member_id')}
       AND o.member_id IN (${jsonArrayValuesSql(db, 'staff')})`,
  ).get(params(s)) as { orders: number; net: number };
}

/** Discounts on orders paid in the range, by kind (coupon, referral) and currency. */
export function discountTotals(db: Db, s: StatsScope): { kind: string; currency: string; orders: number; amount: number }[] {
  const d = jsonArrayColumn(db, 'o.discounts', 'd');
  return stmt(
    db,
    `SELECT ${d.text('kind')} AS kind, o.currency AS currency, COUNT(*) AS orders,
            COALESCE(SUM(${d.int('fen')}), 0) AS amount
     FROM orders o, ${d.from}
     WHERE o.paid_at IS NOT NULL AND o.paid_at >= @from AND o.paid_at < @to AND o.discounts != '[]' AND ${inGroupSql(db, s.group, 'o.member_id')} AND ${inCohortSql(db, s.cohort, 'o.member_id')}
     GROUP BY 1, o.currency ORDER BY 1, o.currency`,
  ).all(params(s)) as { kind: string; currency: string; orders: number; amount: number }[];
}

/**
 * Net revenue (fen, CNY) of orders paid in the range by where the buyer came from, each order in
 * exactly one source: `referral` (a recorded referrer, or a referral discount on the order), else
 * `channel:<tag>` (the acquisition tag of the buyer's private channel: a Telegram link
 * `start=src-<tag>`), else `direct`. The rows add up to the revenue.
 */
export function revenueBySource(db: Db, s: StatsScope): { source: string; orders: number; net: number }[] {
  const d = jsonArrayColumn(db, 'o.discounts', 'd');
  return stmt(
    db,
    `WITH paid AS (
       SELECT o.paid_amount - o.refunded_amount AS net,
              CASE WHEN EXISTS (SELECT 1 FROM referrals r WHERE r.referred_id = o.member_id)
                     OR EXISTS (SELECT 1 FROM ${d.from} WHERE ${d.text('kind')} = 'referral') THEN 'referral'
                   ELSE COALESCE('channel:' || (SELECT pc.source FROM private_channels pc WHERE pc.member_id = o.member_id AND pc.source IS NOT NULL
                                                ORDER BY pc.opened_at, pc.platform LIMIT 1), 'direct') END AS source
       FROM orders o
       WHERE o.paid_at IS NOT NULL AND o.paid_at >= @from AND o.paid_at < @to AND o.currency = 'CNY' AND ${inGroupSql(db, s.group, 'o.member_id')} AND ${inCohortSql(db, s.cohort, 'o.member_id')}
     )
     SELECT source, COUNT(*) AS orders, SUM(net) AS net FROM paid GROUP BY source ORDER BY source`,
  ).all(params(s)) as { source: string; orders: number; net: number }[];
}

/**
 * Net revenue (fen, CNY) of orders paid in the range by the first group the buyer joined
 * (`(none)`: no group); each order once, the rows add up to the revenue. The first group comes
 * from the memberships_first index (migration 11).
 */
export function revenueByGroup(db: Db, s: StatsScope): { group: string; orders: number; net: number }[] {
  return stmt(
    db,
    `WITH paid AS (
       SELECT o.paid_amount - o.refunded_amount AS net,
              COALESCE((SELECT g.group_id FROM memberships g WHERE g.member_id = o.member_id ORDER BY g.joined_at, g.group_id LIMIT 1), '(none)') AS grp
       FROM orders o
       WHERE o.paid_at IS NOT NULL AND o.paid_at >= @from AND o.paid_at < @to AND o.currency = 'CNY' AND ${inGroupSql(db, s.group, 'o.member_id')} AND ${inCohortSql(db, s.cohort, 'o.member_id')}
     )
     SELECT grp AS "group", COUNT(*) AS orders, SUM(net) AS net FROM paid GROUP BY grp ORDER BY grp`,
  ).all(params(s)) as { group: string; orders: number; net: number }[];
}

/**
 * Retention counts: for each join week (Monday-based, local: `offsetMs` is the course zone's UTC
 * offset) the cohort size, and for each week after it how many were active (checked in, asked a
 * question the bot took up, or wrote a message).
 */
export function retentionCounts(db: Db, s: StatsScope, offsetMs: number): { sizes: { week: number; members: number }[]; active: { week: number; k: number; members: number }[] } {
  const p = { ...params(s), off: offsetMs };
  // Numbers are bound as REAL: cast before the integer division.
  const week = (col: string) => `((CAST((${col} + @off) / ${DAY_MS} AS INTEGER) + 3) / 7)`;
  const sizes = stmt(db, `WITH ${cohortCte(db, s)} SELECT ${week('c.created_at')} AS week, COUNT(*) AS members FROM cohort c GROUP BY 1 ORDER BY 1`).all(p) as {
    week: number;
    members: number;
  }[];
  const active = stmt(
    db,
    `WITH ${cohortCte(db, s)}, act AS (
       SELECT e.member_id, e.at FROM cohort c JOIN events e ON e.type = 'message' AND e.member_id = c.id
       UNION ALL SELECT k.member_id, k.at FROM cohort c JOIN checkins k ON k.member_id = c.id AND k.kind != 'leave'
       UNION ALL SELECT q.member_id, q.created_at FROM cohort c JOIN questions q ON q.member_id = c.id
     ), weeks AS (
       SELECT DISTINCT a.member_id, ${week('c.created_at')} AS week, ${week('a.at')} - ${week('c.created_at')} AS k
       FROM act a JOIN cohort c ON c.id = a.member_id
     )
     SELECT week, k, COUNT(*) AS members FROM weeks WHERE k >= 0 GROUP BY week, k ORDER BY week, k`,
  ).all(p) as { week: number; k: number; members: number }[];
  return { sizes, active };
}

/**
 * Check-ins (not leave days) per group and local day: by members of the group that day (its
 * membership covers the day), staff left out.
 */
export function checkinsPerGroupDay(db: Db, args: { fromDay: string; toDay: string; groups: string[]; offsetMs: number; staff: string[] }): { group_id: string; day: string; checkins: number }[] {
  if (args.groups.length === 0) return [];
  return stmt(
    db,
    `SELECT g.group_id AS group_id, c.day AS day, COUNT(*) AS checkins
     FROM checkins c JOIN memberships g ON g.member_id = c.member_id
     WHERE c.day >= @fromDay AND c.day < @toDay AND c.kind != 'leave' AND g.group_id IN (${jsonArrayValuesSql(db, 'groups')})
       AND ${coversDaySql(db, 'g', 'c.day')} AND ${notStaff(db, 'c.member_id')}
     GROUP BY g.group_id, c.day ORDER BY g.group_id, c.day`,
  ).all({ fromDay: args.fromDay, toDay: args.toDay, groups: JSON.stringify(args.groups), off: args.offsetMs, staff: JSON.stringify(args.staff) }) as {
    group_id: string;
    day: string;
    checkins: number;
  }[];
}

/**
 * Joins and leaves per group and local day (latest membership per member and group), from which
 * the members of a group on each day are summed up: a member counts from the day they joined
 * through the day they left (a leave takes effect the day after), staff left out.
 */
export function membershipChanges(db: Db, args: { groups: string[]; offsetMs: number; staff: string[] }): { group_id: string; day: string; delta: number }[] {
  if (args.groups.length === 0) return [];
  return stmt(
    db,
    `SELECT group_id, d, SUM(delta) AS delta FROM (
       SELECT group_id, CAST((joined_at + @off) / ${DAY_MS} AS INTEGER) AS d, 1 AS delta FROM memberships
       WHERE group_id IN (${jsonArrayValuesSql(db, 'groups')}) AND ${notStaff(db, 'member_id')}
       UNION ALL
       SELECT group_id, CAST((left_at + @off) / ${DAY_MS} AS INTEGER) + 1, -1 FROM memberships
       WHERE left_at IS NOT NULL AND group_id IN (${jsonArrayValuesSql(db, 'groups')}) AND ${notStaff(db, 'member_id')}
     ) x GROUP BY group_id, d ORDER BY group_id, d`,
  )
    .all({ groups: JSON.stringify(args.groups), off: args.offsetMs, staff: JSON.stringify(args.staff) })
    .map((r) => {
      const { group_id, d, delta } = r as { group_id: string; d: number; delta: number };
      return { group_id, day: dayName(d), delta };
    });
}

/**
 * The same as membershipChanges, read in two parts: members of each group before `fromDay` (index
 * range counts, less the staff's own rows) and the joins and leaves from that day on. Day numbers
 * are computed with integer arithmetic and named here.
 */
export function membershipChangesFrom(
  db: Db,
  args: { groups: string[]; offsetMs: number; fromDay: string; staff: string[] },
): { before: Map<string, number>; changes: { group_id: string; day: string; delta: number }[] } {
  const start = Date.parse(`${args.fromDay}T00:00:00Z`) - args.offsetMs;
  // A leave counts from the day after: those of the day before fromDay take effect on fromDay.
  const leftBy = start - DAY_MS;
  const staff = JSON.stringify(args.staff);
  const before = new Map<string, number>();
  const changes: { group_id: string; day: string; delta: number }[] = [];
  const staffIn = jsonArrayValuesSql(db, 'staff');
  for (const group of args.groups) {
    const joined = stmt(db, 'SELECT COUNT(*) FROM memberships WHERE group_id = ? AND joined_at < ?').pluck().get(group, start) as number;
    const left = stmt(db, 'SELECT COUNT(*) FROM memberships WHERE group_id = ? AND left_at < ?').pluck().get(group, leftBy) as number;
    const staffRows = stmt(
      db,
      `SELECT COALESCE(SUM(CASE WHEN joined_at < @start THEN 1 ELSE 0 END), 0) - COALESCE(SUM(CASE WHEN left_at < @leftBy THEN 1 ELSE 0 END), 0)
       FROM memberships WHERE group_id = @group AND member_id IN (${staffIn})`,
    )
      .pluck()
      .get({ group, start, leftBy, staff }) as number;
    before.set(group, joined - left - staffRows);
    const rows = stmt(
      db,
      `SELECT d, SUM(delta) AS delta FROM (
         SELECT CAST((joined_at + @off) / ${DAY_MS} AS INTEGER) AS d, 1 AS delta FROM memberships WHERE group_id = @group AND joined_at >= @start AND ${notStaff(db, 'member_id')}
         UNION ALL
         SELECT CAST((left_at + @off) / ${DAY_MS} AS INTEGER) + 1, -1 FROM memberships WHERE group_id = @group AND left_at >= @leftBy AND ${notStaff(db, 'member_id')}
       ) x GROUP BY d ORDER BY d`,
    ).all({ group, off: args.offsetMs, start, leftBy, staff }) as { d: number; delta: number }[];
    for (const r of rows) changes.push({ group_id: group, day: dayName(r.d), delta: r.delta });
  }
  return { before, changes };
}

/**
 * Longest run of consecutive check-in days per member within [fromDay, toDay) (a leave day keeps
 * the run going without counting), bucketed.
 */
export function streakBuckets(db: Db, args: { fromDay: string; toDay: string; group: string | null; cohort: string | null; staff: string[] }): { bucket: string; members: number }[] {
  return stmt(
    db,
    `WITH days AS (
       SELECT c.member_id, c.kind, ${dayNumberSql(db, 'c.day')} - ROW_NUMBER() OVER (PARTITION BY c.member_id ORDER BY c.day) AS run
       FROM checkins c WHERE c.day >= @fromDay AND c.day < @toDay AND ${inGroupSql(db, args.group, 'c.member_id')} AND ${inCohortSql(db, args.cohort, 'c.member_id')} AND ${notStaff(db, 'c.member_id')}
     ), runs AS (
       SELECT member_id, SUM(CASE WHEN kind != 'leave' THEN 1 ELSE 0 END) AS len FROM days GROUP BY member_id, run
     ), best AS (SELECT member_id, MAX(len) AS len FROM runs GROUP BY member_id)
     SELECT CASE WHEN len <= 1 THEN '1' WHEN len <= 3 THEN '2-3' WHEN len <= 7 THEN '4-7' WHEN len <= 14 THEN '8-14' WHEN len <= 30 THEN '15-30' ELSE '31+' END AS bucket,
            COUNT(*) AS members
     FROM best WHERE len > 0 GROUP BY 1`,
  ).all({ ...args, staff: JSON.stringify(args.staff) }) as { bucket: string; members: number }[];
}

/** Homework submissions per assignment week (and late ones) by members of the groups, staff left out. */
export function homeworkCounts(db: Db, args: { groups: string[]; staff: string[] }): { week: number; submitted: number; late: number }[] {
  return stmt(
    db,
    `SELECT h.week AS week, COUNT(*) AS submitted, COALESCE(SUM(h.late), 0) AS late FROM homework_submissions h
     WHERE EXISTS (SELECT 1 FROM memberships g WHERE g.member_id = h.member_id AND g.group_id IN (${jsonArrayValuesSql(db, 'groups')}))
       AND ${notStaff(db, 'h.member_id')}
     GROUP BY h.week ORDER BY h.week`,
  ).all({ groups: JSON.stringify(args.groups), staff: JSON.stringify(args.staff) }) as { week: number; submitted: number; late: number }[];
}

/** Members now in any of the groups, staff left out. */
export function countActiveMembersIn(db: Db, groups: string[], staff: string[]): number {
  return (
    stmt(
      db,
      `SELECT COUNT(DISTINCT member_id) AS n FROM memberships WHERE left_at IS NULL AND group_id IN (${jsonArrayValuesSql(db, 'groups')}) AND ${notStaff(db, 'member_id')}`,
    ).get({
      groups: JSON.stringify(groups),
      staff: JSON.stringify(staff),
    }) as { n: number }
  ).n;
}

export interface ReferrerRow {
  referrer_id: string;
  display_name: string;
  referred: number;
  paid: number;
  reward_fen: number;
}

/** Referrers of members referred in the range, best first: referred, of whom paid (not refunded), net rewards booked. */
export function referralLeaderboard(db: Db, s: StatsScope, limit: number): ReferrerRow[] {
  return stmt(
    db,
    `WITH top AS (
       SELECT r.referrer_id, COUNT(*) AS referred,
              SUM(CASE WHEN EXISTS (SELECT 1 FROM referral_orders ro WHERE ro.member_id = r.referred_id AND ro.refunded_at IS NULL) THEN 1 ELSE 0 END) AS paid
       FROM referrals r WHERE r.at >= @from AND r.at < @to AND ${inGroupSql(db, s.group, 'r.referred_id')} AND ${inCohortSql(db, s.cohort, 'r.referred_id')}
       GROUP BY r.referrer_id ORDER BY paid DESC, referred DESC, r.referrer_id LIMIT @limit
     )
     SELECT t.referrer_id, m.display_name, t.referred, t.paid,
            COALESCE((SELECT SUM(l.fen) FROM referral_ledger l WHERE l.referrer_id = t.referrer_id), 0) AS reward_fen
     FROM top t JOIN members m ON m.id = t.referrer_id ORDER BY t.paid DESC, t.referred DESC, t.referrer_id`,
  ).all({ ...params(s), limit }) as ReferrerRow[];
}

/** Questions asked in the range (in the group) by outcome. */
export function questionCounts(db: Db, s: StatsScope): { asked: number; faq: number; llm: number; escalated: number; resolved: number; pending: number; dropped: number } {
  return stmt(
    db,
    `SELECT COUNT(*) AS asked,
            COALESCE(SUM(CASE WHEN status = 'answered' AND answered_via = 'faq' THEN 1 ELSE 0 END), 0) AS faq,
            COALESCE(SUM(CASE WHEN status = 'answered' AND answered_via = 'llm' THEN 1 ELSE 0 END), 0) AS llm,
            COALESCE(SUM(CASE WHEN status IN ('escalated', 'resolved') THEN 1 ELSE 0 END), 0) AS escalated,
            COALESCE(SUM(CASE WHEN status = 'resolved' THEN 1 ELSE 0 END), 0) AS resolved,
            COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS pending,
            COALESCE(SUM(CASE WHEN status = 'dropped' THEN 1 ELSE 0 END), 0) AS dropped
     FROM questions WHERE created_at >= @from AND created_at < @to AND (CAST(@group AS TEXT) IS NULL OR group_id = @group) AND ${inCohortSql(db, s.cohort, 'member_id')}`,
  ).get(params(s)) as { asked: number; faq: number; llm: number; escalated: number; resolved: number; pending: number; dropped: number };
}

/** How long escalated questions asked in the range waited for an instructor (ms), sorted. */
export function instructorAnswerTimes(db: Db, s: StatsScope): number[] {
  return (
    stmt(
      db,
      `SELECT answered_at - created_at FROM questions
       WHERE status = 'resolved' AND answered_at IS NOT NULL AND created_at >= @from AND created_at < @to AND (CAST(@group AS TEXT) IS NULL OR group_id = @group) AND ${inCohortSql(db, s.cohort, 'member_id')}
       ORDER BY 1`,
    )
      .raw()
      .all(params(s)) as [number][]
  ).map((r) => r[0]);
}

export interface CostRow {
  source: string;
  cost_fen: number;
  note: string;
  updated_at: number;
}

export function listCosts(db: Db): CostRow[] {
  return stmt(db, 'SELECT * FROM stats_costs ORDER BY source').all() as CostRow[];
}

/** Sets (or with `costFen` null, removes) the cost entered for a source. */
export function setCost(db: Db, args: { source: string; costFen: number | null; note?: string; now: number }): void {
  if (args.costFen === null) {
    stmt(db, 'DELETE FROM stats_costs WHERE source = ?').run(args.source);
    return;
  }
  stmt(
    db,
    `INSERT INTO stats_costs (source, cost_fen, note, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT(source) DO UPDATE SET cost_fen = excluded.cost_fen, note = excluded.note, updated_at = excluded.updated_at`,
  ).run(args.source, args.costFen, args.note ?? '', args.now);
}

// ---- dashboard logins (hashes only) ----
