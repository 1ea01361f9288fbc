/**
 * `kequn eval-qa BANK QUERIES`: measures the local retrieval on an FAQ bank and a set of student
 * phrasings (JSON Lines, see docs/qa.md), the same way for any course.
 */
import { evaluateFiles, QaDataError, type QueryResult } from '../flows/qa/eval.js';

export interface EvalQaOptions {
  bank: string;
  queries: string;
  /** print the queries whose gold entry was not ranked first */
  misses: boolean;
  json: boolean;
  threshold: number;
  write: (line: string) => void;
}

export function runEvalQa(o: EvalQaOptions): number {
  let out: ReturnType<typeof evaluateFiles>;
  try {
    out = evaluateFiles(o.bank, o.queries);
  } catch (e) {
    if (e instanceof QaDataError) {
      o.write(`error: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const { metrics, results, index } = out;
  const answered = results.filter((r) => r.confidence >= o.threshold);
  const right = answered.filter((r) => r.rank === 1).length;
  const atThreshold = {
    threshold: o.threshold,
    answered: answered.length,
    answered_share: round(answered.length / (results.length || 1)),
    precision: round(right / (answered.length || 1)),
  };
  if (o.json) {
    o.write(JSON.stringify({ entries: index.size, ...metrics, at_threshold: atThreshold }));
    return 0;
  }
  o.write(`${index.size} entries, ${metrics.n} queries`);
  o.write(`top-1 ${metrics.top1.toFixed(3)}   MRR ${metrics.mrr.toFixed(3)}   recall@5 ${metrics.recall5.toFixed(3)}`);
  o.write(`latency p50 ${metrics.p50_ms.toFixed(2)} ms   p99 ${metrics.p99_ms.toFixed(2)} ms`);
  o.write(
    `at threshold ${o.threshold}: answers ${atThreshold.answered} of ${metrics.n} (${pctOf(atThreshold.answered_share)}), ` +
      `${pctOf(atThreshold.precision)} of them right; the rest escalate or stay silent`,
  );
  if (o.misses) for (const r of results.filter((x) => x.rank !== 1)) o.write(miss(r));
  return 0;
}

function miss(r: QueryResult): string {
  return `  miss: ${JSON.stringify(r.query)} gold ${r.gold} ranked ${r.rank || '>20'}, top ${r.top ?? '-'} (${r.confidence.toFixed(2)})`;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const pctOf = (x: number) => `${(x * 100).toFixed(1)}%`;
