import type { Db } from '../store/db.js';
import type { CourseConfig, Role } from '../config/load.js';
import type { Services } from './services.js';
import type { Platform, QuotedMessage } from '../bot/events.js';
import type { Member } from '../store/members.js';
import type { Priority } from '../store/outbox.js';
import type { z } from 'zod';

/** The normalised view of what triggered a rule run, for facts and actions. */
export interface Trigger {
  type: 'member.joined' | 'member.left' | 'message' | 'command' | 'timer' | 'checkin' | 'order.paid' | 'order.refunded' | 'channel.opened';
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
  /** The message this one replies to, when the platform says so structurally (Telegram). */
  quoted?: QuotedMessage;
  command: { name: string; args: string } | null;
  isNewMember: boolean;
  inviterMemberId: string | null;
  /** Template variables a follow-up carries (`{streak}` in an `on: checkin` rule's reply). */
  vars?: Record<string, string>;
  /** For `order.paid` / `order.refunded`: the order (amounts in fen, or Stars for XTR). */
  order?: { id: string; productId: string; amount: number; currency: string };
  /** For `channel.opened`: how the member's private channel opened (src/core/channel/observe.ts). */
  channel?: import('./channel/observe.js').ChannelOpening;
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
  /** Queues a message in the outbox (in this transaction); `lesson`: the lesson it carries (for the funnel). */
  send(
    args: { to: 'reply' | 'dm'; text: string; priority?: Priority; lesson?: number } | { to: 'chat'; chat: { kind: 'group' | 'dm'; id: string }; text: string; priority?: Priority; lesson?: number },
  ): void;
  /** Renders a template with the member/event variables plus `extra`. */
  render(template: string, extra?: Record<string, string>): string;
  /** Notes for the trace: what the action did. */
  note(text: string): void;
  /**
   * Runs the member's `on: <type>` rules once this rule's actions are done, against the state as
   * it is then (a check-in recorded, its streak counted): how milestones become rules.
   */
  emit(type: 'checkin', vars?: Record<string, string>): void;
}

export type FactType = 'string' | 'number' | 'boolean' | 'strings' | 'duration';

export interface FactSpec {
  name: string;
  type: FactType;
  description: string;
  /** For parameterised facts (`fired_ago.<rule>`): checks the parameter at load. */
  param?: { describe: string; check(param: string, config: CourseConfig): string | undefined };
  get(ctx: Omit<RunContext, 'send' | 'render' | 'note' | 'ruleId' | 'emit'>, param?: string): unknown;
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

/** A message a job that concerns no one member (a group reminder) queues in the outbox. */
export interface SystemMessage {
  platform: Platform;
  chat: { kind: 'group' | 'dm'; id: string };
  text: string;
  /** The member a private message is about (null for group messages). */
  memberId: string | null;
  /** Group handle, for a group message (its dry_run applies). */
  groupId: string | null;
  priority?: Priority;
}

/** What a job with no member (a standing schedule: the daily reminder) gets to work with. */
export interface SystemJobContext {
  db: Db;
  config: CourseConfig;
  now: number;
  jobId: number;
  /** The job's kind (`checkin.reminder`, `homework.open`). */
  kind: string;
  /** When the job was due (the occurrence it stands for; later than now only never). */
  dueAt: number;
  services: Services;
  /** Queues a message in the outbox, in the job's transaction; returns the outbox row id (0: not queued: the group is paused, or a private message is held for a channel not open). */
  send(message: SystemMessage): number;
  /** Plans another member-less job (the next occurrence, the next batch of a fan-out). */
  plan(job: StandingJob): void;
  note(text: string): void;
}

/** A job a flow wants planned: due at `dueAt`, deduplicated by kind and due time. */
export interface StandingJob {
  kind: string;
  dueAt: number;
  payload: Record<string, unknown>;
  /** Makes continuation jobs (`…#batch 3`) distinct from the occurrence that started them. */
  key?: string;
}

/** A job kind a flow handles when the scheduler finds it due (`sequence.trial` → `sequence`). */
export interface JobHandler {
  kind: string;
  /** Writes the job's effects (outbox rows, stage moves) in the job's transaction; returns a note. */
  run(payload: unknown, ctx: JobContext): string;
  /** For jobs planned without a member (standing schedules); same contract as `run`. */
  runSystem?(payload: unknown, ctx: SystemJobContext): string;
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

/** One flow: the facts, actions, commands and job kinds it contributes. Registered in src/core/registry.ts. */
export interface Flow {
  name: string;
  commands?: CommandSpec[];
  facts?: FactSpec[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each action has its own argument type
  actions?: ActionSpec<any>[];
  jobs?: JobHandler[];
  /**
   * The flow's standing schedule as config says it is now: the next occurrence of each recurring
   * job. Called at start and on every config reload; planned jobs no longer wanted are cancelled
   * and wanted ones planned once (see src/core/schedule/standing.ts), so a changed schedule never
   * leaves duplicates behind. Job kinds must start with one of the flow's `jobs` kinds.
   */
  plan?(config: CourseConfig, now: number): StandingJob[];
}
