/**
 * Loading FAQ banks and query sets (JSON Lines) and measuring retrieval on them.
 *
 * bank.jsonl: one `{"id", "question", "answer", "alternates"?}` a line (or a course's faq.yaml).
 * queries.jsonl: one `{"query", "gold"}` a line, gold being the id of the entry that answers it,
 * or null when no entry does (chit-chat, other topics: the bot must not answer those).
 * Blank lines are skipped; anything else that is not such an object is a QaDataError naming the
 * file and the line.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { PlainBm25 } from './baseline.js';
import { isSmallTalk } from './detect.js';
import { decide, DEFAULT_CLARIFY, DEFAULT_THRESHOLD, type Decision, type PolicySettings } from './policy.js';
import { buildIndex, type FaqEntry, type QaIndex, type QaParams } from './retrieval.js';

export class QaDataError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
    this.name = 'QaDataError';
  }
}

export interface QaQuery {
  query: string;
  /** the entry that answers it; null when no entry does (chit-chat, other topics) */
  gold: string | null;
}

function readLines(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new QaDataError(file, 0, `cannot read: ${(e as Error).message}`);
  }
  return text.replace(/^\uFEFF/, '').split(/\r?\n/);
}

function parseObject(file: string, line: number, text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new QaDataError(file, line, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new QaDataError(file, line, 'expected a JSON object');
  return v as Record<string, unknown>;
}

function field(file: string, line: number, o: Record<string, unknown>, name: string, allowEmpty = false): string {
  const v = o[name];
  if (typeof v !== 'string') throw new QaDataError(file, line, `"${name}" must be a string`);
  if (!allowEmpty && v.trim() === '') throw new QaDataError(file, line, `"${name}" is empty`);
  return v;
}

export function parseBank(file: string, lines: string[]): FaqEntry[] {
  const out: FaqEntry[] = [];
  const seen = new Map<string, number>();
  lines.forEach((text, i) => {
    const line = i + 1;
    if (text.trim() === '') return;
    const o = parseObject(file, line, text);
    const id = field(file, line, o, 'id');
    const question = field(file, line, o, 'question');
    const answer = field(file, line, o, 'answer', true);
    const entry: FaqEntry = { id, question, answer };
    if (o.alternates !== undefined) {
      if (!Array.isArray(o.alternates) || !o.alternates.every((a) => typeof a === 'string'))
        throw new QaDataError(file, line, '"alternates" must be a list of strings');
      entry.alternates = o.alternates as string[];
    }
    const before = seen.get(id);
    if (before !== undefined) throw new QaDataError(file, line, `duplicate id "${id}" (first on line ${before})`);
    seen.set(id, line);
    out.push(entry);
  });
  if (out.length === 0) throw new QaDataError(file, 0, 'no entries');
  return out;
}

export function parseQueries(file: string, lines: string[], bankIds?: ReadonlySet<string>): QaQuery[] {
  const out: QaQuery[] = [];
  lines.forEach((text, i) => {
    const line = i + 1;
    if (text.trim() === '') return;
    const o = parseObject(file, line, text);
    const query = field(file, line, o, 'query');
    const gold = o.gold === null ? null : field(file, line, o, 'gold');
    if (gold !== null && bankIds && !bankIds.has(gold)) throw new QaDataError(file, line, `gold "${gold}" is not an id in the bank`);
    out.push({ query, gold });
  });
  if (out.length === 0) throw new QaDataError(file, 0, 'no queries');
  return out;
}

/** A bank in JSON Lines, or a course's faq.yaml (`entries: [{id, q, also, a}]`). */
export function loadBank(file: string): FaqEntry[] {
  return /\.ya?ml$/i.test(file) ? parseFaqYaml(file, readLines(file).join('\n')) : parseBank(file, readLines(file));
}

export function parseFaqYaml(file: string, text: string): FaqEntry[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new QaDataError(file, 0, `not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  const entries = (doc as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries) || entries.length === 0) throw new QaDataError(file, 0, 'expected "entries:" with at least one entry');
  const out: FaqEntry[] = [];
  const seen = new Set<string>();
  entries.forEach((e: unknown, i) => {
    const o = (e ?? {}) as Record<string, unknown>;
    const where = `entries[${i}]`;
    if (typeof o.id !== 'string' || typeof o.q !== 'string' || typeof o.a !== 'string') throw new QaDataError(file, 0, `${where}: needs string id, q and a`);
    if (seen.has(o.id)) throw new QaDataError(file, 0, `${where}: duplicate id "${o.id}"`);
    seen.add(o.id);
    const also = Array.isArray(o.also) ? o.also.filter((x): x is string => typeof x === 'string') : [];
    out.push({ id: o.id, question: o.q, answer: o.a, alternates: also });
  });
  return out;
}

export function loadQueries(file: string, bankIds?: ReadonlySet<string>): QaQuery[] {
  return parseQueries(file, readLines(file), bankIds);
}

export interface QaMetrics {
  /** every query, the ones no entry answers included */
  n: number;
  /** ranking figures are over the queries that have a gold entry */
  top1: number;
  mrr: number;
  recall5: number;
  p50_ms: number;
  p99_ms: number;
}

/** What the bot did with a query under the policy, judged against its gold entry. */
export const OUTCOMES = ['answered_right', 'answered_wrong', 'clarified_hit', 'clarified_miss', 'escalated', 'silent'] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** Shares of all queries; they sum to 1. */
export type PolicyTable = Record<Outcome, number>;

export interface QueryResult {
  query: string;
  gold: string | null;
  /** 1-based rank of the gold entry among the first RANK_DEPTH hits, 0 if not there (or no gold) */
  rank: number;
  top: string | undefined;
  confidence: number;
  ms: number;
  decision: Decision;
  outcome: Outcome;
}

/** How deep the ranking is read for MRR. */
export const RANK_DEPTH = 20;

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Judges a decision against the gold entry, as the group rule acts: small talk is never taken
 * up (silent); a question nothing answers goes to the staff (escalated). For a query no entry answers (gold null) an answer is
 * wrong, a menu a miss, escalating or staying silent right.
 */
export function outcomeOf(gold: string | null, d: Decision, smallTalk: boolean): Outcome {
  if (smallTalk) return 'silent';
  if (d.kind === 'answer') return d.id === gold ? 'answered_right' : 'answered_wrong';
  if (d.kind === 'clarify') return gold !== null && d.ids.includes(gold) ? 'clarified_hit' : 'clarified_miss';
  // as in a group, where a question nothing answers goes to the staff (within their limits)
  return 'escalated';
}

/** The policy the bot runs with when the course says nothing: the `qa:` defaults. */
export const DEFAULT_POLICY: PolicySettings = { threshold: DEFAULT_THRESHOLD, clarify: DEFAULT_CLARIFY };

export function runQueries(index: QaIndex, queries: QaQuery[], policy: PolicySettings = DEFAULT_POLICY): QueryResult[] {
  return queries.map(({ query, gold }) => {
    const t = performance.now();
    const found = index.searchDetailed(query, RANK_DEPTH);
    const ms = performance.now() - t;
    const hits = found.hits;
    const rank = gold === null ? 0 : hits.findIndex((h) => h.id === gold) + 1;
    // what the `answer` action does: small talk is never taken up
    const smallTalk = isSmallTalk(query);
    const decision = decide({ ...found, weights: index.params.confidence }, policy);
    return { query, gold, rank, top: hits[0]?.id, confidence: hits[0]?.confidence ?? 0, ms, decision, outcome: outcomeOf(gold, decision, smallTalk) };
  });
}

export function metricsOf(results: QueryResult[]): QaMetrics {
  const n = results.length;
  const ranked = results.filter((r) => r.gold !== null);
  const m = ranked.length || 1;
  const top1 = ranked.filter((r) => r.rank === 1).length / m;
  const mrr = ranked.reduce((s, r) => s + (r.rank ? 1 / r.rank : 0), 0) / m;
  const recall5 = ranked.filter((r) => r.rank >= 1 && r.rank <= 5).length / m;
  const ms = results.map((r) => r.ms);
  return {
    n,
    top1: round(top1),
    mrr: round(mrr),
    recall5: round(recall5),
    p50_ms: round(percentile(ms, 50)),
    p99_ms: round(percentile(ms, 99)),
  };
}

/** The policy's outcomes as shares of all queries (rounded to 3 places). */
export function policyOf(results: QueryResult[]): PolicyTable {
  const n = results.length || 1;
  const out = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as PolicyTable;
  for (const r of results) out[r.outcome]++;
  for (const o of OUTCOMES) out[o] = round(out[o] / n);
  return out;
}

/**
 * A reproducible split of a query set, made before any tuning: per gold entry, in file order, the
 * first half of its phrasings (rounded up) is `dev` and the rest `heldout`; queries with no gold
 * entry alternate. Tune on dev, report both.
 */
export type Split = 'all' | 'dev' | 'heldout';

export function splitQueries(queries: QaQuery[], split: Split): QaQuery[] {
  if (split === 'all') return queries;
  const total = new Map<string | null, number>();
  for (const q of queries) total.set(q.gold, (total.get(q.gold) ?? 0) + 1);
  const seen = new Map<string | null, number>();
  return queries.filter((q) => {
    const k = seen.get(q.gold) ?? 0;
    seen.set(q.gold, k + 1);
    const dev = q.gold === null ? k % 2 === 0 : k < Math.ceil(total.get(q.gold)! / 2);
    return split === 'dev' ? dev : !dev;
  });
}

/** Top-1 of plain BM25 (baseline.ts) on the queries that have a gold entry. */
export function plainTop1(bank: FaqEntry[], queries: QaQuery[]): number {
  const plain = new PlainBm25(bank);
  const ranked = queries.filter((q) => q.gold !== null);
  return round(ranked.filter((q) => plain.search(q.query, 1)[0] === q.gold).length / (ranked.length || 1));
}

export interface Evaluation {
  metrics: QaMetrics;
  policy: PolicyTable;
  results: QueryResult[];
  index: QaIndex;
  bank: FaqEntry[];
  queries: QaQuery[];
}

/** Loads a bank and a query set, indexes the bank, runs every query of the split under the policy. */
export function evaluateFiles(
  bankFile: string,
  queriesFile: string,
  opts: { params?: Partial<QaParams>; policy?: PolicySettings; split?: Split } = {},
): Evaluation {
  const bank = loadBank(bankFile);
  const queries = splitQueries(loadQueries(queriesFile, new Set(bank.map((e) => e.id))), opts.split ?? 'all');
  if (queries.length === 0) throw new QaDataError(queriesFile, 0, `no queries in the ${opts.split} split`);
  const index = buildIndex(bank, opts.params);
  index.search('warm up 预热', 1); // loads jieba and JIT-compiles outside the timings
  const results = runQueries(index, queries, opts.policy);
  return { metrics: metricsOf(results), policy: policyOf(results), results, index, bank, queries };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
