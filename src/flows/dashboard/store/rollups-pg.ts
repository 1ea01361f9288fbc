import type { Db } from '../../../store/db.js';
import { stmt } from '../../../store/statements.js';

/**
 * The dashboard rollups' watermarks on PostgreSQL, where several kequn processes write at once
 * (issue 11). SQLite has one writer and keeps the plain watermarks of dashboard-rollups.ts.
 *
 * The problem: a fold moves a watermark to the newest row it sees, but on PostgreSQL rows do not
 * become visible in the order of their ids or times. Process A inserts an event (id 100) and is
 * still inside its transaction when process B inserts id 101 and commits; a fold moves the events
 * mark to 101; A commits id 100, which no fold would ever look at again. Rows without ids
 * (memberships, check-ins, members) carry the writer's clock: another machine's clock a little
 * behind, or a `now` read before a slow transaction, writes a time below the mark.
 *
 * The fix: two marks per table. The *progress* marks are dashboard-rollups.ts's own (how far the
 * batches of this round got). The *safe* marks trail them: every row below a safe mark that will
 * ever be visible has been folded. Each fold (a *round*, one or more batches) starts again from
 * the safe marks, so rows that became visible late above them are folded then; folding a row
 * twice changes nothing (a touched member is recomputed from all of their rows, activity weeks
 * are or-ed in). The safe marks move forward by transaction visibility, not by a guess of how
 * long transactions take:
 *
 * 1. A round that finds no candidate records one: the newest id and time of each table as its
 *    first snapshot saw them, and the database clock.
 * 2. The first round to start (or end) at least `settleMs` (database clock) after that gives the
 *    candidate a *guard*: that batch's transaction id (pg_current_xact_id(), assigned then). A row
 *    with an id at or below the candidate's was given its id before the candidate's snapshot; its
 *    transaction takes its own transaction id in the same INSERT, microseconds later, so after
 *    `settleMs` it has one, lower than the guard.
 * 3. A round that starts when every transaction older than the guard has ended
 *    (the database's xmin at its first snapshot > guard: DB_XMIN_SQL) sees all of those rows, committed. It makes
 *    the candidate the safe marks for the rounds after it, and itself still scans from the old
 *    ones, so it folds whatever those transactions wrote between the two. New safe marks: ids as
 *    the candidate saw them; times minus `clockSlackMs`, because a row written after the guard
 *    carries its writer's clock at that time, which (clocks within a minute of each other, a `now`
 *    read at most a minute before it is written) is at most `clockSlackMs` below the newest time
 *    the candidate saw. It records the next candidate.
 *
 * A transaction that stays open for minutes holds the marks back until it ends, however long.
 *
 * What a round costs beyond SQLite's fold: the rows above the safe marks (two or three fold
 * intervals of ids, plus the newest two minutes of times) are walked by index each round, but
 * only those written by a transaction that had not ended when the previous round began are folded
 * (RECENT_SQL: by the row's xmin), so the folding work is what is new plus what was in flight. A
 * round whose counts above the safe marks are those of the last round's start has nothing to
 * fold and is skipped (fingerprint). Measured in docs/dashboard.md ("Speed").
 */

/** Default wait (database clock) between a candidate's snapshot and its guard. */
export const SETTLE_MS = 10_000;
/** Default allowance for writer clocks behind the newest time seen, and for late-written `now`s. */
export const CLOCK_SLACK_MS = 120_000;
/** A time mark before every row. */
export const NO_TIME = -1;

type Tables = 'transitions' | 'events' | 'questions' | 'joined_at' | 'checkins_at' | 'created_at';
const TABLES: Tables[] = ['transitions', 'events', 'questions', 'joined_at', 'checkins_at', 'created_at'];
const TIMES = new Set<Tables>(['joined_at', 'checkins_at', 'created_at']);
type Fingerprint = Tables | 'leaves';
const FINGERPRINT: Fingerprint[] = [...TABLES, 'leaves'];

/** This file's entries in dash_rollup_state (absent on SQLite). */
export type PgMarks = Record<`safe_${Tables}` | `cand_${Tables}` | `fp_${Fingerprint}`, number> & {
  /** 1: the fp_ counts are those of the rows above the current safe marks at the last round's start */
  fp_valid: number;
  /** 1 while a round's batches are under way (the kernel folds one batch per tick). */
  round_open: number;
  /** pg_snapshot_xmin at the round's first batch. */
  round_xmin: number;
  /** round_xmin of the round before (0: none, fold every row above the safe marks). */
  round_since: number;
  /** round_xmin of the last round that ended. */
  last_xmin: number;
  /** Database clock (ms) of the candidate's snapshot; NO_TIME: no candidate. */
  cand_at: number;
  /** The candidate's guard transaction id; NO_TIME: not taken yet. */
  cand_guard: number;
};

/** dashboard-rollups.ts's progress marks, as far as this file moves them. */
export type Progress = Record<Tables | 'joined_n' | 'checkins_n' | 'created_n', number>;

export function pgMarkDefaults(): PgMarks {
  const s = { round_open: 0, round_xmin: 0, round_since: 0, last_xmin: 0, cand_at: NO_TIME, cand_guard: NO_TIME, fp_valid: 0 } as PgMarks;
  for (const k of FINGERPRINT) s[`fp_${k}`] = 0;
  for (const t of TABLES) {
    s[`safe_${t}`] = NaN; // never written: see beginRound
    s[`cand_${t}`] = NO_TIME;
  }
  return s;
}

/** What one batch's first statement saw. */
export interface PgSnapshot {
  /** this batch's transaction id, assigned after the snapshot */
  xid: number;
  /** every transaction id of this database below this had ended when the snapshot was taken (DB_XMIN_SQL) */
  xmin: number;
  /** database clock, ms */
  now: number;
  newest: Record<Tables, number>;
}

/**
 * The lowest transaction id still in progress in THIS database (its sessions and its prepared
 * transactions), this batch's own included. Transaction ids are numbered across the whole server,
 * and pg_snapshot_xmin counts every database's transactions: a long transaction in another
 * database on the same server (another course's kequn, a report, the tests of another suite) held
 * every fold's safe marks back, though it can write no row here. Only this database's transactions
 * can. Other ids are converted from 32-bit by their age() (the distance back from this batch's own,
 * which pg_current_xact_id() has just assigned).
 *
 * A session of another role hides its transaction id (`<insufficient privilege>`): then the
 * server-wide xmin is used, as before. The activity is read after the statement's MVCC snapshot,
 * so a transaction that ended in between is not counted though its rows are not in that snapshot;
 * every use of xmin reads those rows in later statements (the fold's scans, the next round), whose
 * snapshots see them.
 */
const DB_XMIN_SQL = `CASE WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query = '<insufficient privilege>')
         THEN CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS TEXT) AS BIGINT)
         ELSE LEAST(me.xid,
                    COALESCE((SELECT me.xid - MAX(age(a.backend_xid)) FROM pg_stat_activity a WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL), me.xid),
                    COALESCE((SELECT me.xid - MAX(age(p.transaction)) FROM pg_prepared_xacts p WHERE p.database = current_database()), me.xid))
    END`;

/** One statement, so the newest rows, xmin and the clock are those of one snapshot. */
export function pgSnapshot(db: Db): PgSnapshot {
  const r = stmt(
    db,
    `WITH me AS MATERIALIZED (SELECT CAST(CAST(pg_current_xact_id() AS TEXT) AS BIGINT) AS xid)
     SELECT me.xid AS xid,
            ${DB_XMIN_SQL} AS xmin,
            CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS now,
            (SELECT COALESCE(MAX(id), 0) FROM stage_transitions) AS transitions,
            (SELECT COALESCE(MAX(id), 0) FROM events) AS events,
            (SELECT COALESCE(MAX(id), 0) FROM questions) AS questions,
            (SELECT COALESCE(MAX(joined_at), ${NO_TIME}) FROM memberships) AS joined_at,
            (SELECT COALESCE(MAX(at), ${NO_TIME}) FROM checkins) AS checkins_at,
            (SELECT COALESCE(MAX(created_at), ${NO_TIME}) FROM members) AS created_at
     FROM me`,
  ).get() as Record<Tables | 'xid' | 'xmin' | 'now', number>;
  const { xid, xmin, now, ...newest } = r;
  return { xid, xmin, now, newest };
}

/**
 * At a batch's start. A new round (in this order, all from this batch's snapshot):
 * - promotes the candidate when every transaction older than its guard has ended: the new safe
 *   marks hold from the next round on; this round still scans from the old ones, so it folds what
 *   those transactions wrote between the two;
 * - guards a candidate that has settled, or records one when there is none;
 * - skips when the rows above the old safe marks are exactly those the last round saw at its start,
 *   all folded (see fingerprint); otherwise rewinds the progress marks to the old safe marks.
 * Returns what to write (and applies it to `s`). A store folded before this file existed (one
 * process) starts with its progress marks as the safe marks: they were exact then.
 */
export function beginRound(
  db: Db,
  s: PgMarks & Progress,
  snap: PgSnapshot,
  opts: { settleMs: number; clockSlackMs: number },
): { write: Partial<PgMarks & Progress>; skip: boolean } {
  const out: Partial<PgMarks & Progress> = {};
  for (const t of TABLES) if (Number.isNaN(s[`safe_${t}`])) out[`safe_${t}`] = s[t];
  Object.assign(s, out);
  if (s.round_open) return { write: out, skip: false };
  const safe = Object.fromEntries(TABLES.map((t) => [t, s[`safe_${t}`]])) as Record<Tables, number>;
  let next = safe;
  let cand = s.cand_at !== NO_TIME;
  if (cand && s.cand_guard !== NO_TIME && snap.xmin > s.cand_guard) {
    next = { ...safe };
    for (const t of TABLES) {
      const c = s[`cand_${t}`];
      next[t] = Math.max(safe[t], TIMES.has(t) ? (c === NO_TIME ? NO_TIME : c - opts.clockSlackMs) : c);
      out[`safe_${t}`] = next[t];
    }
    cand = false;
  } else if (cand && s.cand_guard === NO_TIME && snap.now - s.cand_at >= opts.settleMs) {
    out.cand_guard = snap.xid;
  }
  if (!cand) {
    for (const t of TABLES) out[`cand_${t}`] = snap.newest[t];
    Object.assign(out, { cand_at: snap.now, cand_guard: NO_TIME });
  }
  // Counted after the snapshot, so they cover at least the rows it sees (what round_xmin vouches
  // for); above the new marks first, then the old: whatever the first count sees, the second does.
  const counted = fingerprint(db, next);
  const above = next === safe ? counted : fingerprint(db, safe);
  const skip = s.fp_valid === 1 && FINGERPRINT.every((k) => s[`fp_${k}`] === above[k]);
  for (const k of FINGERPRINT) out[`fp_${k}`] = counted[k];
  Object.assign(out, { fp_valid: 1, round_xmin: snap.xmin });
  if (!skip) {
    for (const t of TABLES) out[t] = safe[t];
    Object.assign(out, { joined_n: 0, checkins_n: 0, created_n: 0, round_open: 1, round_since: s.last_xmin });
  }
  Object.assign(s, out);
  return { write: out, skip };
}

/**
 * What is above the safe marks: how many rows per table, and how many of the check-ins are leave
 * days. Above a safe mark rows are only added (nothing deletes them; a rejoin or a leave day
 * turned into a check-in moves a row up to the current time), and the only change of a row in
 * place that the rollups read is a leave day turned into a check-in. So equal counts are the same
 * rows in the same state.
 */
function fingerprint(db: Db, marks: Record<Tables, number>): Record<Fingerprint, number> {
  return stmt(
    db,
    `SELECT (SELECT COUNT(*) FROM stage_transitions WHERE id > @transitions) AS transitions,
            (SELECT COUNT(*) FROM events WHERE id > @events) AS events,
            (SELECT COUNT(*) FROM questions WHERE id > @questions) AS questions,
            (SELECT COUNT(*) FROM memberships WHERE joined_at >= @joined_at) AS joined_at,
            (SELECT COUNT(*) FROM checkins WHERE at >= @checkins_at) AS checkins_at,
            (SELECT COUNT(*) FROM checkins WHERE at >= @checkins_at AND kind = 'leave') AS leaves,
            (SELECT COUNT(*) FROM members WHERE created_at >= @created_at) AS created_at`,
  ).get(marks) as Record<Fingerprint, number>;
}

/**
 * Which rows of a batch a round folds: those whose row version was written by a transaction at or
 * after the previous round's xmin. Every other row above the safe marks was visible when the
 * previous round began, so that round folded it. age(xmin) counts transaction ids back from this
 * batch's own (it has one: pgSnapshot took it), so `age(xmin) <= @recent` is "xmin >= since"
 * without converting 32-bit xmin to xid8; frozen rows have the largest age. 0 (no previous
 * round): every row.
 */
export const RECENT_SQL = ' AND age(xmin) <= @recent';
const MAX_AGE = 2_147_483_647;

export function recentAge(s: PgMarks, snap: PgSnapshot): number {
  return s.round_since > 0 ? Math.min(MAX_AGE, snap.xid - s.round_since) : MAX_AGE;
}

/** The zone offset changed and the activity weeks are rebuilt from scratch: from the first row. */
export function resetActivityMarks(): Partial<PgMarks> {
  return { safe_events: 0, safe_questions: 0, safe_checkins_at: NO_TIME, cand_at: NO_TIME, cand_guard: NO_TIME, fp_valid: 0, round_since: 0, last_xmin: 0 };
}

/**
 * At the end of a round (the batch that caught up, or a skipped round's only batch); a long
 * round (a first catch-up) may guard its candidate here already.
 */
export function endRound(s: PgMarks, snap: PgSnapshot, opts: { settleMs: number }): Partial<PgMarks> {
  const out: Partial<PgMarks> = { round_open: 0, last_xmin: s.round_xmin };
  if (s.cand_at !== NO_TIME && s.cand_guard === NO_TIME && snap.now - s.cand_at >= opts.settleMs) out.cand_guard = snap.xid;
  return out;
}
