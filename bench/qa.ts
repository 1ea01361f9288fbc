/**
 * Q&A retrieval at scale: index build time, memory and search latency with 10,000 FAQ entries
 * (synthetic, Zipf-distributed words), plus top-1 on the public evaluation sets when present.
 * Run: npx tsx bench/qa.ts
 */
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { evaluateFiles, percentile } from '../src/flows/qa/eval.js';
import { buildIndex } from '../src/flows/qa/retrieval.js';
import { syntheticBank, syntheticQueries } from '../src/flows/qa/synthetic.js';
import { warmUp } from '../src/flows/qa/tokenize.js';
import { report, type BenchResult } from './report.js';

export function benchQa(): BenchResult[] {
  const load0 = loadavg()[0]!.toFixed(1);
  warmUp();
  const out: BenchResult[] = [];
  const N = 10_000;
  const bank = syntheticBank(N);
  const queries = syntheticQueries(bank, 2000);
  global.gc?.();
  // The compact postings are typed arrays whose bytes are outside the JS heap: both counted.
  const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const heap0 = used();
  const t0 = performance.now();
  const index = buildIndex(bank);
  out.push({ name: 'qa.build_10k', value: performance.now() - t0, unit: 'ms', note: `${N} entries` });
  global.gc?.();
  out.push({ name: 'qa.index_heap_10k', value: (used() - heap0) / 2 ** 20, unit: 'MB', note: 'JS heap and array buffers; approximate (run with --expose-gc for a steadier figure)' });
  for (const q of queries.slice(0, 200)) index.search(q.query, 5); // JIT warm-up
  const ms: number[] = [];
  let right = 0;
  for (const q of queries) {
    const t = performance.now();
    const hit = index.search(q.query, 5)[0];
    ms.push(performance.now() - t);
    if (hit?.id === q.gold) right++;
  }
  // Each query's fastest of 5 runs: what the search itself costs, without the waits of a
  // loaded machine (another process on the core, a GC) that the single-run p99 also holds.
  const best: number[] = [];
  for (const q of queries) {
    let b = Infinity;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      index.search(q.query, 5);
      b = Math.min(b, performance.now() - t);
    }
    best.push(b);
  }
  // Same run, alternating query by query: the dense walk (what search() does) against listing
  // the units each posting touches (the walk before the dense one; same results).
  const dense: number[] = [];
  const listed: number[] = [];
  for (const [i, q] of queries.entries()) {
    for (const d of i % 2 ? [true, false] : [false, true]) {
      index.denseWalk = d;
      const t = performance.now();
      index.search(q.query, 5);
      (d ? dense : listed).push(performance.now() - t);
    }
  }
  index.denseWalk = true;
  const load = `load average ${load0} at the start, ${loadavg()[0]!.toFixed(1)} at the end, on ${availableParallelism()} cores`;
  out.push({ name: 'qa.search_p50_10k', value: percentile(ms, 50), unit: 'ms' });
  out.push({ name: 'qa.search_p99_10k', value: percentile(ms, 99), unit: 'ms', baseline: 'fastest of 5 runs per query, p99', baseline_value: percentile(best, 99), ratio: percentile(best, 99) / percentile(ms, 99), target: '< 5 ms', met: percentile(ms, 99) < 5, note: `one run per query, ${queries.length} queries; ${load}` });
  out.push({ name: 'qa.search_dense_p50_10k', value: percentile(dense, 50), unit: 'ms', baseline: 'listing touched units, same run, alternating', baseline_value: percentile(listed, 50), ratio: percentile(listed, 50) / percentile(dense, 50) });
  out.push({ name: 'qa.search_dense_p99_10k', value: percentile(dense, 99), unit: 'ms', baseline: 'listing touched units, same run, alternating', baseline_value: percentile(listed, 99), ratio: percentile(listed, 99) / percentile(dense, 99), note: 'ratio > 1: the dense walk is faster' });
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
