import type { StoreRead } from '../../store/batch.js';
import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

export type ModerationAction = 'warn' | 'remove' | 'pardon' | 'appeal';

export interface ModerationEntry {
  id: number;
  member_id: string;
  platform: string;
  group_id: string | null;
  action: ModerationAction;
  reason: string;
  evidence: string;
  by_member: string | null;
  event_id: number | null;
  at: number;
}

export function recordModeration(
  db: Db,
  e: { memberId: string; platform: string; groupId: string | null; action: ModerationAction; reason: string; evidence: string; by: string | null; eventId: number | null; now: number },
): number {
  const r = stmt(db, 'INSERT INTO moderation_log (member_id, platform, group_id, action, reason, evidence, by_member, event_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id').get(
    e.memberId,
    e.platform,
    e.groupId,
    e.action,
    e.reason,
    e.evidence.slice(0, 1000),
    e.by,
    e.eventId,
    e.now,
  ) as { id: number };
  return r.id;
}

/** Warnings a member collected since their last pardon or removal (what counts toward removal). */
export function activeWarnings(db: Db, memberId: string): number {
  const row = stmt(
    db,
    `SELECT COUNT(*) AS n FROM moderation_log WHERE member_id = ? AND action = 'warn'
       AND id > COALESCE((SELECT MAX(id) FROM moderation_log WHERE member_id = ? AND action IN ('pardon', 'remove')), 0)`,
  ).get(memberId, memberId) as { n: number };
  return row.n;
}

/**
 * Whether moderation flagged the member: warnings not pardoned since, or a removal ever. What a
 * flagged member says teaches the bot nothing (the qa feature asks through the moderation service).
 */
export function isFlagged(db: Db, memberId: string): boolean {
  if (activeWarnings(db, memberId) > 0) return true;
  return stmt(db, "SELECT 1 AS x FROM moderation_log WHERE member_id = ? AND action = 'remove' LIMIT 1").get(memberId) !== undefined;
}

export function moderationOf(db: Db, memberId: string, limit = 20): ModerationEntry[] {
  return stmt(db, 'SELECT * FROM moderation_log WHERE member_id = ? ORDER BY id DESC LIMIT ?').all(memberId, limit) as ModerationEntry[];
}

export function countModeration(db: Db, args: { since: number; groupId?: string }): Record<string, number> {
  const rows = (
    args.groupId === undefined
      ? stmt(db, 'SELECT action, COUNT(*) AS n FROM moderation_log WHERE at >= ? GROUP BY action').all(args.since)
      : stmt(db, 'SELECT action, COUNT(*) AS n FROM moderation_log WHERE at >= ? AND group_id = ? GROUP BY action').all(args.since, args.groupId)
  ) as { action: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.action, r.n]));
}

const RECENT_COUNT = "SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE member_id = ? AND type = 'message' AND at >= ? AND group_id = ? ORDER BY id DESC LIMIT 200) AS recent";
const RECENT_TEXTS = "SELECT payload FROM events WHERE member_id = ? AND type = 'message' AND at >= ? ORDER BY id DESC LIMIT 200";

/**
 * What the spam check of a message in a moderated group reads (removedSinceJoin, the member's
 * recent texts anywhere and their count in the group), to load with the event's other reads
 * (src/store/batch.ts prefetch): on PostgreSQL none is a request of its own (issue 20). Sent
 * after the event's insert, they see the message itself, as the check expects.
 */
export function spamReads(memberId: string, groupId: string, since: { repeat: number; flood: number }): StoreRead[] {
  return [
    { sql: REMOVED_SINCE_JOIN, params: [memberId, groupId, memberId, groupId, memberId], tables: ['moderation_log', 'memberships'] },
    { sql: RECENT_TEXTS, params: [memberId, since.repeat], tables: ['events'] },
    { sql: RECENT_COUNT, params: [memberId, since.flood, groupId], tables: ['events'] },
  ];
}

/** Texts of the member's messages since `since` (in one group, or anywhere), newest first. */
export function recentMessageTexts(db: Db, args: { memberId: string; since: number; groupId?: string }): string[] {
  const rows = (
    args.groupId === undefined
      ? stmt(db, RECENT_TEXTS).all(args.memberId, args.since)
      : stmt(db, "SELECT payload FROM events WHERE member_id = ? AND type = 'message' AND at >= ? AND group_id = ? ORDER BY id DESC LIMIT 200").all(
          args.memberId,
          args.since,
          args.groupId,
        )
  ) as { payload: string }[];
  return rows.map((r) => (JSON.parse(r.payload) as { text?: string }).text ?? '');
}

/** How many messages the member wrote in a group since `since` (at most 200): recentMessageTexts' length, without reading the texts. */
export function recentMessageCount(db: Db, args: { memberId: string; since: number; groupId: string }): number {
  return Number(stmt(db, RECENT_COUNT).pluck(true).get(args.memberId, args.since, args.groupId));
}

/**
 * The member's latest offence (a warning or a removal) for `reason` in a group at or after
 * `since`: a flood is counted in blocks of `flood.count` messages after the previous one.
 */
export function lastOffence(db: Db, args: { memberId: string; groupId: string; reason: string; since: number }): { at: number; event_id: number | null } | undefined {
  return stmt(
    db,
    "SELECT at, event_id FROM moderation_log WHERE member_id = ? AND action IN ('warn', 'remove') AND at >= ? AND group_id = ? AND reason = ? ORDER BY id DESC LIMIT 1",
  ).get(args.memberId, args.since, args.groupId, args.reason) as { at: number; event_id: number | null } | undefined;
}

/** Whether the member was warned in a group at or after `since` (a warning is announced once per window). */
export function warnedSince(db: Db, args: { memberId: string; groupId: string; since: number }): boolean {
  return stmt(db, "SELECT 1 FROM moderation_log WHERE member_id = ? AND action = 'warn' AND at >= ? AND group_id = ? LIMIT 1").get(args.memberId, args.since, args.groupId) !== undefined;
}

const REMOVED_SINCE_JOIN = `SELECT 1 FROM moderation_log WHERE member_id = ? AND action = 'remove' AND group_id = ?
         AND at >= COALESCE((SELECT joined_at FROM memberships WHERE member_id = ? AND group_id = ?), 0)
         AND id > COALESCE((SELECT MAX(id) FROM moderation_log WHERE member_id = ? AND action = 'pardon'), 0) LIMIT 1`;

/**
 * Whether the member was removed from a group since they last joined it (and not pardoned since):
 * their messages until the platform carries the removal out are neither answered nor moderated
 * again, so one removal gives one notice.
 */
export function removedSinceJoin(db: Db, memberId: string, groupId: string): boolean {
  return (
    stmt(db, REMOVED_SINCE_JOIN).get(memberId, groupId, memberId, groupId, memberId) !== undefined
  );
}

/** The member's messages in a group at or after `since` logged after event row `afterEventId`. */
export function countGroupMessages(db: Db, args: { memberId: string; groupId: string; since: number; afterEventId: number }): number {
  return (
    stmt(db, "SELECT COUNT(*) AS n FROM events WHERE member_id = ? AND type = 'message' AND at >= ? AND group_id = ? AND id > ?").get(
      args.memberId,
      args.since,
      args.groupId,
      args.afterEventId,
    ) as { n: number }
  ).n;
}

/** Warnings and removals since the member's last pardon: what a /pardon clears. */
export function offencesSincePardon(db: Db, memberId: string): { warn: number; remove: number } {
  const rows = stmt(
    db,
    `SELECT action, COUNT(*) AS n FROM moderation_log WHERE member_id = ? AND action IN ('warn', 'remove')
       AND id > COALESCE((SELECT MAX(id) FROM moderation_log WHERE member_id = ? AND action = 'pardon'), 0) GROUP BY action`,
  ).all(memberId, memberId) as { action: string; n: number }[];
  const by = Object.fromEntries(rows.map((r) => [r.action, r.n])) as Record<string, number>;
  return { warn: by.warn ?? 0, remove: by.remove ?? 0 };
}
