import type { Feature, ServiceContext, StageMove } from './feature.js';
import type { ActionSpec, CommandSpec, CourseConfig, FactSpec, JobHandler, ReportLines, Reports, RunContext, Services, TriggerType } from './types.js';
import { CORE_TRIGGERS } from './types.js';
import type { Db } from '../store/db.js';
import type { PlatformAction } from '../store/platform-actions.js';
import { coreFeatures } from './builtins/index.js';
import { CORE_TEMPLATE_VARS } from './templates.js';
import type { ChannelHooks } from './channel/hooks.js';

/**
 * Everything the engine, the scheduler and the config loader look up by name, built once from
 * the core's built-ins and the features of the list (src/app.ts): the facts, actions, commands
 * and job kinds rules and the scheduler use, the rule types and template variables the loader
 * accepts, and the features' handlers of events and hooks, in the order of the list.
 */
export interface Registry {
  /** The core's built-ins first, then the features in the order of the list. */
  features: readonly Feature[];
  facts: Map<string, FactSpec>;
  actions: Map<string, ActionSpec<unknown>>;
  jobs: Map<string, JobHandler>;
  commands: Map<string, CommandSpec>;
  /** Rule `on:` types: the core's, then each feature's. */
  triggers: TriggerType[];
  /** Template variables: the core's, then each feature's. */
  templateVars: string[];
  /** The features' handlers of an event type, in list order (`order.paid`: stage, receipt, reward). */
  handlers(type: TriggerType): readonly { feature: string; run: (ctx: RunContext) => void }[];
  /** Tells every feature that a member entered a stage (in the mover's transaction). */
  stageEntered(db: Db, config: CourseConfig, move: StageMove, now: number): void;
  /** The handler of a finished platform action, by the purpose it was queued for. */
  platformActionDone(purpose: string): ((db: Db, config: CourseConfig, action: PlatformAction, result: string, now: number) => void) | undefined;
  /** The features' additions to the private channel, combined in list order. */
  channel: ChannelHooks;
}

/** A composition problem: two features register one name, or a feature needs a missing service. */
export class RegistryError extends Error {}

/**
 * Builds the registry of a feature list: the core's built-ins are always there; a name registered
 * twice, or a service a feature `needs` that no feature provides, is an error at start.
 *
 * @example const registry = buildRegistry(FEATURES);
 */
export function buildRegistry(features: readonly Feature[]): Registry {
  const all = [...coreFeatures(() => reg.commands.values()), ...features];
  const facts = new Map<string, FactSpec>();
  const actions = new Map<string, ActionSpec<unknown>>();
  const jobs = new Map<string, JobHandler>();
  const commands = new Map<string, CommandSpec>();
  const triggers: TriggerType[] = [...CORE_TRIGGERS];
  const templateVars: string[] = [...CORE_TEMPLATE_VARS];
  const handlers = new Map<TriggerType, { feature: string; run: (ctx: RunContext) => void }[]>();
  const platformActionHandlers = new Map<string, NonNullable<Feature['onPlatformAction']>[string]>();
  const names = new Set<string>();
  for (const f of all) {
    if (names.has(f.name)) throw new RegistryError(`feature "${f.name}" is in the list twice`);
    names.add(f.name);
    for (const x of f.facts ?? []) add(facts, x.name, x, f.name, 'fact');
    for (const x of f.actions ?? []) add(actions, x.name, x as ActionSpec<unknown>, f.name, 'action');
    for (const x of f.jobs ?? []) add(jobs, x.kind, x, f.name, 'job kind');
    for (const x of f.commands ?? []) add(commands, x.name, x, f.name, 'command');
    for (const t of f.triggers ?? []) if (!triggers.includes(t)) triggers.push(t);
    for (const v of f.templateVars ?? []) if (!templateVars.includes(v)) templateVars.push(v);
    for (const [purpose, h] of Object.entries(f.onPlatformAction ?? {})) {
      if (platformActionHandlers.has(purpose)) throw new RegistryError(`feature "${f.name}": platform actions for "${purpose}" are handled by another feature`);
      platformActionHandlers.set(purpose, h);
    }
  }
  // Handlers may listen to an event a feature later in the list fires (the lifecycle's stage move
  // on `order.paid` comes before the receipt), so they are checked once every trigger is known.
  for (const f of all) {
    for (const [type, run] of Object.entries(f.on ?? {}) as [TriggerType, (ctx: RunContext) => void][]) {
      if (!triggers.includes(type)) throw new RegistryError(`feature "${f.name}" handles "${type}", which neither the core nor any feature of the list fires`);
      handlers.set(type, [...(handlers.get(type) ?? []), { feature: f.name, run }]);
    }
  }
  checkServices(all);
  const stageHooks = all.filter((f) => f.onStageEntered);
  const reg: Registry = {
    features: all,
    facts,
    actions,
    jobs,
    commands,
    triggers,
    templateVars,
    handlers: (type) => handlers.get(type) ?? [],
    stageEntered: (db, config, move, now) => {
      for (const f of stageHooks) f.onStageEntered!(db, config, move, now);
    },
    platformActionDone: (purpose) => platformActionHandlers.get(purpose),
    channel: channelHooks(all),
  };
  return reg;
}

/** Each channel hook of every feature, in list order: notes add up; the first answer wins. */
function channelHooks(all: readonly Feature[]): ChannelHooks {
  const hooks = all.map((f) => f.channel).filter((h): h is NonNullable<Feature['channel']> => h !== undefined);
  const first = <T>(f: (h: NonNullable<Feature['channel']>) => T | null | undefined): T | null => {
    for (const h of hooks) {
      const r = f(h);
      if (r !== null && r !== undefined) return r;
    }
    return null;
  };
  return {
    opened: (db, config, args) => hooks.flatMap((h) => h.opened?.(db, config, args) ?? []),
    startPayloadText: (payload) => first((h) => h.startPayloadText?.(payload)),
    greetingReason: (db, config, greeting) => first((h) => h.greetingReason?.(db, config, greeting)),
    greetingAlso: (config) => first((h) => h.greetingAlso?.(config)),
  };
}

function add<T>(map: Map<string, T>, key: string, value: T, feature: string, what: string): void {
  if (map.has(key)) throw new RegistryError(`feature "${feature}": ${what} "${key}" is already registered by another feature`);
  map.set(key, value);
}

/**
 * Every service a feature `needs` is provided by some feature of the list. Which services a
 * feature provides is known only by building them, so this builds none: a feature names what it
 * provides in `services` by returning it, and declares it in `provides` for this check.
 */
function checkServices(all: readonly Feature[]): void {
  const provided = new Set(all.flatMap((f) => f.provides ?? []));
  for (const f of all) {
    for (const s of f.needs ?? []) {
      if (!provided.has(s)) throw new RegistryError(`feature "${f.name}" needs the "${String(s)}" service, which no feature in the list provides (add the feature that does to src/app.ts)`);
    }
  }
}

/**
 * The services of a course: the core's (the staff reports) and every feature's (Feature.services),
 * built at start and again on each config reload.
 *
 * @example const services = buildServices(registry, { db, config });
 */
export function buildServices(reg: Registry, ctx: Omit<ServiceContext, 'stageEntered'>): Services {
  const services = { reports: reportsOf(reg) } as Services;
  const sctx: ServiceContext = { ...ctx, stageEntered: reg.stageEntered };
  for (const f of reg.features) if (f.services) Object.assign(services, f.services(sctx));
  return services;
}

/** The staff reports: each feature's lines, in list order, in their slots. */
function reportsOf(reg: Registry): Reports {
  const join = (parts: ReportLines[]) => ({ detail: parts.flatMap((p) => p.detail ?? []), status: parts.flatMap((p) => p.status ?? []) });
  return {
    member: (ctx, m) => join(reg.features.flatMap((f) => (f.memberReport ? [f.memberReport(ctx, m)] : []))),
    day: (ctx, args) => join(reg.features.flatMap((f) => (f.dayReport ? [f.dayReport(ctx, args)] : []))),
  };
}
