import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../core/schedule/clock.js';
import { dialectOf, type Db } from '../store/db.js';
import { ride, sendRiders, type Upkeep } from '../store/batch.js';
import {
  chatOwner,
  claimChat,
  heartbeatSql,
  instancesSql,
  moveChat,
  ownersChangedSql,
  parkWorkSql,
  recordReach,
  registerInstance,
  takeAllChats,
  takeChat,
  takeOverSql,
} from '../store/cluster.js';
import { followMovedSql } from '../store/outbox.js';
import { analyseStale, plannerStatsSql, staleTables } from '../store/planner-stats.js';
import { isTransientConflict } from '../store/postgres.js';
import type { Sql } from '../store/statements.js';
import { compactSql } from '../store/status-counts.js';
import { eventGroup, type ChatEvent } from './events.js';

/** The instance name when KEQUN_INSTANCE is not set. */
export const DEFAULT_INSTANCE = 'main';
/** How often an instance heartbeats, takes over chats of gone instances and refreshes its view. */
export const HEARTBEAT_MS = 5_000;
/** How often an instance reads again every chat owner it keeps, whatever their change time says (a safety net for clocks further apart than a takeover period). */
export const OWNERS_READ_AGAIN_MS = 5 * 60_000;
/**
 * A beat this late at an event (a whole period missed: the scheduler did not run, the process
 * stalled or had nothing to do) is done before the event is decided. One only just due goes with
 * the event's first request (src/store/batch.ts ride): the owners the event is decided by are
 * then those of one beat before, as between any two beats, and nobody can have taken this
 * instance for gone (KEQUN_TAKEOVER_AFTER is at least two periods).
 */
export const LATE_BEAT_MS = 2 * HEARTBEAT_MS;
/** Owners kept at most (a bound on memory: the others are looked up again at their next event). */
const MAX_OWNERS = 50_000;
/** An instance silent this long is gone (KEQUN_TAKEOVER_AFTER overrides, in seconds). */
export const DEFAULT_TAKEOVER_AFTER_MS = 30_000;

/** The view of an outbox built without a kernel (tests): the default instance, learning nothing. */
export const soloInstance: Pick<Cluster, 'instance' | 'sent'> = { instance: DEFAULT_INSTANCE, sent: () => undefined };

export interface ClusterSettings {
  instance: string;
  takeoverAfterMs: number;
}

export class ClusterEnvError extends Error {}

const NAME = /^[A-Za-z0-9_-]{1,40}$/;

/** KEQUN_INSTANCE and KEQUN_TAKEOVER_AFTER, checked: a bad value is an error naming the variable. */
export function clusterFromEnv(env: NodeJS.ProcessEnv): ClusterSettings {
  const instance = env.KEQUN_INSTANCE?.trim() || DEFAULT_INSTANCE;
  if (!NAME.test(instance)) throw new ClusterEnvError(`KEQUN_INSTANCE must be 1-40 letters, digits, "-" or "_", got "${instance}"`);
  const raw = env.KEQUN_TAKEOVER_AFTER?.trim();
  let takeoverAfterMs = DEFAULT_TAKEOVER_AFTER_MS;
  if (raw) {
    const s = Number(raw);
    // Below two heartbeats a live instance could be taken for gone between two of its beats.
    if (!Number.isFinite(s) || s * 1000 < 2 * HEARTBEAT_MS) throw new ClusterEnvError(`KEQUN_TAKEOVER_AFTER must be a number of seconds, at least ${(2 * HEARTBEAT_MS) / 1000}, got "${raw}"`);
    takeoverAfterMs = Math.round(s * 1000);
  }
  return { instance, takeoverAfterMs };
}

/**
 * This process's part in a store shared by several kequn processes (docs/deploy.md). It decides
 * which group events this instance handles (the group's owner handles them; others only note that
 * they can reach the group), keeps the heartbeat, and takes over the chats of instances that are
 * gone. On SQLite there is one process, and it owns every chat.
 */
export class Cluster {
  readonly instance: string;
  readonly takeoverAfterMs: number;
  /** Chat owner as last read (`platform:chat`), kept true at every heartbeat (refreshOwners). */
  private owners = new Map<string, string>();
  /** The clock at the last refresh of `owners`, and at the last time they were all dropped. */
  private ownersReadAt = 0;
  private ownersDroppedAt = 0;
  private reached = new Set<string>();
  private lastBeat = -Infinity;

  constructor(
    private readonly deps: { db: Db; clock: Clock; log: Logger; settings?: Partial<ClusterSettings> },
  ) {
    this.instance = deps.settings?.instance ?? DEFAULT_INSTANCE;
    this.takeoverAfterMs = deps.settings?.takeoverAfterMs ?? DEFAULT_TAKEOVER_AFTER_MS;
  }

  /** At start: this instance is up; on a single-process store it owns every chat. */
  start(): void {
    const { db, clock, log } = this.deps;
    const now = clock.now();
    registerInstance(db, { name: this.instance, now, pid: process.pid, host: hostname() });
    this.lastBeat = now;
    this.ownersReadAt = this.ownersDroppedAt = now;
    if (dialectOf(db) === 'sqlite') {
      const n = takeAllChats(db, this.instance, now);
      if (n > 0) log.info({ chats: n, instance: this.instance }, 'cluster: this store has one process; it owns every chat');
    }
  }

  /**
   * Every scheduler tick: at most every HEARTBEAT_MS, beat, take over the reachable chats of gone
   * instances, and park what they were sending. Returns the chats taken over.
   */
  maintain(now: number): number {
    if (now - this.lastBeat < HEARTBEAT_MS && now >= this.lastBeat) {
      // A beat that went with an event found a burst: analysed here, off the event's path.
      this.analyseIfStale();
      return 0;
    }
    return this.beat(now, true);
  }

  /**
   * A heartbeat and the upkeep that goes with it, each statement committed on its own and in
   * this order: the beat, /healthz's deltas folded (PostgreSQL), the planner statistics checked
   * after a burst (PostgreSQL), the sends of gone instances parked, their reachable chats taken
   * over, queued messages handed to their chats' owners (PostgreSQL), the kept owners made true.
   * `atOnce`: in one request now (PostgreSQL), the first error thrown once all have run; else
   * in front of the next transaction's first request (this event's), errors logged, and a
   * burst it finds is analysed by the next tick (maintain) rather than on the event's path.
   */
  private beat(now: number, atOnce: boolean): number {
    const { db, log } = this.deps;
    const pg = dialectOf(db) === 'postgres';
    const previousBeat = this.lastBeat;
    this.lastBeat = now;
    const goneBefore = now - this.takeoverAfterMs;
    const upkeep: Upkeep[] = [];
    let firstError: Error | undefined;
    let taken = 0;
    const add = (q: Sql, what: string, done: (r: { rows: Record<string, unknown>[]; changes: number }) => void, harmless?: (e: Error) => boolean) =>
      upkeep.push({
        ...q,
        done: (r) => {
          if (!('error' in r)) return done(r);
          if (harmless?.(r.error)) return;
          firstError ??= r.error;
          if (!atOnce) log.warn({ err: r.error.message, instance: this.instance }, `cluster: ${what} failed`);
        },
      });
    add(heartbeatSql(this.instance, now), 'the heartbeat', () => undefined, () => {
      // A beat that did not reach the store: the next event beats again.
      if (this.lastBeat === now) this.lastBeat = previousBeat;
      return false;
    });
    // PostgreSQL: /healthz's counts arrive as deltas; fold them so a read stays a few rows.
    if (pg) add(compactSql(), 'folding the health counts', () => undefined);
    // PostgreSQL: after a burst (a reminder run, a broadcast) the planner must see the new rows
    // before the send window's next reads, not when autovacuum next comes round.
    if (pg) add(plannerStatsSql(), 'reading the planner statistics', (r) => (this.analyse = staleTables(r.rows)));
    const park = parkWorkSql(this.instance, goneBefore);
    let parkedMessages = 0;
    add(park.messages, 'parking the sends of a gone instance', (r) => (parkedMessages = r.changes));
    add(park.actions, 'parking the platform actions of a gone instance', (r) => {
      if (parkedMessages + r.changes > 0) log.warn({ messages: parkedMessages, actions: r.changes }, 'cluster: an instance stopped mid-send; those sends are marked uncertain and not repeated');
    });
    add(takeOverSql(this.instance, goneBefore, now), 'taking over chats', (r) => {
      taken = r.changes;
      if (taken > 0) log.warn({ chats: taken, instance: this.instance }, 'cluster: took over the chats of an instance that stopped');
    });
    // PostgreSQL: queued messages follow their chats to the new owners (the gone instance's,
    // and any of this one's whose chat moved while they were queued). Losing a race is harmless.
    if (pg)
      add(
        followMovedSql(this.instance, goneBefore),
        'handing queued messages to their chats\' owners',
        (r) => {
          if (r.changes > 0) log.info({ messages: r.changes, instance: this.instance }, 'cluster: queued messages handed to their chats\' owners');
        },
        isTransientConflict,
      );
    this.refreshOwners(now, add);
    ride(db, upkeep, { now: atOnce });
    if (!atOnce) return 0;
    this.analyseIfStale();
    if (firstError) throw firstError;
    return taken;
  }

  /** Tables the last beat found stale for the planner (analysed by the next tick, or the next beat done at once). */
  private analyse: string[] = [];

  private analyseIfStale(): void {
    if (this.analyse.length === 0) return;
    const stale = this.analyse;
    this.analyse = [];
    const analysed = analyseStale(this.deps.db, stale);
    if (analysed.length > 0) this.deps.log.debug({ tables: analysed }, 'cluster: planner statistics refreshed after a burst');
  }

  /** After an event: a beat that was to ride with it and found no request to go with (the event wrote nothing) goes now. */
  settle(): void {
    sendRiders(this.deps.db);
  }

  /**
   * The owners this instance keeps, made true again: those that changed since the last beat
   * (this one's takeovers included) are read anew, and those of instances no longer there
   * (retired) are forgotten, to be looked up at their next event. Another instance's clock may
   * run behind this one's: changes are read back to a takeover period before the last refresh,
   * and every OWNERS_READ_AGAIN_MS every owner is read again, in the same one statement (whatever
   * the clocks did, a kept owner is never stale for longer). Dropping them instead made each
   * group's next event look its owner up: one more request per group.
   */
  private refreshOwners(now: number, add: (q: Sql, what: string, done: (r: { rows: Record<string, unknown>[] }) => void) => void): void {
    if (this.owners.size === 0 || this.owners.size > MAX_OWNERS || now < this.ownersReadAt) {
      this.owners.clear();
      this.ownersReadAt = this.ownersDroppedAt = now;
      return;
    }
    const all = now - this.ownersDroppedAt >= OWNERS_READ_AGAIN_MS;
    const since = all ? Number.MIN_SAFE_INTEGER : Math.min(this.ownersReadAt, now) - this.takeoverAfterMs;
    let changed: Record<string, unknown>[] | undefined;
    add(ownersChangedSql(since), 'reading the chat owners', (r) => (changed = r.rows));
    add(instancesSql, 'reading the instances', (r) => {
      if (!changed) return;
      this.ownersReadAt = now;
      if (all) this.ownersDroppedAt = now;
      const live = new Set(r.rows.map((i) => String(i.name)));
      for (const [key, name] of this.owners) if (!live.has(name)) this.owners.delete(key);
      for (const c of changed) {
        const key = `${String(c.platform)}:${String(c.chat_id)}`;
        if (this.owners.has(key)) this.owners.set(key, String(c.instance));
      }
    });
  }

  /** Whether this instance handles `event`: always for private chats; for groups, if it owns the group. */
  accepts(event: ChatEvent): boolean {
    const now = this.deps.clock.now();
    // After a stall (event loop blocked, machine suspended) the events queued meanwhile come
    // before the next tick: beat first, so a group taken over meanwhile is seen as gone. A beat
    // only just due goes with this event's first request instead (LATE_BEAT_MS).
    const since = now - this.lastBeat;
    if (since >= HEARTBEAT_MS || since < 0) this.beat(now, since < 0 || since >= LATE_BEAT_MS);
    const group = eventGroup(event);
    // Private events (a message, a friend request, a Start) belong to the account that got them.
    if (!group) {
      this.dmFrom(event.platform, event.user.id, now);
      return true;
    }
    return this.ownsGroup(event.platform, group.id, now);
  }

  /**
   * The account is in these groups (its platform listed them): it can reach them, and answers in
   * those nobody answers in yet.
   */
  groupsKnown(platform: string, chatIds: string[]): void {
    const now = this.deps.clock.now();
    for (const chatId of chatIds) {
      const key = `${platform}:${chatId}`;
      this.reach(platform, chatId, key, now);
      this.owners.set(key, claimChat(this.deps.db, platform, chatId, this.instance, now));
    }
  }

  /** A send to a chat went through: this account reaches it, and owns it if nobody did. */
  sent(platform: string, chatId: string): void {
    const key = `${platform}:${chatId}`;
    if (this.owners.get(key) === this.instance) return;
    const now = this.deps.clock.now();
    this.reach(platform, chatId, key, now);
    this.owners.set(key, claimChat(this.deps.db, platform, chatId, this.instance, now));
  }

  private ownsGroup(platform: string, chatId: string, now: number): boolean {
    const key = `${platform}:${chatId}`;
    const cached = this.owners.get(key);
    if (cached !== undefined) return cached === this.instance;
    const { db, log } = this.deps;
    this.reach(platform, chatId, key, now);
    let owner = chatOwner(db, platform, chatId);
    let name = owner?.instance ?? claimChat(db, platform, chatId, this.instance, now);
    if (owner && name !== this.instance && (owner.heartbeat_at ?? -Infinity) < now - this.takeoverAfterMs) {
      // The owner is gone and this account is in the group: answer here from now on.
      if (moveChat(db, platform, chatId, name, this.instance, now)) log.warn({ chat: chatId, from: name }, 'cluster: took over a group whose instance stopped');
      owner = chatOwner(db, platform, chatId);
      name = owner?.instance ?? name;
    }
    this.owners.set(key, name);
    return name === this.instance;
  }

  /** The member wrote to this account: replies and their private messages go from it. */
  private dmFrom(platform: string, userId: string, now: number): void {
    const key = `${platform}:${userId}`;
    if (this.owners.get(key) === this.instance) return;
    this.reach(platform, userId, key, now);
    takeChat(this.deps.db, platform, userId, this.instance, now);
    this.owners.set(key, this.instance);
  }

  private reach(platform: string, chatId: string, key: string, now: number): void {
    if (this.reached.has(key)) return;
    // A bound on memory, not on correctness: recording reach again is a no-op insert.
    if (this.reached.size >= 50_000) this.reached.clear();
    recordReach(this.deps.db, platform, chatId, this.instance, now);
    this.reached.add(key);
  }
}
