import { dialectOf, type Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

export interface Question {
  id: number;
  member_id: string;
  platform: string;
  asker_platform_id: string;
  group_id: string | null;
  chat_id: string;
  text: string;
  status: QuestionStatus;
  entry_id: string | null;
  confidence: number | null;
  answer: string | null;
  answered_via: 'faq' | 'llm' | 'staff' | null;
  answered_by: string | null;
  event_id: number | null;
  created_at: number;
  answered_at: number | null;
  escalate: number;
  /** JSON [{id, confidence}], for questions waiting for the LLM */
  candidates: string | null;
  claimed_at: number | null;
  attempts: number;
}

export type QuestionStatus = 'pending' | 'answered' | 'escalated' | 'resolved' | 'dropped';

export type NewQuestion = Pick<Question, 'member_id' | 'platform' | 'asker_platform_id' | 'group_id' | 'chat_id' | 'text' | 'status' | 'entry_id' | 'confidence' | 'answer' | 'event_id' | 'created_at'> & {
  answered_at?: number | null;
  answered_via?: Question['answered_via'];
  escalate?: boolean;
  candidates?: { id: string; confidence: number }[];
};

/** The code instructors see and type: `Q12`. */
export function questionCode(id: number): string {
  return `Q${id}`;
}

export function parseQuestionCode(code: string): number | undefined {
  const m = /^Q(\d{1,12})$/i.exec(code.trim());
  return m ? Number(m[1]) : undefined;
}

export function recordQuestion(db: Db, q: NewQuestion): number {
  const r = stmt(
    db,
    `INSERT INTO questions (member_id, platform, asker_platform_id, group_id, chat_id, text, status, entry_id, confidence, answer, event_id, created_at, answered_at, answered_via, escalate, candidates)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  ).get(
    q.member_id,
    q.platform,
    q.asker_platform_id,
    q.group_id,
    q.chat_id,
    q.text,
    q.status,
    q.entry_id,
    q.confidence,
    q.answer,
    q.event_id,
    q.created_at,
    q.answered_at ?? null,
    q.answered_via ?? null,
    q.escalate === false ? 0 : 1,
    q.candidates ? JSON.stringify(q.candidates) : null,
  ) as { id: number };
  return r.id;
}

/**
 * Claims up to `limit` questions waiting for the LLM: unclaimed ones, and ones whose claim is older
 * than `staleBefore` (the process died mid-call; an LLM call has no side effects, so it is redone).
 */
export function claimPendingQuestions(db: Db, args: { now: number; staleBefore: number; limit: number }): Question[] {
  // Several processes on PostgreSQL: rows another one is claiming are skipped, not claimed twice
  // (each claim is an LLM call that costs money).
  const lock = dialectOf(db) === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
  return db.transaction(() => {
    const rows = stmt(
      db,
      `SELECT * FROM questions WHERE status = 'pending' AND (claimed_at IS NULL OR claimed_at < ?) ORDER BY id LIMIT ?${lock}`,
    ).all(args.staleBefore, args.limit) as Question[];
    for (const r of rows) stmt(db, 'UPDATE questions SET claimed_at = ?, attempts = attempts + 1 WHERE id = ?').run(args.now, r.id);
    return rows.map((r) => ({ ...r, claimed_at: args.now, attempts: r.attempts + 1 }));
  })();
}

/** The LLM's outcome is in a planned job: the question is not claimed again (the job settles it). */
export function handOffQuestion(db: Db, id: number): void {
  stmt(db, 'UPDATE questions SET claimed_at = ? WHERE id = ?').run(Number.MAX_SAFE_INTEGER, id);
}

/** Whether a question waits for the LLM call (not yet handed to a job). */
export function hasPendingQuestions(db: Db): boolean {
  return stmt(db, "SELECT 1 FROM questions WHERE status = 'pending' AND (claimed_at IS NULL OR claimed_at < ?) LIMIT 1").get(Number.MAX_SAFE_INTEGER) !== undefined;
}

/** Settles a pending question: answered (by the LLM or the FAQ), escalated, or dropped. False if it was not pending any more. */
export function settleQuestion(
  db: Db,
  args: { id: number; status: Exclude<QuestionStatus, 'pending' | 'resolved'>; answer: string | null; entryId: string | null; via: Question['answered_via']; now: number },
): boolean {
  return (
    stmt(
      db,
      "UPDATE questions SET status = ?, answer = ?, entry_id = ?, answered_via = ?, answered_at = CASE WHEN CAST(? AS TEXT) = 'answered' THEN ? ELSE answered_at END WHERE id = ? AND status = 'pending'",
    ).run(args.status, args.answer, args.entryId, args.via, args.status, args.now, args.id).changes > 0
  );
}

export interface LlmUsage {
  prompt_tokens: number;
  completion_tokens: number;
  calls: number;
  failures: number;
}

export function llmUsageOn(db: Db, day: string): LlmUsage {
  return (
    (stmt(db, 'SELECT prompt_tokens, completion_tokens, calls, failures FROM llm_usage WHERE day = ?').get(day) as LlmUsage | undefined) ?? {
      prompt_tokens: 0,
      completion_tokens: 0,
      calls: 0,
      failures: 0,
    }
  );
}

export function addLlmUsage(db: Db, day: string, u: { prompt: number; completion: number; failed: boolean }): void {
  stmt(
    db,
    `INSERT INTO llm_usage (day, prompt_tokens, completion_tokens, calls, failures) VALUES (?, ?, ?, 1, ?)
     ON CONFLICT(day) DO UPDATE SET prompt_tokens = prompt_tokens + excluded.prompt_tokens,
       completion_tokens = completion_tokens + excluded.completion_tokens, calls = calls + 1, failures = failures + excluded.failures`,
  ).run(day, u.prompt, u.completion, u.failed ? 1 : 0);
}

export function getQuestion(db: Db, id: number): Question | undefined {
  return stmt(db, 'SELECT * FROM questions WHERE id = ?').get(id) as Question | undefined;
}

/** Marks an escalated question answered by an instructor; false if it was not escalated (any more). */
export function resolveQuestion(db: Db, args: { id: number; answer: string; entryId: string; by: string; now: number }): boolean {
  return (
    stmt(db, "UPDATE questions SET status = 'resolved', answered_via = 'staff', answer = ?, entry_id = ?, answered_by = ?, answered_at = ? WHERE id = ? AND status = 'escalated'").run(
      args.answer,
      args.entryId,
      args.by,
      args.now,
      args.id,
    ).changes > 0
  );
}

/**
 * Questions the bot took up (answered, asked the LLM, escalated or recorded and dropped) since
 * `since`, for one member or one group: what the daily quota counts, escalations included.
 */
export function countQuestionsTaken(db: Db, args: { memberId?: string; groupId?: string; since: number }): number {
  if (args.memberId !== undefined) return (stmt(db, 'SELECT COUNT(*) AS n FROM questions WHERE member_id = ? AND created_at >= ?').get(args.memberId, args.since) as { n: number }).n;
  return (stmt(db, 'SELECT COUNT(*) AS n FROM questions WHERE group_id = ? AND created_at >= ?').get(args.groupId, args.since) as { n: number }).n;
}

/** Questions asked since `since` that went to the staff (escalated, or since answered by them), for one member or one group. */
export function countEscalations(db: Db, args: { memberId?: string; groupId?: string; since: number }): number {
  const where = args.memberId !== undefined ? 'member_id = ?' : 'group_id = ?';
  return (
    stmt(db, `SELECT COUNT(*) AS n FROM questions WHERE ${where} AND created_at >= ? AND status IN ('escalated', 'resolved')`).get(args.memberId ?? args.groupId, args.since) as {
      n: number;
    }
  ).n;
}

/** Whether the member was told about an escalated (or not forwarded) question since `since`. */
export function askerToldSince(db: Db, memberId: string, since: number): boolean {
  return stmt(db, 'SELECT 1 FROM questions WHERE member_id = ? AND created_at >= ? AND told_at >= ? LIMIT 1').get(memberId, since, since) !== undefined;
}

export function markAskerTold(db: Db, id: number, now: number): void {
  stmt(db, 'UPDATE questions SET told_at = ? WHERE id = ?').run(now, id);
}

/**
 * When an entry was last answered in a chat at or after `since` (the repeat cooldown's start):
 * the bound lets the status index read only recent answers instead of every answer ever given.
 */
export function lastAnsweredInChat(db: Db, chatId: string, entryId: string, since: number): number | undefined {
  const r = stmt(db, "SELECT MAX(created_at) AS t FROM questions WHERE status = 'answered' AND created_at >= ? AND chat_id = ? AND entry_id = ?").get(since, chatId, entryId) as {
    t: number | null;
  };
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
