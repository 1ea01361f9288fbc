import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

export type CheckinKind = 'checkin' | 'makeup' | 'leave';

export interface CheckinDay {
  day: string;
  kind: CheckinKind;
}

export function getCheckinDay(db: Db, memberId: string, day: string): CheckinDay | undefined {
  return stmt(db, 'SELECT day, kind FROM checkins WHERE member_id = ? AND day = ?').get(memberId, day) as CheckinDay | undefined;
}

/**
 * Records a day for a member. A day holds one record: a check-in or make-up may replace a leave
 * day (the member came after all), nothing else is replaced. Returns whether it was written.
 */
export function recordCheckinDay(
  db: Db,
  args: { memberId: string; day: string; kind: CheckinKind; groupId: string | null; note: string; eventId: number | null; now: number },
): boolean {
  return (
    stmt(
      db,
      `INSERT INTO checkins (member_id, day, kind, group_id, note, event_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(member_id, day) DO UPDATE SET kind = excluded.kind, group_id = excluded.group_id, note = excluded.note, event_id = excluded.event_id, at = excluded.at
       WHERE checkins.kind = 'leave' AND excluded.kind <> 'leave'`,
    ).run(args.memberId, args.day, args.kind, args.groupId, args.note, args.eventId, args.now).changes > 0
  );
}

/** A member's records on or after `sinceDay`, newest first. */
export function checkinDaysOf(db: Db, memberId: string, sinceDay: string): CheckinDay[] {
  return stmt(db, 'SELECT day, kind FROM checkins WHERE member_id = ? AND day >= ? ORDER BY day DESC').all(memberId, sinceDay) as CheckinDay[];
}

/** How many days of `kind` a member has in a calendar month (`YYYY-MM`). */
export function countCheckinKindInMonth(db: Db, memberId: string, kind: CheckinKind, month: string): number {
  return (stmt(db, 'SELECT COUNT(*) AS n FROM checkins WHERE member_id = ? AND kind = ? AND day LIKE ?').get(memberId, kind, `${month}-%`) as { n: number }).n;
}

/** Days that counted (check-ins and make-ups), ever. */
export function countCheckins(db: Db, memberId: string): number {
  return (stmt(db, "SELECT COUNT(*) AS n FROM checkins WHERE member_id = ? AND kind <> 'leave'").get(memberId) as { n: number }).n;
}

/** The latest day with any record (check-in, make-up or leave) before `beforeDay`. */
export function lastRecordedDayBefore(db: Db, memberId: string, beforeDay: string): string | undefined {
  const r = stmt(db, 'SELECT MAX(day) AS d FROM checkins WHERE member_id = ? AND day < ?').get(memberId, beforeDay) as { d: string | null };
  return r.d ?? undefined;
}

export interface GroupMemberRecord {
  member_id: string;
  display_name: string;
  day: string | null;
  kind: CheckinKind | null;
}

/**
 * The active members of a group with their records since `sinceDay` (one row per record; a
 * member without records appears once with a null day): what a leaderboard needs, in one query.
 */
export function groupCheckinRecords(db: Db, groupId: string, sinceDay: string): GroupMemberRecord[] {
  return stmt(
    db,
    `SELECT m.member_id, mem.display_name, c.day, c.kind
       FROM memberships m
       JOIN members mem ON mem.id = m.member_id
       LEFT JOIN checkins c ON c.member_id = m.member_id AND c.day >= ?
      WHERE m.group_id = ? AND m.left_at IS NULL
      ORDER BY m.member_id, c.day DESC`,
  ).all(sinceDay, groupId) as GroupMemberRecord[];
}

export interface UncheckedMember {
  member_id: string;
  display_name: string;
  platform_id: string;
  joined_at: number;
  /** Latest recorded day before today (check-in, make-up or leave), if any. */
  last_day: string | null;
}

/**
 * Active members of a group, with an identity on `platform`, who have no record today: no
 * check-in, no make-up, no leave. The daily reminder's list.
 */
export function uncheckedMembers(db: Db, args: { groupId: string; platform: string; day: string }): UncheckedMember[] {
  // The name comes from the identity (kept current by resolveMember): one lookup fewer per row.
  return stmt(
    db,
    `SELECT m.member_id, i.display_name, i.platform_id, m.joined_at,
            (SELECT MAX(c2.day) FROM checkins c2 WHERE c2.member_id = m.member_id AND c2.day < ?) AS last_day
       FROM memberships m
       -- CROSS JOIN keeps memberships as the outer loop: without statistics SQLite would
       -- otherwise walk every identity of the platform for each group (1000x slower at 100k).
       -- (The join condition is in WHERE: PostgreSQL takes no ON after CROSS JOIN.)
       CROSS JOIN identities i
       LEFT JOIN checkins c ON c.member_id = m.member_id AND c.day = ?
      WHERE i.member_id = m.member_id AND i.platform = ? AND m.group_id = ? AND m.left_at IS NULL AND c.member_id IS NULL
      ORDER BY m.joined_at, i.display_name, m.member_id`,
  ).all(args.day, args.day, args.platform, args.groupId) as UncheckedMember[];
}

/** Check-ins for one local day (`YYYY-MM-DD`), in one group or everywhere. */
export function checkinsOnDay(db: Db, args: { day: string; groupId?: string }): number {
  return (
    (args.groupId === undefined
      ? stmt(db, "SELECT COUNT(*) AS n FROM checkins WHERE day = ? AND kind = 'checkin'").get(args.day)
      : stmt(db, "SELECT COUNT(*) AS n FROM checkins WHERE day = ? AND kind = 'checkin' AND group_id = ?").get(args.day, args.groupId)) as { n: number }
  ).n;
}
