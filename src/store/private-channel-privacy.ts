import type { Db } from './db.js';

/**
 * The private channel's part of a privacy request (src/store/privacy.ts): a member's channels,
 * the messages held for them, their waiting sequences and friend requests (by their platform ids,
 * since a request comes before kequn knows the member).
 */
export function privateChannelExport(db: Db, memberId: string) {
  return {
    channels: db.prepare('SELECT platform, state, how, opened_at, changed_at, source FROM private_channels WHERE member_id = ? ORDER BY platform').all(memberId),
    held_messages: db.prepare('SELECT id, platform, text, state, reason, held_at, done_at FROM held_messages WHERE member_id = ? ORDER BY id').all(memberId),
    waiting_sequences: db.prepare('SELECT sequence, platform, state, created_at, done_at FROM channel_waits WHERE member_id = ? ORDER BY id').all(memberId),
    friend_requests: db
      .prepare(
        'SELECT f.platform, f.greeting, f.status, f.reason, f.received_at, f.done_at FROM friend_requests f JOIN identities i ON i.platform = f.platform AND i.platform_id = f.user_id WHERE i.member_id = ? ORDER BY f.id',
      )
      .all(memberId),
  };
}

/**
 * Forgets them there: held messages and friend requests are deleted (their words, their name),
 * channel rows too (how to reach them). Runs before their identities are deleted. Returns rows changed.
 */
export function forgetPrivateChannel(db: Db, memberId: string): number {
  let n = 0;
  const ids = db.prepare('SELECT platform, platform_id FROM identities WHERE member_id = ?').all(memberId) as { platform: string; platform_id: string }[];
  for (const i of ids) {
    n += db.prepare('DELETE FROM held_messages WHERE platform = ? AND chat_id = ?').run(i.platform, i.platform_id).changes;
    n += db.prepare('DELETE FROM private_channels WHERE platform = ? AND chat_id = ?').run(i.platform, i.platform_id).changes;
    n += db.prepare('DELETE FROM friend_requests WHERE platform = ? AND user_id = ?').run(i.platform, i.platform_id).changes;
  }
  n += db.prepare('DELETE FROM held_messages WHERE member_id = ?').run(memberId).changes;
  n += db.prepare('DELETE FROM private_channels WHERE member_id = ?').run(memberId).changes;
  n += db.prepare("UPDATE channel_waits SET state = 'cancelled', note = 'member forgotten' WHERE member_id = ? AND state = 'waiting'").run(memberId).changes;
  return n;
}
