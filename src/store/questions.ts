import type { Db } from './db.js';
import { stmt } from './statements.js';

export interface Question {
  id: number;
  member_id: string;
  platform: string;
  asker_platform_id: string;
  group_id: string | null;
  chat_id: string;
  text: string;
  status: 'answered' | 'escalated' | 'resolved';
  entry_id: string | null;
  confidence: number | null;
  answer: string | null;
  answered_by: string | null;
  event_id: number | null;
  created_at: number;
  answered_at: number | null;
}

/** The code instructors see and type: `Q12`. */
export function questionCode(id: number): string {
  return `Q${id}`;
}

export function parseQuestionCode(code: string): number | undefined {
  const m = /^Q(\d{1,12})$/i.exec(code.trim());
  return m ? Number(m[1]) : undefined;
}

export function recordQuestion(
  db: Db,
  q: Omit<Question, 'id' | 'answered_by' | 'answered_at'> & { answered_at?: number | null },
): number {
  const r = stmt(
    db,
    `INSERT INTO questions (member_id, platform, asker_platform_id, group_id, chat_id, text, status, entry_id, confidence, answer, event_id, created_at, answered_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(q.member_id, q.platform, q.asker_platform_id, q.group_id, q.chat_id, q.text, q.status, q.entry_id, q.confidence, q.answer, q.event_id, q.created_at, q.answered_at ?? null);
  return Number(r.lastInsertRowid);
}

export function getQuestion(db: Db, id: number): Question | undefined {
  return stmt(db, 'SELECT * FROM questions WHERE id = ?').get(id) as Question | undefined;
}

/** Marks an escalated question answered by an instructor; false if it was not escalated (any more). */
export function resolveQuestion(db: Db, args: { id: number; answer: string; entryId: string; by: string; now: number }): boolean {
  return (
    stmt(db, "UPDATE questions SET status = 'resolved', answer = ?, entry_id = ?, answered_by = ?, answered_at = ? WHERE id = ? AND status = 'escalated'").run(
      args.answer,
      args.entryId,
      args.by,
      args.now,
      args.id,
    ).changes > 0
  );
}

/** Questions the bot answered by itself since `since`, for one member or one group. */
export function countBotAnswers(db: Db, args: { memberId?: string; groupId?: string; since: number }): number {
  if (args.memberId !== undefined) {
    return (stmt(db, "SELECT COUNT(*) AS n FROM questions WHERE member_id = ? AND status = 'answered' AND created_at >= ?").get(args.memberId, args.since) as { n: number }).n;
  }
  return (stmt(db, "SELECT COUNT(*) AS n FROM questions WHERE group_id = ? AND status = 'answered' AND created_at >= ?").get(args.groupId, args.since) as { n: number }).n;
}

/** When an entry was last answered in a chat (repeat cooldown). */
export function lastAnsweredInChat(db: Db, chatId: string, entryId: string): number | undefined {
  const r = stmt(db, "SELECT MAX(created_at) AS t FROM questions WHERE chat_id = ? AND entry_id = ? AND status = 'answered'").get(chatId, entryId) as { t: number | null };
  return r.t ?? undefined;
}

export function recordLearned(db: Db, args: { entryId: string; question: string; answer: string | null; questionId: number | null; now: number }): void {
  stmt(db, 'INSERT INTO faq_learned (entry_id, question, answer, question_id, created_at) VALUES (?, ?, ?, ?, ?)').run(
    args.entryId,
    args.question,
    args.answer,
    args.questionId,
    args.now,
  );
}

export function learnedEntries(db: Db): { entry_id: string; question: string; answer: string | null }[] {
  return stmt(db, 'SELECT entry_id, question, answer FROM faq_learned ORDER BY id').all() as { entry_id: string; question: string; answer: string | null }[];
}
