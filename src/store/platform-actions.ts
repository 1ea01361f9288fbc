/**
 * Platform actions: what the bot asks a platform to do besides sending a message (remove a member,
 * delete a message, make a one-person invite link), queued in the transaction of the event that
 * decided it and carried out after it commits (src/bot/platform-actions.ts), at most once.
 */
import type { Db } from './db.js';
import { stmt } from './statements.js';

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
  // Asked after every event, and almost always there are none: a probe of platform_actions_pending
  // first (well under a microsecond; the join and sort cost tens even on an empty table, issue 20).
  if (stmt(db, "SELECT 1 FROM platform_actions WHERE status = 'pending' AND platform = ? LIMIT 1").pluck(true).get(platform) === undefined) return [];
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

