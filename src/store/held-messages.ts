import { nextHour, planExpiryCheck } from './channel-expiry.js';
import type { Db } from './db.js';
import type { Priority } from './lanes.js';
import { getChannel } from './private-channels.js';
import type { QueuedMessage } from './queued-message.js';
import { stmt } from './statements.js';

/**
 * Private messages held because the person's private channel is not open (not yet a WeChat
 * friend, never pressed Start on Telegram): kept in order, moved into the outbox when the channel
 * opens (src/core/channel/observe.ts), expired after the window, dropped when the person blocked
 * the bot. They never enter the outbox while held, so they take no send slot and no daily cap.
 */
export type HeldState = 'held' | 'delivered' | 'expired' | 'dropped';

export interface HeldMessage {
  id: number;
  platform: string;
  chat_id: string;
  member_id: string | null;
  group_id: string | null;
  text: string;
  priority: Priority;
  event_id: number | null;
  rule_id: string | null;
  held_at: number;
  state: HeldState;
  reason: string;
  done_at: number | null;
  outbox_id: number | null;
  lesson: number | null;
  /** The image the message sends (a poster), kept while it waits. */
  image: string | null;
}

/** An outbox row as holdRefusedSend needs it. */
interface RefusedRow {
  id: number;
  platform: string;
  chat_id: string;
  member_id: string | null;
  group_id: string | null;
  text: string;
  priority: Priority;
  event_id: number | null;
  rule_id: string | null;
  created_at: number;
  lesson?: number | null;
  image?: string | null;
}

/** Why a message to a channel in this state is held (shown in `kequn why` and the playground). */
const REASONS: Record<string, string> = {
  closed: 'private channel not open yet',
  blocked: 'the person blocked the bot',
};

/**
 * For enqueueMessage: a private message to a chat whose channel is known not to be open is held
 * (or, when the person blocked the bot, recorded as dropped) instead of queued. Returns the held
 * row's id, or undefined when the message may go to the outbox (open, or not known: the send
 * will tell, see ChannelClosedError).
 */
export function holdIfChannelNotOpen(db: Db, m: QueuedMessage): number | undefined {
  if (m.chatKind !== 'dm' || m.dryRun) return undefined;
  const channel = getChannel(db, m.platform, m.chatId);
  if (!channel || channel.state === 'open') return undefined;
  return insertHeld(db, {
    platform: m.platform,
    chatId: m.chatId,
    memberId: m.memberId ?? channel.member_id,
    groupId: m.groupId,
    text: m.text,
    priority: m.priority,
    eventId: m.eventId,
    ruleId: m.ruleId,
    state: channel.state === 'blocked' ? 'dropped' : 'held',
    reason: REASONS[channel.state]!,
    now: m.now,
    lesson: m.lesson ?? null,
    image: m.image ?? null,
  });
}

function insertHeld(
  db: Db,
  h: {
    platform: string;
    chatId: string;
    memberId: string | null;
    groupId: string | null;
    text: string;
    priority: string;
    eventId: number | null;
    ruleId: string | null;
    state: HeldState;
    reason: string;
    now: number;
    lesson: number | null;
    image: string | null;
  },
): number {
  const r = stmt(
    db,
    `INSERT INTO held_messages (platform, chat_id, member_id, group_id, text, priority, event_id, rule_id, held_at, state, reason, done_at, lesson, image)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  ).get(h.platform, h.chatId, h.memberId, h.groupId, h.text, h.priority, h.eventId, h.ruleId, h.now, h.state, h.reason, h.state === 'held' ? null : h.now, h.lesson, h.image) as { id: number };
  if (h.state === 'held') planExpiryCheck(db, nextHour(h.now), h.now);
  return r.id;
}

/**
 * A send the platform refused because the channel is not open (the outbox caught a
 * ChannelClosedError): the outbox row becomes a held message (dropped, for a block), keeping its
 * time of queueing, and leaves the outbox (it was never sent). Returns the held row's id.
 */
export function holdRefusedSend(db: Db, row: RefusedRow, reason: 'not_open' | 'blocked', detail: string, now: number): number {
  const first = holdOutboxRow(db, row, reason, `the platform refused it: ${detail}`, now);
  // What else waits in the outbox for this chat would be refused the same way: held with it.
  const queued = stmt(db, "SELECT * FROM outbox WHERE platform = ? AND chat_id = ? AND chat_kind = 'dm' AND status = 'pending' ORDER BY id").all(row.platform, row.chat_id) as RefusedRow[];
  for (const q of queued) holdOutboxRow(db, q, reason, 'held with an earlier message the platform refused', now);
  return first;
}

function holdOutboxRow(db: Db, row: RefusedRow, reason: 'not_open' | 'blocked', why: string, now: number): number {
  const id = insertHeld(db, {
    platform: row.platform,
    chatId: row.chat_id,
    memberId: row.member_id,
    groupId: row.group_id,
    text: row.text,
    priority: row.priority,
    eventId: row.event_id,
    ruleId: row.rule_id,
    state: reason === 'blocked' ? 'dropped' : 'held',
    reason: why.slice(0, 300),
    now,
    lesson: row.lesson ?? null,
    image: row.image ?? null,
  });
  // Held since it was first queued: the window counts from then.
  stmt(db, 'UPDATE held_messages SET held_at = ? WHERE id = ?').run(row.created_at, id);
  stmt(db, 'DELETE FROM outbox WHERE id = ?').run(row.id);
  return id;
}

/** The messages still held for a chat, oldest first. */
export function heldFor(db: Db, platform: string, chatId: string): HeldMessage[] {
  return stmt(db, "SELECT * FROM held_messages WHERE platform = ? AND chat_id = ? AND state = 'held' ORDER BY id").all(platform, chatId) as HeldMessage[];
}

export function markHeldDelivered(db: Db, id: number, outboxId: number, now: number): void {
  stmt(db, "UPDATE held_messages SET state = 'delivered', outbox_id = ?, done_at = ? WHERE id = ? AND state = 'held'").run(outboxId, now, id);
}

/** Held messages queued at or before `heldBefore`: their window is over. Oldest first. */
export function staleHeld(db: Db, heldBefore: number, limit: number): HeldMessage[] {
  return stmt(db, "SELECT * FROM held_messages WHERE state = 'held' AND held_at <= ? ORDER BY held_at, id LIMIT ?").all(heldBefore, limit) as HeldMessage[];
}

/** Ends a held message without delivering it. */
export function finishHeld(db: Db, id: number, state: 'expired' | 'dropped', now: number, reason?: string): boolean {
  return (
    stmt(db, "UPDATE held_messages SET state = ?, done_at = ?, reason = COALESCE(?, reason) WHERE id = ? AND state = 'held'").run(state, now, reason ?? null, id).changes > 0
  );
}

/** Drops everything held for a chat (the person blocked the bot). Returns how many. */
export function dropHeldFor(db: Db, platform: string, chatId: string, reason: string, now: number): number {
  return stmt(db, "UPDATE held_messages SET state = 'dropped', done_at = ?, reason = ? WHERE platform = ? AND chat_id = ? AND state = 'held'").run(now, reason, platform, chatId).changes;
}

/** A member's held messages, newest first (every state), for `kequn why` and the playground. */
export function heldOf(db: Db, memberId: string, limit: number): HeldMessage[] {
  return stmt(db, 'SELECT * FROM held_messages WHERE member_id = ? ORDER BY id DESC LIMIT ?').all(memberId, limit) as HeldMessage[];
}

/** Held messages by state (the health check, the playground). */
export function heldCounts(db: Db): Record<string, number> {
  const rows = stmt(db, 'SELECT state, COUNT(*) AS n FROM held_messages GROUP BY state').all() as { state: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

/** Messages waiting per private chat (the playground shows them by the member). */
export function heldWaitingByChat(db: Db, platform: string): { chat_id: string; n: number; first_at: number }[] {
  return stmt(db, "SELECT chat_id, COUNT(*) AS n, MIN(held_at) AS first_at FROM held_messages WHERE platform = ? AND state = 'held' GROUP BY chat_id").all(platform) as {
    chat_id: string;
    n: number;
    first_at: number;
  }[];
}

/** The oldest time something still waits (a held message, a waiting sequence): the next expiry counts from it. */
export function oldestWaiting(db: Db): number | undefined {
  const a = stmt(db, "SELECT MIN(held_at) AS t FROM held_messages WHERE state = 'held'").get() as { t: number | null };
  const b = stmt(db, "SELECT MIN(created_at) AS t FROM channel_waits WHERE state = 'waiting'").get() as { t: number | null };
  const ts = [a.t, b.t].filter((t): t is number => t !== null);
  return ts.length ? Math.min(...ts) : undefined;
}
