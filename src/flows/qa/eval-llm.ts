/**
 * `kequn eval-qa --llm`: the same figures as the offline evaluation, measured through the
 * seller's own endpoint, the way the bot uses it: BM25 and the embeddings (when a model is set)
 * fused for the ranking, and the chat model deciding among the top passages whether to answer,
 * ask which one is meant, or say none fits. A question BM25 finds nothing relevant for is not
 * sent (as in the bot); a failed call falls back to the offline decision (as in the bot).
 */
import { buildVectorIndex, checkVectors, EMBED_BATCH, rrf, type VectorIndex } from './embeddings.js';
import { metricsOf, outcomeOf, policyOf, RANK_DEPTH, type PolicyTable, type QaMetrics, type QaQuery, type QueryResult } from './eval.js';
import { isSmallTalk } from './detect.js';
import { decide, type Decision, type PolicySettings } from './policy.js';
import { buildIndex, type FaqEntry } from './retrieval.js';
import type { LlmAnswerer } from './llm.js';

export interface LlmEvaluation {
  metrics: QaMetrics;
  policy: PolicyTable;
  results: QueryResult[];
  /** what happened with embeddings: the model, or why BM25 ranked alone */
  embeddings: string;
  calls: number;
  failures: number;
}

/** Chat calls in flight at once. */
const CONCURRENCY = 4;

export async function evaluateWithLlm(
  bank: FaqEntry[],
  queries: QaQuery[],
  answerer: LlmAnswerer,
  opts: { policy: PolicySettings; passages: number; minConfidence: number },
): Promise<LlmEvaluation> {
  const index = buildIndex(bank);
  index.search('warm up 预热', 1);
  const model = answerer.settings.embeddingModel;
  let vectors: VectorIndex | undefined;
  let queryVectors: number[][] | undefined;
  let embeddings = model ? `${model}` : 'none (no embedding model set: BM25 alone)';
  if (model) {
    const cache = new Map<string, number[]>();
    const built = await buildVectorIndex(
      bank.flatMap((e) => [e.question, ...(e.alternates ?? [])].map((text) => ({ entryId: e.id, text }))),
      { get: (h) => new Map(h.filter((x) => cache.has(x)).map((x) => [x, cache.get(x)!])), put: (rows) => rows.forEach((r) => cache.set(r.hash, r.vector)) },
      (texts) => answerer.embed(texts),
    );
    if ('error' in built) embeddings = `${model} failed (${built.error}): BM25 alone`;
    else {
      const qv: number[][] = [];
      for (let i = 0; i < queries.length && qv.length === i; i += EMBED_BATCH) {
        const batch = queries.slice(i, i + EMBED_BATCH).map((q) => q.query);
        const r = await answerer.embed(batch);
        const bad = 'error' in r ? r.error : checkVectors(r.vectors, batch.length, built.index.dims);
        if (bad || 'error' in r) {
          embeddings = `${model} failed on the questions (${bad}): BM25 alone`;
          break;
        }
        qv.push(...r.vectors);
      }
      if (qv.length === queries.length) {
        vectors = built.index;
        queryVectors = qv;
      }
    }
  }
  let calls = 0;
  let failures = 0;
  const results: QueryResult[] = new Array(queries.length);
  const run = async (i: number) => {
    const { query, gold } = queries[i]!;
    const t = performance.now();
    const found = index.searchDetailed(query, RANK_DEPTH);
    const ranking = vectors && queryVectors ? rrf([found.hits.map((h) => h.id), vectors.search(queryVectors[i]!, RANK_DEPTH).map((h) => h.id)]).slice(0, RANK_DEPTH) : found.hits.map((h) => h.id);
    const ms = performance.now() - t;
    const offline = decide({ ...found, weights: index.params.confidence }, opts.policy);
    // no call (nothing relevant, or small talk): what the bot does without the LLM
    let decision: Decision = offline;
    const top = found.hits[0];
    if (!isSmallTalk(query) && top && top.confidence >= opts.minConfidence) {
      const passages = ranking.slice(0, opts.passages).map((id) => {
        const e = bank.find((b) => b.id === id)!;
        return { id, question: e.question, answer: e.answer };
      });
      calls++;
      const o = await answerer.answer(query, passages);
      if (o.kind === 'answer') decision = { kind: 'answer', id: o.source, confidence: 1 };
      else if (o.kind === 'clarify') decision = { kind: 'clarify', ids: o.ids, confidence: 1 };
      else if (o.kind === 'none') decision = { kind: 'none', confidence: 0 };
      else {
        failures++;
        // the bot: the FAQ answer when retrieval alone was confident, else escalate
        decision = offline.kind === 'answer' ? offline : { kind: 'none', confidence: offline.confidence };
      }
    }
    const rank = gold === null ? 0 : ranking.indexOf(gold) + 1;
    results[i] = { query, gold, rank, top: ranking[0], confidence: top?.confidence ?? 0, ms, decision, outcome: outcomeOf(gold, decision, isSmallTalk(query)) };
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, queries.length) }, async () => {
      while (next < queries.length) await run(next++);
    }),
  );
  return { metrics: metricsOf(results), policy: policyOf(results), results, embeddings, calls, failures };
}
