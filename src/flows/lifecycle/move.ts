import type { RunContext } from '../../core/types.js';
import { describeMove, moveStage, type MoveResult } from './stage-machine.js';

/** The `stages` service: every stage move of every feature goes through it (and the features' stage hook). */
export interface StagesService {
  /** Moves a member within the allowed transitions; the features hear of the entry in the same transaction. */
  move(db: Parameters<typeof moveStage>[0], config: Parameters<typeof moveStage>[1], args: Parameters<typeof moveStage>[2]): MoveResult;
}

/** The `set_stage` action's move: within the transitions, recorded with the run's event and rule. */
export function moveByRule(ctx: RunContext, stage: string): void {
  const r = ctx.services.stages.move(ctx.db, ctx.config, { memberId: ctx.member.id, to: stage, eventId: ctx.trigger.eventId, ruleId: ctx.ruleId, actor: 'bot', now: ctx.now });
  ctx.note(describeMove(r));
}
