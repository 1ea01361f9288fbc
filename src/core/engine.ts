import type { ChatEvent } from '../bot/events.js';
import { ingestChatEvent } from './engine/ingest.js';
import { JobRunner } from './engine/jobs.js';
import { ingestMemberEvent } from './engine/member-events.js';
import type { EngineDeps, HandleResult, MemberEvent } from './engine/types.js';

export type { EngineDeps, HandleResult, MemberEvent } from './engine/types.js';
export { parseCommand } from './command.js';

/**
 * The rule engine, in its parts (src/core/engine/): ingestion of platform events (ingest.ts) and
 * of features' member events (member-events.ts), command authorisation (commands.ts), rule
 * evaluation and traces (rules.ts), the run context actions get (run-context.ts), the one
 * delivery policy every sender goes through (delivery.ts), and scheduled jobs (jobs.ts). Each
 * event is handled in one transaction: log it (a redelivered event is dropped), resolve the
 * member, evaluate the rules against the state as it is, run the matching rules' actions, record
 * the trace.
 */
export class Engine {
  private readonly jobs: JobRunner;

  constructor(private readonly deps: EngineDeps) {
    this.jobs = new JobRunner(deps);
  }

  /** A platform's event (a message, a join, a friend request…); see ingest.ts. */
  handleEvent(event: ChatEvent, now: number): HandleResult {
    return ingestChatEvent(this.deps, event, now);
  }

  /** An event a feature emits about a member (`order.paid`); see member-events.ts. */
  handleMemberEvent(ev: MemberEvent, now: number): HandleResult {
    return ingestMemberEvent(this.deps, ev, now);
  }

  /** Runs the jobs due at `now`; returns how many ran (see jobs.ts). */
  runDueJobs(now: number, limit = 200): number {
    return this.jobs.runDue(now, limit);
  }
}
