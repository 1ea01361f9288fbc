import type { CourseConfig } from '../../config/load.js';
import type { OrderHooks } from '../orders/contracts.js';
import type { Db } from '../../store/db.js';
import { getMember, setStage } from '../../store/members.js';
import { ensureCode } from '../referral/code.js';

/**
 * The lifecycle state machine: which stage moves the config allows (`stages[].to`), and the one
 * function every stage move goes through, so a rule, an instructor's `/stage` and a payment are
 * held to the same transitions and recorded the same way (event, rule, actor, time).
 */

/** Stages a member may move to from `from`; null when the config restricts nothing there. */
export function allowedFrom(config: CourseConfig, from: string): string[] | null {
  const stage = config.stages.find((s) => s.id === from);
  // A stage no longer in config (renamed): the member must be able to leave it.
  return stage?.to ?? null;
}

export function canMove(config: CourseConfig, from: string, to: string): boolean {
  const allowed = allowedFrom(config, from);
  return allowed === null || allowed.includes(to);
}

export type MoveResult =
  | { status: 'moved'; from: string; to: string; codeIssued?: string }
  | { status: 'same'; from: string; to: string }
  | { status: 'refused'; from: string; to: string; allowed: string[] };

/**
 * Moves a member to `to` if the config allows it from their current stage. A refused move changes
 * nothing; the caller records the refusal (trace note, reply). Entering a stage of
 * `referral.issue_at` issues the member's referral code.
 *
 * @example moveStage(db, config, { memberId, to: 'paid', eventId: null, ruleId: 'lifecycle.on_paid', actor: 'order:o1', now })
 */
export function moveStage(
  db: Db,
  config: CourseConfig,
  args: { memberId: string; to: string; eventId: number | null; ruleId: string | null; actor: string; now: number },
): MoveResult {
  const m = getMember(db, args.memberId);
  if (!m) throw new Error(`no member ${args.memberId}`);
  if (m.stage === args.to) return { status: 'same', from: m.stage, to: args.to };
  if (!canMove(config, m.stage, args.to)) return { status: 'refused', from: m.stage, to: args.to, allowed: allowedFrom(config, m.stage) ?? [] };
  setStage(db, args);
  const result: MoveResult = { status: 'moved', from: m.stage, to: args.to };
  if (config.referral?.issue_at.includes(args.to)) {
    const { code, issued } = ensureCode(db, { memberId: args.memberId, length: config.referral.code_length, now: args.now });
    if (issued) result.codeIssued = code.code;
  }
  return result;
}

/** One line for a trace or a reply. */
export function describeMove(r: MoveResult): string {
  switch (r.status) {
    case 'moved':
      return `stage ${r.from} → ${r.to}${r.codeIssued ? `; referral code ${r.codeIssued} issued` : ''}`;
    case 'same':
      return `stage already ${r.to}`;
    case 'refused':
      return `refused: stage ${r.from} → ${r.to} is not allowed by config (from ${r.from}: ${r.allowed.join(', ') || 'nowhere'})`;
  }
}

/**
 * Stage moves caused by payments (`lifecycle.on_paid`, `lifecycle.on_refunded`), run by the order
 * service in the transaction that marks the order paid or refunded. Recorded with rule
 * `lifecycle.on_paid` / `lifecycle.on_refunded` and actor `order:<id>`; a move the transitions do
 * not allow is skipped (the payment itself is never refused because of a stage).
 */
export const lifecycleOrderHooks: OrderHooks = {
  paid(db, config, order, now) {
    const to = config.lifecycle.on_paid;
    if (to) moveStage(db, config, { memberId: order.memberId, to, eventId: null, ruleId: 'lifecycle.on_paid', actor: `order:${order.id}`, now });
  },
  refunded(db, config, order, refundFen, now) {
    const to = config.lifecycle.on_refunded;
    // A partial refund leaves the member a customer.
    if (to && refundFen >= order.amountFen) {
      moveStage(db, config, { memberId: order.memberId, to, eventId: null, ruleId: 'lifecycle.on_refunded', actor: `order:${order.id}`, now });
    }
  },
};
