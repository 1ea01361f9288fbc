import type { CourseConfig } from '../core/types.js';
import { listInstances } from '../store/cluster.js';
import type { Db } from '../store/db.js';
import type { DailyBudget } from '../store/outbox.js';
import { DEFAULT_TAKEOVER_AFTER_MS } from './cluster.js';

/** How fast one platform may send. WeChat's comes from the top-level outbox keys, Telegram's from outbox.telegram. */
export interface Pacing {
  account_interval: number;
  chat_interval: number;
  jitter: number;
  daily_cap: number;
  /** Of the daily cap, what only the urgent lane (welcomes, staff answers, login links) may use. */
  reserve: number;
  /** Sends per rolling minute to one group (Telegram: 20), or unlimited. */
  group_per_minute?: number;
}

export function pacingFor(config: CourseConfig, platform: string): Pacing {
  return platform === 'telegram' ? config.outbox.telegram : config.outbox;
}

/**
 * The daily budget a new message of `platform` is admitted against (src/store/outbox.ts
 * enqueueMessage): the daily cap is per account, so with several kequn instances running on one
 * store (each with its own account) the store-wide budget is the cap times the instances alive.
 *
 * @example enqueueMessage(db, { ...message, budget: budgetFor(db, config, 'wechat', now) })
 */
export function budgetFor(db: Db, config: CourseConfig, platform: string, now: number): DailyBudget {
  const pacing = pacingFor(config, platform);
  const alive = listInstances(db).filter((i) => i.heartbeat_at >= now - DEFAULT_TAKEOVER_AFTER_MS).length;
  const accounts = Math.max(1, alive);
  return { cap: pacing.daily_cap * accounts, reserve: pacing.reserve * accounts, timezone: config.course.timezone };
}
