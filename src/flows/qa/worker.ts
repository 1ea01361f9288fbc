/**
 * The Q&A feature's worker (Feature.workers): the LLM calls of questions the `answer` action left
 * pending, made outside any transaction (src/flows/qa/llm-worker.ts). The endpoint's settings
 * follow the config (a reload may change the model), so the LLM worker is rebuilt when it changes.
 */
import type { Worker, WorkerContext } from '../../core/feature.js';
import type { CourseConfig } from '../../core/types.js';
import { LlmAnswerer, llmSettingsFromEnv } from './llm.js';
import { LlmWorker } from './llm-worker.js';
import { hasPendingQuestions } from './store.js';

export function qaWorker(ctx: WorkerContext): Worker {
  let built: { config: CourseConfig; worker: LlmWorker | undefined } | undefined;
  const current = (): LlmWorker | undefined => {
    const config = ctx.config();
    if (built?.config !== config) {
      const settings = ctx.llmEnv ? llmSettingsFromEnv(ctx.llmEnv, config.qa, config.course.name) : null;
      built = {
        config,
        worker: settings ? new LlmWorker({ db: ctx.db, config: ctx.config, clock: ctx.clock, log: ctx.log, answerer: new LlmAnswerer(settings), services: ctx.services }) : undefined,
      };
    }
    return built.worker;
  };
  /** Runs the LLM calls of pending questions; what they produced is sent by the scheduler. */
  const drain = async (): Promise<number> => {
    const worker = current();
    if (!worker || !hasPendingQuestions(ctx.db)) return 0;
    try {
      return await worker.drain();
    } catch (e) {
      ctx.log.error({ err: (e as Error).message }, 'LLM worker failed');
      return 0;
    }
  };
  return {
    recover() {
      const worker = current();
      if (worker) ctx.log.info({ model: worker.model }, 'Q&A: LLM mode on (OPENAI_API_KEY is set)');
    },
    dispatch: drain,
    // A question just taken up: its LLM call starts now, not at the next tick (live mode).
    afterEvent() {
      if (ctx.live) void drain().then((n) => (n > 0 ? ctx.tick() : undefined));
    },
  };
}
