import { later } from './batch.js';
import { dialectOf, type Db } from './db.js';
import { noteRowAdded } from './planner-stats.js';
import { stmt } from './statements.js';

export type JobStatus = 'pending' | 'done' | 'skipped' | 'cancelled' | 'failed';

export interface Job {
  id: number;
  kind: string;
  member_id: string | null;
  payload: string;
  due_at: number;
  status: JobStatus;
  dedupe_key: string | null;
  created_at: number;
  finished_at: number | null;
  note: string | null;
}

/** A job to plan: `dedupeKey` makes planning the same job again a no-op. */
export interface NewJob {
  kind: string;
  memberId: string | null;
  payload: unknown;
  dueAt: number;
  dedupeKey?: string;
  now: number;
}

const INSERT_JOB = "INSERT INTO jobs (kind, member_id, payload, due_at, status, dedupe_key, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT(dedupe_key) DO NOTHING";
const jobValues = (j: NewJob) => [j.kind, j.memberId, JSON.stringify(j.payload), j.dueAt, j.dedupeKey ?? null, j.now];

/** Plans a job. With a dedupe key, planning the same job again is a no-op (returns undefined). */
export function planJob(db: Db, args: NewJob): number | undefined {
  const r = stmt(db, `${INSERT_JOB} RETURNING id`).get(...jobValues(args)) as { id: number } | undefined;
  if (r) noteRowAdded(db, 'jobs');
  return r?.id;
}

/**
 * planJob when nobody needs the new job's id: on PostgreSQL the insert goes with the next request
 * instead of one of its own (issue 20); on SQLite it runs now. A dedupe key still makes a second
 * plan a no-op.
 */
export function planJobLater(db: Db, args: NewJob): void {
  later(db, INSERT_JOB, ...jobValues(args));
  // Counted whether or not a dedupe key made it a no-op: the count only decides when to analyse.
  noteRowAdded(db, 'jobs');
}

export function getJob(db: Db, id: number): Job | undefined {
  return stmt(db, 'SELECT * FROM jobs WHERE id = ?').get(id) as Job | undefined;
}

export function dueJobs(db: Db, now: number, limit: number): Job[] {
  return stmt(db, "SELECT * FROM jobs WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?").all(now, limit) as Job[];
}

export function nextJobDueAt(db: Db): number | undefined {
  const r = stmt(db, "SELECT MIN(due_at) AS t FROM jobs WHERE status = 'pending'").get() as { t: number | null };
  return r.t ?? undefined;
}

/**
 * Finishes a pending job. Returns false if another run already finished it: the caller's
 * transaction must then be rolled back so the job's effects are not written twice.
 */
export function finishJob(db: Db, id: number, status: Exclude<JobStatus, 'pending'>, now: number, note?: string): boolean {
  return stmt(db, "UPDATE jobs SET status = ?, finished_at = ?, note = ? WHERE id = ? AND status = 'pending'").run(status, now, note ?? null, id).changes > 0;
}

const CANCEL_JOBS = "UPDATE jobs SET status = 'cancelled', finished_at = ?, note = ? WHERE member_id = ? AND kind = ? AND status = 'pending'";

/** cancelJobs when nobody needs the count: with the next request on PostgreSQL (issue 20), now on SQLite. */
export function cancelJobsLater(db: Db, args: { memberId: string; kind: string; now: number; note: string }): void {
  later(db, CANCEL_JOBS, args.now, args.note, args.memberId, args.kind);
}

/** Cancels a member's pending jobs of a kind whose payload matches `payloadLike` (SQL LIKE). */
export function cancelJobs(db: Db, args: { memberId: string; kind: string; now: number; note: string }): number {
  return stmt(db, CANCEL_JOBS).run(
    args.now,
    args.note,
    args.memberId,
    args.kind,
  ).changes;
}

export function jobsOf(db: Db, memberId: string): Job[] {
  return stmt(db, 'SELECT * FROM jobs WHERE member_id = ? ORDER BY due_at, id').all(memberId) as Job[];
}

export function jobCounts(db: Db): Record<string, number> {
  const rows = stmt(db, 'SELECT status, COUNT(*) AS n FROM jobs GROUP BY status').all() as { status: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Pending jobs not tied to a member whose kind starts with `kindPrefix`: a flow's standing schedule. */
export function pendingStandingJobs(db: Db, kindPrefix: string): Job[] {
  return stmt(db, "SELECT * FROM jobs WHERE status = 'pending' AND member_id IS NULL AND substr(kind, 1, ?) = ? ORDER BY due_at, id").all(
    kindPrefix.length,
    kindPrefix,
  ) as Job[];
}

/**
 * Takes a pending job for the caller's transaction: its effects and finishJob() then commit
 * together. Undefined when the job is no longer pending, or, on PostgreSQL, when another process
 * holds it (FOR UPDATE SKIP LOCKED: no waiting; that process runs it).
 */
export function lockPendingJob(db: Db, id: number): Job | undefined {
  const sql =
    dialectOf(db) === 'postgres'
      ? "SELECT * FROM jobs WHERE id = ? AND status = 'pending' FOR UPDATE SKIP LOCKED"
      : "SELECT * FROM jobs WHERE id = ? AND status = 'pending'";
  return stmt(db, sql).get(id) as Job | undefined;
}

/** Cancels one pending job; false if it was no longer pending. */
export function cancelJob(db: Db, id: number, now: number, note: string): boolean {
  return finishJob(db, id, 'cancelled', now, note);
}
