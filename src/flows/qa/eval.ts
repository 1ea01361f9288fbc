/**
 * Loading FAQ banks and query sets (JSON Lines) and measuring retrieval on them.
 *
 * bank.jsonl: one `{"id", "question", "answer", "alternates"?}` a line.
 * queries.jsonl: one `{"query", "gold"}` a line, gold being the id of the entry that answers it.
 * Blank lines are skipped; anything else that is not such an object is a QaDataError naming the
 * file and the line.
 */
import { readFileSync } from 'node:fs';
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
  gold: string;
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
    const gold = field(file, line, o, 'gold');
    if (bankIds && !bankIds.has(gold)) throw new QaDataError(file, line, `gold "${gold}" is not an id in the bank`);
    out.push({ query, gold });
  });
  if (out.length === 0) throw new QaDataError(file, 0, 'no queries');
  return out;
}

export function loadBank(file: string): FaqEntry[] {
  return parseBank(file, readLines(file));
}

export function loadQueries(file: string, bankIds?: ReadonlySet<string>): QaQuery[] {
  return parseQueries(file, readLines(file), bankIds);
}

export interface QaMetrics {
  n: number;
  top1: number;
  mrr: number;
  recall5: number;
  p50_ms: number;
  p99_ms: number;
}

export interface QueryResult {
  query: string;
  gold: string;
  /** 1-based rank of the gold entry among the first RANK_DEPTH hits, 0 if not there */
  rank: number;
  top: string | undefined;
  confidence: number;
  ms: number;
}

/** How deep the ranking is read for MRR. */
export const RANK_DEPTH = 20;

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function runQueries(index: QaIndex, queries: QaQuery[]): QueryResult[] {
  return queries.map(({ query, gold }) => {
    const t = performance.now();
    const hits = index.search(query, RANK_DEPTH);
    const ms = performance.now() - t;
    const rank = hits.findIndex((h) => h.id === gold) + 1;
    return { query, gold, rank, top: hits[0]?.id, confidence: hits[0]?.confidence ?? 0, ms };
  });
}

export function metricsOf(results: QueryResult[]): QaMetrics {
  const n = results.length;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const top1 = results.filter((r) => r.rank === 1).length / (n || 1);
  const mrr = results.reduce((s, r) => s + (r.rank ? 1 / r.rank : 0), 0) / (n || 1);
  const recall5 = results.filter((r) => r.rank >= 1 && r.rank <= 5).length / (n || 1);
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

/** Loads a bank and a query set, indexes the bank, runs every query. */
export function evaluateFiles(
  bankFile: string,
  queriesFile: string,
  params: Partial<QaParams> = {},
): { metrics: QaMetrics; results: QueryResult[]; index: QaIndex } {
  const bank = loadBank(bankFile);
  const queries = loadQueries(queriesFile, new Set(bank.map((e) => e.id)));
  const index = buildIndex(bank, params);
  index.search('warm up 预热', 1); // loads jieba and JIT-compiles outside the timings
  const results = runQueries(index, queries);
  return { metrics: metricsOf(results), results, index };
}
