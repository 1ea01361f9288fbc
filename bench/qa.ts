/**
 * Q&A retrieval at scale: index build time, memory and search latency with 10,000 FAQ entries
 * (synthetic, Zipf-distributed words), plus top-1 on the public evaluation sets when present.
 * Run: npx tsx bench/qa.ts
 */
import { existsSync } from 'node:fs';
import { evaluateFiles, percentile } from '../src/flows/qa/eval.js';
import { buildIndex } from '../src/flows/qa/retrieval.js';
import { syntheticBank, syntheticQueries } from '../src/flows/qa/synthetic.js';
import { warmUp } from '../src/flows/qa/tokenize.js';
import { report, type BenchResult } from './report.js';

export function benchQa(): BenchResult[] {
  warmUp();
  const out: BenchResult[] = [];
  const N = 10_000;
  const bank = syntheticBank(N);
  const queries = syntheticQueries(bank, 2000);
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const index = buildIndex(bank);
  out.push({ name: 'qa.build_10k', value: performance.now() - t0, unit: 'ms', note: `${N} entries` });
  global.gc?.();
  out.push({ name: 'qa.index_heap_10k', value: (process.memoryUsage().heapUsed - heap0) / 2 ** 20, unit: 'MB', note: 'approximate (run with --expose-gc for a steadier figure)' });
  for (const q of queries.slice(0, 200)) index.search(q.query, 5); // JIT warm-up
  const ms: number[] = [];
  let right = 0;
  for (const q of queries) {
    const t = performance.now();
    const hit = index.search(q.query, 5)[0];
    ms.push(performance.now() - t);
    if (hit?.id === q.gold) right++;
  }
  out.push({ name: 'qa.search_p50_10k', value: percentile(ms, 50), unit: 'ms' });
  out.push({ name: 'qa.search_p99_10k', value: percentile(ms, 99), unit: 'ms', note: 'target < 5 ms' });
  out.push({ name: 'qa.synthetic_top1_10k', value: right / queries.length, unit: 'share', note: 'sanity check: synthetic queries are noisy copies' });
  for (const set of ['stackfaq', 'course-zh']) {
    const dir = `../shared/eval/${set}`;
    if (!existsSync(`${dir}/bank.jsonl`)) continue;
    const { metrics } = evaluateFiles(`${dir}/bank.jsonl`, `${dir}/queries-dev.jsonl`);
    out.push({ name: `qa.eval_${set}_top1`, value: metrics.top1, unit: 'share', note: `MRR ${metrics.mrr}, recall@5 ${metrics.recall5}` });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) report(benchQa());
