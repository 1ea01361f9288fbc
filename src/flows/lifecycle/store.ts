import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

/** Store reads the lifecycle facts and the referral flow need beyond the member row. */

/** Questions the member asked that the bot took up (answered or escalated), before this event's. */
export function countQuestionsOf(db: Db, memberId: string): number {
  return (stmt(db, 'SELECT COUNT(*) AS n FROM questions WHERE member_id = ?').get(memberId) as { n: number }).n;
}

/** The normalised ChatEvent as logged, for fields a newer adapter adds (Telegram's inviteLink). */
export function eventPayload(db: Db, eventId: number): Record<string, unknown> | undefined {
  const row = stmt(db, 'SELECT payload FROM events WHERE id = ?').get(eventId) as { payload: string } | undefined;
  return row ? (JSON.parse(row.payload) as Record<string, unknown>) : undefined;
}
