import type { StoreRead } from '../store/batch.js';
import type { Db } from '../store/db.js';
import type { ConfigProblem } from '../config/errors.js';
import type { MainConfig, RawRule as RawRuleShape } from '../config/schema.js';
import type { Platform, QuotedMessage } from '../bot/events.js';
import type { Member } from '../store/members.js';
import type { ChannelHow } from '../store/private-channels.js';
import type { Priority } from '../store/outbox.js';
import type { z } from 'zod';

export type Role = 'owner' | 'instructor' | 'assistant' | 'member';

/**
 * One course group as configured. The core's keys are here; a feature that adds a key to a group
 * (Feature.groupKeys: `moderation: true`) adds its type to GroupKeys by declaration merging.
 */
export type GroupConfig = MainConfig['groups'][string] & GroupKeys;

/** The keys features add to a group entry (filled in by declaration merging). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the features
export interface GroupKeys {}

/** A rule of rules.yaml as parsed (its `on:` one of the rule types the core and features fire). */
export type RawRule = Omit<RawRuleShape, 'on'> & { on: TriggerType };

/**
 * A rule's `when:` compiled: a tree of fact tests (src/core/rules/conditions.ts evaluates it).
 */
export type Cond =
  | { kind: 'leaf'; fact: FactSpec; param?: string; op: string; value: unknown; label: string }
  | { kind: 'all' | 'any'; items: Cond[] }
  | { kind: 'not'; item: Cond };

/** A rule compiled at load: conditions and actions checked against the registry. */
export interface CompiledRule {
  id: string;
  description: string;
  on: TriggerType;
  when: Cond;
  cooldown: number | undefined;
  final: boolean;
  /** Runs after the other rules, and only when none of them sent a message (docs/configuration.md). */
  fallback: boolean;
  actions: { spec: ActionSpec<unknown>; arg: unknown }[];
}

/**
 * A loaded, validated course configuration: what `kequn start`, `kequn test` and `kequn check`
 * run on. Everything is resolved at load (durations in ms, times in minutes, lesson bodies read,
 * rules compiled), so nothing is parsed on the hot path.
 *
 * The core's part is declared here. Each feature declares the property its config section
 * resolves to where the feature is defined (declaration merging), e.g. src/flows/checkin/config.ts:
 *
 * @example
 * declare module '../../core/types.js' {
 *   interface CourseConfig { checkin: CheckinConfig | null }
 * }
 */
export interface CourseConfig {
  dir: string;
  course: MainConfig['course'];
  dataPath: string;
  web: MainConfig['web'];
  groups: Record<string, GroupConfig>;
  staff: MainConfig['staff'];
  stageIds: string[];
  stages: MainConfig['stages'];
  quietHours: MainConfig['quiet_hours'];
  outbox: MainConfig['outbox'];
  scheduler: MainConfig['scheduler'];
  dryRun: boolean;
  /** The private channel: held-message window, WeChat friend-request policy, the newcomer's hint. */
  privateChannel: MainConfig['private_channel'];
  /**
   * Where members and staff reach this kequn (no trailing slash): KEQUN_PUBLIC_URL, else
   * `web.public_url`, else a feature's (catalog.yaml `payments.public_url`), else loopback.
   */
  publicUrl: string;
  templates: Record<string, string>;
  /** Every variable a template may use: the core's and the features' (Feature.templateVars). */
  templateVars: Set<string>;
  rawRules: RawRule[];
  ruleIds: Set<string>;
  rules: CompiledRule[];
  /**
   * Facts of the course that templates and FAQ answers may name, from the features
   * (`{product.python-vip.price}` → `199`): a price or a deadline changed in one place.
   */
  values: Record<string, string>;
  /** What `kequn check` warns about but loads (an FAQ answer naming a price no product has). */
  warnings: ConfigProblem[];
  /**
   * Files whose validated form was looked for in the store (`kequn start`: the features' own
   * files, src/config/parsed-cache.ts): read from it (`stored`) or parsed, and why.
   */
  parsedStore?: { file: string; from: 'stored' | 'parsed'; note?: string }[];
  /** Role of a platform id: staff by platform id from config, never by display name. */
  roleOf(platform: Platform, platformId: string): Role;
  /** Group handle for a platform chat id, or undefined for groups not in the course. */
  groupOf(platform: Platform, platformId: string): string | undefined;
}

/**
 * The rule `on:` types. The core's are here; a feature adds its own where it is defined
 * (`interface TriggerTypes { checkin: true }` in a `declare module` block) and lists them in its
 * Feature.triggers, which is what the config loader accepts in rules.yaml.
 */
export interface TriggerTypes {
  'member.joined': true;
  'member.left': true;
  message: true;
  command: true;
  timer: true;
  /** The member's private channel opened (src/core/channel/observe.ts). */
  'channel.opened': true;
}

export type TriggerType = keyof TriggerTypes;

/** The core's rule types, in the order rules.yaml documents them. */
export const CORE_TRIGGERS: readonly TriggerType[] = ['member.joined', 'member.left', 'message', 'command', 'timer', 'channel.opened'];

/**
 * The normalised view of what triggered a rule run, for facts and actions. A feature whose
 * events carry more (an order) adds the field here by declaration merging.
 */
export interface Trigger {
  type: TriggerType;
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
  /** For `channel.opened`: how the member's private channel opened (src/core/channel/observe.ts). */
  channel?: ChannelOpening;
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
  emit(type: TriggerType, vars?: Record<string, string>): void;
}

export type FactType = 'string' | 'number' | 'boolean' | 'strings' | 'duration';

export interface FactSpec {
  name: string;
  type: FactType;
  description: string;
  /** For parameterised facts (`fired_ago.<rule>`): checks the parameter at load. */
  param?: { describe: string; check(param: string, config: CourseConfig): string | undefined };
  /**
   * For text facts whose values are ids of the course (`profile.bought: python-vip`): the ids a
   * condition may name, checked at load, so a typo is a problem and not a condition that never holds.
   */
  values?: { describe: string; known(config: CourseConfig): readonly string[] };
  get(ctx: Omit<RunContext, 'send' | 'render' | 'note' | 'ruleId' | 'emit'>, param?: string): unknown;
  /**
   * What `get` reads from the store (its store function's read: `questionsOfRead(id)`), so the
   * engine loads it with the event's other reads before the rules run: one request on
   * PostgreSQL instead of one per fact (src/core/engine/reads.ts). Optional: a fact without it
   * reads when asked.
   */
  reads?(ctx: FactReadContext, param?: string): StoreRead[];
}

/** What a fact's `reads` knows before the rules run: the member and who sent the event, the event's time, the course. */
export interface FactReadContext {
  member: Member;
  platform: Platform;
  userPlatformId: string;
  group: string | null;
  now: number;
  config: CourseConfig;
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

/**
 * Long-lived parts that features provide to each other and to rules (the Q&A index, the referral
 * discount): built at start and on every config reload from each feature's `services()`, handed
 * to every run context. Each feature adds its own entry to this interface where it is defined
 * (TypeScript module augmentation), so a caller reads `ctx.services.qa` importing nothing of the
 * qa feature, and the core knows no feature:
 *
 * @example
 * declare module '../../core/types.js' {
 *   interface Services { qa: QaService }
 * }
 */
export interface Services {
  /** The staff reports (`/member`, `/stats`) with the lines every feature adds (Feature.memberReport, dayReport). */
  reports: Reports;
}

/** Lines a feature adds to a staff report (`/member`, `/stats`). */
export interface ReportLines {
  /** Right after the member's stage and tags (`/member`), or the day's messages (`/stats`). */
  detail?: string[];
  /** After the groups and times (`/member`), or the bot's own figures (`/stats`). */
  status?: string[];
}

/** What a staff report is about. */
export interface ReportContext {
  db: Db;
  config: CourseConfig;
  now: number;
  platform: Platform;
}

/** The features' lines of the staff reports, in the order of the feature list. */
export interface Reports {
  member(ctx: ReportContext, member: Member): Required<ReportLines>;
  day(ctx: ReportContext, args: { since: number; group: string | undefined }): Required<ReportLines>;
}

/** A channel that opened with this event: the `channel.opened` rules run with these facts. */
export interface ChannelOpening {
  platform: string;
  how: ChannelHow;
  /** The channel was open already (a Start pressed again). */
  again: boolean;
  /** The acquisition tag (Telegram deep link `src-…`), if the channel has one. */
  source: string | null;
  /** The greeting (WeChat) or /start payload (Telegram) that came with it; empty otherwise. */
  text: string;
}
