import type { Db } from '../store/db.js';
import type { CourseConfig, Role } from '../config/load.js';
import type { Services } from './services.js';
import type { Platform } from '../bot/events.js';
import type { Member } from '../store/members.js';
import type { Priority } from '../store/outbox.js';
import type { z } from 'zod';

/** The normalised view of what triggered a rule run, for facts and actions. */
export interface Trigger {
  type: 'member.joined' | 'member.left' | 'message' | 'command' | 'timer' | 'order.paid' | 'order.refunded';
  platform: Platform;
  eventId: number | null;
  jobId: number | null;
  /** Group handle from config, when the event happened in a course group. */
  group: string | null;
  /** Where a `reply` goes: the group of the event, or the member's private chat. */
  replyTo: { kind: 'group' | 'dm'; id: string };
  /** The member's platform id on this platform (for DMs). */
  userPlatformId: string;
  text: string;
  isDm: boolean;
  mentionsBot: boolean;
  command: { name: string; args: string } | null;
  isNewMember: boolean;
  inviterMemberId: string | null;
  /** For `order.paid` / `order.refunded`: the order (amounts in fen, or Stars for XTR). */
  order?: { id: string; productId: string; amount: number; currency: string };
}

export interface RunContext {
  db: Db;
  config: CourseConfig;
  now: number;
  trigger: Trigger;
  member: Member;
  ruleId: string;
  /** Long-lived parts the flows share (the Q&A index). */
  services: Services;
  /** Queues a message in the outbox (in this transaction). */
  send(args: { to: 'reply' | 'dm'; text: string; priority?: Priority } | { to: 'chat'; chat: { kind: 'group' | 'dm'; id: string }; text: string; priority?: Priority }): void;
  /** Renders a template with the member/event variables plus `extra`. */
  render(template: string, extra?: Record<string, string>): string;
  /** Notes for the trace: what the action did. */
  note(text: string): void;
}

export type FactType = 'string' | 'number' | 'boolean' | 'strings' | 'duration';

export interface FactSpec {
  name: string;
  type: FactType;
  description: string;
  /** For parameterised facts (`fired_ago.<rule>`): checks the parameter at load. */
  param?: { describe: string; check(param: string, config: CourseConfig): string | undefined };
  get(ctx: Omit<RunContext, 'send' | 'render' | 'note' | 'ruleId'>, param?: string): unknown;
}

export interface CompileContext {
  config: CourseConfig;
  ruleIds: Set<string>;
}

export interface ActionSpec<A = unknown> {
  name: string;
  description: string;
  schema: z.ZodType<A>;
  /** Reference checks at load (unknown template, lesson, stage…); returns problems. */
  check?(arg: A, ctx: CompileContext): string[];
  run(arg: A, ctx: RunContext): void;
}

export interface JobContext extends RunContext {
  jobId: number;
  /** Runs an `on: timer` rule for the job's member; returns what happened, for the job's note. */
  runRule(ruleId: string): string;
}

/** A job kind a flow handles when the scheduler finds it due (`sequence.trial` → `sequence`). */
export interface JobHandler {
  kind: string;
  /** Writes the job's effects (outbox rows, stage moves) in the job's transaction; returns a note. */
  run(payload: unknown, ctx: JobContext): string;
}

/** A command's arguments did not parse: the sender gets the usage line. */
export class UsageError extends Error {}

/**
 * A built-in command (`/answer Q12 …`). Who may run it is decided here, in code, by the role of
 * the sender's platform id, so no edit of rules.yaml can open a privileged command to members.
 */
export interface CommandSpec {
  name: string;
  roles: readonly Role[];
  usage: string;
  description: string;
  /** Runs in the event's transaction; returns a note for the trace. Throws UsageError on bad args. */
  run(args: string, ctx: RunContext): string;
}

/** One flow: the facts, actions, commands and job kinds it contributes. Registered in flows/index.ts. */
export interface Flow {
  name: string;
  commands?: CommandSpec[];
  facts?: FactSpec[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each action has its own argument type
  actions?: ActionSpec<any>[];
  jobs?: JobHandler[];
}
