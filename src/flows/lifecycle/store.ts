import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

/** Store reads the lifecycle facts and the referral flow need beyond the member row. */

/** Questions the member asked that the bot took up (answered or escalated), before this event's. */
export function countQuestionsOf(db: Db, memberId: string): number {
  return (stmt(db, 'SELECT COUNT(*) AS n FROM questions WHERE member_id = ?').get(memberId) as { n: number }).n;
}
