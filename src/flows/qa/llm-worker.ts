/**
 * Runs the LLM calls of questions the `answer` action left pending. The engine handles an event in
 * one synchronous transaction, so a network call cannot happen there: the action records the
 * question as `pending` with the passages retrieval picked, this worker calls the endpoint outside
 * any transaction, and hands the outcome to a `qa.finish` job, which answers, falls back to the
 * FAQ answer, or escalates, with the engine's usual transaction, trace and outbox.
 *
 * A crash mid-call leaves the question claimed; the claim goes stale and the call is made again
 * (an LLM call has no side effects). The job settles the question only if it is still pending, so
 * a repeated call never answers twice.
 */
import type { Logger } from 'pino';
import type { CourseConfig } from '../../core/types.js';
import type { Services } from '../../core/types.js';
import type { Clock } from '../../core/schedule/clock.js';
import { inTransaction, type Db } from '../../store/db.js';
import { planJob } from '../../store/jobs.js';
import { addLlmUsage, claimPendingQuestions, handOffQuestion, llmUsageOn, type Question } from './store.js';
import { localDate } from '../../util/localtime.js';
import type { LlmAnswerer, LlmOutcome, Passage } from './llm.js';
import { buildVectorIndex, checkVectors, rrf, type VectorIndex } from './embeddings.js';
import { LESSON_PREFIX, type QaService } from './service.js';
import { getVectors, putVectors } from './store.js';

/** What the `qa.finish` job receives. */
export interface FinishPayload {
  question: number;
  platform: string;
  group: string | null;
  outcome: { kind: 'answer'; text: string; source: string } | { kind: 'none' } | { kind: 'clarify'; ids: string[] } | { kind: 'error'; reason: string; message: string };
}

/** How deep each ranking is read for fusion. */
const FUSE_DEPTH = 20;
/** After embeddings failed, this long on BM25 alone. */
const EMBED_PAUSE_MS = 10 * 60_000;

/** A claim older than this is a call that died with its process. */
const STALE_CLAIM_MS = 5 * 60_000;
const BATCH = 8;

export class LlmWorker {
  private budgetNoticeDay: string | undefined;
  /** Phrasing vectors, for the QaService they were built from (rebuilt when it changes). */
  private vectors: { qa: QaService; version: number; index: VectorIndex } | undefined;
  /** After the endpoint failed at embeddings, BM25 alone until then (no hammering a dead endpoint). */
  private embedPauseUntil = 0;
  private running: Promise<number> | undefined;

  constructor(
    private readonly deps: {
      db: Db;
      config: () => CourseConfig;
      clock: Clock;
      log: Logger;
      answerer: LlmAnswerer;
      services: () => Services;
    },
  ) {}

  get model(): string {
    return this.deps.answerer.settings.model;
  }

  /** Answers every pending question (one drain at a time); resolves to how many it handled. */
  drain(): Promise<number> {
    this.running ??= this.drainAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private async drainAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const now = this.deps.clock.now();
      const batch = claimPendingQuestions(this.deps.db, { now, staleBefore: now - STALE_CLAIM_MS, limit: BATCH });
      if (batch.length === 0) return total;
      await Promise.all(batch.map((q) => this.process(q)));
      total += batch.length;
    }
  }

  /**
   * The passages for a question: with an embedding model, BM25's ranking and the vectors' fused
   * (RRF), FAQ entries first, the lesson passages retrieval found kept after them; without one,
   * or when the endpoint fails at embeddings, what retrieval stored with the question.
   */
  private async fused(text: string, stored: { id: string; confidence: number }[], k: number): Promise<{ id: string }[]> {
    const { answerer, log, clock } = this.deps;
    if (!answerer.settings.embeddingModel || clock.now() < this.embedPauseUntil) return stored;
    const qa = this.deps.services().qa;
    const fail = (error: string) => {
      this.embedPauseUntil = clock.now() + EMBED_PAUSE_MS;
      log.warn({ model: answerer.settings.embeddingModel, error }, 'embeddings failed; passages from BM25 alone for 10 minutes (qa.llm.embedding_model)');
      return stored;
    };
    if (!this.vectors || this.vectors.qa !== qa || this.vectors.version !== qa.version) {
      const model = answerer.settings.embeddingModel;
      const built = await buildVectorIndex(
        qa.phrasings(),
        { get: (h) => getVectors(this.deps.db, model, h), put: (rows) => putVectors(this.deps.db, model, rows, clock.now()) },
        (texts) => answerer.embed(texts),
      );
      if ('error' in built) return fail(built.error);
      if (built.embedded > 0) log.info({ model, embedded: built.embedded, entries: built.index.size }, 'embedded new FAQ phrasings');
      this.vectors = { qa, version: qa.version, index: built.index };
    }
    const r = await answerer.embed([text]);
    if ('error' in r) return fail(r.error);
    const bad = checkVectors(r.vectors, 1, this.vectors.index.dims);
    if (bad) return fail(bad);
    const byVector = this.vectors.index.search(r.vectors[0]!, FUSE_DEPTH).map((h) => h.id);
    const byBm25 = qa.candidates(text, FUSE_DEPTH).map((h) => h.id);
    const lessons = stored.filter((c) => c.id.startsWith(LESSON_PREFIX));
    return [...rrf([byBm25, byVector]).slice(0, k).map((id) => ({ id })), ...lessons];
  }

  private async process(q: Question): Promise<void> {
    const { db, log, clock } = this.deps;
    const config = this.deps.config();
    const qa = this.deps.services().qa;
    const stored = JSON.parse(q.candidates ?? '[]') as { id: string; confidence: number }[];
    const candidates = await this.fused(q.text, stored, config.qa.llm.passages);
    const passages: Passage[] = candidates.flatMap((c) => {
      const e = qa.entry(c.id);
      return e ? [{ id: c.id, question: e.question, answer: e.answer }] : [];
    });
    const day = localDate(clock.now(), config.course.timezone);
    const used = llmUsageOn(db, day);
    let outcome: LlmOutcome;
    if (passages.length === 0) {
      outcome = { kind: 'none', usage: { prompt: 0, completion: 0 } };
    } else if (used.prompt_tokens + used.completion_tokens >= config.qa.llm.daily_token_budget) {
      if (this.budgetNoticeDay !== day) {
        this.budgetNoticeDay = day;
        log.warn({ day, budget: config.qa.llm.daily_token_budget, used: used.prompt_tokens + used.completion_tokens }, 'LLM daily token budget exhausted: answering from the FAQ only until tomorrow (qa.llm.daily_token_budget)');
      }
      outcome = { kind: 'error', reason: 'budget', message: 'daily token budget exhausted', usage: { prompt: 0, completion: 0 } };
    } else {
      const t0 = performance.now();
      outcome = await this.deps.answerer.answer(q.text, passages);
      const ms = Math.round(performance.now() - t0);
      if (outcome.kind === 'error' && outcome.reason === 'auth') log.error({ question: q.id, ms }, `LLM: ${outcome.message}; check OPENAI_API_KEY. Answering from the FAQ only`);
      else if (outcome.kind === 'error') log.warn({ question: q.id, reason: outcome.reason, ms }, `LLM call failed (${outcome.message}); falling back to the FAQ answer`);
      else log.info({ question: q.id, outcome: outcome.kind, ms, tokens: outcome.usage.prompt + outcome.usage.completion }, 'LLM answered');
    }
    const payload: FinishPayload = {
      question: q.id,
      platform: q.platform,
      group: q.group_id,
      outcome:
        outcome.kind === 'answer'
          ? { kind: 'answer', text: outcome.text, source: outcome.source }
          : outcome.kind === 'none'
            ? { kind: 'none' }
            : outcome.kind === 'clarify'
              ? { kind: 'clarify', ids: outcome.ids }
              : { kind: 'error', reason: outcome.reason, message: outcome.message },
    };
    const now = clock.now();
    inTransaction(db, () => {
      if (outcome.kind !== 'error' || outcome.reason !== 'budget') {
        addLlmUsage(db, day, { prompt: outcome.usage.prompt, completion: outcome.usage.completion, failed: outcome.kind === 'error' });
      }
      planJob(db, { kind: 'qa.finish', memberId: q.member_id, payload, dueAt: now, dedupeKey: `qa.finish:${q.id}:${q.attempts}`, now });
      handOffQuestion(db, q.id);
    });
  }
}
