import { EventEmitter } from 'node:events';
import cron from 'node-cron';
import type { Logger } from 'pino';
import { eventGroup, type ChatAdapter, type ChatEvent } from '../bot/events.js';
import { Cluster, type ClusterSettings } from '../bot/cluster.js';
import { Outbox } from '../bot/outbox.js';
import { PlatformActions } from '../bot/platform-actions.js';
import { FriendRequests } from '../bot/friend-requests.js';
import { Engine, type HandleResult } from './engine.js';
import type { Worker } from './feature.js';
import { buildServices, type Registry } from './registry.js';
import { syncStanding } from './schedule/standing.js';
import type { CourseConfig, Services } from './types.js';
import type { Clock, VirtualClock } from './schedule/clock.js';
import type { Db } from '../store/db.js';
import { analyseAfterOwnBurst } from '../store/planner-stats.js';
import { isTransientConflict } from '../store/postgres.js';
import { syncGroups } from '../store/groups.js';
import { nextJobDueAt } from '../store/jobs.js';
import type { OutboxRow } from '../store/outbox.js';

export interface KernelOptions {
  config: CourseConfig;
  /** The core's built-ins and the features of the list (src/app.ts), with everything they declare. */
  registry: Registry;
  db: Db;
  clock: Clock;
  adapters: ChatAdapter[];
  log: Logger;
  /** Live: timers tick on their own. Virtual (`kequn test`): time moves only through runUntil. */
  live: boolean;
  random?: () => number;
  /**
   * Where the LLM endpoint comes from (OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_MODEL); without it,
   * or without a key in it, Q&A answers from the FAQ alone. `kequn test` passes none.
   */
  llmEnv?: NodeJS.ProcessEnv;
  /** This process's instance name and takeover time when several share a store (default: `main`, 30 s). */
  cluster?: Partial<ClusterSettings>;
}

export interface KernelEvents {
  handled: [event: ChatEvent, result: HandleResult];
  sent: [row: OutboxRow];
}

/**
 * Wires the pieces: adapters deliver events to the engine; the engine writes outbox rows and
 * jobs; the scheduler runs due jobs; the outbox paces sends back through the adapters.
 */
export class Kernel extends EventEmitter<KernelEvents> {
  readonly engine: Engine;
  readonly outbox: Outbox;
  /** Removals and deletions queued by moderation, carried out after their event commits. */
  readonly platformActions: PlatformActions;
  /** This process's share of a store used by several (which groups it answers in, heartbeats). */
  readonly cluster: Cluster;
  /** Friend requests the course accepts, paced (WeChat), and staff's group invitations. */
  readonly friendRequests: FriendRequests;
  private config: CourseConfig;
  private services: Services;
  /** The features' long-lived work (the LLM calls of Q&A, the dashboard's background fold). */
  private readonly workers: Worker[];
  private cronTask: ReturnType<typeof cron.schedule> | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly startedAt: number;

  constructor(private readonly opts: KernelOptions) {
    super();
    this.config = opts.config;
    this.startedAt = opts.clock.now();
    this.services = this.buildServices(opts.config);
    this.cluster = new Cluster({ db: opts.db, clock: opts.clock, log: opts.log, settings: opts.cluster });
    this.engine = new Engine({ db: opts.db, config: () => this.config, registry: opts.registry, log: opts.log, services: () => this.services, random: opts.random });
    this.outbox = new Outbox({
      db: opts.db,
      config: () => this.config,
      clock: opts.clock,
      adapters: new Map(opts.adapters.map((a) => [a.platform, a])),
      log: opts.log,
      random: opts.random,
      onSent: (row) => this.emit('sent', row),
      cluster: this.cluster,
    });
    this.platformActions = new PlatformActions({
      db: opts.db,
      clock: opts.clock,
      adapters: new Map(opts.adapters.map((a) => [a.platform, a])),
      log: opts.log,
      cluster: this.cluster,
      onInviteLink: (action, url) => {
        // The feature that queued the link says what follows (a referrer's link, a buyer's paid
        // group); links queued before actions named their purpose were all referrers'.
        const purpose = (JSON.parse(action.detail ?? '{}') as { purpose?: string }).purpose ?? 'referral';
        opts.registry.platformActionDone(purpose)?.(opts.db, this.config, action, url, opts.clock.now());
        if (opts.live) this.kick();
      },
    });
    this.friendRequests = new FriendRequests({
      db: opts.db,
      config: () => this.config,
      clock: opts.clock,
      adapters: new Map(opts.adapters.map((a) => [a.platform, a])),
      log: opts.log,
      deliver: (event) => this.handle(event),
      random: opts.random,
      cluster: this.cluster,
    });
    const adapters = new Map(opts.adapters.map((a) => [a.platform, a]));
    this.workers = opts.registry.features.flatMap(
      (f) =>
        f.workers?.({
          db: opts.db,
          config: () => this.config,
          clock: opts.clock,
          log: opts.log,
          live: opts.live,
          services: () => this.services,
          adapters,
          kick: () => this.kick(),
          tick: () => void this.tick(),
          llmEnv: opts.llmEnv,
        }) ?? [],
    );
  }

  get currentConfig(): CourseConfig {
    return this.config;
  }

  /** The services of the running config (rebuilt on each reload). */
  get currentServices(): Services {
    return this.services;
  }

  /** True when an adapter for `platform` is configured. */
  hasPlatform(platform: string): boolean {
    return this.opts.adapters.some((a) => a.platform === platform);
  }

  /** True when every adapter is connected and logged in. */
  isReady(): boolean {
    return this.opts.adapters.every((a) => a.isReady());
  }

  get db(): Db {
    return this.opts.db;
  }

  get clock(): Clock {
    return this.opts.clock;
  }

  /** Replaces the configuration (live reload); in-flight events finish on the old one. */
  setConfig(config: CourseConfig): void {
    this.config = config;
    // The knowledge base follows faq.yaml; what instructors taught it is reloaded from the store.
    this.services = this.buildServices(config);
    this.syncGroups();
    this.syncSchedules();
  }

  /** Plans the flows' standing schedules (daily reminder, homework) as config now says. */
  private syncSchedules(): void {
    try {
      const r = syncStanding(this.opts.db, this.opts.registry.features, this.config, this.opts.clock.now());
      if (r.planned + r.cancelled > 0) this.opts.log.info(r, 'scheduler: standing schedules planned from config');
    } catch (e) {
      this.opts.log.error({ err: (e as Error).message }, 'scheduler: planning the standing schedules failed');
    }
  }

  /** The services the features provide each other and the rules, for `config` (the Q&A index follows faq.yaml). */
  private buildServices(config: CourseConfig): Services {
    return buildServices(this.opts.registry, { db: this.opts.db, config, llmEnv: this.opts.llmEnv });
  }

  /** Runs every worker's due work (LLM calls…); resolves to how many things they did. */
  private async dispatchWorkers(): Promise<number> {
    let done = 0;
    for (const w of this.workers) {
      try {
        done += (await w.dispatch?.()) ?? 0;
      } catch (e) {
        this.opts.log.error({ err: (e as Error).message }, 'a worker failed');
      }
    }
    return done;
  }

  private syncGroups(): void {
    const groups = Object.entries(this.config.groups).map(([id, g]) => ({
      id,
      name: g.name,
      kind: g.kind,
      platformIds: (['wechat', 'telegram'] as const).flatMap((platform) => (g[platform] ? [{ platform, id: g[platform] }] : [])),
    }));
    syncGroups(this.opts.db, groups, this.opts.clock.now());
  }

  async start(): Promise<void> {
    const { log, clock } = this.opts;
    this.cluster.start();
    this.syncGroups();
    this.outbox.recover();
    this.platformActions.recover();
    this.friendRequests.recover();
    for (const w of this.workers) w.recover?.();
    // Before the catch-up: occurrences already due stay for it, later ones are (re)planned.
    this.syncSchedules();
    // Jobs that fell due while kequn was down: run once if within the grace window, else skip.
    const caughtUp = this.engine.runDueJobs(clock.now());
    if (caughtUp > 0) log.info({ jobs: caughtUp }, 'scheduler: caught up on jobs due while stopped');
    for (const adapter of this.opts.adapters) {
      await adapter.start((event) => this.handle(event).then(() => undefined), {
        groupsKnown: (ids) => {
          try {
            this.cluster.groupsKnown(adapter.platform, ids);
          } catch (e) {
            log.warn({ err: (e as Error).message }, 'cluster: recording the groups the account is in failed');
          }
        },
      });
    }
    if (this.opts.live) {
      this.cronTask = cron.schedule('* * * * * *', () => this.tick(), { name: 'kequn-scheduler', noOverlap: true });
      this.kick();
    }
    for (const w of this.workers) w.start?.();
  }

  /** Handles one event from an adapter (or a test). Returns what the engine did. */
  async handle(event: ChatEvent): Promise<HandleResult> {
    const { log } = this.opts;
    let result: HandleResult;
    try {
      // Another instance's account is in this group too and answers there: this one stays quiet.
      result = this.cluster.accepts(event)
        ? this.handleRetryingConflicts(event)
        : { status: 'ignored', reason: 'another kequn instance answers in this group', fired: [], messages: 0 };
    } catch (e) {
      log.error({ event: event.eventId, type: event.type, err: (e as Error).message }, 'event failed; nothing was changed');
      result = { status: 'ignored', reason: `error: ${(e as Error).message}`, fired: [], messages: 0 };
    }
    try {
      // A heartbeat that was to go with the event's first request and found none goes now.
      this.cluster.settle();
      // A broadcast just queued by the thousand: analysed before any process reads the window.
      analyseAfterOwnBurst(this.opts.db);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'cluster: the heartbeat after an event failed');
    }
    log.info(
      { event: event.eventId, id: result.eventRowId, type: event.type, group: groupIdOf(event), member: result.memberId, status: result.status, fired: result.fired, messages: result.messages, reason: result.reason },
      'event',
    );
    this.emit('handled', event, result);
    if (event.type === 'friend.requested' && result.accept) this.friendRequests.received(event.platform, event.requestId);
    // A staff invitation into a group: accepted now that its decision is committed.
    if (event.type === 'room.invited' && result.accept) await this.friendRequests.acceptRoomInvite(event);
    if (this.opts.live && (result.messages > 0 || result.accept || event.type === 'room.invited')) this.kick();
    for (const w of this.workers) await w.afterEvent?.(event, result);
    return result;
  }

  /**
   * The engine's transaction for an event, again (at most twice more) when it lost a race with
   * another process on the same PostgreSQL store (isTransientConflict: e.g. both met a new member
   * at once). It was rolled back, so running it again changes nothing twice; without the retry
   * the event would be dropped.
   */
  private handleRetryingConflicts(event: ChatEvent): HandleResult {
    for (let attempt = 1; ; attempt++) {
      try {
        return this.engine.handleEvent(event, this.opts.clock.now());
      } catch (e) {
        if (attempt >= 3 || !isTransientConflict(e)) throw e;
        this.opts.log.info({ event: event.eventId, attempt, err: (e as Error).message }, 'event lost a race with another kequn process; running it again');
      }
    }
  }

  /** One scheduler tick: due jobs, then the outbox. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      if (this.opts.live) void this.dispatchWorkers();
      const now = this.opts.clock.now();
      if (this.opts.live && this.cluster.maintain(now) > 0) this.kick();
      const ran = this.engine.runDueJobs(now);
      if (ran > 0 || this.opts.live) this.kick();
      // A fan-out plans its next batch as a job due now: run it after the event loop breathes,
      // not at the next cron second and not in this same synchronous stretch.
      const next = nextJobDueAt(this.opts.db);
      if (this.opts.live && ran > 0 && next !== undefined && next <= now) setImmediate(() => void this.tick());
    } catch (e) {
      this.opts.log.error({ err: (e as Error).message }, 'scheduler tick failed');
    }
  }

  /** Something outside an event (a payment) queued messages: send them now (live mode). */
  wake(): void {
    if (!this.opts.live) return;
    // Called inside a transaction (a payment is applied within its notification's), a send
    // started now could reach the platform before the commit, and go out again if the
    // transaction then rolls back or the process dies first (the crash drill caught a receipt
    // delivered twice this way). Dispatch once the transaction is over.
    if (this.opts.db.inTransaction) setImmediate(() => this.kick());
    else this.kick();
  }

  /** Dispatches now, then sleeps until the next message may go out (live mode). */
  private kick(): void {
    if (this.stopped) return;
    void this.platformActions.dispatch().catch((e: unknown) => this.opts.log.error({ err: (e as Error).message }, 'platform actions failed'));
    void this.friendRequests.dispatch().catch((e: unknown) => this.opts.log.error({ err: (e as Error).message }, 'friend requests failed'));
    void this.outbox
      .dispatch()
      .catch((e: unknown) => this.opts.log.error({ err: (e as Error).message }, 'outbox dispatch failed'))
      .then(() => {
        if (this.stopped || !this.opts.live) return;
        const wakes = [this.outbox.nextWakeAt(), this.friendRequests.nextWakeAt()].filter((t): t is number => t !== undefined);
        if (wakes.length === 0) return;
        const wake = Math.min(...wakes);
        clearTimeout(this.wakeTimer);
        const delay = Math.min(Math.max(wake - this.opts.clock.now(), 20), 1000);
        this.wakeTimer = setTimeout(() => this.kick(), delay);
      });
  }

  /**
   * Virtual time: moves the clock forward to `target`, running every job and sending every
   * message that falls due on the way, in time order. With `settleOnly`, the clock stops at the
   * last thing that happened instead of at `target` (the bot finishing its replies).
   */
  async runUntil(target: number, opts: { settleOnly?: boolean } = {}): Promise<void> {
    const clock = this.opts.clock as VirtualClock;
    for (;;) {
      // The workers' calls (an LLM's) take real time; virtual time stands still while they run.
      const asked = await this.dispatchWorkers();
      const ran = this.engine.runDueJobs(clock.now());
      const sent = await this.outbox.dispatch();
      if (asked > 0) continue;
      await this.platformActions.dispatch();
      // An accepted friend request opens a channel: its held messages go out on the next pass.
      if ((await this.friendRequests.dispatch()) > 0) continue;
      const candidates = [nextJobDueAt(this.opts.db), this.outbox.nextWakeAt(), this.friendRequests.nextWakeAt()].filter((t): t is number => t !== undefined);
      if (candidates.length === 0) break;
      const next = Math.min(...candidates);
      if (next > target) break;
      if (next <= clock.now()) {
        // Due but nothing moved (an adapter is not ready): stop rather than spin.
        if (ran === 0 && sent === 0) break;
        continue;
      }
      clock.set(next);
    }
    if (!opts.settleOnly && target > clock.now()) clock.set(target);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.wakeTimer);
    for (const w of this.workers) w.stop?.();
    await this.cronTask?.destroy();
    for (const adapter of this.opts.adapters) {
      await adapter.stop().catch((e: unknown) => this.opts.log.warn({ err: (e as Error).message }, 'adapter stop failed'));
    }
  }
}

function groupIdOf(event: ChatEvent): string | undefined {
  return eventGroup(event)?.id;
}
