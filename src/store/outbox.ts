import { later } from './batch.js';
import { dialectOf, type Db } from './db.js';
import { isTransientConflict } from './postgres.js';
import { holdIfChannelNotOpen } from './held-messages.js';
import type { QueuedMessage } from './queued-message.js';
import { noteRowAdded } from './planner-stats.js';
import { stmt, type Sql } from './statements.js';
import { localDate, localDayStart, nextLocalTime } from '../util/localtime.js';

/** dropped: the daily cap had no room for it (last_error says so); kept as the record. */
export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'uncertain' | 'dry_run' | 'dropped';

export { laneOf, PRIORITIES, type Priority } from './lanes.js';
import type { Priority } from './lanes.js';

/**
 * What a day's sends may add up to on one platform: sent that day plus still queued for it never
 * exceed `cap`, and only the urgent lane may use the last `reserve` of it.
 */
export interface DailyBudget {
  cap: number;
  reserve: number;
  /** Days are local days here. */
  timezone: string;
}

/**
 * How long (on the clock) a day's count is carried forward by counting only the rows added since,
 * before it is counted afresh: a fan-out of 10,000 messages must not count the day 10,000 times.
 * Rows that left the count meanwhile (failed, forgotten) make it an overcount, never an under.
 */
const RECOUNT_MS = 5_000;

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
  /** An image file the message sends as a photo (`text` is then its caption), or null. */
  image?: string | null;
  /** PostgreSQL: the instance that sends it (its chat's owner when queued; migration 27), or null. */
  owner?: string | null;
}

export interface NewOutboxMessage extends QueuedMessage {
  notBefore: number;
  /**
   * The platform's daily budget (src/bot/pacing.ts budgetFor): a message the day has no room for
   * is recorded as `dropped`. null: no check at enqueue (tests of the outbox itself); the outbox
   * still stops at the cap when sending.
   */
  budget: DailyBudget | null;
}

/**
 * Queues a message. A private message to someone whose private channel is known not to be open
 * is held instead (src/store/held-messages.ts) and returns 0: it is queued when the channel opens,
 * and counts against that day's cap then, not now.
 *
 * With a budget, the daily cap counts what is already queued: a message the day has no room for
 * (sent plus queued at the cap, or at the cap less the reserve outside the urgent lane) is
 * recorded as `dropped` with the reason, never sent. Nothing is carried to another day: a
 * held-over backlog would start tomorrow full (tomorrow's welcomes behind yesterday's bulk), and
 * answers, reminders and notices are wrong a day late. Returns the row id.
 */
export function enqueueMessage(db: Db, m: NewOutboxMessage): number {
  const values = outboxValues(db, m);
  if (!values) return 0;
  const r = stmt(db, `${INSERT_OUTBOX} RETURNING id`).get(...values) as { id: number };
  noteRowAdded(db, 'outbox');
  return r.id;
}

/**
 * enqueueMessage when nobody needs the row's id (the engine's replies): on PostgreSQL the insert
 * goes with the next request instead of one of its own (issue 20); on SQLite it runs now. False
 * when the message was held for a private channel not open yet (nothing queued).
 */
export function enqueueMessageLater(db: Db, m: NewOutboxMessage): boolean {
  const values = outboxValues(db, m);
  if (!values) return false;
  later(db, INSERT_OUTBOX, ...values);
  noteRowAdded(db, 'outbox');
  return true;
}

const INSERT_OUTBOX = `INSERT INTO outbox (platform, chat_kind, chat_id, member_id, group_id, text, priority, status, not_before, event_id, rule_id, created_at, last_error, lesson, image)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** The outbox row's values, its status decided (the daily cap); undefined when the message was held instead. */
function outboxValues(db: Db, m: NewOutboxMessage): unknown[] | undefined {
  if (holdIfChannelNotOpen(db, m) !== undefined) return undefined;
  const refused = m.dryRun || m.budget === null ? null : admit(db, m.platform, m.priority, m.notBefore, m.now, m.budget);
  const status: OutboxStatus = m.dryRun ? 'dry_run' : refused ? 'dropped' : 'pending';
  return [m.platform, m.chatKind, m.chatId, m.memberId, m.groupId, m.text, m.priority, status, m.notBefore, m.eventId, m.ruleId, m.now, refused, m.lesson ?? null, m.image ?? null];
}

/** Why the day of `notBefore` has no room for a message of this lane, or null when it has. */
function admit(db: Db, platform: string, priority: Priority, notBefore: number, now: number, b: DailyBudget): string | null {
  const limit = priority === 'urgent' ? b.cap : Math.max(0, b.cap - b.reserve);
  const day = dayCount(db, platform, notBefore, now, b.timezone);
  if (day.n < limit) return null;
  return `daily cap: no room on ${localDate(day.dayStart, b.timezone)} (${limit} of ${b.cap} for the ${priority} lane)`;
}

interface DayCount {
  dayStart: number;
  dayEnd: number;
  /** Sent that day plus queued for it, as of row `maxId`. */
  n: number;
  maxId: number;
  countedAt: number;
}

const dayCounts = new WeakMap<Db, Map<string, DayCount>>();

/** What the day of `t` accounts for on a platform: counted afresh every RECOUNT_MS, else carried forward by the rows added since. */
function dayCount(db: Db, platform: string, t: number, now: number, timezone: string): DayCount {
  let byPlatform = dayCounts.get(db);
  if (!byPlatform) dayCounts.set(db, (byPlatform = new Map()));
  const dayStart = localDayStart(t, timezone);
  const c = byPlatform.get(platform);
  if (c && c.dayStart === dayStart && Math.abs(now - c.countedAt) < RECOUNT_MS) {
    const added = stmt(
      db,
      `SELECT COALESCE(SUM(CASE WHEN platform = ? AND ((status IN ('pending', 'sending') AND not_before < ?) OR (status = 'sent' AND sent_at >= ? AND sent_at < ?)) THEN 1 ELSE 0 END), 0) AS n,
              MAX(id) AS top FROM outbox WHERE id > ?`,
    ).get(platform, c.dayEnd, c.dayStart, c.dayEnd, c.maxId) as { n: number; top: number | null };
    c.n += added.n;
    if (added.top !== null) c.maxId = added.top;
    return c;
  }
  const dayEnd = nextLocalTime(dayStart + 1, 0, timezone);
  const maxId = (stmt(db, 'SELECT COALESCE(MAX(id), 0) AS top FROM outbox').get() as { top: number }).top;
  const fresh: DayCount = { dayStart, dayEnd, n: queuedForDay(db, platform, 0, dayStart, dayEnd), maxId, countedAt: now };
  byPlatform.set(platform, fresh);
  return fresh;
}

/**
 * Messages a day accounts for on a platform: sent in [dayStart, dayEnd) plus queued with not_before in [queuedFrom, dayEnd).
 * Two counts, each a range of its own index (outbox_pending, outbox_sent): written as one WHERE
 * with an OR, both stores walk every row of the platform (SQLite by outbox_sent's platform
 * prefix), dropped rows included: 3-4 ms at 8,000 rows against 0.2-0.5 ms for the two ranges.
 */
export function queuedForDay(db: Db, platform: string, queuedFrom: number, dayStart: number, dayEnd: number): number {
  const row = stmt(
    db,
    `SELECT (SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending') AND not_before >= ? AND not_before < ? AND platform = ?)
          + (SELECT COUNT(*) FROM outbox WHERE platform = ? AND sent_at >= ? AND sent_at < ? AND status = 'sent') AS n`,
  ).get(queuedFrom, dayEnd, platform, platform, dayStart, dayEnd) as { n: number };
  return row.n;
}

/**
 * A private message to a member that goes out now and belongs to no event (a link the platform
 * just made, a reward notice): the common shape of those outside-an-event sends.
 */
export function enqueueDm(
  db: Db,
  m: { platform: string; chatId: string; memberId: string; text: string; priority: NewOutboxMessage['priority']; ruleId?: string | null; dryRun?: boolean; now: number; budget: DailyBudget | null },
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
    budget: m.budget,
  });
}

/** The earliest not_before among pending messages of a platform. */
export function nextPendingAt(db: Db, platform: string): number | undefined {
  const r = stmt(db, "SELECT MIN(not_before) AS t FROM outbox WHERE status = 'pending' AND platform = ?").get(platform) as { t: number | null };
  return r.t ?? undefined;
}

/** What choosing the next send needs of a queued message (its text is read once it is chosen). */
export type QueueHead = Pick<OutboxRow, 'id' | 'platform' | 'chat_kind' | 'chat_id' | 'member_id' | 'priority' | 'not_before'>;

/**
 * The next message of each queue of a platform and priority that `instance` may send, oldest
 * first (at most `limit`): a queue is one chat and one member the messages are about, in the
 * order they were queued (a group's messages about different members are different queues, so
 * one member's flood of replies does not stand in front of another's welcome; a message waiting
 * for a retry keeps its place at the head of its queue). Chats another instance owns are left to
 * it (chat_owners; one instance on SQLite owns every chat).
 *
 * @example pendingHeads(db, 'wechat', 'reply', 'main', 100) // one row per (chat, member) at most
 */
export function pendingHeads(db: Db, platform: string, priority: Priority, instance: string, limit: number): QueueHead[] {
  return pendingHeadsOfLanes(db, platform, instance)
    .filter((h) => h.priority === priority)
    .sort(byQueueOrder)
    .slice(0, limit);
}

/** Queue order of heads: oldest not_before first, then the order they were queued. */
export function byQueueOrder(a: QueueHead, b: QueueHead): number {
  return a.not_before - b.not_before || a.id - b.id;
}

/**
 * The heads of every lane of a platform that `instance` may send (pendingHeads for all priorities
 * at once, unsorted and unlimited): one statement where the sender read one per lane.
 */
export function pendingHeadsOfLanes(db: Db, platform: string, instance: string): QueueHead[] {
  return dialectOf(db) === 'sqlite' ? soleInstanceHeads(db, platform, instance) : ownedHeads(db, platform, instance);
}

/** SQLite: the chats of a platform that chat_owners gives another instance than `instance`. */
export function chatsOwnedByOthers(db: Db, platform: string, instance: string): Set<string> {
  return new Set(stmt(db, 'SELECT chat_id FROM chat_owners WHERE platform = ? AND instance <> ?').pluck(true).all(platform, instance) as string[]);
}

/**
 * The first pending message of one queue (platform, lane, chat, member), as a head; undefined
 * when the queue is empty. Reads the index outbox_heads (SQLite: what the sender's window asks
 * after it sent a queue's head, instead of reading every queue again).
 */
export function queueHead(db: Db, q: Pick<QueueHead, 'platform' | 'priority' | 'chat_id' | 'member_id'>): QueueHead | undefined {
  const r = stmt(
    db,
    `SELECT id, chat_kind, not_before FROM outbox WHERE status = 'pending' AND platform = ? AND priority = ? AND chat_id = ? AND member_id IS ? ORDER BY id LIMIT 1`,
  )
    .raw(true)
    .get(q.platform, q.priority, q.chat_id, q.member_id) as [number, 'group' | 'dm', number] | undefined;
  return r && { id: r[0], platform: q.platform, chat_kind: r[1], chat_id: q.chat_id, member_id: q.member_id, priority: q.priority, not_before: r[2] };
}

/** Pending messages queued as row `fromId` or later, of any platform and lane, in id order: as heads, for the sender's window to merge. */
export function pendingFrom(db: Db, fromId: number): QueueHead[] {
  const rows = stmt(db, `SELECT id, platform, chat_kind, chat_id, member_id, priority, not_before FROM outbox WHERE id >= ? AND status = 'pending' ORDER BY id`)
    .raw(true)
    .all(fromId) as [number, string, 'group' | 'dm', string, string | null, Priority, number][];
  return rows.map(([id, platform, chatKind, chatId, memberId, priority, notBefore]) => ({ id, platform, chat_kind: chatKind, chat_id: chatId, member_id: memberId, priority, not_before: notBefore }));
}

/**
 * SQLite: one process sends everything (the owner column stays empty there), so every queue is
 * its own in practice; chats that chat_owners gives another instance (tests run two on one file)
 * are left to it, as before migration 27.
 */
function soleInstanceHeads(db: Db, platform: string, instance: string): QueueHead[] {
  // The GROUP BY reads the covering index outbox_heads only: 1.6 ms for 5,000 queued rows in four
  // lanes, where reading every row and grouping them here took 8. All lanes in one statement.
  const rows = stmt(
    db,
    `SELECT o.id, o.chat_kind, o.chat_id, o.member_id, o.not_before, o.priority FROM outbox o
      WHERE o.id IN (SELECT MIN(id) FROM outbox WHERE status = 'pending' AND platform = ? GROUP BY priority, chat_id, member_id)`,
  )
    .raw(true)
    .all(platform) as [number, 'group' | 'dm', string, string | null, number, Priority][];
  if (rows.length === 0) return [];
  const others = chatsOwnedByOthers(db, platform, instance);
  const heads: QueueHead[] = [];
  for (const [id, chatKind, chatId, memberId, notBefore, priority] of rows) {
    if (!others.has(chatId)) heads.push({ id, platform, chat_kind: chatKind, chat_id: chatId, member_id: memberId, priority, not_before: notBefore });
  }
  return heads;
}

/**
 * PostgreSQL: the heads among this instance's rows and the unowned ones (the partial index
 * outbox_owned_heads), never reading the backlog other instances own (migration 27). A head must
 * also be its queue's first pending row overall (a row of the same queue still stamped with
 * another owner, queued while the chat moved, goes first), and its chat must not have moved to
 * another instance since it was stamped: such rows are handed over to the chat's owner.
 */
function ownedHeads(db: Db, platform: string, instance: string): QueueHead[] {
  // The first-in-queue check reads outbox_chat (chat_id, sent_at) for unsent rows only, not a
  // group's whole history.
  const rows = stmt(
    db,
    `SELECT o.id, o.chat_kind, o.chat_id, o.member_id, o.not_before, o.priority, c.instance AS chat_owner FROM outbox o
       LEFT JOIN chat_owners c ON c.platform = o.platform AND c.chat_id = o.chat_id
      WHERE o.id IN (SELECT MIN(id) FROM outbox WHERE status = 'pending' AND owner = @me AND platform = @platform GROUP BY priority, chat_id, member_id
                     UNION ALL
                     SELECT MIN(id) FROM outbox WHERE status = 'pending' AND owner IS NULL AND platform = @platform GROUP BY priority, chat_id, member_id)
        AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.chat_id = o.chat_id AND e.sent_at IS NULL AND e.status = 'pending' AND e.platform = o.platform
                          AND e.priority = o.priority AND e.member_id IS NOT DISTINCT FROM o.member_id AND e.id < o.id)`,
  )
    .raw(true)
    .all({ me: instance, platform }) as [number, 'group' | 'dm', string, string | null, number, Priority, string | null][];
  const heads: QueueHead[] = [];
  const moved = new Set<string>();
  for (const [id, chatKind, chatId, memberId, notBefore, priority, chatOwner] of rows) {
    if (chatOwner === null || chatOwner === instance) heads.push({ id, platform, chat_kind: chatKind, chat_id: chatId, member_id: memberId, priority, not_before: notBefore });
    else moved.add(chatId);
  }
  for (const chatId of moved) followChatOwner(db, platform, chatId);
  return heads;
}

/**
 * Stamps a chat's pending messages with its owner now (chat_owners; NULL when nobody owns it):
 * after the chat changed hands, or for a row queued while it did. PostgreSQL only; returns the
 * rows changed. Another process stamping the same rows at once is a conflict that changes nothing:
 * the rows are stamped by whichever finishes, or at the next look.
 */
export function followChatOwner(db: Db, platform: string, chatId: string): number {
  if (dialectOf(db) === 'sqlite') return 0;
  const owner = 'SELECT c.instance FROM chat_owners c WHERE c.platform = outbox.platform AND c.chat_id = outbox.chat_id';
  try {
    // In a savepoint of its own: a conflict must not abort a transaction it is called in.
    return db.transaction(
      () =>
        stmt(
          db,
          `UPDATE outbox SET owner = (${owner}) WHERE chat_id = ? AND sent_at IS NULL AND platform = ? AND status = 'pending' AND owner IS DISTINCT FROM (${owner})`,
        ).run(chatId, platform).changes,
    )();
  } catch (e) {
    if (isTransientConflict(e)) return 0;
    throw e;
  }
}

/**
 * Hands the pending messages of instances that are gone (heartbeat before `goneBefore`) to
 * their chats' owners now, once the chats were taken over (src/store/cluster.ts takeOverSql),
 * and those this instance holds for chats that moved on. PostgreSQL only (the heartbeat sends it;
 * its changes are the rows moved, and losing a race to another process is harmless).
 */
export function followMovedSql(me: string, goneBefore: number): Sql {
  const owner = 'SELECT c.instance FROM chat_owners c WHERE c.platform = outbox.platform AND c.chat_id = outbox.chat_id';
  return {
    // The rows to move are those whose (chat, owner) is no chat_owners row (the owner is never
    // NULL here): an anti-join, one pass over chat_owners. "owner IS DISTINCT FROM (${owner})"
    // meant the planner's per-row sub-plan, a scan of chat_owners for each pending row of this
    // instance: 26 ms against 0.9 ms for 1,154 pending rows and 100 chats (issue 20).
    sql: `UPDATE outbox SET owner = (${owner})
            WHERE status = 'pending' AND (owner = ? OR owner IN (SELECT name FROM instances WHERE heartbeat_at < ? AND name <> ?))
              AND NOT EXISTS (SELECT 1 FROM chat_owners c WHERE c.platform = outbox.platform AND c.chat_id = outbox.chat_id AND c.instance = outbox.owner)`,
    params: [me, goneBefore, me],
  };
}

/** A queued message, while it is still pending. */
export function pendingMessage(db: Db, id: number): OutboxRow | undefined {
  return stmt(db, "SELECT * FROM outbox WHERE id = ? AND status = 'pending'").get(id) as OutboxRow | undefined;
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
