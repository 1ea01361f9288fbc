import { fillCourseValues } from '../../core/templates.js';
import type { CourseConfig } from '../../core/types.js';
import type { Db } from '../../store/db.js';
import { learnedEntries } from './store.js';
import { buildIndex, type FaqEntry, type QaIndex } from './retrieval.js';
import { indexKey, readStoredIndexes, storedIndexDir, writeStoredIndexes } from './stored-index.js';
import type { Found } from './policy.js';

/** Where the service's index came from at its last (re)load, and why (for logs and tests). */
export interface IndexOrigin {
  /** `stored`: read from the stored index; `built`: analysed anew (and stored when it can be). */
  from: 'stored' | 'built';
  /** why a stored index was not used, or why a built one was not stored */
  note?: string;
  ms: number;
}

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
  origin: IndexOrigin = { from: 'built', ms: 0 };

  private constructor(
    private readonly faq: CourseConfig['faq'],
    learned: { entry_id: string; question: string; answer: string | null }[],
    private readonly lessons: CourseConfig['lessons'] = [],
    /** where the built index is stored (stored-index.ts); none: built at every load */
    private readonly storeDir?: string,
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
    const t0 = performance.now();
    const passages: FaqEntry[] = lessons.flatMap((l) => lessonPassages(l.body).map((text, k) => ({ id: `${LESSON_PREFIX}${l.n}:${k + 1}`, question: l.title, answer: text })));
    const entries: FaqEntry[] = faq.map((e) => ({ id: e.id, question: e.question, answer: e.answer, alternates: e.alternates }));
    for (const p of passages) this.entries.set(p.id, { question: p.question, answer: p.answer });
    for (const e of entries) this.record(e.id, e.question, e.answer, e.alternates ?? []);
    // The FAQ and the lessons' index, from the store when it holds one made from exactly these;
    // what instructors taught it is added after (it changes while the bot runs).
    const key = this.storeDir ? indexKey({ entries, passages }) : undefined;
    const stored = this.storeDir && key ? readStoredIndexes(this.storeDir, key) : undefined;
    if (stored && 'indexes' in stored && stored.indexes.length === 2) {
      [this.index, this.material] = stored.indexes as [QaIndex, QaIndex];
      this.origin = { from: 'stored', ms: 0 };
    } else {
      this.index = buildIndex(entries);
      this.material = buildIndex(passages);
      let note = stored && 'error' in stored ? `stored index not used: ${stored.error}` : stored ? 'stored index not used: wrong shape' : undefined;
      if (this.storeDir && key) {
        const written = writeStoredIndexes(this.storeDir, key, [this.index, this.material]);
        if ('error' in written) note = `${note ? `${note}; ` : ''}not stored: ${written.error}`;
      }
      this.origin = { from: 'built', ms: 0, ...(note ? { note } : {}) };
    }
    for (const l of learned) {
      if (l.answer !== null && !this.entries.has(l.entry_id)) this.addEntry(l.entry_id, l.question, l.answer, []);
      else if (this.entries.has(l.entry_id)) this.addPhrasing(l.entry_id, l.question);
    }
    this.index.compact();
    this.origin.ms = performance.now() - t0;
  }

  /** An entry and its phrasings as the service lists them (the index is fed separately). */
  private record(id: string, question: string, answer: string, alternates: string[]): void {
    this.entries.set(id, { question, answer });
    for (const text of [question, ...alternates]) this.phrasingList.push({ entryId: id, text });
    this.version++;
  }

  static build(config: CourseConfig, db: Db): QaService {
    // Prices and deadlines named in answers (`{product.python-vip.price}`) come from the course's config.
    const faq = config.faq.map((e) => ({ ...e, answer: fillCourseValues(e.answer, config.values) }));
    return new QaService(faq, learnedEntries(db), config.lessons, storedIndexDir(db, config));
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
    this.index.add({ id, question, answer, alternates });
    this.record(id, question, answer, alternates);
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
