import { dialectOf, type Db } from './db.js';
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
}

export function enqueueMessage(db: Db, m: NewOutboxMessage): number {
  const r = stmt(
    db,
    `INSERT INTO outbox (platform, chat_kind, chat_id, member_id, group_id, text, priority, status, not_before, event_id, rule_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  ).get(m.platform, m.chatKind, m.chatId, m.memberId, m.groupId, m.text, m.priority, m.dryRun ? 'dry_run' : 'pending', m.notBefore, m.eventId, m.ruleId, m.now) as { id: number };
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

/** Pending messages whose not_before has passed, oldest first. */
export function duePending(db: Db, platform: string, now: number, limit: number): OutboxRow[] {
  return stmt(db, "SELECT * FROM outbox WHERE status = 'pending' AND platform = ? AND not_before <= ? ORDER BY not_before, id LIMIT ?").all(
    platform,
    now,
    limit,
  ) as OutboxRow[];
}

/** The earliest not_before among pending messages of a platform. */
/**
 * Claims up to `limit` due messages of a platform at once ('pending' → 'sending'), oldest first.
 * On PostgreSQL the rows are taken with FOR UPDATE SKIP LOCKED: processes claiming at the same
 * time get disjoint rows and never wait for one another. On SQLite the single writer does that.
 */
export function claimDueMessages(db: Db, platform: string, now: number, limit: number): OutboxRow[] {
  const lock = dialectOf(db) === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
  const rows = stmt(
    db,
    `UPDATE outbox SET status = 'sending', attempts = attempts + 1
      WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND platform = ? AND not_before <= ? ORDER BY not_before, id LIMIT ?${lock})
      RETURNING *`,
  ).all(platform, now, limit) as OutboxRow[];
  // RETURNING keeps no order.
  return rows.sort((a, b) => a.not_before - b.not_before || a.id - b.id);
}

export function nextPendingAt(db: Db, platform: string): number | undefined {
  const r = stmt(db, "SELECT MIN(not_before) AS t FROM outbox WHERE status = 'pending' AND platform = ?").get(platform) as { t: number | null };
  return r.t ?? undefined;
}

/** Claims a message for sending. Only one claimant wins; the claim is committed before the send. */
export function claimMessage(db: Db, id: number): boolean {
  return stmt(db, "UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ? AND status = 'pending'").run(id).changes > 0;
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
export function parkInterruptedSends(db: Db): number {
  return stmt(db, "UPDATE outbox SET status = 'uncertain', last_error = 'process stopped during send' WHERE status = 'sending'").run().changes;
}

export function lastSentAt(db: Db, platform: string): number | undefined {
  const r = stmt(db, "SELECT MAX(sent_at) AS t FROM outbox WHERE platform = ? AND status = 'sent'").get(platform) as { t: number | null };
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

export function countSentSince(db: Db, platform: string, since: number): number {
  return (stmt(db, "SELECT COUNT(*) AS n FROM outbox WHERE platform = ? AND status = 'sent' AND sent_at >= ?").get(platform, since) as { n: number })
    .n;
}

export function messagesFor(db: Db, args: { chatId?: string; memberId?: string; limit: number }): OutboxRow[] {
  if (args.chatId) return stmt(db, 'SELECT * FROM outbox WHERE chat_id = ? ORDER BY id DESC LIMIT ?').all(args.chatId, args.limit) as OutboxRow[];
  return stmt(db, 'SELECT * FROM outbox WHERE member_id = ? ORDER BY id DESC LIMIT ?').all(args.memberId, args.limit) as OutboxRow[];
}

export function outboxCounts(db: Db): Record<string, number> {
  const rows = stmt(db, 'SELECT status, COUNT(*) AS n FROM outbox GROUP BY status').all() as { status: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
