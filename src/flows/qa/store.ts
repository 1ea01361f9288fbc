import { later, type StoreRead } from '../../store/batch.js';
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

const INSERT_QUESTION = `INSERT INTO questions (member_id, platform, asker_platform_id, group_id, chat_id, text, status, entry_id, confidence, answer, event_id, created_at, answered_at, answered_via, escalate, candidates)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export function recordQuestion(db: Db, q: NewQuestion): number {
  const r = stmt(db, `${INSERT_QUESTION} RETURNING id`).get(...questionValues(q)) as { id: number };
  return r.id;
}

/**
 * A question whose id nobody needs (answered from the FAQ, a repeat, an entry gone): on
 * PostgreSQL it goes with the event's next request instead of one of its own (issue 20).
 */
export function recordQuestionLater(db: Db, q: NewQuestion): void {
  later(db, INSERT_QUESTION, ...questionValues(q));
}

function questionValues(q: NewQuestion): unknown[] {
  return [
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
  ];
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
  if (args.memberId !== undefined) return (stmt(db, TAKEN_BY_MEMBER).get(args.memberId, args.since) as { n: number }).n;
  return (stmt(db, TAKEN_IN_GROUP).get(args.groupId, args.since) as { n: number }).n;
}

const TAKEN_BY_MEMBER = 'SELECT COUNT(*) AS n FROM questions WHERE member_id = ? AND created_at >= ?';
const TAKEN_IN_GROUP = 'SELECT COUNT(*) AS n FROM questions WHERE group_id = ? AND created_at >= ?';

/** countQuestionsTaken's two reads (the member's, and the group's when there is one), to load ahead together (src/store/batch.ts prefetch). */
export function quotaReads(memberId: string, groupId: string | null, since: number): StoreRead[] {
  return [
    { sql: TAKEN_BY_MEMBER, params: [memberId, since], tables: ['questions'] },
    ...(groupId !== null ? [{ sql: TAKEN_IN_GROUP, params: [groupId, since], tables: ['questions'] }] : []),
  ];
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
 * one seek in questions_answered (migration 31), which holds answered questions only.
 */
export function lastAnsweredInChat(db: Db, chatId: string, entryId: string, since: number): number | undefined {
  const r = stmt(db, "SELECT MAX(created_at) AS t FROM questions WHERE status = 'answered' AND created_at >= ? AND chat_id = ? AND entry_id = ?").get(since, chatId, entryId) as {
    t: number | null;
  };
  return r.t ?? undefined;
}

/** Who taught the knowledge base: an instructor's answer, or a member's pick from a menu. */
export type LearnedVia = 'staff' | 'choice';

export function recordLearned(
  db: Db,
  args: { entryId: string; question: string; answer: string | null; questionId: number | null; now: number; via?: LearnedVia; taughtBy?: string | null },
): number {
  const r = stmt(db, 'INSERT INTO faq_learned (entry_id, question, answer, question_id, created_at, via, taught_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id').get(
    args.entryId,
    args.question,
    args.answer,
    args.questionId,
    args.now,
    args.via ?? 'staff',
    args.taughtBy ?? null,
  ) as { id: number };
  return r.id;
}

/** What the knowledge base learned and still keeps (removed rows left out), oldest first. */
export function learnedEntries(db: Db): { entry_id: string; question: string; answer: string | null }[] {
  return stmt(db, 'SELECT entry_id, question, answer FROM faq_learned WHERE removed_at IS NULL ORDER BY id').all() as { entry_id: string; question: string; answer: string | null }[];
}

export interface LearnedRow {
  id: number;
  entry_id: string;
  question: string;
  answer: string | null;
  question_id: number | null;
  created_at: number;
  via: LearnedVia;
  taught_by: string | null;
  /** the teacher's display name, when they are a known member */
  taught_by_name: string | null;
  removed_at: number | null;
  removed_by: string | null;
}

/** Learned rows with who taught them, newest first (removed ones too when asked). */
export function listLearned(db: Db, args: { limit: number; includeRemoved?: boolean }): LearnedRow[] {
  const where = args.includeRemoved ? '' : 'WHERE l.removed_at IS NULL';
  return stmt(
    db,
    `SELECT l.id, l.entry_id, l.question, l.answer, l.question_id, l.created_at, l.via, l.taught_by, m.display_name AS taught_by_name, l.removed_at, l.removed_by
     FROM faq_learned l LEFT JOIN members m ON m.id = l.taught_by ${where} ORDER BY l.id DESC LIMIT ?`,
  ).all(args.limit) as LearnedRow[];
}

export function getLearned(db: Db, id: number): LearnedRow | undefined {
  return stmt(
    db,
    `SELECT l.id, l.entry_id, l.question, l.answer, l.question_id, l.created_at, l.via, l.taught_by, m.display_name AS taught_by_name, l.removed_at, l.removed_by
     FROM faq_learned l LEFT JOIN members m ON m.id = l.taught_by WHERE l.id = ?`,
  ).get(id) as LearnedRow | undefined;
}

/** Marks a learned row removed; false if there is no such row or it was removed already. */
export function removeLearned(db: Db, args: { id: number; by: string | null; now: number }): boolean {
  return stmt(db, 'UPDATE faq_learned SET removed_at = ?, removed_by = ? WHERE id = ? AND removed_at IS NULL').run(args.now, args.by, args.id).changes > 0;
}

/** Phrasings a member taught by picking from menus since `since` (the per-member learning limit). */
export function countLearnedBy(db: Db, memberId: string, since: number): number {
  return (stmt(db, "SELECT COUNT(*) AS n FROM faq_learned WHERE taught_by = ? AND via = 'choice' AND created_at >= ?").get(memberId, since) as { n: number }).n;
}

// ---------------------------------------------------------------------------------------------
// Clarification menus (src/flows/qa/clarify.ts)

export interface Menu {
  id: number;
  question_id: number;
  member_id: string;
  platform: string;
  group_id: string | null;
  chat_id: string;
  /** JSON: entry ids in the menu's order */
  choices: string;
  created_at: number;
  closes_at: number;
  status: 'open' | 'picked' | 'replaced';
  picked: string | null;
}

/** Opens a menu for a member; their menus still open are closed (one open menu per member). */
export function openMenu(
  db: Db,
  m: { questionId: number; memberId: string; platform: string; groupId: string | null; chatId: string; choices: string[]; now: number; closesAt: number },
): number {
  stmt(db, "UPDATE qa_menus SET status = 'replaced' WHERE member_id = ? AND status = 'open'").run(m.memberId);
  const r = stmt(
    db,
    "INSERT INTO qa_menus (question_id, member_id, platform, group_id, chat_id, choices, created_at, closes_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open') RETURNING id",
  ).get(m.questionId, m.memberId, m.platform, m.groupId, m.chatId, JSON.stringify(m.choices), m.now, m.closesAt) as { id: number };
  return r.id;
}

/** The member's open menu on this platform that has not closed by `now`, if any. */
export function openMenuOf(db: Db, memberId: string, platform: string, now: number): Menu | undefined {
  return stmt(db, "SELECT * FROM qa_menus WHERE member_id = ? AND platform = ? AND status = 'open' AND closes_at > ? ORDER BY id DESC LIMIT 1").get(memberId, platform, now) as
    | Menu
    | undefined;
}

/** Closes a menu with the member's pick; false if it was not open any more. */
export function pickMenu(db: Db, id: number, entryId: string): boolean {
  return stmt(db, "UPDATE qa_menus SET status = 'picked', picked = ? WHERE id = ? AND status = 'open'").run(entryId, id).changes > 0;
}

/** Menus sent since `since`, to one member or in one group (the menu limits). */
export function countMenus(db: Db, args: { memberId?: string; groupId?: string; since: number }): number {
  const where = args.memberId !== undefined ? 'member_id = ?' : 'group_id = ?';
  return (stmt(db, `SELECT COUNT(*) AS n FROM qa_menus WHERE ${where} AND created_at >= ?`).get(args.memberId ?? args.groupId, args.since) as { n: number }).n;
}

/** A question answered by the member's pick from its menu (it was recorded as dropped while the menu was open). */
export function answerByChoice(db: Db, args: { id: number; entryId: string; answer: string; now: number }): void {
  stmt(db, "UPDATE questions SET status = 'answered', entry_id = ?, answer = ?, answered_via = 'choice', answered_at = ? WHERE id = ?").run(args.entryId, args.answer, args.now, args.id);
}

/** Stores the candidates retrieval found for an escalated question (so staff can pick one: /answer Q12 =2). */
export function setCandidates(db: Db, id: number, candidates: { id: string; confidence: number }[]): void {
  stmt(db, 'UPDATE questions SET candidates = ? WHERE id = ?').run(JSON.stringify(candidates), id);
}

// ---------------------------------------------------------------------------------------------
// Embedding vectors of FAQ phrasings (src/flows/qa/embeddings.ts)

function packVector(v: number[]): string {
  return Buffer.from(Float32Array.from(v).buffer).toString('base64');
}

function unpackVector(s: string): number[] {
  const b = Buffer.from(s, 'base64');
  return Array.from(new Float32Array(b.buffer, b.byteOffset, Math.floor(b.byteLength / 4)));
}

/** Cached vectors of these text hashes for a model. */
export function getVectors(db: Db, model: string, hashes: string[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let i = 0; i < hashes.length; i += 200) {
    const chunk = hashes.slice(i, i + 200);
    const rows = stmt(db, `SELECT text_hash, vector FROM qa_vectors WHERE model = ? AND text_hash IN (${chunk.map(() => '?').join(', ')})`).all(model, ...chunk) as {
      text_hash: string;
      vector: string;
    }[];
    for (const r of rows) out.set(r.text_hash, unpackVector(r.vector));
  }
  return out;
}

export function putVectors(db: Db, model: string, rows: { hash: string; vector: number[] }[], now: number): void {
  for (const r of rows) {
    stmt(db, 'INSERT INTO qa_vectors (model, text_hash, dims, vector, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (model, text_hash) DO NOTHING').run(model, r.hash, r.vector.length, packVector(r.vector), now);
  }
}
