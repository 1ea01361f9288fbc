import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

export interface Submission {
  id: number;
  member_id: string;
  week: number;
  link: string;
  late: number;
  submitted_at: number;
  updated_at: number;
  reviewed_by: string | null;
  reviewed_at: number | null;
  event_id: number | null;
}

/**
 * Records a member's submission for a week. A resubmission replaces the link (and the late flag,
 * and clears a review: the instructor has a new version to look at). Returns the row id and
 * whether it replaced an earlier one.
 */
export function upsertSubmission(
  db: Db,
  args: { memberId: string; week: number; link: string; late: boolean; eventId: number | null; now: number },
): { id: number; replaced: boolean } {
  const before = stmt(db, 'SELECT id FROM homework_submissions WHERE member_id = ? AND week = ?').get(args.memberId, args.week) as { id: number } | undefined;
  if (before) {
    stmt(db, 'UPDATE homework_submissions SET link = ?, late = ?, updated_at = ?, reviewed_by = NULL, reviewed_at = NULL, event_id = ? WHERE id = ?').run(
      args.link,
      args.late ? 1 : 0,
      args.now,
      args.eventId,
      before.id,
    );
    return { id: before.id, replaced: true };
  }
  const r = stmt(db, 'INSERT INTO homework_submissions (member_id, week, link, late, submitted_at, updated_at, event_id) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id').get(
    args.memberId,
    args.week,
    args.link,
    args.late ? 1 : 0,
    args.now,
    args.now,
    args.eventId,
  ) as { id: number };
  return { id: r.id, replaced: false };
}

export function getSubmission(db: Db, id: number): Submission | undefined {
  return stmt(db, 'SELECT * FROM homework_submissions WHERE id = ?').get(id) as Submission | undefined;
}

export function submissionsForWeek(db: Db, week: number): (Submission & { display_name: string })[] {
  return stmt(
    db,
    'SELECT h.*, m.display_name FROM homework_submissions h JOIN members m ON m.id = h.member_id WHERE h.week = ? ORDER BY h.submitted_at, h.id',
  ).all(week) as (Submission & { display_name: string })[];
}

/** Marks a submission reviewed; false if it was already reviewed (nothing changes). */
export function markReviewed(db: Db, args: { id: number; by: string; now: number }): boolean {
  return stmt(db, 'UPDATE homework_submissions SET reviewed_by = ?, reviewed_at = ? WHERE id = ? AND reviewed_at IS NULL').run(args.by, args.now, args.id).changes > 0;
}

export function hasSubmitted(db: Db, memberId: string, week: number): boolean {
  return stmt(db, 'SELECT 1 FROM homework_submissions WHERE member_id = ? AND week = ?').get(memberId, week) !== undefined;
}

export interface NonSubmitter {
  member_id: string;
  display_name: string;
}

/**
 * Active members of any of `groups` who have not submitted `week`, after `afterMemberId` in key
 * order: one page of a reminder fan-out.
 */
export function nonSubmitters(db: Db, args: { groups: string[]; week: number; afterMemberId: string; limit: number }): NonSubmitter[] {
  const marks = args.groups.map(() => '?').join(', ');
  return db
    .prepare(
      `SELECT DISTINCT m.member_id, mem.display_name
         FROM memberships m
         JOIN members mem ON mem.id = m.member_id
        WHERE m.group_id IN (${marks}) AND m.left_at IS NULL AND m.member_id > ?
          AND NOT EXISTS (SELECT 1 FROM homework_submissions h WHERE h.member_id = m.member_id AND h.week = ?)
        ORDER BY m.member_id LIMIT ?`,
    )
    .all(...args.groups, args.afterMemberId, args.week, args.limit) as NonSubmitter[];
}

/** Identities of the active members of any of `groups`: the caller leaves out staff by role. */
export function activeMemberIdentities(db: Db, groups: string[]): { member_id: string; platform: string; platform_id: string }[] {
  const marks = groups.map(() => '?').join(', ');
  return db
    .prepare(
      `SELECT DISTINCT m.member_id, i.platform, i.platform_id FROM memberships m CROSS JOIN identities i
        WHERE i.member_id = m.member_id AND m.group_id IN (${marks}) AND m.left_at IS NULL`,
    )
    .all(...groups) as { member_id: string; platform: string; platform_id: string }[];
}
