import { dialectOf, inTransaction, type Db } from '../../../store/db.js';
import { coversDaySql, dayNumberSql, jsonArrayValuesSql, notImported } from './sql.js';
import { beginRound, CLOCK_SLACK_MS, endRound, NO_TIME, pgMarkDefaults, pgSnapshot, RECENT_SQL, recentAge, resetActivityMarks, SETTLE_MS, type PgMarks } from './rollups-pg.js';
import { stmt } from '../../../store/statements.js';

/**
 * The dashboard's rollups (migration 11): per-member summaries kept so that the funnel, retention
 * and check-in sections aggregate ≤ one row per member instead of every transition and event.
 *
 * Nothing on the message path writes them. They are folded in when the dashboard is read (and by
 * the kernel's background timer), from watermarks in dash_rollup_state:
 * - stage_transitions, events and questions by id (append-only tables: every id above the
 *   watermark is new);
 * - memberships by joined_at and check-ins by at (rows without an id; a join, a rejoin, a check-in
 *   and a leave day turned into a check-in all write the current time, so the rows written since the
 *   last fold are those at or after the watermark; the last millisecond is folded again each time,
 *   which changes nothing because folding is idempotent).
 * On PostgreSQL several processes write at once and rows can become visible below a watermark
 * (a lower id committed late, another machine's clock): there each fold starts again from marks
 * that trail by transaction visibility (dashboard-rollups-pg.ts).
 * A member touched by a new row is recomputed from all of their rows (stages, groups, stays), or
 * has the new activity weeks or-ed in (a set only grows), so the result never depends on the order
 * in which rows arrive. Catching up goes in batches of bounded size, each its own short transaction,
 * so the bot's writes interleave with a long first catch-up.
 *
 * Masks are sums of distinct powers of two, at most 52 bits: exact as JavaScript numbers, and
 * SUM(DISTINCT flag) is a portable bitwise OR. More than 52 stage names or groups: the rollups
 * give up (`overflow`) and the dashboard computes from the base tables.
 */

const DAY_MS = 86_400_000;
/** Activity weeks per dash_weeks row (bit k of chunk c = week 52c + k after the join week). */
export const WEEKS_PER_CHUNK = 52;
const MAX_FLAGS = 52;
/** Rows per batch (each batch is one transaction). */
const DEFAULT_BATCH = 100_000;

/** Receives how long each step of a fold took (the bench reports them). */
export type Trace = (step: string, ms: number) => void;

/** Monday-based week number (from the epoch) of a time, local at offset @off. */
export const weekSql = (col: string) => `((CAST((${col} + @off) / ${DAY_MS} AS INTEGER) + 3) / 7)`;

/** weekSql computed here (for times that are parameters: PostgreSQL cannot type `$1 + $2`). */
export const weekOf = (t: number, offsetMs: number) => Math.floor((Math.floor((t + offsetMs) / DAY_MS) + 3) / 7);

type State = Record<
  'transitions' | 'events' | 'questions' | 'checkins_at' | 'checkins_n' | 'joined_at' | 'joined_n' | 'created_at' | 'created_n' | 'offset' | 'overflow',
  number
> &
  PgMarks;

function readState(db: Db): State {
  const s: State = {
    transitions: 0,
    events: 0,
    questions: 0,
    checkins_at: NO_TIME,
    checkins_n: 0,
    joined_at: NO_TIME,
    joined_n: 0,
    created_at: NO_TIME,
    created_n: 0,
    offset: NaN,
    overflow: 0,
    ...pgMarkDefaults(),
  };
  for (const r of stmt(db, 'SELECT name, value FROM dash_rollup_state').all() as { name: keyof State; value: number }[]) s[r.name] = r.value;
  return s;
}

function writeState(db: Db, s: Partial<State>): void {
  if (dialectOf(db) === 'postgres') {
    // One round trip for the dozen marks a PostgreSQL round writes.
    const rows = Object.entries(s);
    if (rows.length === 0) return;
    const values = rows.map(() => '(CAST(? AS TEXT), CAST(? AS BIGINT))').join(', ');
    stmt(db, `INSERT INTO dash_rollup_state (name, value) VALUES ${values} ON CONFLICT (name) DO UPDATE SET value = excluded.value`).run(...rows.flat());
    return;
  }
  for (const [name, value] of Object.entries(s)) {
    stmt(db, 'INSERT INTO dash_rollup_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value').run(name, value);
  }
}

/**
 * What one fold covers, as SQL over the base tables: the members whose stages (and stays) are
 * recomputed, those whose groups are, new members, the activity (member, time) to or into their
 * weeks, and the members whose check-in days are copied again.
 */
interface Delta {
  stageMembers: string;
  groupMembers: string;
  newMembers: string;
  newStages: string;
  newGroups: string;
  activity: string;
  checkins: string;
  params: Record<string, number | string>;
}

/**
 * The rows of a batch. `recent` (PostgreSQL) narrows them to rows written by transactions that
 * had not ended when the previous round began (dashboard-rollups-pg.ts): what lies between the
 * safe marks and the progress marks is otherwise folded again on every round. On SQLite it is
 * empty and the text is what it always was.
 */
function batchDelta(
  b: { t0: number; t1: number; j0: number; j1: number; m0: number; e0: number; e1: number; q0: number; q1: number; c0: number; c1: number; recent?: number },
  recent = '',
): Delta {
  return {
    stageMembers: `SELECT member_id FROM stage_transitions WHERE id > @t0 AND id <= @t1${recent}`,
    groupMembers: `SELECT member_id FROM memberships WHERE joined_at >= @j0 AND joined_at < @j1${recent}`,
    newMembers: `SELECT id FROM members WHERE created_at >= @m0${recent}`,
    newStages: `SELECT DISTINCT to_stage AS name FROM stage_transitions WHERE id > @t0 AND id <= @t1${recent}`,
    newGroups: `SELECT DISTINCT group_id AS name FROM memberships WHERE joined_at >= @j0 AND joined_at < @j1${recent}`,
    activity: `SELECT member_id, at FROM events WHERE id > @e0 AND id <= @e1 AND type = 'message' AND member_id IS NOT NULL${recent}
      UNION ALL SELECT member_id, created_at FROM questions WHERE id > @q0 AND id <= @q1${recent}
      UNION ALL SELECT member_id, at FROM checkins WHERE at >= @c0 AND at < @c1 AND kind <> 'leave'${recent}`,
    checkins: `SELECT member_id FROM checkins WHERE at >= @c0 AND at < @c1${recent}`,
    params: b,
  };
}

function memberDelta(memberId: string): Delta {
  const member = 'SELECT id FROM members WHERE id = @member';
  return {
    stageMembers: member,
    groupMembers: member,
    newMembers: member,
    newStages: 'SELECT DISTINCT to_stage AS name FROM stage_transitions WHERE member_id = @member',
    newGroups: 'SELECT DISTINCT group_id AS name FROM memberships WHERE member_id = @member',
    activity: `SELECT member_id, at FROM events WHERE member_id = @member AND type = 'message'
      UNION ALL SELECT member_id, created_at FROM questions WHERE member_id = @member
      UNION ALL SELECT member_id, at FROM checkins WHERE member_id = @member AND kind <> 'leave'`,
    checkins: 'SELECT id AS member_id FROM members WHERE id = @member',
    params: { member: memberId },
  };
}

/** Gives each new stage name / group handle the next free bit; false when the bits ran out. */
function assignFlags(db: Db, table: 'dash_stage_flags' | 'dash_group_flags', key: 'stage' | 'group_id', newNames: string, params: Record<string, unknown>): boolean {
  const names = stmt(db, `SELECT name FROM (${newNames}) n WHERE name IS NOT NULL AND name NOT IN (SELECT ${key} FROM ${table})`)
    .pluck()
    .all(params) as string[];
  let used = (stmt(db, `SELECT COUNT(*) FROM ${table}`).pluck().get() as number) ?? 0;
  for (const name of names.sort()) {
    if (used >= MAX_FLAGS) return false;
    stmt(db, `INSERT INTO ${table} (${key}, flag) VALUES (?, ?)`).run(name, 2 ** used++);
  }
  return true;
}

/** Folds one delta into the rollups (in the caller's transaction). */
function fold(db: Db, d: Delta, offsetMs: number, trace?: Trace): boolean {
  const p = { ...d.params, off: offsetMs };
  let t = performance.now();
  const step = (name: string) => {
    if (!trace) return;
    const now = performance.now();
    trace(name, now - t);
    t = now;
  };
  if (!assignFlags(db, 'dash_stage_flags', 'stage', d.newStages, p) || !assignFlags(db, 'dash_group_flags', 'group_id', d.newGroups, p)) {
    writeState(db, { overflow: 1 });
    return false;
  }
  // A row for every new member (cohort key and current stage copied from members): all members
  // first seen since the last fold, in full (not in batches, so the activity of any batch finds
  // its member's row), and anyone with a new transition or membership (createMember always
  // writes a first transition, so a member is never missed for want of a created_at order).
  for (const members of [d.newMembers, d.stageMembers, d.groupMembers]) {
    // One statement each: a UNION of them made SQLite scan every member.
    stmt(db, `INSERT INTO dash_members (member_id, created_at, stage) SELECT m.id, m.created_at, m.stage FROM members m WHERE m.id IN (${members}) ON CONFLICT (member_id) DO NOTHING`).run(p);
  }
  step('rows');
  // Groups: recomputed from all of the member's memberships, then copied to their other rows.
  stmt(
    db,
    `UPDATE dash_members SET groups = COALESCE((SELECT SUM(f.flag) FROM memberships g JOIN dash_group_flags f ON f.group_id = g.group_id
                                                WHERE g.member_id = dash_members.member_id), 0)
     WHERE member_id IN (${d.groupMembers})`,
  ).run(p);
  for (const table of ['dash_stays', 'dash_weeks', 'dash_checkins']) {
    stmt(db, `UPDATE ${table} SET groups = (SELECT d.groups FROM dash_members d WHERE d.member_id = ${table}.member_id) WHERE member_id IN (${d.groupMembers})`).run(p);
  }
  step('groups');
  // Stages ever entered, the stage now, the open stay's stage, re-entries, and every stay:
  // recomputed from all of the member's transitions. members.stage only changes with a transition
  // (src/store/members.ts setStage), so the copy is current whenever the transitions are folded in.
  stmt(
    db,
    `UPDATE dash_members SET
       stages = COALESCE((SELECT SUM(DISTINCT f.flag) FROM stage_transitions t JOIN dash_stage_flags f ON f.stage = t.to_stage
                          WHERE t.member_id = dash_members.member_id), 0),
       repeats = (SELECT CASE WHEN COUNT(*) > COUNT(DISTINCT t.to_stage) THEN 1 ELSE 0 END FROM stage_transitions t
                  WHERE t.member_id = dash_members.member_id),
       open_stage = (SELECT t.to_stage FROM stage_transitions t WHERE t.member_id = dash_members.member_id ORDER BY t.at DESC, t.id DESC LIMIT 1),
       stage = (SELECT m.stage FROM members m WHERE m.id = dash_members.member_id)
     WHERE member_id IN (${d.stageMembers})`,
  ).run(p);
  step('stages');
  stmt(db, `DELETE FROM dash_stays WHERE member_id IN (${d.stageMembers})`).run(p);
  stmt(
    db,
    `INSERT INTO dash_stays (member_id, seq, stage, created_at, groups, ms)
     SELECT t.member_id, t.id, t.to_stage, d.created_at, d.groups, LEAD(t.at) OVER (PARTITION BY t.member_id ORDER BY t.at, t.id) - t.at
     FROM stage_transitions t JOIN dash_members d ON d.member_id = t.member_id
     WHERE t.member_id IN (${d.stageMembers})`,
  ).run(p);
  step('stays');
  // Check-in days: every day of a member with a new one is copied again (a make-up for a past day
  // renumbers the runs after it).
  stmt(db, `DELETE FROM dash_checkins WHERE member_id IN (SELECT member_id FROM (${d.checkins}) c)`).run(p);
  stmt(
    db,
    `INSERT INTO dash_checkins (member_id, day, counted, groups, run)
     SELECT c.member_id, c.day, CASE WHEN c.kind <> 'leave' THEN 1 ELSE 0 END, d.groups,
            ${dayNumberSql(db, 'c.day')} - ROW_NUMBER() OVER (PARTITION BY c.member_id ORDER BY c.day)
     FROM checkins c JOIN dash_members d ON d.member_id = c.member_id
     WHERE c.member_id IN (SELECT member_id FROM (${d.checkins}) x)`,
  ).run(p);
  step('checkins');
  // Activity weeks: or-ed in (activity only adds weeks).
  stmt(
    db,
    `WITH wk AS (
       SELECT DISTINCT d.member_id, d.created_at, d.groups, ${weekSql('d.created_at')} AS join_week, ${weekSql('a.at')} - ${weekSql('d.created_at')} AS k
       FROM (${d.activity}) a JOIN dash_members d ON d.member_id = a.member_id
     )
     INSERT INTO dash_weeks (member_id, chunk, mask, created_at, join_week, groups)
     SELECT member_id, k / ${WEEKS_PER_CHUNK}, SUM(CAST(1 AS BIGINT) << CAST(k % ${WEEKS_PER_CHUNK} AS INTEGER)), MIN(created_at), MIN(join_week), MIN(groups)
     FROM wk WHERE k >= 0 GROUP BY member_id, k / ${WEEKS_PER_CHUNK}
     ON CONFLICT (member_id, chunk) DO UPDATE SET mask = dash_weeks.mask | excluded.mask`,
  ).run(p);
  step('weeks');
  return true;
}

/**
 * The next batch of rows of a table without ids, by a time column: rows at or after `at` (those at
 * `at` again: `n` of them were folded; a row written later within that millisecond makes the
 * count differ), up to `cut` (exclusive) when more than `batch` are waiting.
 */
function timeWindow(
  db: Db,
  table: 'checkins' | 'memberships' | 'members',
  col: 'at' | 'joined_at' | 'created_at',
  mark: { at: number; n: number },
  batch: number,
): { fold: boolean; cut: number; next: { at: number; n: number }; more: boolean } {
  const none = { fold: false, cut: mark.at, next: mark, more: false };
  const last = stmt(db, `SELECT MAX(${col}) FROM ${table} WHERE ${col} >= ?`).pluck().get(mark.at) as number | null;
  if (last === null) return none;
  const countAt = (t: number) => stmt(db, `SELECT COUNT(*) FROM ${table} WHERE ${col} = ?`).pluck().get(t) as number;
  if (last === mark.at && countAt(mark.at) === mark.n) return none;
  const at = Number.isFinite(batch) ? (stmt(db, `SELECT ${col} FROM ${table} WHERE ${col} >= ? ORDER BY ${col} LIMIT 1 OFFSET ?`).pluck().get(mark.at, batch) as number | undefined) : undefined;
  if (at === undefined) return { fold: true, cut: Number.MAX_SAFE_INTEGER, next: { at: last, n: countAt(last) }, more: false };
  // More than a batch within one millisecond: take that millisecond whole.
  const cut = at > mark.at ? at : at + 1;
  return { fold: true, cut, next: { at: cut, n: 0 }, more: true };
}

/** Arbitrary advisory-lock key for folds ("kqdash" in ASCII). */
const FOLD_LOCK = 0x6b7164617368;

/**
 * On PostgreSQL, one fold at a time: the bot's background fold, a dashboard read in the bot and
 * `kequn stats` / `kequn member forget` (other processes, other connections) would otherwise read
 * the same watermarks and fold the same rows concurrently (and race for the same new flag bit).
 * A transaction-level advisory lock, released at commit; the next fold's statements (READ
 * COMMITTED) then see the state the previous one wrote. SQLite serializes writers by itself.
 *
 * Late commits (several processes writing at once, issue 11): on PostgreSQL the watermarks below
 * are progress marks within a round; dashboard-rollups-pg.ts keeps the safe marks each round
 * starts from again.
 */
function serializeFolds(db: Db): void {
  if (dialectOf(db) === 'postgres') stmt(db, 'SELECT pg_advisory_xact_lock(?)').get(FOLD_LOCK);
}

export interface RefreshResult {
  /** false: more than 52 stage names or groups, use the base tables */
  usable: boolean;
  /** false: `maxBatches` ran out with rows still waiting */
  caughtUp: boolean;
  batches: number;
  ms: number;
}

/**
 * Brings the rollups up to date with the store: folds every row written since the last call, in
 * batches of at most `batch` rows per table, each batch one transaction (so at most `maxBatches`
 * of them when given: the background timer's bounded slice). `offsetMs` is the course zone's UTC
 * offset that week boundaries use; when it changes (daylight saving, another zone) the activity
 * weeks are rebuilt. On PostgreSQL each call (a round) also folds again the rows above the safe
 * marks (dashboard-rollups-pg.ts: rows committed late by other processes); `settleMs` and
 * `clockSlackMs` are that file's waits (tests shorten them).
 */
export function refreshDashboardRollups(
  db: Db,
  args: { offsetMs: number; batch?: number; maxBatches?: number; trace?: Trace; settleMs?: number; clockSlackMs?: number },
): RefreshResult {
  const started = performance.now();
  const batch = args.batch ?? DEFAULT_BATCH;
  const pg = dialectOf(db) === 'postgres';
  const marks = { settleMs: args.settleMs ?? SETTLE_MS, clockSlackMs: args.clockSlackMs ?? CLOCK_SLACK_MS };
  let batches = 0;
  for (;;) {
    const r = inTransaction(db, () => {
      serializeFolds(db);
      const s = readState(db);
      if (s.overflow) return { usable: false, more: false, folded: false };
      // PostgreSQL: this batch's snapshot (before any row is read), taken once per batch.
      const snap = pg ? pgSnapshot(db) : undefined;
      if (s.offset !== args.offsetMs) {
        stmt(db, 'DELETE FROM dash_weeks').run();
        const reset = { events: 0, questions: 0, checkins_at: NO_TIME, offset: args.offsetMs, ...(pg ? resetActivityMarks() : {}) };
        Object.assign(s, reset);
        writeState(db, reset);
      }
      if (snap) {
        const round = beginRound(db, s, snap, marks);
        if (round.skip) {
          writeState(db, { ...round.write, ...endRound(s, snap, marks) });
          return { usable: true, more: false, folded: false };
        }
        writeState(db, round.write);
      }
      const maxId = (table: string) => (stmt(db, `SELECT COALESCE(MAX(id), 0) FROM ${table}`).pluck().get() as number) ?? 0;
      const [mt, me, mq] = [maxId('stage_transitions'), maxId('events'), maxId('questions')];
      const t1 = Math.min(mt, s.transitions + batch);
      const e1 = Math.min(me, s.events + batch);
      const q1 = Math.min(mq, s.questions + batch);
      const j = timeWindow(db, 'memberships', 'joined_at', { at: s.joined_at, n: s.joined_n }, batch);
      const c = timeWindow(db, 'checkins', 'at', { at: s.checkins_at, n: s.checkins_n }, batch);
      // New members in full (see fold).
      const m = timeWindow(db, 'members', 'created_at', { at: s.created_at, n: s.created_n }, Infinity);
      const anything = t1 > s.transitions || e1 > s.events || q1 > s.questions || j.fold || c.fold || m.fold;
      if (!anything) {
        if (snap) writeState(db, endRound(s, snap, marks));
        return { usable: true, more: false, folded: false };
      }
      // A table with nothing new gets an empty window (its cut is its mark).
      const window = { t0: s.transitions, t1, j0: s.joined_at, j1: j.cut, m0: m.fold ? s.created_at : Number.MAX_SAFE_INTEGER, e0: s.events, e1, q0: s.questions, q1, c0: s.checkins_at, c1: c.cut };
      const delta = snap ? batchDelta({ ...window, recent: recentAge(s, snap) }, RECENT_SQL) : batchDelta(window);
      const ok = fold(db, delta, args.offsetMs, args.trace);
      if (!ok) return { usable: false, more: false, folded: true };
      writeState(db, {
        transitions: t1,
        events: e1,
        questions: q1,
        joined_at: j.next.at,
        joined_n: j.next.n,
        checkins_at: c.next.at,
        checkins_n: c.next.n,
        created_at: m.next.at,
        created_n: m.next.n,
      });
      const more = t1 < mt || e1 < me || q1 < mq || j.more || c.more;
      if (snap && !more) writeState(db, endRound(s, snap, marks));
      return { usable: true, more, folded: true };
    });
    if (r.folded) batches++;
    if (!r.usable) return { usable: false, caughtUp: true, batches, ms: performance.now() - started };
    if (!r.more || (args.maxBatches !== undefined && batches >= args.maxBatches)) return { usable: true, caughtUp: !r.more, batches, ms: performance.now() - started };
  }
}

/**
 * Recomputes one member's rollups from their rows (after `kequn member forget` changed them).
 * Cheap: one member's transitions, memberships and activity.
 */
export function rebuildMemberRollups(db: Db, memberId: string): void {
  inTransaction(db, () => {
    serializeFolds(db);
    const s = readState(db);
    for (const table of ['dash_members', 'dash_stays', 'dash_weeks', 'dash_checkins']) stmt(db, `DELETE FROM ${table} WHERE member_id = ?`).run(memberId);
    // Never folded yet (no offset): the next refresh builds everything, this member included.
    if (s.overflow || Number.isNaN(s.offset)) return;
    fold(db, memberDelta(memberId), s.offset);
  });
}

// ---- reads ----

export interface CohortScope {
  from: number;
  to: number;
  /** the group's flag; 0: no group filter */
  groupFlag: number;
  /** member keys of the staff, a JSON array (store/staff.ts): left out of every cohort */
  staff: string;
}

/** The flag of a group handle: null when nobody ever joined it (its cohort is empty). */
export function groupFlag(db: Db, group: string): number | null {
  return (stmt(db, 'SELECT flag FROM dash_group_flags WHERE group_id = ?').pluck().get(group) as number | undefined) ?? null;
}

export function stageFlags(db: Db): { stage: string; flag: number }[] {
  return stmt(db, 'SELECT stage, flag FROM dash_stage_flags ORDER BY flag').all() as { stage: string; flag: number }[];
}

/** "The member in `col` is not staff" (@staff: a JSON array of member keys; a handful at most). */
const notStaff = (db: Db, col = 'member_id') => `${col} NOT IN (${jsonArrayValuesSql(db, 'staff')})`;

const inCohort = (db: Db) => `created_at >= @from AND created_at < @to AND (CAST(@groupFlag AS BIGINT) = 0 OR (groups & @groupFlag) <> 0) AND ${notStaff(db)} AND ${notImported('member_id')}`;

export interface CohortMembersRow {
  /** stage set (sum of dash_stage_flags flags) */
  stages: number;
  /** stage now */
  stage: string;
  /** stage of the open stay; null without transitions */
  open_stage: string | null;
  /** 1: entered some stage more than once (count their stays with repeatStays) */
  repeats: number;
  members: number;
}

/**
 * The cohort, grouped by what the funnel needs of each member: one pass over ≤ one row per member.
 * `wide` (the cohort is a large share of everyone): walk the index in group order and test the
 * range on each row (the unary + keeps SQLite off the created_at index); otherwise take the range
 * from the created_at index and sort the few rows.
 */
export function cohortMembers(db: Db, s: CohortScope, wide: boolean): CohortMembersRow[] {
  const where = wide
    ? `WHERE +created_at >= @from AND +created_at < @to AND (CAST(@groupFlag AS BIGINT) = 0 OR (groups & @groupFlag) <> 0) AND ${notStaff(db)} AND ${notImported('member_id')}`
    : `WHERE ${inCohort(db)}`;
  return stmt(db, `SELECT stages, stage, open_stage, repeats, COUNT(*) AS members FROM dash_members ${where} GROUP BY stages, stage, open_stage, repeats`).all(
    s,
  ) as CohortMembersRow[];
}

/** Whether the cohort's range holds a large share (≥ 1/4) of all members: then walking beats sorting. */
export function isWideCohort(db: Db, s: CohortScope): boolean {
  const all = stmt(db, 'SELECT COUNT(*) FROM dash_members').pluck().get() as number;
  const inRange = stmt(db, 'SELECT COUNT(*) FROM dash_members WHERE created_at >= @from AND created_at < @to').pluck().get({ from: s.from, to: s.to }) as number;
  return inRange * 4 >= all;
}

/** Finished and open stays per stage of the cohort members who entered some stage more than once. */
export function repeatStays(db: Db, s: CohortScope): { stage: string; stays: number; open: number }[] {
  return stmt(
    db,
    `SELECT t.stage AS stage, COUNT(t.ms) AS stays, COUNT(*) - COUNT(t.ms) AS open
     FROM dash_members d JOIN dash_stays t ON t.member_id = d.member_id
     WHERE d.repeats = 1 AND d.created_at >= @from AND d.created_at < @to AND (CAST(@groupFlag AS BIGINT) = 0 OR (d.groups & @groupFlag) <> 0) AND ${notStaff(db, 'd.member_id')} AND ${notImported('d.member_id')}
     GROUP BY t.stage`,
  ).all(s) as { stage: string; stays: number; open: number }[];
}

/**
 * The median length of the cohort's `finished` finished stays in `stage` (mean of the two middle
 * ones for an even count), picked in SQL. `wide`: walk the length index in order ("ms >= 0" is a
 * range on it) and stop halfway; otherwise ("ms IS NOT NULL" is not) take the cohort's range from
 * the cohort index and sort it. The same rows either way; only the plan differs.
 */
export function stayMedian(db: Db, s: CohortScope, stage: string, finished: number, wide: boolean): number | null {
  if (finished <= 0) return null;
  const sql = wide
    ? `SELECT ms FROM dash_stays WHERE stage = @stage AND ms >= 0 AND ${inCohort(db)} ORDER BY ms LIMIT 2 OFFSET @offset`
    : `SELECT ms FROM dash_stays WHERE stage = @stage AND ms IS NOT NULL AND ${inCohort(db)} ORDER BY ms + 0 LIMIT 2 OFFSET @offset`;
  const mid = stmt(db, sql)
    .pluck()
    .all({ ...s, stage, offset: (finished - 1) >> 1 }) as number[];
  return finished % 2 ? mid[0]! : (mid[0]! + mid[1]!) / 2;
}

/** Cohort members by join week, activity chunk and the weeks within it they were active in. */
export function cohortActiveWeeks(db: Db, s: CohortScope, offsetMs: number): { join_week: number; chunk: number; mask: number; members: number }[] {
  return stmt(
    db,
    `SELECT join_week, chunk, mask, COUNT(*) AS members FROM dash_weeks
     WHERE join_week >= @fromWeek AND join_week <= @lastWeek AND ${inCohort(db)}
     GROUP BY join_week, chunk, mask`,
  ).all({ ...s, fromWeek: weekOf(s.from, offsetMs), lastWeek: weekOf(Math.max(s.from, s.to - 1), offsetMs) }) as { join_week: number; chunk: number; mask: number; members: number }[];
}

/**
 * Cohort size by join week: one range count per week (an index range each, no sorting), from the
 * first member of the range on.
 */
export function cohortWeekSizes(db: Db, s: CohortScope, offsetMs: number): { week: number; members: number }[] {
  const first = stmt(db, `SELECT MIN(created_at) FROM dash_members WHERE ${inCohort(db)}`).pluck().get(s) as number | null;
  if (first === null) return [];
  const week = (t: number) => weekOf(t, offsetMs);
  const weekStart = (w: number) => (w * 7 - 3) * DAY_MS - offsetMs;
  const count = stmt(db, `SELECT COUNT(*) FROM dash_members WHERE ${inCohort(db)}`).pluck();
  const out: { week: number; members: number }[] = [];
  for (let w = week(first), last = week(s.to - 1); w <= last; w++) {
    const members = count.get({ from: Math.max(s.from, weekStart(w)), to: Math.min(s.to, weekStart(w + 1)), groupFlag: s.groupFlag, staff: s.staff }) as number;
    if (members > 0) out.push({ week: w, members });
  }
  return out;
}

/** Cohort members who ever entered a stage with `flag` (a count over the cohort index). */
export function cohortReached(db: Db, s: CohortScope, flag: number): number {
  return stmt(db, `SELECT COUNT(*) FROM dash_members WHERE ${inCohort(db)} AND (stages & @flag) <> 0`)
    .pluck()
    .get({ ...s, flag }) as number;
}

/** Cohort members who ever entered a stage with `flag` and have a paid order. */
export function cohortReachedAndPaid(db: Db, s: CohortScope, flag: number): number {
  // From the paid orders (fewer than members) to the member's row; CROSS JOIN keeps that order in SQLite.
  return stmt(
    db,
    `SELECT COUNT(DISTINCT o.member_id) FROM orders o CROSS JOIN dash_members d
     WHERE o.paid_at IS NOT NULL AND d.member_id = o.member_id AND (d.stages & @flag) <> 0
       AND d.created_at >= @from AND d.created_at < @to AND (CAST(@groupFlag AS BIGINT) = 0 OR (d.groups & @groupFlag) <> 0) AND ${notStaff(db, 'd.member_id')} AND ${notImported('d.member_id')}`,
  )
    .pluck()
    .get({ ...s, flag }) as number;
}

/**
 * Check-ins (not leave days) per local day in [fromDay, toDay) by members of `group` (flag
 * `flag`) whose membership covers the day (store/dashboard.ts coversDaySql), staff left out.
 */
export function groupCheckinsPerDay(db: Db, args: { fromDay: string; toDay: string; group: string; flag: number; offsetMs: number; staff: string }): { day: string; checkins: number }[] {
  return stmt(
    db,
    `SELECT c.day AS day, COUNT(*) AS checkins FROM dash_checkins c JOIN memberships g ON g.member_id = c.member_id AND g.group_id = @group
     WHERE c.day >= @fromDay AND c.day < @toDay AND (c.groups & @flag) <> 0 AND c.counted = 1 AND ${coversDaySql(db, 'g', 'c.day')} AND ${notStaff(db, 'c.member_id')}
     GROUP BY c.day ORDER BY c.day`,
  ).all({ ...args, off: args.offsetMs }) as { day: string; checkins: number }[];
}

/**
 * Longest run of consecutive check-in days per member within [fromDay, toDay) (a leave day keeps
 * the run going without counting), bucketed; `groupFlag` 0: everyone; staff left out.
 */
export function streakBucketsFromRollups(db: Db, args: { fromDay: string; toDay: string; groupFlag: number; staff: string }): { bucket: string; members: number }[] {
  return stmt(
    db,
    `WITH runs AS (
       SELECT member_id, SUM(counted) AS len FROM dash_checkins
       WHERE day >= @fromDay AND day < @toDay AND (CAST(@groupFlag AS BIGINT) = 0 OR (groups & @groupFlag) <> 0) AND ${notStaff(db)}
       GROUP BY member_id, run
     ), best AS (SELECT member_id, MAX(len) AS len FROM runs GROUP BY member_id)
     SELECT CASE WHEN len <= 1 THEN '1' WHEN len <= 3 THEN '2-3' WHEN len <= 7 THEN '4-7' WHEN len <= 14 THEN '8-14' WHEN len <= 30 THEN '15-30' ELSE '31+' END AS bucket,
            COUNT(*) AS members
     FROM best WHERE len > 0 GROUP BY 1`,
  ).all(args) as { bucket: string; members: number }[];
}

/**
 * Runs `fold` only if no other connection is folding right now; undefined when one is. The bot's
 * background fold uses it on PostgreSQL: with the synchronous driver, waiting for another
 * process's fold (the advisory lock in serializeFolds) would block this process's event loop,
 * its heartbeat included, for as long as that fold takes. The other fold does the work anyway.
 * (A session lock taken here makes the transaction lock inside the fold, same key and session,
 * succeed at once.)
 */
export function ifNoOtherFold<T>(db: Db, fold: () => T): T | undefined {
  if (dialectOf(db) !== 'postgres') return fold();
  if (!(stmt(db, 'SELECT pg_try_advisory_lock(?) AS ok').get(FOLD_LOCK) as { ok: number }).ok) return undefined;
  try {
    return fold();
  } finally {
    stmt(db, 'SELECT pg_advisory_unlock(?)').get(FOLD_LOCK);
  }
}
