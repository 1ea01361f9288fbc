import { clusterFromEnv, ClusterEnvError } from '../bot/cluster.js';
import type { CourseConfig } from '../core/types.js';
import { instanceSummaries, listInstances, retireInstance } from '../store/cluster.js';
import { describeStore, inTransaction, openStore, type Db } from '../store/db.js';
import { formatDuration } from '../util/duration.js';
import { localDayStart } from '../util/localtime.js';
import { loadConfigOrReport } from './check.js';

/**
 * Loads the config and the takeover time both commands judge "running" by, opens the store and
 * runs `body`; exit code 2 after reporting a problem with either.
 */
function withStore(configDir: string, write: (line: string) => void, body: (db: Db, config: CourseConfig, takeoverAfterMs: number) => number): number {
  const config = loadConfigOrReport(configDir, write);
  if (!config) return 2;
  let takeoverAfterMs: number;
  try {
    takeoverAfterMs = clusterFromEnv(process.env).takeoverAfterMs;
  } catch (e) {
    if (!(e instanceof ClusterEnvError)) throw e;
    write(e.message);
    return 2;
  }
  const db = openStore(config.dataPath);
  try {
    return body(db, config, takeoverAfterMs);
  } finally {
    db.close();
  }
}

/**
 * `kequn instances retire NAME`: an instance that will not come back (its WeChat account was
 * banned, a bot was deleted). Refused while it runs.
 */
export function runRetireInstance(opts: { configDir: string; name: string; write: (line: string) => void; now?: number }): number {
  const { write } = opts;
  const now = opts.now ?? Date.now();
  return withStore(opts.configDir, write, (db, config, takeoverAfterMs) => {
    const target = listInstances(db).find((i) => i.name === opts.name);
    if (!target) {
      write(`no instance named "${opts.name}" on ${describeStore(config.dataPath)} (see npx kequn instances)`);
      return 2;
    }
    if (now - target.heartbeat_at < takeoverAfterMs) {
      write(`instance ${opts.name} is running (heartbeat ${Math.round((now - target.heartbeat_at) / 1000)}s ago): stop it first`);
      return 2;
    }
    const r = inTransaction(db, () => retireInstance(db, opts.name, now));
    write(`retired ${opts.name}: ${r.moved} chats moved to an instance that can reach them, ${r.released} left to whoever the member writes to next`);
    return 0;
  });
}

/**
 * `kequn instances`: the kequn processes that use this store (several on PostgreSQL, one on
 * SQLite), whether each is running (heartbeat younger than the takeover time), the chats it
 * answers in, the messages waiting for it and what it sent today.
 */
export function runInstances(opts: { configDir: string; write: (line: string) => void; now?: number }): number {
  const { write } = opts;
  const now = opts.now ?? Date.now();
  return withStore(opts.configDir, write, (db, config, takeoverAfterMs) => {
    const { instances, unownedWaiting } = instanceSummaries(db, localDayStart(now, config.course.timezone));
    write(`instances on ${describeStore(config.dataPath)}:`);
    if (instances.length === 0) write('  none has run yet');
    for (const i of instances) {
      // Whole seconds up to a minute, then the two largest units (a store left for months reads "266d15h").
      const age = Math.max(0, now - i.heartbeat_at);
      const ago = age < 60_000 ? `${Math.round(age / 1000)}s` : (formatDuration(age).match(/^\d+[a-z]+(\d+[a-z]+)?/)?.[0] ?? '');
      const state = age < takeoverAfterMs ? 'running' : `gone (last seen ${ago} ago)`;
      write(
        `  ${i.name.padEnd(16)} ${state.padEnd(28)} ${String(i.chats).padStart(6)} chats  ${String(i.waiting).padStart(6)} waiting  ${String(i.sent_since).padStart(6)} sent today  ${i.host ?? '?'} pid ${i.pid ?? '?'}`,
      );
    }
    if (unownedWaiting > 0) write(`  ${unownedWaiting} messages wait for chats no instance has seen yet (the first instance that can send them will)`);
    return 0;
  });
}
