import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

export type Mark = 'sent' | 'skip' | 'paused';

export interface MarkRow {
  cohort_id: string;
  entry_id: string;
  occurrence: string;
  mark: Mark;
  by_member: string | null;
  at: number;
}

/**
 * Claims an occurrence with a mark: only the first mark of (cohort, entry, occurrence) is kept.
 * Returns the mark that holds now and whether it is this call's. Call in the transaction of the
 * sends it guards.
 */
export function claimOccurrence(db: Db, args: { cohort: string; entry: string; occurrence: string; mark: Mark; by: string | null; now: number }): { mark: Mark; won: boolean } {
  const won =
    stmt(db, 'INSERT INTO timeline_marks (cohort_id, entry_id, occurrence, mark, by_member, at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cohort_id, entry_id, occurrence) DO NOTHING').run(
      args.cohort,
      args.entry,
      args.occurrence,
      args.mark,
      args.by,
      args.now,
    ).changes > 0;
  if (won) return { mark: args.mark, won };
  const row = stmt(db, 'SELECT mark FROM timeline_marks WHERE cohort_id = ? AND entry_id = ? AND occurrence = ?').get(args.cohort, args.entry, args.occurrence) as { mark: Mark };
  return { mark: row.mark, won };
}

/** Changes the mark of an occurrence this run claimed (a send the group's /pause held back). */
export function setMark(db: Db, args: { cohort: string; entry: string; occurrence: string; mark: Mark }): void {
  stmt(db, 'UPDATE timeline_marks SET mark = ? WHERE cohort_id = ? AND entry_id = ? AND occurrence = ?').run(args.mark, args.cohort, args.entry, args.occurrence);
}

/** Takes back a staff skip that has not happened yet; false when there was none. */
export function unskipOccurrence(db: Db, args: { cohort: string; entry: string; occurrence: string }): boolean {
  return stmt(db, "DELETE FROM timeline_marks WHERE cohort_id = ? AND entry_id = ? AND occurrence = ? AND mark = 'skip'").run(args.cohort, args.entry, args.occurrence).changes > 0;
}

/** Every mark, for a listing (a course has a few hundred occurrences at most). */
export function allMarks(db: Db): MarkRow[] {
  return stmt(db, 'SELECT * FROM timeline_marks ORDER BY at, cohort_id, entry_id, occurrence').all() as MarkRow[];
}

export function pauseEntry(db: Db, args: { entry: string; cohort: string; by: string | null; now: number }): boolean {
  return stmt(db, 'INSERT INTO timeline_pauses (entry_id, cohort_id, by_member, at) VALUES (?, ?, ?, ?) ON CONFLICT (entry_id, cohort_id) DO NOTHING').run(args.entry, args.cohort, args.by, args.now).changes > 0;
}

/** Resumes an entry for one cohort, or with '*' every pause of it; returns how many pauses ended. */
export function resumeEntry(db: Db, args: { entry: string; cohort: string }): number {
  if (args.cohort === '*') return stmt(db, 'DELETE FROM timeline_pauses WHERE entry_id = ?').run(args.entry).changes;
  return stmt(db, 'DELETE FROM timeline_pauses WHERE entry_id = ? AND cohort_id = ?').run(args.entry, args.cohort).changes;
}

/** The paused (entry, cohort) pairs, `cohort_id` '*' for every cohort. */
export function allPauses(db: Db): { entry_id: string; cohort_id: string }[] {
  return stmt(db, 'SELECT entry_id, cohort_id FROM timeline_pauses ORDER BY entry_id, cohort_id').all() as { entry_id: string; cohort_id: string }[];
}

export function isPaused(db: Db, entry: string, cohort: string): boolean {
  return stmt(db, "SELECT 1 FROM timeline_pauses WHERE entry_id = ? AND cohort_id IN (?, '*')").get(entry, cohort) !== undefined;
}

/**
 * Active members of any of `groups` in `stage`, after `afterMemberId` in key order: one page of a
 * private fan-out.
 */
export function membersInStage(db: Db, args: { groups: string[]; stage: string; afterMemberId: string; limit: number }): { member_id: string; display_name: string }[] {
  if (args.groups.length === 0) return [];
  const marks = args.groups.map(() => '?').join(', ');
  return db
    .prepare(
      `SELECT DISTINCT m.member_id, mem.display_name
         FROM memberships m
         JOIN members mem ON mem.id = m.member_id
        WHERE m.group_id IN (${marks}) AND m.left_at IS NULL AND m.member_id > ? AND mem.stage = ?
        ORDER BY m.member_id LIMIT ?`,
    )
    .all(...args.groups, args.afterMemberId, args.stage, args.limit) as { member_id: string; display_name: string }[];
}
