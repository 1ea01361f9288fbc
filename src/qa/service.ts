import type { CourseConfig } from '../config/load.js';
import type { Db } from '../store/db.js';
import { learnedEntries } from '../store/questions.js';
import { buildIndex, type QaIndex } from './index.js';

export interface Answer {
  entryId: string;
  question: string;
  answer: string;
  confidence: number;
}

/**
 * The knowledge base the bot answers from: the course FAQ from config plus what instructors
 * taught it (kept in the store, so it survives restarts and config reloads).
 */
export class QaService {
  private readonly entries = new Map<string, { question: string; answer: string }>();
  private readonly index: QaIndex;

  private constructor(faq: CourseConfig['faq'], learned: { entry_id: string; question: string; answer: string | null }[]) {
    this.index = buildIndex([]);
    for (const e of faq) this.addEntry(e.id, e.question, e.answer, e.alternates);
    for (const l of learned) {
      if (l.answer !== null && !this.entries.has(l.entry_id)) this.addEntry(l.entry_id, l.question, l.answer, []);
      else if (this.entries.has(l.entry_id)) this.index.addPhrasing(l.entry_id, l.question);
    }
  }

  static build(config: CourseConfig, db: Db): QaService {
    return new QaService(config.faq, learnedEntries(db));
  }

  /** An empty knowledge base (courses without a FAQ, tests). */
  static empty(): QaService {
    return new QaService([], []);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The best entry for a question, with the retrieval's confidence in [0, 1]. */
  ask(question: string): Answer | undefined {
    const hit = this.index.search(question, 2)[0];
    if (!hit) return undefined;
    const e = this.entries.get(hit.id)!;
    return { entryId: hit.id, question: e.question, answer: e.answer, confidence: hit.confidence };
  }

  /** The `k` best entries with their confidence, best first (the passages an LLM answers from). */
  candidates(question: string, k: number): { id: string; confidence: number }[] {
    return this.index.search(question, k).map((h) => ({ id: h.id, confidence: h.confidence }));
  }

  has(entryId: string): boolean {
    return this.entries.has(entryId);
  }

  entry(entryId: string): { question: string; answer: string } | undefined {
    return this.entries.get(entryId);
  }

  addEntry(id: string, question: string, answer: string, alternates: string[]): void {
    this.entries.set(id, { question, answer });
    this.index.add({ id, question, answer, alternates });
  }

  addPhrasing(entryId: string, text: string): boolean {
    return this.index.addPhrasing(entryId, text);
  }
}
