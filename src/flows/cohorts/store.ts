/**
 * Cohort membership (migration "cohort membership"): which 期 each member is in, the history of
 * their moves with a reason, and members' requests to move (延期申请) until staff decide.
 */
import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

export type CohortSource = 'group' | 'order' | 'defer';

export interface CohortMembership {
  member_id: string;
  cohort_id: string;
  source: CohortSource;
  since: number;
}

export interface CohortMove {
  id: number;
  member_id: string;
  from_cohort: string | null;
  to_cohort: string;
  reason: string;
  by_member: string | null;
  at: number;
}

export interface CohortRequest {
  id: number;
  member_id: string;
  from_cohort: string;
  to_cohort: string;
  reason: string;
  status: 'pending' | 'approved' | 'refused';
  created_at: number;
  decided_by: string | null;
  decided_at: number | null;
}

export function cohortOfMember(db: Db, memberId: string): CohortMembership | undefined {
  return stmt(db, 'SELECT * FROM cohort_members WHERE member_id = ?').get(memberId) as CohortMembership | undefined;
}

/**
 * Puts a member in a cohort and writes the move to the history; nothing when they are in it
 * already. Returns the cohort they were in before (null: none), or undefined when nothing changed.
 */
export function setMemberCohort(
  db: Db,
  args: { memberId: string; cohortId: string; source: CohortSource; reason: string; by: string | null; now: number },
): string | null | undefined {
  const before = cohortOfMember(db, args.memberId);
  if (before?.cohort_id === args.cohortId) return undefined;
  if (before) {
    stmt(db, 'UPDATE cohort_members SET cohort_id = ?, source = ?, since = ? WHERE member_id = ?').run(args.cohortId, args.source, args.now, args.memberId);
  } else {
    stmt(db, 'INSERT INTO cohort_members (member_id, cohort_id, source, since) VALUES (?, ?, ?, ?)').run(args.memberId, args.cohortId, args.source, args.now);
  }
  stmt(db, 'INSERT INTO cohort_moves (member_id, from_cohort, to_cohort, reason, by_member, at) VALUES (?, ?, ?, ?, ?, ?)').run(
    args.memberId,
    before?.cohort_id ?? null,
    args.cohortId,
    args.reason,
    args.by,
    args.now,
  );
  return before?.cohort_id ?? null;
}

export function movesOf(db: Db, memberId: string): CohortMove[] {
  return stmt(db, 'SELECT * FROM cohort_moves WHERE member_id = ? ORDER BY at, id').all(memberId) as CohortMove[];
}

/** Members currently in a cohort after `after` in key order, at most `limit`. */
export function membersOfCohort(db: Db, cohortId: string, after: string, limit: number): string[] {
  return (stmt(db, 'SELECT member_id FROM cohort_members WHERE cohort_id = ? AND member_id > ? ORDER BY member_id LIMIT ?').all(cohortId, after, limit) as { member_id: string }[]).map(
    (r) => r.member_id,
  );
}

export function pendingRequestOf(db: Db, memberId: string): CohortRequest | undefined {
  return stmt(db, "SELECT * FROM cohort_requests WHERE member_id = ? AND status = 'pending' ORDER BY id DESC LIMIT 1").get(memberId) as CohortRequest | undefined;
}

export function addRequest(db: Db, args: { memberId: string; from: string; to: string; reason: string; now: number }): number {
  const r = stmt(db, "INSERT INTO cohort_requests (member_id, from_cohort, to_cohort, reason, status, created_at) VALUES (?, ?, ?, ?, 'pending', ?) RETURNING id").get(
    args.memberId,
    args.from,
    args.to,
    args.reason,
    args.now,
  ) as { id: number };
  return r.id;
}

export function getRequest(db: Db, id: number): CohortRequest | undefined {
  return stmt(db, 'SELECT * FROM cohort_requests WHERE id = ?').get(id) as CohortRequest | undefined;
}

export function pendingRequests(db: Db, limit: number): (CohortRequest & { display_name: string })[] {
  return stmt(
    db,
    "SELECT r.*, m.display_name FROM cohort_requests r JOIN members m ON m.id = r.member_id WHERE r.status = 'pending' ORDER BY r.id LIMIT ?",
  ).all(limit) as (CohortRequest & { display_name: string })[];
}

/** Decides a pending request; false when it was decided already (nothing changes). */
export function decideRequest(db: Db, args: { id: number; status: 'approved' | 'refused'; by: string; now: number }): boolean {
  return stmt(db, "UPDATE cohort_requests SET status = ?, decided_by = ?, decided_at = ? WHERE id = ? AND status = 'pending'").run(args.status, args.by, args.now, args.id).changes > 0;
}

export function cohortExport(db: Db, memberId: string): Record<string, unknown> {
  return {
    cohort_members: stmt(db, 'SELECT cohort_id, source, since FROM cohort_members WHERE member_id = ?').all(memberId),
    cohort_moves: stmt(db, 'SELECT from_cohort, to_cohort, reason, by_member, at FROM cohort_moves WHERE member_id = ? ORDER BY at, id').all(memberId),
    cohort_requests: stmt(db, 'SELECT from_cohort, to_cohort, reason, status, created_at, decided_at FROM cohort_requests WHERE member_id = ? ORDER BY id').all(memberId),
  };
}

/** Forgetting: the reasons they or staff wrote go; which cohort they were in stays (it is not personal, and the figures per 期 keep it). */
export function cohortForget(db: Db, memberId: string): void {
  stmt(db, "UPDATE cohort_moves SET reason = '' WHERE member_id = ?").run(memberId);
  stmt(db, 'DELETE FROM cohort_requests WHERE member_id = ?').run(memberId);
}

/**
 * One page of a cohort's members in `stage`, after `after` in key order: those whose membership
 * is this cohort (a member deferred into it who is not yet in its groups included), and those in
 * its groups now with no membership at all (recorded by an import, or before the course had
 * cohorts). A member whose membership is another cohort is not one of them, whatever group they
 * still sit in.
 */
export function cohortMembersInStage(
  db: Db,
  args: { cohortId: string; groups: readonly string[]; stage: string; after: string; limit: number },
): { member_id: string; display_name: string }[] {
  const byGroup =
    args.groups.length === 0
      ? ''
      : `UNION
         SELECT ms.member_id FROM memberships ms
          WHERE ms.group_id IN (${args.groups.map(() => '?').join(', ')}) AND ms.left_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM cohort_members o WHERE o.member_id = ms.member_id)`;
  return db
    .prepare(
      `SELECT x.member_id, mem.display_name
         FROM (SELECT cm.member_id FROM cohort_members cm WHERE cm.cohort_id = ? ${byGroup}) x
         JOIN members mem ON mem.id = x.member_id
        WHERE x.member_id > ? AND mem.stage = ?
        ORDER BY x.member_id LIMIT ?`,
    )
    .all(args.cohortId, ...args.groups, args.after, args.stage, args.limit) as { member_id: string; display_name: string }[];
}

/** Every member's cohort by membership (the dashboard's figures per 期 read all members at once). */
export function allCohortMemberships(db: Db): Map<string, string> {
  return new Map((stmt(db, 'SELECT member_id, cohort_id FROM cohort_members').all() as { member_id: string; cohort_id: string }[]).map((r) => [r.member_id, r.cohort_id]));
}
