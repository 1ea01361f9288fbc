import type { Db } from './db.js';
import { holdIfChannelNotOpen } from './held-messages.js';
import { stmt } from './statements.js';

export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'uncertain' | 'dry_run';
export type Priority = 'reply' | 'push';

export interface OutboxRow {
  id: number;
  platform: string;
  chat_kind: 'group' | 'dm';
  chat_id: string;
  member_id: string | null;
  group_id: string | null;
  text: string;
  priority: Priority;
  status: OutboxStatus;
  not_before: number;
  attempts: number;
  last_error: string | null;
  event_id: number | null;
  rule_id: string | null;
  created_at: number;
  sent_at: number | null;
  /** The lesson the message carries (send_lesson, a drip step), for the funnel. */
  lesson?: number | null;
}

export interface NewOutboxMessage {
  platform: string;
  chatKind: 'group' | 'dm';
  chatId: string;
  memberId: string | null;
  groupId: string | null;
  text: string;
  priority: Priority;
  notBefore: number;
  eventId: number | null;
  ruleId: string | null;
  dryRun: boolean;
  now: number;
  /** The lesson the message carries, if it is one. */
  lesson?: number | null;
}

/**
 * Queues a message. A private message to someone whose private channel is known not to be open
 * is held instead (src/store/held-messages.ts) and returns 0: it is queued when the channel opens.
 */
export function enqueueMessage(db: Db, m: NewOutboxMessage): number {
  if (holdIfChannelNotOpen(db, m) !== undefined) return 0;
  const r = stmt(
    db,
    `INSERT INTO outbox (platform, chat_kind, chat_id, member_id, group_id, text, priority, status, not_before, event_id, rule_id, created_at, lesson)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  ).get(m.platform, m.chatKind, m.chatId, m.memberId, m.groupId, m.text, m.priority, m.dryRun ? 'dry_run' : 'pending', m.notBefore, m.eventId, m.ruleId, m.now, m.lesson ?? null) as { id: number };
  return r.id;
}

/**
 * A private message to a member that goes out now and belongs to no event (a link the platform
 * just made, a reward notice): the common shape of those outside-an-event sends.
 */
export function enqueueDm(
  db: Db,
  m: { platform: string; chatId: string; memberId: string; text: string; priority: NewOutboxMessage['priority']; ruleId?: string | null; dryRun?: boolean; now: number },
): number {
  return enqueueMessage(db, {
    platform: m.platform,
    chatKind: 'dm',
    chatId: m.chatId,
    memberId: m.memberId,
    groupId: null,
    text: m.text,
    priority: m.priority,
    notBefore: m.now,
    eventId: null,
    ruleId: m.ruleId ?? null,
    dryRun: m.dryRun ?? false,
    now: m.now,
  });
}

/** The earliest not_before among pending messages of a platform. */
export function nextPendingAt(db: Db, platform: string): number | undefined {
  const r = stmt(db, "SELECT MIN(not_before) AS t FROM outbox WHERE status = 'pending' AND platform = ?").get(platform) as { t: number | null };
  return r.t ?? undefined;
}

/**
 * The oldest pending messages of a platform and priority that `instance` may send: those to chats
 * it owns, or that nobody owns yet (chat_owners; one instance on SQLite owns every chat).
 */
export function pendingWindow(db: Db, platform: string, priority: Priority, instance: string, limit: number): OutboxRow[] {
  return stmt(
    db,
    `SELECT o.* FROM outbox o LEFT JOIN chat_owners c ON c.platform = o.platform AND c.chat_id = o.chat_id
      WHERE o.status = 'pending' AND o.platform = ? AND o.priority = ? AND (c.instance IS NULL OR c.instance = ?)
      ORDER BY o.not_before, o.id LIMIT ?`,
  ).all(platform, priority, instance, limit) as OutboxRow[];
}

/**
 * Claims a message for sending. Only one claimant wins, across processes too (on PostgreSQL a
 * second UPDATE of the row waits for the first and then finds it no longer pending); the claim
 * is committed before the send.
 */
export function claimMessage(db: Db, id: number, instance: string): boolean {
  return stmt(db, "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_by = ? WHERE id = ? AND status = 'pending'").run(instance, id).changes > 0;
}

export function markSent(db: Db, id: number, now: number): void {
  stmt(db, "UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?").run(now, id);
}

export function markRetry(db: Db, id: number, notBefore: number, error: string): void {
  stmt(db, "UPDATE outbox SET status = 'pending', not_before = ?, last_error = ? WHERE id = ?").run(notBefore, error, id);
}

export function markFailed(db: Db, id: number, error: string): void {
  stmt(db, "UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ?").run(error, id);
}

export function deferMessage(db: Db, id: number, notBefore: number, reason: string): void {
  stmt(db, 'UPDATE outbox SET not_before = ?, last_error = ? WHERE id = ?').run(notBefore, reason, id);
}

/**
 * After a crash, a message left in 'sending' may or may not have reached the platform.
 * Sending it again could duplicate it, so it is parked as 'uncertain' (at most once).
 */
export function parkInterruptedSends(db: Db, instance?: string): number {
  // Scoped to one instance's claims (and rows from before claims were named) when several
  // processes share the store: another instance's 'sending' row is a send in progress.
  if (instance === undefined) return stmt(db, "UPDATE outbox SET status = 'uncertain', last_error = 'process stopped during send' WHERE status = 'sending'").run().changes;
  return stmt(
    db,
    "UPDATE outbox SET status = 'uncertain', last_error = 'process stopped during send' WHERE status = 'sending' AND (claimed_by = ? OR claimed_by IS NULL)",
  ).run(instance).changes;
}

/** When `instance`'s account last sent on a platform (rows from before claims were named count too). */
export function lastSentAt(db: Db, platform: string, instance: string): number | undefined {
  const r = stmt(db, "SELECT MAX(sent_at) AS t FROM outbox WHERE platform = ? AND status = 'sent' AND (claimed_by = ? OR claimed_by IS NULL)").get(platform, instance) as {
    t: number | null;
  };
  return r.t ?? undefined;
}

export function lastSentToChat(db: Db, platform: string, chatId: string): number | undefined {
  const r = stmt(db, "SELECT MAX(sent_at) AS t FROM outbox WHERE chat_id = ? AND platform = ? AND status = 'sent'").get(chatId, platform) as {
    t: number | null;
  };
  return r.t ?? undefined;
}

/** Times of the sends to one chat since `since`, oldest first (per-group pacing after a restart). */
export function sentToChatSince(db: Db, platform: string, chatId: string, since: number): number[] {
  return (
    stmt(db, "SELECT sent_at FROM outbox WHERE chat_id = ? AND platform = ? AND status = 'sent' AND sent_at > ? ORDER BY sent_at").all(chatId, platform, since) as {
      sent_at: number;
    }[]
  ).map((r) => r.sent_at);
}

/** Sends by `instance`'s account since `since`: its daily cap is its own. */
export function countSentSince(db: Db, platform: string, since: number, instance: string): number {
  return (
    stmt(db, "SELECT COUNT(*) AS n FROM outbox WHERE platform = ? AND status = 'sent' AND sent_at >= ? AND (claimed_by = ? OR claimed_by IS NULL)").get(platform, since, instance) as {
      n: number;
    }
  ).n;
}

export function messagesFor(db: Db, args: { chatId?: string; memberId?: string; limit: number }): OutboxRow[] {
  if (args.chatId) return stmt(db, 'SELECT * FROM outbox WHERE chat_id = ? ORDER BY id DESC LIMIT ?').all(args.chatId, args.limit) as OutboxRow[];
  return stmt(db, 'SELECT * FROM outbox WHERE member_id = ? ORDER BY id DESC LIMIT ?').all(args.memberId, args.limit) as OutboxRow[];
}

export function outboxCounts(db: Db): Record<string, number> {
  const rows = stmt(db, 'SELECT status, COUNT(*) AS n FROM outbox GROUP BY status').all() as { status: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
