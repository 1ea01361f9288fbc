import { nextHour, planExpiryCheck } from './channel-expiry.js';
import type { Db } from './db.js';
import { later, type StoreRead } from './batch.js';
import { stmt } from './statements.js';

/**
 * The private channel per platform chat (docs/wechat.md, docs/telegram.md): whether the bot can
 * message a person privately. `open`: a WeChat friend, a Telegram user who pressed Start;
 * `closed`: not (yet); `blocked`: the person blocked the bot (Telegram). No row: unknown.
 */
export type ChannelState = 'open' | 'closed' | 'blocked';

/**
 * What the last change was. Openings: `friend_request` (the bot accepted their request),
 * `friend_confirmed` (WeChat confirmed a friendship made elsewhere, e.g. on the phone),
 * `already_friend` (a friend when kequn first saw them), `start` (Telegram Start), `wrote_privately`
 * (they wrote to the bot privately: by definition open), `delivered` (a private message got
 * through), `unblocked`. Closings: `not_friend`, `not_started`, `blocked`.
 */
export type ChannelHow =
  | 'friend_request'
  | 'friend_confirmed'
  | 'already_friend'
  | 'start'
  | 'wrote_privately'
  | 'delivered'
  | 'unblocked'
  | 'not_friend'
  | 'not_started'
  | 'blocked';

export interface ChannelRow {
  platform: string;
  chat_id: string;
  member_id: string | null;
  state: ChannelState;
  how: ChannelHow;
  opened_at: number | null;
  changed_at: number;
  announced_at: number | null;
  source: string | null;
}

const CHANNEL = 'SELECT * FROM private_channels WHERE platform = ? AND chat_id = ?';

/** getChannel's read, to load ahead with an event's other reads. */
export function channelRead(platform: string, chatId: string): StoreRead {
  return { sql: CHANNEL, params: [platform, chatId], tables: ['private_channels'] };
}

export function getChannel(db: Db, platform: string, chatId: string): ChannelRow | undefined {
  return stmt(db, CHANNEL).get(platform, chatId) as ChannelRow | undefined;
}

export function channelsOf(db: Db, memberId: string): ChannelRow[] {
  return stmt(db, 'SELECT * FROM private_channels WHERE member_id = ? ORDER BY platform').all(memberId) as ChannelRow[];
}

/**
 * Records the channel's state. An opening from a state that was not open starts a new opening
 * (its channel.opened rules have not run: announced_at is cleared); `opened_at` keeps the first
 * opening ever. The member is filled in once known; a source once given stays.
 * Returns the row before and after.
 */
export function setChannel(
  db: Db,
  args: { platform: string; chatId: string; memberId: string | null; state: ChannelState; how: ChannelHow; now: number; source?: string | null },
): { before: ChannelRow | undefined; after: ChannelRow } {
  const before = getChannel(db, args.platform, args.chatId);
  const opening = args.state === 'open' && before?.state !== 'open';
  if (!before) {
    stmt(
      db,
      'INSERT INTO private_channels (platform, chat_id, member_id, state, how, opened_at, changed_at, announced_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)',
    ).run(args.platform, args.chatId, args.memberId, args.state, args.how, args.state === 'open' ? args.now : null, args.now, args.source ?? null);
  } else if (before.state !== args.state) {
    stmt(
      db,
      `UPDATE private_channels SET state = ?, how = ?, changed_at = ?, member_id = COALESCE(?, member_id),
         opened_at = COALESCE(opened_at, ?), announced_at = CASE WHEN ? = 1 THEN NULL ELSE announced_at END, source = COALESCE(source, ?)
       WHERE platform = ? AND chat_id = ?`,
    ).run(args.state, args.how, args.now, args.memberId, args.state === 'open' ? args.now : null, opening ? 1 : 0, args.source ?? null, args.platform, args.chatId);
  } else {
    stmt(db, 'UPDATE private_channels SET member_id = COALESCE(?, member_id), source = COALESCE(source, ?) WHERE platform = ? AND chat_id = ?').run(
      args.memberId,
      args.source ?? null,
      args.platform,
      args.chatId,
    );
  }
  return { before, after: getChannel(db, args.platform, args.chatId)! };
}

/** The channel.opened rules ran for the current opening. */
export function markAnnounced(db: Db, platform: string, chatId: string, now: number): void {
  stmt(db, 'UPDATE private_channels SET announced_at = ? WHERE platform = ? AND chat_id = ?').run(now, platform, chatId);
}

/** A drip sequence waiting for the member's channel to open (sequences.<name>.count_from: channel). */
export interface ChannelWait {
  id: number;
  member_id: string;
  platform: string;
  sequence: string;
  group_id: string | null;
  created_at: number;
  state: 'waiting' | 'started' | 'expired' | 'cancelled';
  done_at: number | null;
  note: string | null;
}

const CANCEL_WAITS = "UPDATE channel_waits SET state = 'cancelled', done_at = ?, note = ? WHERE member_id = ? AND sequence = ? AND state = 'waiting'";

/**
 * Starts waiting; a sequence already waiting for this member is replaced (as a restart replaces
 * steps). Nothing here is read back: on PostgreSQL the three writes go with the next request
 * (issue 20).
 */
export function addChannelWait(db: Db, args: { memberId: string; platform: string; sequence: string; groupId: string | null; now: number }): void {
  later(db, CANCEL_WAITS, args.now, 'sequence restarted', args.memberId, args.sequence);
  later(db, "INSERT INTO channel_waits (member_id, platform, sequence, group_id, created_at, state) VALUES (?, ?, ?, ?, ?, 'waiting')", args.memberId, args.platform, args.sequence, args.groupId, args.now);
  planExpiryCheck(db, nextHour(args.now), args.now);
}

export function waitingSequences(db: Db, memberId: string, platform: string): ChannelWait[] {
  return stmt(db, "SELECT * FROM channel_waits WHERE member_id = ? AND platform = ? AND state = 'waiting' ORDER BY id").all(memberId, platform) as ChannelWait[];
}

export function finishChannelWait(db: Db, id: number, state: 'started' | 'expired' | 'cancelled', now: number, note: string): boolean {
  return stmt(db, "UPDATE channel_waits SET state = ?, done_at = ?, note = ? WHERE id = ? AND state = 'waiting'").run(state, now, note, id).changes > 0;
}

/** Cancels a member's waiting sequence (stop_sequence, a restart). */
export function cancelChannelWaits(db: Db, args: { memberId: string; sequence: string; now: number; note: string }): number {
  return stmt(db, CANCEL_WAITS).run(
    args.now,
    args.note,
    args.memberId,
    args.sequence,
  ).changes;
}

/** Waits begun at or before `before` that are still waiting: their window is over. */
export function staleChannelWaits(db: Db, before: number): ChannelWait[] {
  return stmt(db, "SELECT * FROM channel_waits WHERE state = 'waiting' AND created_at <= ? ORDER BY id").all(before) as ChannelWait[];
}

export function channelWaitsOf(db: Db, memberId: string): ChannelWait[] {
  return stmt(db, 'SELECT * FROM channel_waits WHERE member_id = ? ORDER BY id').all(memberId) as ChannelWait[];
}

/**
 * A private message got through to a chat kequn knew nothing about: its channel is open (and
 * needs no welcome: the member is already being written to). Does nothing for a known channel.
 */
export function noteDelivered(db: Db, args: { platform: string; chatId: string; memberId: string | null; now: number }): void {
  stmt(
    db,
    `INSERT INTO private_channels (platform, chat_id, member_id, state, how, opened_at, changed_at, announced_at)
     VALUES (?, ?, ?, 'open', 'delivered', ?, ?, ?) ON CONFLICT (platform, chat_id) DO NOTHING`,
  ).run(args.platform, args.chatId, args.memberId, args.now, args.now, args.now);
}

/**
 * The platform refused a private message (not a friend, never pressed Start, blocked): the
 * channel is closed (or blocked) from now on, so later messages are held without a try.
 */
export function noteRefused(db: Db, args: { platform: string; chatId: string; memberId: string | null; reason: 'not_open' | 'blocked'; now: number }): void {
  const state = args.reason === 'blocked' ? 'blocked' : 'closed';
  const how: ChannelHow = args.reason === 'blocked' ? 'blocked' : args.platform === 'telegram' ? 'not_started' : 'not_friend';
  setChannel(db, { platform: args.platform, chatId: args.chatId, memberId: args.memberId, state, how, now: args.now });
}
