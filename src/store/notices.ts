import type { Db } from './db.js';
import { stmt } from './statements.js';

/**
 * Notices merged per chat and topic (src/core/notices.ts): each row is one notice, sent alone
 * (sent_at set when it was queued in the outbox) or held (sent_at NULL) until the merged
 * message of its chat and topic goes out.
 */
export interface NoticeRow {
  id: number;
  platform: string;
  chat_kind: 'group' | 'dm';
  chat_id: string;
  group_id: string | null;
  member_id: string | null;
  topic: string;
  text: string;
  line: string;
  ref: string | null;
  head: string;
  foot: string;
  created_at: number;
  sent_at: number | null;
}

export type NewNotice = Omit<NoticeRow, 'id'>;

export function recordNotice(db: Db, n: NewNotice): number {
  const r = stmt(
    db,
    `INSERT INTO notices (platform, chat_kind, chat_id, group_id, member_id, topic, text, line, ref, head, foot, created_at, sent_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  ).get(n.platform, n.chat_kind, n.chat_id, n.group_id, n.member_id, n.topic, n.text, n.line, n.ref, n.head, n.foot, n.created_at, n.sent_at) as { id: number };
  return r.id;
}

/** When a notice of this chat and topic last went out (alone or merged). */
export function lastNoticeSentAt(db: Db, platform: string, chatId: string, topic: string): number | undefined {
  const r = stmt(db, 'SELECT MAX(sent_at) AS t FROM notices WHERE platform = ? AND chat_id = ? AND topic = ? AND sent_at IS NOT NULL').get(platform, chatId, topic) as {
    t: number | null;
  };
  return r.t ?? undefined;
}

/** The notices of a chat and topic still held, oldest first. */
export function heldNotices(db: Db, platform: string, chatId: string, topic: string): NoticeRow[] {
  return stmt(db, 'SELECT * FROM notices WHERE platform = ? AND chat_id = ? AND topic = ? AND sent_at IS NULL ORDER BY id').all(platform, chatId, topic) as NoticeRow[];
}

export function markNoticesSent(db: Db, ids: readonly number[], now: number): void {
  const s = stmt(db, 'UPDATE notices SET sent_at = ? WHERE id = ? AND sent_at IS NULL');
  for (const id of ids) s.run(now, id);
}
