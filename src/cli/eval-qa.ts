/**
 * `kequn eval-qa BANK QUERIES`: measures the local retrieval and the Q&A policy (answer, clarify,
 * escalate) on an FAQ bank and a set of student phrasings (JSON Lines, see docs/qa.md), the same
 * way for any course.
 */
import { evaluateFiles, OUTCOMES, plainTop1, QaDataError, type Outcome, type QueryResult, type Split } from '../flows/qa/eval.js';
import { DEFAULT_POLICY } from '../flows/qa/eval.js';
import type { PolicySettings } from '../flows/qa/policy.js';
import { LlmAnswerer, llmSettingsFromEnv } from '../flows/qa/llm.js';

import { qaDefaults } from '../flows/qa/config.js';

/** The qa.llm defaults: eval-qa runs without a course folder. */
const LLM_DEFAULTS = qaDefaults().llm;

export interface EvalQaOptions {
  bank: string;
  queries: string;
  /** print the queries whose gold entry was not ranked first, and the off-topic ones answered */
  misses: boolean;
  json: boolean;
  /** the answer threshold (qa.threshold); the menu keeps its defaults */
  threshold: number;
  split: Split;
  /** measure through the OpenAI-compatible endpoint in `env` (OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_MODEL, OPENAI_EMBEDDING_MODEL) */
  llm?: boolean;
  env?: NodeJS.ProcessEnv;
  write: (line: string) => void;
}

/** What each outcome is called in the table. */
const LABELS: Record<Outcome, string> = {
  answered_right: 'answered, right',
  answered_wrong: 'answered, wrong',
  clarified_hit: 'menu, right entry among the choices',
  clarified_miss: 'menu, right entry not among them',
  escalated: 'escalated to the staff',
  silent: 'silent (small talk)',
};

export async function runEvalQa(o: EvalQaOptions): Promise<number> {
  const policy: PolicySettings = { ...DEFAULT_POLICY, threshold: o.threshold };
  let out: ReturnType<typeof evaluateFiles>;
  try {
    out = evaluateFiles(o.bank, o.queries, { policy, split: o.split });
  } catch (e) {
    if (e instanceof QaDataError) {
      o.write(`error: ${e.message}`);
      return 2;
    }
    throw e;
  }
  let llmNote: string | undefined;
  if (o.llm) {
    const settings = llmSettingsFromEnv(o.env ?? process.env, { llm: { ...LLM_DEFAULTS, enabled: true } }, 'eval');
    if (!settings) {
      o.write('eval-qa --llm needs OPENAI_API_KEY (and OPENAI_BASE_URL for an endpoint other than OpenAI; OPENAI_MODEL, OPENAI_EMBEDDING_MODEL)');
      return 2;
    }
    const { evaluateWithLlm } = await import('../flows/qa/eval-llm.js');
    const r = await evaluateWithLlm(out.bank, out.queries, new LlmAnswerer(settings), { policy, passages: LLM_DEFAULTS.passages, minConfidence: LLM_DEFAULTS.min_confidence });
    out = { ...out, metrics: r.metrics, policy: r.policy, results: r.results };
    llmNote = `through ${settings.baseURL ?? 'OpenAI'}: chat model ${settings.model}, embeddings ${r.embeddings}; ${r.calls} chat calls, ${r.failures} failed (those fell back to the offline decision)`;
  }
  const { metrics, results, index, policy: table } = out;
  const plain = plainTop1(out.bank, out.queries);
  const answered = results.filter((r) => r.decision.kind === 'answer');
  const right = answered.filter((r) => r.outcome === 'answered_right').length;
  const offTopic = results.filter((r) => r.gold === null);
  const atThreshold = {
    threshold: o.threshold,
    answered: answered.length,
    answered_share: round(answered.length / (results.length || 1)),
    precision: round(right / (answered.length || 1)),
  };
  const settings = { threshold: policy.threshold, clarify_min: policy.clarify.min, choices: policy.clarify.choices, ratio: policy.clarify.ratio };
  if (o.json) {
    o.write(
      JSON.stringify({
        entries: index.size,
        split: o.split,
        ...metrics,
        plain_top1: plain,
        at_threshold: atThreshold,
        policy: table,
        off_topic: { n: offTopic.length, answered: round(offTopic.filter((r) => r.decision.kind === 'answer').length / (offTopic.length || 1)) },
        settings,
        ...(llmNote ? { llm: llmNote } : {}),
      }),
    );
    return 0;
  }
  o.write(`${index.size} entries, ${metrics.n} queries${o.split !== 'all' ? ` (${o.split} split)` : ''}${offTopic.length ? `, ${offTopic.length} of them answered by no entry` : ''}`);
  o.write(`top-1 ${metrics.top1.toFixed(3)} (plain BM25 ${plain.toFixed(3)})   MRR ${metrics.mrr.toFixed(3)}   recall@5 ${metrics.recall5.toFixed(3)}`);
  o.write(`latency p50 ${metrics.p50_ms.toFixed(2)} ms   p99 ${metrics.p99_ms.toFixed(2)} ms`);
  if (llmNote) o.write(`LLM ${llmNote}`);
  o.write(
    llmNote
      ? `policy: the chat model answers, asks which, or says none fits, among the top ${LLM_DEFAULTS.passages} passages`
      : `policy: answer at ${policy.threshold}, a menu of up to ${policy.clarify.choices} from ${policy.clarify.min}, else escalate`,
  );
  for (const k of OUTCOMES) o.write(`  ${LABELS[k].padEnd(38)} ${pctOf(table[k]).padStart(6)}`);
  o.write(`  ${'answered right or right entry offered'.padEnd(38)} ${pctOf(round(table.answered_right + table.clarified_hit)).padStart(6)}`);
  if (offTopic.length) o.write(`  ${'off-topic questions answered'.padEnd(38)} ${pctOf(round(offTopic.filter((r) => r.decision.kind === 'answer').length / offTopic.length)).padStart(6)}`);
  if (o.misses) {
    for (const r of results.filter((x) => x.gold !== null && x.rank !== 1)) o.write(miss(r));
    for (const r of offTopic.filter((x) => x.decision.kind === 'answer')) o.write(`  answered off-topic: ${JSON.stringify(r.query)} with ${r.top} (${r.confidence.toFixed(2)})`);
  }
  return 0;
}

function miss(r: QueryResult): string {
  return `  miss: ${JSON.stringify(r.query)} gold ${r.gold} ranked ${r.rank || '>20'}, top ${r.top ?? '-'} (${r.confidence.toFixed(2)}), ${r.outcome}`;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const pctOf = (x: number) => `${(x * 100).toFixed(1)}%`;
