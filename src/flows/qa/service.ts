import { fillCourseValues } from '../../core/templates.js';
import type { CourseConfig } from '../../core/types.js';
import type { Db } from '../../store/db.js';
import { learnedEntries } from './store.js';
import { buildIndex, type QaIndex } from './retrieval.js';
import type { Found } from './policy.js';

export interface Answer {
  entryId: string;
  question: string;
  answer: string;
  confidence: number;
}

/** Ids of lesson passages start with this; FAQ ids are handles and never contain a colon. */
export const LESSON_PREFIX = 'lesson:';

/** Lesson Markdown cut into passages of about this many characters, at paragraph breaks. */
const PASSAGE_CHARS = 400;

/**
 * The knowledge base the bot answers from: the course FAQ from config plus what instructors
 * taught it (kept in the store, so it survives restarts and config reloads). The lessons'
 * Markdown is extra material: passages the LLM may answer from, never sent as an answer by
 * themselves (a lesson excerpt is not an FAQ answer).
 */
export class QaService {
  private entries = new Map<string, { question: string; answer: string }>();
  /** Every way of asking each FAQ entry (what embeddings are made of). */
  private phrasingList: { entryId: string; text: string }[] = [];
  /** Grows with every change of the entries or phrasings (embeddings are refreshed when it moves). */
  version = 0;
  private index: QaIndex;
  private material: QaIndex;

  private constructor(
    private readonly faq: CourseConfig['faq'],
    learned: { entry_id: string; question: string; answer: string | null }[],
    private readonly lessons: CourseConfig['lessons'] = [],
  ) {
    this.index = buildIndex([]);
    this.material = buildIndex([]);
    this.load(learned);
  }

  /**
   * Builds the index anew from the FAQ and what the store still keeps: after a learned phrasing
   * or entry is removed (the index itself only ever grows).
   */
  reload(db: Db): void {
    this.load(learnedEntries(db));
  }

  private load(learned: { entry_id: string; question: string; answer: string | null }[]): void {
    const { faq, lessons } = this;
    this.entries = new Map();
    this.phrasingList = [];
    this.version++;
    this.index = buildIndex([]);
    this.material = buildIndex([]);
    for (const l of lessons) {
      lessonPassages(l.body).forEach((text, k) => {
        const id = `${LESSON_PREFIX}${l.n}:${k + 1}`;
        this.entries.set(id, { question: l.title, answer: text });
        this.material.add({ id, question: l.title, answer: text });
      });
    }
    for (const e of faq) this.addEntry(e.id, e.question, e.answer, e.alternates);
    for (const l of learned) {
      if (l.answer !== null && !this.entries.has(l.entry_id)) this.addEntry(l.entry_id, l.question, l.answer, []);
      else if (this.entries.has(l.entry_id)) this.addPhrasing(l.entry_id, l.question);
    }
  }

  static build(config: CourseConfig, db: Db): QaService {
    // Prices and deadlines named in answers (`{product.python-vip.price}`) come from the course's config.
    const faq = config.faq.map((e) => ({ ...e, answer: fillCourseValues(e.answer, config.values) }));
    return new QaService(faq, learnedEntries(db), config.lessons);
  }

  /** An empty knowledge base (courses without a FAQ, tests). */
  static empty(): QaService {
    return new QaService([], []);
  }

  /** FAQ entries (configured and learned), lesson passages not counted. */
  get size(): number {
    return this.index.size;
  }

  /** The `k` lesson passages closest to a question (extra material for the LLM). */
  lessonCandidates(question: string, k: number): { id: string; confidence: number }[] {
    return this.material.search(question, k).map((h) => ({ id: h.id, confidence: h.confidence }));
  }

  /** The best hits with what the policy needs to decide (src/flows/qa/policy.ts). */
  found(question: string, k: number): Found {
    return { ...this.index.searchDetailed(question, k), weights: this.index.params.confidence };
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
    for (const text of [question, ...alternates]) this.phrasingList.push({ entryId: id, text });
    this.version++;
  }

  addPhrasing(entryId: string, text: string): boolean {
    if (!this.index.addPhrasing(entryId, text)) return false;
    this.phrasingList.push({ entryId, text });
    this.version++;
    return true;
  }

  /** The FAQ entries' phrasings (questions, alternates, learned ones); lesson passages are not FAQ entries. */
  phrasings(): { entryId: string; text: string }[] {
    return [...this.phrasingList];
  }
}

/** Paragraphs of a lesson, joined up to about PASSAGE_CHARS, Markdown headings kept as text. */
export function lessonPassages(markdown: string): string[] {
  const paragraphs = markdown
    .split(/\n\s*\n/)
    .map((p) => p.replace(/^#+\s*/gm, '').replace(/\s+/g, ' ').trim())
    .filter((p) => p !== '');
  const out: string[] = [];
  let cur = '';
  for (const p of paragraphs) {
    if (cur && cur.length + p.length + 1 > PASSAGE_CHARS) {
      out.push(cur);
      cur = '';
    }
    cur = cur ? `${cur} ${p}` : p;
    while (cur.length > PASSAGE_CHARS * 2) {
      out.push(cur.slice(0, PASSAGE_CHARS));
      cur = cur.slice(PASSAGE_CHARS);
    }
  }
  if (cur) out.push(cur);
  return out;
}
