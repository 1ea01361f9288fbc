/**
 * A feature is one folder under src/flows/ whose index exports one `Feature`: everything it adds
 * to kequn, declared in one place (the shape of Koishi plugins, grammY composers and probot apps).
 * src/app.ts composes the features from one list; the engine core (src/core/) and the config
 * loader (src/config/) read these declarations and import no feature.
 *
 * A feature reaches another only through a service the other provides and it declares in `needs`
 * (or, when it can do without, in `uses`): `ctx.services.referral.discountFor(…)`. The service's
 * type is added to the `Services` interface by the feature that provides it (TypeScript module
 * augmentation), so the caller imports nothing of the provider.
 *
 * @example
 * export const libraryFeature: Feature = {
 *   name: 'library',
 *   config: [section({ key: 'library', as: 'library', schema: librarySchema, resolve: (raw) => raw })],
 *   actions: [sendMaterials],
 *   templateVars: ['materials'],
 * };
 */
import type { Hono } from 'hono';
import type { WebContext } from '../web/context.js';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ChatAdapter, ChatEvent } from '../bot/events.js';
import type { SectionContext } from '../config/section.js';
import type { Db } from '../store/db.js';
import type { PlatformAction } from '../store/platform-actions.js';
import type { Member } from '../store/members.js';
import type { Clock } from './schedule/clock.js';
import type { ChannelHooks } from './channel/hooks.js';
import type { ActionSpec, CommandSpec, CourseConfig, FactSpec, JobHandler, ReportContext, ReportLines, RunContext, Services, StandingJob, TriggerType } from './types.js';

export type { ReportContext, ReportLines };

/** One section a feature adds to the configuration: a key of kequn.yaml, or a file of its own. */
export interface ConfigSection {
  /** The key in kequn.yaml (`checkin`), or for a section with a file of its own, its name. */
  key: string;
  /** A file of its own in the course folder (`catalog.yaml`), optional: absent means `undefined` raw. */
  file?: string;
  /** The raw shape, with defaults (zod); unknown keys are refused with file:line. */
  schema: z.ZodType;
  /** The CourseConfig property the resolved section is stored under (declared by the feature's augmentation). */
  as: keyof CourseConfig;
  /**
   * Checks references (groups, stages, templates, files) and returns what the feature reads at
   * run time; problems go to `ctx.problem(path, message)` at their key path.
   */
  resolve(raw: unknown, ctx: SectionContext): unknown;
  /**
   * A file of its own whose validated form depends on its bytes alone (no time zone, no
   * environment in its schema): `kequn start` may keep it validated beside the store
   * (src/config/parsed-cache.ts). For large files (faq.yaml).
   */
  stored?: boolean;
}

/**
 * A typed ConfigSection: `resolve` gets the schema's output and must return what the feature
 * declared for `as` on CourseConfig.
 */
export function section<S extends z.ZodType, K extends keyof CourseConfig>(s: {
  key: string;
  schema: S;
  as: K;
  resolve(raw: z.output<S>, ctx: SectionContext): CourseConfig[K];
}): ConfigSection {
  return s as unknown as ConfigSection;
}

/** A typed ConfigSection with a file of its own, which may be absent (`raw` is then undefined). */
export function fileSection<S extends z.ZodType, K extends keyof CourseConfig>(s: {
  key: string;
  file: string;
  schema: S;
  as: K;
  resolve(raw: z.output<S> | undefined, ctx: SectionContext): CourseConfig[K];
  stored?: boolean;
}): ConfigSection {
  return s as unknown as ConfigSection;
}

/** What a feature's in-transaction handler of an event (`order.paid`, `stage.entered`) gets. */
export type FeatureHandler = (ctx: RunContext) => void;

/** A stage move that happened (the lifecycle feature's `stage.entered` hook). */
export interface StageMove {
  memberId: string;
  from: string;
  to: string;
  /** Notes for the trace of the run that moved the member. */
  note(text: string): void;
  /** A sentence for the staff member who moved them by hand (`/stage`), in Chinese. */
  tell(text: string): void;
}

/** Long-lived work a feature runs beside the engine (an LLM worker, a background fold). */
export interface Worker {
  /** After a restart: put back what a crash interrupted. */
  recover?(): void;
  /** Does what is due now (platform calls, LLM calls); returns how many things it did. */
  dispatch?(): Promise<number>;
  /** When it next has something to do, for the scheduler's sleep (and virtual time). */
  nextWakeAt?(): number | undefined;
  /** Starts its own timers, after the kernel started (live mode: a background fold). */
  start?(): void;
  /** Called after each event the kernel handled (the event's transaction has committed). */
  afterEvent?(event: ChatEvent, result: { status: string; accept?: boolean; newMember?: boolean }): Promise<void> | void;
  /** Stops timers. */
  stop?(): void;
}

/** What a worker is built with (live: timers may run on their own). */
export interface WorkerContext {
  db: Db;
  config: () => CourseConfig;
  clock: Clock;
  log: Logger;
  live: boolean;
  services: () => Services;
  adapters: ReadonlyMap<string, ChatAdapter>;
  /** Ask the kernel to send what was just queued. */
  kick(): void;
  /** Ask the kernel to run due jobs now, then send (what a finished LLM call planned). */
  tick(): void;
  /** OPENAI_API_KEY and friends, when `kequn start` passed the environment. */
  llmEnv?: NodeJS.ProcessEnv;
}

/** What a feature's services are built with, at start and on every config reload. */
export interface ServiceContext {
  db: Db;
  config: CourseConfig;
  llmEnv?: NodeJS.ProcessEnv;
  /** Tells every feature that a member entered a stage (Feature.onStageEntered), in the caller's transaction. */
  stageEntered(db: Db, config: CourseConfig, move: StageMove, now: number): void;
}

/** Where a whole-course check reports, by config file name (`faq.yaml`) and key path. */
export interface CourseCheck {
  problem(file: string, path: readonly (string | number)[], message: string): void;
  warn(file: string, path: readonly (string | number)[], message: string): void;
}

export interface Feature {
  /** A short id, also the folder name under src/flows/. */
  name: string;
  /** Services of other features this one cannot work without (checked when the list is composed). */
  needs?: readonly (keyof Services)[];
  /** Services of other features it uses when they are there. */
  uses?: readonly (keyof Services)[];
  /** The services it provides (built by `services`), by name. */
  provides?: readonly (keyof Services)[];
  /** Its configuration: sections of kequn.yaml or files of its own. */
  config?: readonly ConfigSection[];
  /** Keys it adds to each entry of kequn.yaml's `groups:` (`moderation: true`). */
  groupKeys?: Readonly<Record<string, z.ZodType>>;
  /** Rule `on:` types it fires (rules may listen to them). */
  triggers?: readonly TriggerType[];
  /** Template variables its messages fill in. */
  templateVars?: readonly string[];
  facts?: readonly FactSpec[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each action has its own argument type
  actions?: readonly ActionSpec<any>[];
  commands?: readonly CommandSpec[];
  jobs?: readonly JobHandler[];
  /**
   * The standing schedule as config says it is now: the next occurrence of each recurring job.
   * Called at start and on every reload (src/core/schedule/standing.ts).
   */
  plan?(config: CourseConfig, now: number): StandingJob[];
  /**
   * In-transaction handlers of events before the rules run: `order.paid` (the receipt, the stage,
   * the referral reward), `channel.opened`. Run in the order of the feature list.
   */
  on?: Readonly<Partial<Record<TriggerType, FeatureHandler>>>;
  /** A member entered a stage (any cause: a rule, a payment, `/stage`). In the same transaction. */
  onStageEntered?(db: Db, config: CourseConfig, move: StageMove, now: number): void;
  /** A platform action it queued is done (a Telegram invite link was made): what follows. */
  onPlatformAction?: Readonly<Record<string, (db: Db, config: CourseConfig, action: PlatformAction, result: string, now: number) => void>>;
  /** Services it provides (rebuilt at start and on every config reload). */
  services?(ctx: ServiceContext): Partial<Services>;
  /** Work it runs beside the engine. */
  workers?(ctx: WorkerContext): Worker[];
  /** HTTP routes it serves (mounted by src/web/server.ts; the host check applies to all). */
  routes?(app: Hono, web: WebContext): void;
  /** Lines for a staff member's `/member` report. */
  memberReport?(ctx: ReportContext, member: Member): ReportLines;
  /** Lines for the day's `/stats` report (`group`: one group, or all). */
  dayReport?(ctx: ReportContext, args: { since: number; group: string | undefined }): ReportLines;
  /**
   * What it adds to the private channel: what waited for the channel to open (a drip sequence),
   * what a Telegram deep-link payload means as text the member said (`ref-K7M2XQ` → `推荐码
   * K7M2XQ`), whether a WeChat friend request's greeting qualifies for the `keyword` policy.
   */
  channel?: Partial<ChannelHooks>;
  /**
   * Facts of the course its config holds that templates and FAQ answers may name, so a seller
   * changes them in one place: `{ 'product.python-vip.price': '199' }`. Names have a dot.
   */
  courseValues?(config: CourseConfig): Record<string, string>;
  /**
   * Checks that need the whole loaded course (an FAQ answer naming a price no product has):
   * `problem` refuses the course, `warn` lets it load and `kequn check` prints it.
   */
  checkCourse?(config: CourseConfig, check: CourseCheck): void;
  /** Where the server is reached, when this feature's config says (catalog.yaml `payments.public_url`): CourseConfig.publicUrl's fallback. */
  publicUrl?(config: CourseConfig): string | undefined;
  /** A member's data it keeps, for `kequn member export` / `forget` (rows by SQL in its own tables). */
  privacy?: {
    export?(db: Db, memberId: string): Record<string, unknown>;
    /** In forgetting's transaction; `config`: the course (where a feature keeps files of the member). */
    forget?(db: Db, memberId: string, config: CourseConfig): void;
  };
}
