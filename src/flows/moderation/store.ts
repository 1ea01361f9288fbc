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

/** Texts of the member's messages since `since` (in one group, or anywhere), newest first. */
export function recentMessageTexts(db: Db, args: { memberId: string; since: number; groupId?: string }): string[] {
  const rows = (
    args.groupId === undefined
      ? stmt(db, "SELECT payload FROM events WHERE member_id = ? AND type = 'message' AND at >= ? ORDER BY id DESC LIMIT 200").all(args.memberId, args.since)
      : stmt(db, "SELECT payload FROM events WHERE member_id = ? AND type = 'message' AND at >= ? AND group_id = ? ORDER BY id DESC LIMIT 200").all(
          args.memberId,
          args.since,
          args.groupId,
        )
  ) as { payload: string }[];
  return rows.map((r) => (JSON.parse(r.payload) as { text?: string }).text ?? '');
}

export type PlatformActionKind = 'remove_member' | 'delete_message' | 'create_invite_link';

export interface PlatformAction {
  id: number;
  platform: string;
  action: PlatformActionKind;
  chat_id: string;
  user_id: string;
  message_id: string | null;
  moderation_id: number | null;
  /** JSON set by the flow that queued it (create_invite_link: name, memberId, groupId) */
  detail: string | null;
  status: 'pending' | 'doing' | 'done' | 'failed' | 'unsupported';
  error: string | null;
  created_at: number;
  done_at: number | null;
}

/** Queues something for the platform to do after the event's transaction commits. */
export function queuePlatformAction(
  db: Db,
  a: { platform: string; action: PlatformActionKind; chatId: string; userId: string; messageId: string | null; moderationId: number | null; now: number; detail?: unknown },
): number {
  const r = stmt(
    db,
    "INSERT INTO platform_actions (platform, action, chat_id, user_id, message_id, moderation_id, status, created_at, detail) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING id",
  ).get(a.platform, a.action, a.chatId, a.userId, a.messageId, a.moderationId, a.now, a.detail === undefined ? null : JSON.stringify(a.detail)) as { id: number };
  return r.id;
}

/** Whether an action of this kind for this person is still waiting (do not queue it twice). */
export function hasPendingPlatformAction(db: Db, a: { platform: string; action: PlatformActionKind; userId: string }): boolean {
  return stmt(db, "SELECT 1 FROM platform_actions WHERE status IN ('pending', 'doing') AND platform = ? AND action = ? AND user_id = ? LIMIT 1").get(a.platform, a.action, a.userId) !== undefined;
}

/** Pending actions `instance` may carry out: in chats it owns or that nobody owns yet. */
export function pendingPlatformActions(db: Db, platform: string, instance: string, limit = 50): PlatformAction[] {
  return stmt(
    db,
    `SELECT a.* FROM platform_actions a LEFT JOIN chat_owners c ON c.platform = a.platform AND c.chat_id = a.chat_id
      WHERE a.status = 'pending' AND a.platform = ? AND (c.instance IS NULL OR c.instance = ?) ORDER BY a.id LIMIT ?`,
  ).all(platform, instance, limit) as PlatformAction[];
}

/** Claims an action (committed before the platform call, so a crash never repeats it; one claimant wins across processes). */
export function claimPlatformAction(db: Db, id: number, instance: string): boolean {
  return stmt(db, "UPDATE platform_actions SET status = 'doing', claimed_by = ? WHERE id = ? AND status = 'pending'").run(instance, id).changes > 0;
}

/**
 * At start: actions this instance (or, with no instance given, any process: SQLite) claimed and
 * never finished may have happened; they are failed with a note rather than repeated.
 */
export function failInterruptedActions(db: Db, instance?: string): number {
  const note = "'the process stopped during the call; not repeated'";
  if (instance === undefined) return stmt(db, `UPDATE platform_actions SET status = 'failed', error = ${note} WHERE status = 'doing'`).run().changes;
  return stmt(db, `UPDATE platform_actions SET status = 'failed', error = ${note} WHERE status = 'doing' AND (claimed_by = ? OR claimed_by IS NULL)`).run(instance).changes;
}

export function finishPlatformAction(db: Db, id: number, status: 'done' | 'failed' | 'unsupported', now: number, error?: string): void {
  stmt(db, 'UPDATE platform_actions SET status = ?, done_at = ?, error = ? WHERE id = ?').run(status, now, error ?? null, id);
}

export function platformActions(db: Db): PlatformAction[] {
  return stmt(db, 'SELECT * FROM platform_actions ORDER BY id').all() as PlatformAction[];
}

/**
 * The platform's id of a logged message (what a platform needs to delete it): its `messageId`
 * where the adapter gave one (Telegram's message_id), else the event's own id.
 */
export function platformMessageIdOf(db: Db, eventRowId: number): string | undefined {
  const row = stmt(db, 'SELECT payload FROM events WHERE id = ?').get(eventRowId) as { payload: string } | undefined;
  if (!row) return undefined;
  const payload = JSON.parse(row.payload) as { eventId?: string; messageId?: string };
  return payload.messageId ?? payload.eventId;
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

/**
 * Whether the member was removed from a group since they last joined it (and not pardoned since):
 * their messages until the platform carries the removal out are neither answered nor moderated
 * again, so one removal gives one notice.
 */
export function removedSinceJoin(db: Db, memberId: string, groupId: string): boolean {
  return (
    stmt(
      db,
      `SELECT 1 FROM moderation_log WHERE member_id = ? AND action = 'remove' AND group_id = ?
         AND at >= COALESCE((SELECT joined_at FROM memberships WHERE member_id = ? AND group_id = ?), 0)
         AND id > COALESCE((SELECT MAX(id) FROM moderation_log WHERE member_id = ? AND action = 'pardon'), 0) LIMIT 1`,
    ).get(memberId, groupId, memberId, groupId, memberId) !== undefined
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
