import { clusterFromEnv, ClusterEnvError } from '../bot/cluster.js';
import { describeStore, openStore } from '../store/db.js';
import { instanceSummaries } from '../store/cluster.js';
import { localDayStart } from '../util/localtime.js';
import { loadConfigOrReport } from './check.js';

/**
 * `kequn instances`: the kequn processes that use this store (several on PostgreSQL, one on
 * SQLite), whether each is running (heartbeat younger than the takeover time), the chats it
 * answers in, the messages waiting for it and what it sent today.
 */
export function runInstances(opts: { configDir: string; write: (line: string) => void; now?: number }): number {
  const { write } = opts;
  const config = loadConfigOrReport(opts.configDir, write);
  if (!config) return 2;
  let takeoverAfterMs: number;
  try {
    takeoverAfterMs = clusterFromEnv(process.env).takeoverAfterMs;
  } catch (e) {
    if (!(e instanceof ClusterEnvError)) throw e;
    write(e.message);
    return 2;
  }
  const now = opts.now ?? Date.now();
  const db = openStore(config.dataPath);
  try {
    const { instances, unownedWaiting } = instanceSummaries(db, localDayStart(now, config.course.timezone));
    write(`instances on ${describeStore(config.dataPath)}:`);
    if (instances.length === 0) write('  none has run yet');
    for (const i of instances) {
      const age = Math.max(0, Math.round((now - i.heartbeat_at) / 1000));
      const state = now - i.heartbeat_at < takeoverAfterMs ? 'running' : `gone (last seen ${age} s ago)`;
      write(
        `  ${i.name.padEnd(16)} ${state.padEnd(28)} ${String(i.chats).padStart(6)} chats  ${String(i.waiting).padStart(6)} waiting  ${String(i.sent_since).padStart(6)} sent today  ${i.host ?? '?'} pid ${i.pid ?? '?'}`,
      );
    }
    if (unownedWaiting > 0) write(`  ${unownedWaiting} messages wait for chats no instance has seen yet (the first instance that can send them will)`);
    return 0;
  } finally {
    db.close();
  }
}
