/**
 * In-memory FAQ retrieval: an inverted index over FAQ entries, scored with BM25 per field and
 * per term kind. No network, no model.
 *
 * Each entry has phrasings (its question, any alternates, and phrasings learned later through
 * addPhrasing) and an answer. Every phrasing and the answer are separate "units" in the index.
 * A query's score for an entry is
 *
 *     max over the entry's phrasings of BM25(query, phrasing) + answerWeight · BM25(query, answer)
 *
 * where BM25 sums over the term kinds the tokenizer produces (words, synonym concepts, Chinese
 * bigrams and characters, English character trigrams), each kind with its own weight, and IDF is
 * counted over entries. Max over phrasings means a learned phrasing is not diluted by the others:
 * an entry answers a query if any one way of asking it is close.
 *
 * search() walks only the postings of the query's terms (typed arrays, per-unit length norms
 * cached), and reuses its per-query buffers.
 *
 * Postings live in one compact block (CSR: every term's units and term frequencies side by side
 * in two typed arrays) once the index is built, so 10,000 entries' three million postings are
 * two arrays rather than a hundred thousand small objects for the GC to walk; what is added
 * later (learned phrasings) goes to small per-term lists beside the block until the next
 * compact(). The whole state can be exported and imported (stored-index.ts keeps it on disk).
 */
import { analyze, type Analyzed } from './tokenize.js';

export interface FaqEntry {
  id: string;
  question: string;
  answer: string;
  alternates?: string[];
}

export interface SearchHit {
  id: string;
  score: number;
  /** In [0, 1]: how likely this hit is the right entry (see confidenceOf). */
  confidence: number;
}

export type TermKind = 'words' | 'concepts' | 'bigrams' | 'unigrams' | 'grams';
const KINDS: readonly TermKind[] = ['words', 'concepts', 'bigrams', 'unigrams', 'grams'];
/** Where each kind comes from in the analysis. Words in a synonym group are represented by their concept only. */
const SOURCES = { words: 'freeWords', concepts: 'concepts', bigrams: 'bigrams', unigrams: 'unigrams', grams: 'grams' } as const;
const KIND_PREFIX = ['w', 's', 'b', 'u', 'g'] as const;
const NK = KINDS.length;
const WORDS = 0;

export interface QaParams {
  /** BM25 term-frequency saturation. */
  k1: number;
  /** BM25 length normalisation for phrasings and for answers. */
  bPhrasing: number;
  bAnswer: number;
  /** Weight of the answer relative to the best phrasing. */
  answerWeight: number;
  /** Weight of each term kind. */
  kindWeights: Record<TermKind, number>;
  /** Logistic confidence model: weights for [bias, coverage, margin, strength] (see ConfidenceFeatures). */
  confidence: readonly [number, number, number, number];
}

export const DEFAULT_PARAMS: QaParams = {
  k1: 1.5,
  bPhrasing: 0,
  bAnswer: 0.9,
  answerWeight: 0.25,
  kindWeights: { words: 1, concepts: 1.3, bigrams: 0.6, unigrams: 0.45, grams: 0.2 },
  confidence: [-4, 4, 4, 2],
};

/** Query text beyond this many characters is ignored (a chat message, not a document). */
export const MAX_QUERY_CHARS = 2000;

const FIELD_PHRASING = 0;
const FIELD_ANSWER = 1;

class Postings {
  units = new Int32Array(4);
  tfs = new Float32Array(4);
  n = 0;
  push(u: number, tf: number): void {
    if (this.n === this.units.length) {
      const units = new Int32Array(this.n * 2);
      units.set(this.units);
      this.units = units;
      const tfs = new Float32Array(this.n * 2);
      tfs.set(this.tfs);
      this.tfs = tfs;
    }
    this.units[this.n] = u;
    this.tfs[this.n] = tf;
    this.n++;
  }
}

function grow<T extends Int32Array | Float32Array | Uint8Array>(a: T, need: number): T {
  if (a.length >= need) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2, 16));
  b.set(a);
  return b;
}

interface QueryTerm {
  term: number;
  kind: number;
  /** idf × kind weight */
  weight: number;
}

export interface ConfidenceFeatures {
  /** share of the query's term weight the entry matches anywhere (terms the bank lacks count as unmatched) */
  coverage: number;
  /** (top1 − top2) / top1 */
  margin: number;
  /** the entry's best phrasing score over the score the query would get against itself */
  strength: number;
}

/** Coverage below this scales confidence down linearly. */
const COVERAGE_GATE = 0.3;
/** Confidence factor when the entry matched in its answer only, in none of its phrasings. */
const ANSWER_ONLY_FACTOR = 0.6;

export function confidenceOf(f: ConfidenceFeatures, w: readonly [number, number, number, number]): number {
  const z = w[0] + w[1] * f.coverage + w[2] * f.margin + w[3] * f.strength;
  // Gates, not weights: an entry that matches little of the question ("good morning" meeting one
  // character trigram) or matches none of its phrasings (a digit in an answer) is not an answer,
  // however far ahead of the others it is.
  const gate = Math.min(1, f.coverage / COVERAGE_GATE) * (f.strength > 0 ? 1 : ANSWER_ONLY_FACTOR);
  return gate / (1 + Math.exp(-z));
}

export class QaIndex {
  readonly params: QaParams;
  private readonly kindW: Float64Array;
  private readonly ids: string[] = [];
  private readonly entryById = new Map<string, number>();
  private readonly entryUnits: number[][] = [];
  private readonly vocab = new Map<string, number>();
  private readonly termKind: number[] = [];
  /** compact postings of terms 0 … baseStart.length − 2: units and tfs of term t at baseStart[t] … baseStart[t + 1] */
  private baseStart: Int32Array = new Int32Array(1);
  private baseUnits: Int32Array = new Int32Array(0);
  private baseTfs: Float32Array = new Float32Array(0);
  /**
   * tf / (tf + norm) of each compact posting, from the current norms: search() then reads one
   * array in order instead of looking up every unit's norm (about a third less time per query at
   * 10,000 entries, for 4 bytes per posting).
   */
  private baseCoef: Float32Array = new Float32Array(0);
  /** postings added since the last compact(), by term */
  private extra: (Postings | undefined)[] = [];
  /** number of entries with each term (in any field) */
  private readonly df: number[] = [];

  private nUnits = 0;
  private unitEntry: Int32Array = new Int32Array(16);
  private unitField: Uint8Array = new Uint8Array(16);
  private unitLen: Float32Array = new Float32Array(16 * NK);
  /** distinct term ids of each unit, sorted (for coverage) */
  private readonly unitTerms: Int32Array[] = [];
  private readonly lenSum = [new Float64Array(NK), new Float64Array(NK)];
  private readonly fieldCount = [0, 0];
  /** k1 · (1 − b + b · len / avgLen) per unit and kind; recomputed when the index changed */
  private norm = new Float32Array(0);
  private normValid = false;

  /**
   * Whether search() may walk a query's postings without listing the units it touches, when
   * they are many (see DENSE_POSTINGS_PER_UNIT). Same results either way; false is for tests
   * and the bench's same-run comparison.
   */
  denseWalk = true;

  // per-query scratch
  private unitScore = new Float64Array(0);
  private touched = new Int32Array(0);
  private entryList = new Int32Array(0);
  private entryBest = new Float64Array(0);
  private entryAns = new Float64Array(0);
  private entrySeen = new Int32Array(0);
  private stamp = 0;

  constructor(params: Partial<QaParams> = {}) {
    this.params = { ...DEFAULT_PARAMS, ...params, kindWeights: { ...DEFAULT_PARAMS.kindWeights, ...params.kindWeights } };
    this.kindW = Float64Array.from(KINDS.map((k) => this.params.kindWeights[k]));
  }

  /** Number of entries. */
  get size(): number {
    return this.ids.length;
  }

  has(id: string): boolean {
    return this.entryById.has(id);
  }

  /** Adds an FAQ entry. An id already present is an error. */
  add(entry: FaqEntry): void {
    if (this.entryById.has(entry.id)) throw new Error(`duplicate FAQ entry id "${entry.id}"`);
    const e = this.ids.length;
    this.ids.push(entry.id);
    this.entryById.set(entry.id, e);
    this.entryUnits.push([]);
    const counted = new Set<number>();
    this.addUnit(e, FIELD_PHRASING, analyze(entry.question), counted);
    for (const alt of entry.alternates ?? []) this.addUnit(e, FIELD_PHRASING, analyze(alt), counted);
    this.addUnit(e, FIELD_ANSWER, analyze(entry.answer), counted);
  }

  /**
   * Adds another way of asking entry `id` (say, a student's question that an instructor answered
   * with this entry). Returns false if there is no such entry or the text has no usable terms.
   */
  addPhrasing(id: string, text: string): boolean {
    const e = this.entryById.get(id);
    if (e === undefined) return false;
    const a = analyze(text);
    if (KINDS.every((k) => a[SOURCES[k]].length === 0)) return false;
    const counted = new Set<number>();
    for (const u of this.entryUnits[e]!) for (const t of this.unitTerms[u]!) counted.add(t);
    this.addUnit(e, FIELD_PHRASING, a, counted);
    return true;
  }

  private termId(key: string, kind: number): number {
    let t = this.vocab.get(key);
    if (t === undefined) {
      t = this.termKind.length;
      this.vocab.set(key, t);
      this.termKind.push(kind);
      this.df.push(0);
    }
    return t;
  }

  /** `counted`: the terms this entry already has (for df). */
  private addUnit(e: number, field: number, a: Analyzed, counted: Set<number>): void {
    const u = this.nUnits++;
    this.unitEntry = grow(this.unitEntry, u + 1);
    this.unitField = grow(this.unitField, u + 1);
    this.unitLen = grow(this.unitLen, (u + 1) * NK);
    const tf = new Map<number, number>();
    for (let k = 0; k < NK; k++) {
      const terms = a[SOURCES[KINDS[k]!]];
      this.unitLen[u * NK + k] = terms.length;
      this.lenSum[field]![k]! += terms.length;
      for (const term of terms) {
        const t = this.termId(KIND_PREFIX[k] + term, k);
        tf.set(t, (tf.get(t) ?? 0) + 1);
      }
    }
    const terms = Int32Array.from(tf.keys()).sort();
    for (const t of terms) {
      if (!counted.has(t)) {
        counted.add(t);
        this.df[t]!++;
      }
      (this.extra[t] ??= new Postings()).push(u, tf.get(t)!);
    }
    this.unitEntry[u] = e;
    this.unitField[u] = field;
    this.unitTerms.push(terms);
    this.entryUnits[e]!.push(u);
    this.fieldCount[field]!++;
    this.normValid = false;
  }

  private refreshNorms(): void {
    if (this.normValid) return;
    const p = this.params;
    const bs = [p.bPhrasing, p.bAnswer];
    const avg = [0, 1].map((f) =>
      Float64Array.from(KINDS, (_, k) => (this.fieldCount[f]! ? this.lenSum[f]![k]! / this.fieldCount[f]! : 0) || 1),
    );
    this.norm = grow(this.norm, this.nUnits * NK);
    for (let u = 0; u < this.nUnits; u++) {
      const f = this.unitField[u]!;
      const b = bs[f]!;
      for (let k = 0; k < NK; k++) this.norm[u * NK + k] = p.k1 * (1 - b + (b * this.unitLen[u * NK + k]!) / avg[f]![k]!);
    }
    const nBase = this.baseStart.length - 1;
    if (this.baseCoef.length !== this.baseUnits.length) this.baseCoef = new Float32Array(this.baseUnits.length);
    for (let t = 0; t < nBase; t++) {
      const kind = this.termKind[t]!;
      for (let i = this.baseStart[t]!, end = this.baseStart[t + 1]!; i < end; i++) {
        const tf = this.baseTfs[i]!;
        this.baseCoef[i] = tf / (tf + this.norm[this.baseUnits[i]! * NK + kind]!);
      }
    }
    this.normValid = true;
  }

  private ensureScratch(): void {
    if (this.unitScore.length < this.nUnits) {
      this.unitScore = new Float64Array(this.nUnits * 2);
      this.touched = new Int32Array(this.nUnits * 2);
    }
    if (this.entryBest.length < this.ids.length) {
      const n = this.ids.length * 2;
      this.entryBest = new Float64Array(n);
      this.entryAns = new Float64Array(n);
      this.entrySeen = new Int32Array(n);
      this.entryList = new Int32Array(n);
      this.stamp = 0;
    }
  }

  private idf(t: number): number {
    const n = this.ids.length;
    const df = this.df[t]!;
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }

  /** The query's terms that the index knows, and the total weight of the query (known or not). */
  private queryTerms(text: string): { terms: QueryTerm[]; total: number } {
    const a = analyze(text.length > MAX_QUERY_CHARS ? text.slice(0, MAX_QUERY_CHARS) : text);
    const n = this.ids.length;
    const unknownIdf = Math.log(1 + (n + 0.5) / 0.5);
    const seen = new Set<number>();
    const terms: QueryTerm[] = [];
    let total = 0;
    for (let k = 0; k < NK; k++) {
      const kw = this.kindW[k]!;
      if (kw <= 0) continue;
      for (const term of new Set(a[SOURCES[KINDS[k]!]])) {
        const t = this.vocab.get(KIND_PREFIX[k] + term);
        if (t === undefined) {
          total += unknownIdf * kw;
          continue;
        }
        if (seen.has(t)) continue;
        seen.add(t);
        const weight = this.idf(t) * kw;
        total += weight;
        terms.push({ term: t, kind: k, weight });
      }
    }
    // words written apart that the bank writes as one ("git hub" → github): only when known
    for (const j of a.joins) {
      const t = this.vocab.get(KIND_PREFIX[WORDS] + j);
      if (t === undefined || seen.has(t)) continue;
      seen.add(t);
      terms.push({ term: t, kind: WORDS, weight: this.idf(t) * this.kindW[WORDS]! });
    }
    return { terms, total };
  }

  /** The k best entries for a query, best first. */
  search(query: string, k = 5): SearchHit[] {
    return this.searchDetailed(query, k).hits;
  }

  /** search() plus the numbers the top hit's confidence is made of. */
  searchDetailed(query: string, k = 5): { hits: SearchHit[]; features: ConfidenceFeatures; self: number } {
    const features: ConfidenceFeatures = { coverage: 0, margin: 0, strength: 0 };
    if (this.ids.length === 0 || !(k >= 1) || typeof query !== 'string') return { hits: [], features, self: 0 };
    const { terms, total } = this.queryTerms(query);
    if (terms.length === 0) return { hits: [], features, self: 0 };
    this.refreshNorms();
    this.ensureScratch();
    const k1p1 = this.params.k1 + 1;
    const norm = this.norm;
    const unitScore = this.unitScore;
    const baseTerms = this.baseStart.length - 1;
    // Dense: when the query's postings are many against the number of units (common words, the
    // trigrams of common English words), the walk does not keep a list of the units it touched
    // (a branch on every posting) and the units are swept in order afterwards instead.
    let postings = 0;
    for (const q of terms) {
      if (q.term < baseTerms) postings += this.baseStart[q.term + 1]! - this.baseStart[q.term]!;
      postings += this.extra[q.term]?.n ?? 0;
    }
    const dense = this.denseWalk && postings >= DENSE_POSTINGS_PER_UNIT * this.nUnits;
    const touched = this.touched;
    let nTouched = 0;
    for (const q of terms) {
      const w = q.weight * k1p1;
      if (w <= 0) continue;
      const kind = q.kind;
      const t = q.term;
      if (t < baseTerms) {
        const units = this.baseUnits;
        const coef = this.baseCoef;
        const end = this.baseStart[t + 1]!;
        if (dense) for (let i = this.baseStart[t]!; i < end; i++) unitScore[units[i]!]! += w * coef[i]!;
        else
          for (let i = this.baseStart[t]!; i < end; i++) {
            const u = units[i]!;
            if (unitScore[u] === 0) touched[nTouched++] = u;
            unitScore[u]! += w * coef[i]!;
          }
      }
      const post = this.extra[t];
      if (post) {
        const units = post.units;
        const tfs = post.tfs;
        for (let i = 0, n = post.n; i < n; i++) {
          const u = units[i]!;
          const tf = tfs[i]!;
          if (!dense && unitScore[u] === 0) touched[nTouched++] = u;
          unitScore[u]! += (w * tf) / (tf + norm[u * NK + kind]!);
        }
      }
    }
    // units → entries: best phrasing, answer
    const stamp = ++this.stamp;
    const entries = this.entryList;
    let nEntries = 0;
    for (let x = 0, n = dense ? this.nUnits : nTouched; x < n; x++) {
      const u = dense ? x : touched[x]!;
      const s = unitScore[u]!;
      if (s === 0) continue;
      unitScore[u] = 0;
      const e = this.unitEntry[u]!;
      if (this.entrySeen[e] !== stamp) {
        this.entrySeen[e] = stamp;
        this.entryBest[e] = 0;
        this.entryAns[e] = 0;
        entries[nEntries++] = e;
      }
      if (this.unitField[u] === FIELD_PHRASING) {
        if (s > this.entryBest[e]!) this.entryBest[e] = s;
      } else this.entryAns[e]! += s;
    }
    // top max(k, 2) by insertion; equal scores: the entry added first (the same whichever walk)
    const want = Math.max(Math.floor(k), 2);
    const top: { e: number; s: number }[] = [];
    const aw = this.params.answerWeight;
    for (let x = 0; x < nEntries; x++) {
      const e = entries[x]!;
      const s = this.entryBest[e]! + aw * this.entryAns[e]!;
      if (top.length === want && !before(s, e, top[want - 1]!)) continue;
      if (top.length < want) top.push({ e, s });
      else top[want - 1] = { e, s };
      for (let i = top.length - 1; i > 0 && before(top[i]!.s, top[i]!.e, top[i - 1]!); i--) {
        const tmp = top[i]!;
        top[i] = top[i - 1]!;
        top[i - 1] = tmp;
      }
    }
    const first = top[0]!;
    // the score the query would get against a phrasing identical to it (tf 1, average length)
    let self = 0;
    for (const q of terms) self += q.weight;
    const f1 = this.features(first.e, first.s, top[1]?.s ?? 0, terms, total, self);
    const hits = top.slice(0, Math.floor(k)).map((t, i) => {
      const f = i === 0 ? f1 : this.features(t.e, t.s, first.s, terms, total, self);
      return { id: this.ids[t.e]!, score: t.s, confidence: confidenceOf(f, this.params.confidence) };
    });
    return { hits, features: f1, self };
  }

  private features(e: number, s: number, other: number, terms: QueryTerm[], total: number, self: number): ConfidenceFeatures {
    let matched = 0;
    for (const q of terms) {
      for (const u of this.entryUnits[e]!) {
        if (hasTerm(this.unitTerms[u]!, q.term)) {
          matched += q.weight;
          break;
        }
      }
    }
    return {
      coverage: total > 0 ? matched / total : 0,
      // relative to the larger of the score and what the query would score against itself, so a
      // lone weak match (one common character in an answer) has no margin to speak of
      margin: s > 0 ? Math.max(-1, (s - other) / Math.max(s, self)) : 0,
      strength: self > 0 ? Math.min(2, this.entryBest[e]! / self) : 0,
    };
  }

  /** Which of the query's terms an entry matched, and what each added (for debugging a ranking). */
  explain(query: string, id: string): { term: string; field: 'phrasing' | 'answer'; score: number }[] {
    const e = this.entryById.get(id);
    if (e === undefined) return [];
    this.refreshNorms();
    const { terms } = this.queryTerms(query);
    const keys = [...this.vocab.keys()];
    const out: { term: string; field: 'phrasing' | 'answer'; score: number }[] = [];
    for (const q of terms) {
      for (const [u, tf] of this.postingsOf(q.term)) {
        if (this.unitEntry[u] !== e) continue;
        const s = (q.weight * (this.params.k1 + 1) * tf) / (tf + this.norm[u * NK + q.kind]!);
        const phrasing = this.unitField[u] === FIELD_PHRASING;
        out.push({ term: keys[q.term]!, field: phrasing ? 'phrasing' : 'answer', score: phrasing ? s : s * this.params.answerWeight });
      }
    }
    return out;
  }

  /** A term's postings as [unit, tf] pairs, the compact block's first. */
  private *postingsOf(t: number): Generator<[number, number]> {
    if (t < this.baseStart.length - 1) for (let i = this.baseStart[t]!; i < this.baseStart[t + 1]!; i++) yield [this.baseUnits[i]!, this.baseTfs[i]!];
    const post = this.extra[t];
    if (post) for (let i = 0; i < post.n; i++) yield [post.units[i]!, post.tfs[i]!];
  }

  /**
   * Folds the postings added since the last compact() into the compact block (each term's units
   * stay in the order they were added, so scores are summed in the same order as before).
   */
  compact(): void {
    const nTerms = this.termKind.length;
    const oldTerms = this.baseStart.length - 1;
    if (oldTerms === nTerms && this.extra.every((p) => p === undefined)) return;
    const start = new Int32Array(nTerms + 1);
    for (let t = 0; t < nTerms; t++) {
      const base = t < oldTerms ? this.baseStart[t + 1]! - this.baseStart[t]! : 0;
      start[t + 1] = start[t]! + base + (this.extra[t]?.n ?? 0);
    }
    const units = new Int32Array(start[nTerms]!);
    const tfs = new Float32Array(start[nTerms]!);
    for (let t = 0; t < nTerms; t++) {
      let at = start[t]!;
      if (t < oldTerms) {
        const from = this.baseStart[t]!;
        const to = this.baseStart[t + 1]!;
        units.set(this.baseUnits.subarray(from, to), at);
        tfs.set(this.baseTfs.subarray(from, to), at);
        at += to - from;
      }
      const post = this.extra[t];
      if (post) {
        units.set(post.units.subarray(0, post.n), at);
        tfs.set(post.tfs.subarray(0, post.n), at);
      }
    }
    this.baseStart = start;
    this.baseUnits = units;
    this.baseTfs = tfs;
    this.extra = [];
    // baseCoef follows the compact block's layout
    this.normValid = false;
  }

  /** Everything the index is made of, compacted (for stored-index.ts). */
  exportState(): IndexState {
    this.compact();
    const nUnits = this.nUnits;
    const termStart = new Int32Array(nUnits + 1);
    for (let u = 0; u < nUnits; u++) termStart[u + 1] = termStart[u]! + this.unitTerms[u]!.length;
    const termIds = new Int32Array(termStart[nUnits]!);
    for (let u = 0; u < nUnits; u++) termIds.set(this.unitTerms[u]!, termStart[u]!);
    return {
      ids: [...this.ids],
      terms: [...this.vocab.keys()],
      termKind: Uint8Array.from(this.termKind),
      df: Int32Array.from(this.df),
      postStart: this.baseStart,
      postUnits: this.baseUnits,
      postTfs: this.baseTfs,
      unitEntry: this.unitEntry.slice(0, nUnits),
      unitField: this.unitField.slice(0, nUnits),
      unitLen: this.unitLen.slice(0, nUnits * NK),
      unitTermStart: termStart,
      unitTermIds: termIds,
      lenSum: Float64Array.from([...this.lenSum[0]!, ...this.lenSum[1]!]),
      fieldCount: [this.fieldCount[0]!, this.fieldCount[1]!],
    };
  }

  /**
   * An index from an exported state. The state is checked for consistency (sizes agree, every id
   * in range) and a state that is not consistent throws: stored bytes are never trusted blindly.
   */
  static fromState(s: IndexState, params: Partial<QaParams> = {}): QaIndex {
    checkState(s);
    const index = new QaIndex(params);
    const nEntries = s.ids.length;
    const nUnits = s.unitEntry.length;
    for (let e = 0; e < nEntries; e++) {
      if (index.entryById.has(s.ids[e]!)) throw new Error(`stored index: duplicate entry id "${s.ids[e]}"`);
      index.ids.push(s.ids[e]!);
      index.entryById.set(s.ids[e]!, e);
      index.entryUnits.push([]);
    }
    for (let t = 0; t < s.terms.length; t++) {
      if (index.vocab.has(s.terms[t]!)) throw new Error('stored index: duplicate term');
      index.vocab.set(s.terms[t]!, t);
      index.termKind.push(s.termKind[t]!);
      index.df.push(s.df[t]!);
    }
    index.baseStart = s.postStart;
    index.baseUnits = s.postUnits;
    index.baseTfs = s.postTfs;
    index.nUnits = nUnits;
    index.unitEntry = s.unitEntry;
    index.unitField = s.unitField;
    index.unitLen = s.unitLen;
    for (let u = 0; u < nUnits; u++) {
      index.unitTerms.push(s.unitTermIds.subarray(s.unitTermStart[u]!, s.unitTermStart[u + 1]!));
      index.entryUnits[s.unitEntry[u]!]!.push(u);
    }
    for (let k = 0; k < NK; k++) {
      index.lenSum[0]![k] = s.lenSum[k]!;
      index.lenSum[1]![k] = s.lenSum[NK + k]!;
    }
    index.fieldCount[0] = s.fieldCount[0];
    index.fieldCount[1] = s.fieldCount[1];
    return index;
  }
}

/** What an index is made of, as exportState() gives it and fromState() takes it. */
export interface IndexState {
  ids: string[];
  /** the vocabulary by term id (kind prefix + term) */
  terms: string[];
  termKind: Uint8Array;
  df: Int32Array;
  postStart: Int32Array;
  postUnits: Int32Array;
  postTfs: Float32Array;
  unitEntry: Int32Array;
  unitField: Uint8Array;
  /** per unit and term kind */
  unitLen: Float32Array;
  unitTermStart: Int32Array;
  unitTermIds: Int32Array;
  /** phrasing kinds, then answer kinds */
  lenSum: Float64Array;
  fieldCount: [number, number];
}

/** Throws unless every size agrees and every reference points inside the index. */
function checkState(s: IndexState): void {
  const fail = (what: string): never => {
    throw new Error(`stored index: ${what}`);
  };
  const nEntries = s.ids.length;
  const nTerms = s.terms.length;
  const nUnits = s.unitEntry.length;
  if (s.termKind.length !== nTerms || s.df.length !== nTerms || s.postStart.length !== nTerms + 1) fail('term tables of different sizes');
  if (s.unitField.length !== nUnits || s.unitLen.length !== nUnits * NK || s.unitTermStart.length !== nUnits + 1) fail('unit tables of different sizes');
  if (s.postUnits.length !== s.postTfs.length || s.postStart[0] !== 0 || s.postStart[nTerms] !== s.postUnits.length) fail('postings of the wrong size');
  if (s.unitTermStart[0] !== 0 || s.unitTermStart[nUnits] !== s.unitTermIds.length) fail('unit terms of the wrong size');
  if (s.lenSum.length !== 2 * NK || s.fieldCount.length !== 2) fail('field sums of the wrong size');
  if (s.ids.some((id) => typeof id !== 'string') || s.terms.some((t) => typeof t !== 'string')) fail('ids or terms not strings');
  for (let t = 0; t < nTerms; t++) {
    if (s.postStart[t + 1]! < s.postStart[t]!) fail('postings out of order');
    if (s.termKind[t]! >= NK || s.df[t]! < 0 || s.df[t]! > nEntries) fail('term out of range');
  }
  for (let i = 0; i < s.postUnits.length; i++) if (!(s.postUnits[i]! >= 0 && s.postUnits[i]! < nUnits && s.postTfs[i]! > 0)) fail('posting out of range');
  for (let u = 0; u < nUnits; u++) {
    if (s.unitTermStart[u + 1]! < s.unitTermStart[u]!) fail('unit terms out of order');
    if (!(s.unitEntry[u]! >= 0 && s.unitEntry[u]! < nEntries) || s.unitField[u]! > 1) fail('unit out of range');
  }
  // sorted within each unit (hasTerm searches them), every id a term
  for (let u = 0; u < nUnits; u++)
    for (let i = s.unitTermStart[u]!, end = s.unitTermStart[u + 1]!; i < end; i++) {
      const t = s.unitTermIds[i]!;
      if (!(t >= 0 && t < nTerms) || (i > s.unitTermStart[u]! && t <= s.unitTermIds[i - 1]!)) fail('unit term out of range or order');
    }
}

/**
 * The walk is dense when the query's postings number at least this many times the units:
 * sweeping every unit once then costs no more than a branch on every posting (measured at
 * 10,000 entries, 20,000 units: about even at 1-2 postings a unit, the dense walk 20-30% faster
 * at 4-8, slower below 1).
 */
const DENSE_POSTINGS_PER_UNIT = 1;

/** Whether score s of entry e ranks before t (higher score; equal: the entry added first). */
function before(s: number, e: number, t: { e: number; s: number }): boolean {
  return s > t.s || (s === t.s && e < t.e);
}

function hasTerm(sorted: Int32Array, t: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid]!;
    if (v === t) return true;
    if (v < t) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Builds an index over FAQ entries. */
export function buildIndex(entries: Iterable<FaqEntry>, params: Partial<QaParams> = {}): QaIndex {
  const index = new QaIndex(params);
  for (const e of entries) index.add(e);
  index.compact();
  return index;
}
