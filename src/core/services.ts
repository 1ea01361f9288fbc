import type { QaService } from '../flows/qa/service.js';

/**
 * Long-lived parts that flows use but that are not rows in the store: built by the kernel at
 * start and on config reload, handed to every run context.
 */
export interface Services {
  qa: QaService;
  /** An LLM endpoint is configured: `answer` hands questions to the LLM worker. */
  llm: boolean;
}
