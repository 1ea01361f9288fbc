import type { StageMove } from '../../core/feature.js';
import type { CourseConfig } from '../../core/types.js';
import type { Db } from '../../store/db.js';
import { getMember, setStage } from '../../store/members.js';

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
  | {
      status: 'moved';
      from: string;
      to: string;
      /** What the features did on the member's entry (a referral code issued): for the trace, and for a staff member's reply. */
      notes: string[];
      told: string[];
    }
  | { status: 'same'; from: string; to: string }
  | { status: 'refused'; from: string; to: string; allowed: string[] };

/**
 * Moves a member to `to` if the config allows it from their current stage. A refused move changes
 * nothing; the caller records the refusal (trace note, reply). A move that happens is told to the
 * features (`entered`: the registry's stage hook, e.g. entering a stage of `referral.issue_at`
 * issues the member's referral code), in the same transaction. Features call it through the
 * `stages` service, which passes the hook.
 *
 * @example moveStage(db, config, { memberId, to: 'paid', eventId: null, ruleId: 'lifecycle.on_paid', actor: 'order:o1', now }, entered)
 */
export function moveStage(
  db: Db,
  config: CourseConfig,
  args: { memberId: string; to: string; eventId: number | null; ruleId: string | null; actor: string; now: number },
  entered?: (move: StageMove) => void,
): MoveResult {
  const m = getMember(db, args.memberId);
  if (!m) throw new Error(`no member ${args.memberId}`);
  if (m.stage === args.to) return { status: 'same', from: m.stage, to: args.to };
  if (!canMove(config, m.stage, args.to)) return { status: 'refused', from: m.stage, to: args.to, allowed: allowedFrom(config, m.stage) ?? [] };
  setStage(db, args);
  const notes: string[] = [];
  const told: string[] = [];
  entered?.({ memberId: args.memberId, from: m.stage, to: args.to, note: (text) => notes.push(text), tell: (text) => told.push(text) });
  return { status: 'moved', from: m.stage, to: args.to, notes, told };
}

/** One line for a trace or a reply. */
export function describeMove(r: MoveResult): string {
  switch (r.status) {
    case 'moved':
      return [`stage ${r.from} → ${r.to}`, ...r.notes].join('; ');
    case 'same':
      return `stage already ${r.to}`;
    case 'refused':
      return `refused: stage ${r.from} → ${r.to} is not allowed by config (from ${r.from}: ${r.allowed.join(', ') || 'nowhere'})`;
  }
}
