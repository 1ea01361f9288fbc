import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

export interface DayStats {
  joins: number;
  leaves: number;
  messages: number;
  activeMembers: number;
  questions: { answered: number; escalated: number; resolved: number };
  botMessagesSent: number;
}

/**
 * What happened since `since` (the local day's start), in one course group or everywhere. Counts
 * only what the store holds; orders and check-ins join in when their tables exist.
 */
export function dayStats(db: Db, args: { since: number; groupId?: string }): DayStats {
  const g = args.groupId;
  const countEvents = (type: string): number =>
    (
      (g === undefined
        ? stmt(db, 'SELECT COUNT(*) AS n FROM events WHERE type = ? AND at >= ?').get(type, args.since)
        : stmt(db, 'SELECT COUNT(*) AS n FROM events WHERE type = ? AND at >= ? AND group_id = ?').get(type, args.since, g)) as { n: number }
    ).n;
  const active = (
    (g === undefined
      ? stmt(db, "SELECT COUNT(DISTINCT member_id) AS n FROM events WHERE type = 'message' AND at >= ?").get(args.since)
      : stmt(db, "SELECT COUNT(DISTINCT member_id) AS n FROM events WHERE type = 'message' AND at >= ? AND group_id = ?").get(args.since, g)) as { n: number }
  ).n;
  const qRows = (
    g === undefined
      ? stmt(db, 'SELECT status, COUNT(*) AS n FROM questions WHERE created_at >= ? GROUP BY status').all(args.since)
      : stmt(db, 'SELECT status, COUNT(*) AS n FROM questions WHERE created_at >= ? AND group_id = ? GROUP BY status').all(args.since, g)
  ) as { status: string; n: number }[];
  const q = Object.fromEntries(qRows.map((r) => [r.status, r.n])) as Record<string, number>;
  const sent = (
    (g === undefined
      ? stmt(db, "SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent' AND sent_at >= ?").get(args.since)
      : stmt(db, "SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent' AND sent_at >= ? AND group_id = ?").get(args.since, g)) as { n: number }
  ).n;
  return {
    joins: countEvents('member.joined'),
    leaves: countEvents('member.left'),
    messages: countEvents('message'),
    activeMembers: active,
    questions: { answered: q.answered ?? 0, escalated: q.escalated ?? 0, resolved: q.resolved ?? 0 },
    botMessagesSent: sent,
  };
}

/** Members by stage (everyone, or those now in one group). */
export function stageCounts(db: Db, groupId?: string): Record<string, number> {
  const rows = (
    groupId === undefined
      ? stmt(db, 'SELECT stage, COUNT(*) AS n FROM members GROUP BY stage').all()
      : stmt(db, 'SELECT m.stage, COUNT(*) AS n FROM members m JOIN memberships s ON s.member_id = m.id WHERE s.group_id = ? AND s.left_at IS NULL GROUP BY m.stage').all(groupId)
  ) as { stage: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.stage, r.n]));
}

/** A member's latest events, newest first: what `/member` shows. */
export function recentEventsOf(db: Db, memberId: string, limit: number): { type: string; group_id: string | null; text: string; at: number }[] {
  const rows = stmt(db, 'SELECT type, group_id, payload, at FROM events WHERE member_id = ? ORDER BY id DESC LIMIT ?').all(memberId, limit) as {
    type: string;
    group_id: string | null;
    payload: string;
    at: number;
  }[];
  return rows.map((r) => ({ type: r.type, group_id: r.group_id, text: (JSON.parse(r.payload) as { text?: string }).text ?? '', at: r.at }));
}


