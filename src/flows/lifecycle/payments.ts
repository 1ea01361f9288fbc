/**
 * The stage moves payments cause, as handlers of the orders feature's events (docs/lifecycle.md):
 * run in the transaction that marks the order paid or refunded, recorded with that event like the
 * `set_stage` action (same transitions, same trace).
 */
import type { RunContext } from '../../core/types.js';
import { moveByRule } from './move.js';

/** The stage a payment moves the buyer to: `lifecycle.on_paid`, else the catalog's paid stage. */
function paidStage(ctx: RunContext): string | undefined {
  return ctx.config.lifecycle.on_paid ?? ctx.trigger.order?.paidStage;
}

export function moveOnPayment(ctx: RunContext): void {
  const to = paidStage(ctx);
  if (to) moveByRule(ctx, to);
}

/**
 * A full refund revokes the paid stage: to `lifecycle.on_refunded` when set, else back to the
 * stage the member had before paying. A partial refund leaves the member a customer.
 */
export function moveOnRefund(ctx: RunContext): void {
  const order = ctx.trigger.order;
  if (!order) return;
  const back = ctx.config.lifecycle.on_refunded ?? order.stageBefore;
  if (order.state === 'refunded' && back && ctx.member.stage === paidStage(ctx) && ctx.config.stageIds.includes(back)) moveByRule(ctx, back);
}
