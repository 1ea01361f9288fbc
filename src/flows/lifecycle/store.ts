import type { Db } from '../../store/db.js';
import type { StoreRead } from '../../store/batch.js';
import { stmt } from '../../store/statements.js';

/** Store reads the lifecycle facts and the referral flow need beyond the member row. */

/** Questions the member asked that the bot took up (answered or escalated), before this event's. */
export function countQuestionsOf(db: Db, memberId: string): number {
  return (stmt(db, QUESTIONS_OF).get(memberId) as { n: number }).n;
}

const QUESTIONS_OF = 'SELECT COUNT(*) AS n FROM questions WHERE member_id = ?';

/** countQuestionsOf's read, to load ahead with the event's other reads. */
export function questionsOfRead(memberId: string): StoreRead {
  return { sql: QUESTIONS_OF, params: [memberId], tables: ['questions'] };
}
