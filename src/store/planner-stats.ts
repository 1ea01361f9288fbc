import { dialectOf, type Db } from './db.js';
import { PostgresError } from './postgres.js';
import { stmt, type Sql } from './statements.js';

/**
 * PostgreSQL: the planner's statistics of the tables that grow in bursts, made fresh again soon
 * after a burst instead of whenever autovacuum comes round (a minute at best, far later on a
 * loaded server).
 *
 * Why: the outbox and the jobs are empty or small most of the time and then take thousands of
 * rows at once (a reminder run, a broadcast at launch). Until they are analysed again the planner
 * takes the new lane's pending rows for a handful and picks nested loops that read every pending
 * row once per queue: the send window's read (src/store/outbox.ts pendingHeads) went from 8 ms to
 * 470 ms at 4,000 queued reminders, for every lane before every send, in every process, and the
 * cluster drill under load delivered 600 of 3,900 messages before its deadline while heartbeats
 * lapsed. SQLite plans from its indexes alone and needs nothing here.
 */

/** The tables checked: where bursts land and the hot reads look. */
const BURSTY_TABLES = ['outbox', 'jobs'] as const;

/** Changes since the last analyse that make a table's statistics stale: this many ... */
const MIN_CHANGES = 500;
/** ... and at least this share of its live rows (autovacuum's own default is 10% after a minute's wait). */
const MIN_SHARE = 0.2;

/** Arbitrary advisory-lock key ("kqst"): one process analyses at a time. */
const ANALYZE_LOCK = 0x6b717374;

/**
 * Analyses each bursty table whose rows changed by more than MIN_CHANGES and MIN_SHARE of its
 * size since it was last analysed (by anyone: autovacuum's analyses count). Cheap when nothing
 * changed (one read of pg_stat_user_tables); ANALYZE samples at most 30,000 rows. Never waits:
 * if another process is analysing, or a lock would be waited for, it leaves it to the next beat.
 * Returns the tables analysed; [] on SQLite.
 */
export function refreshPlannerStats(db: Db): string[] {
  if (dialectOf(db) === 'sqlite') return [];
  const q = plannerStatsSql();
  return analyseStale(db, staleTables(stmt(db, q.sql).all(...q.params) as Record<string, unknown>[]));
}

/** The read refreshPlannerStats starts with (the cluster's heartbeat sends it with its others). PostgreSQL only. */
export function plannerStatsSql(): Sql {
  return {
    sql: `SELECT s.relname AS name, s.n_live_tup AS live, s.n_mod_since_analyze AS changed FROM pg_stat_user_tables s
      WHERE s.relid IN (${BURSTY_TABLES.map((t) => `to_regclass('${t}')`).join(', ')})`,
    params: [],
  };
}

/** Of plannerStatsSql's rows, the tables to analyse. */
export function staleTables(rows: Record<string, unknown>[]): string[] {
  return rows.filter((r) => Number(r.changed) >= MIN_CHANGES && Number(r.changed) >= MIN_SHARE * Number(r.live)).map((r) => String(r.name));
}

/** Analyses `stale` (staleTables), unless another process is at it or a lock would be waited for. */
export function analyseStale(db: Db, stale: string[]): string[] {
  if (stale.length === 0 || dialectOf(db) === 'sqlite') return [];
  try {
    return db.transaction(() => {
      const locked = (stmt(db, 'SELECT pg_try_advisory_xact_lock(?) AS ok').get(ANALYZE_LOCK) as { ok: number | boolean }).ok;
      if (!locked) return [];
      // An autovacuum or a manual VACUUM holding the table: leave it, rather than stop this
      // process (its sends, its heartbeat) behind it.
      db.exec("SET LOCAL lock_timeout = '200ms'");
      for (const table of stale) if ((BURSTY_TABLES as readonly string[]).includes(table)) db.exec(`ANALYZE ${table}`);
      return stale;
    })();
  } catch (e) {
    if (e instanceof PostgresError && e.code === '55P03') return [];
    throw e;
  }
}

type BurstyTable = (typeof BURSTY_TABLES)[number];

/** Rows this process added to each bursty table since its last look (analyseAfterOwnBurst), per store. */
const addedHere = new WeakMap<Db, Record<BurstyTable, number>>();

/**
 * Counts a row this process added to the outbox or the jobs (enqueueMessage, planJob), for
 * analyseAfterOwnBurst. Nothing on SQLite.
 */
export function noteRowAdded(db: Db, table: BurstyTable): void {
  if (dialectOf(db) === 'sqlite') return;
  let added = addedHere.get(db);
  if (!added) addedHere.set(db, (added = { outbox: 0, jobs: 0 }));
  added[table]++;
}

/**
 * The burst this process made itself, analysed before its own next read of the table instead of
 * at the next heartbeat (up to 5 s later). A fan-out job that queues 50,000 reminders in one
 * transaction is followed at once by the sender's window read, and with the statistics of a
 * near-empty outbox that read is quadratic in the pending rows (470 ms at 4,000; minutes at
 * 50,000, with pg-native blocking the process and its heartbeat meanwhile).
 *
 * The server's own change counters (refreshPlannerStats) reach pg_stat_user_tables only when the
 * backend flushes them, up to a second after the commit, so this compares the rows counted here
 * with the table's size at its last analysis (pg_class.reltuples; -1 if never analysed): MIN_CHANGES
 * rows and MIN_SHARE of it, as at the heartbeat. Called after each job's and each event's commit
 * (so another process's window read finds the statistics fresh too) and before this process's own
 * window read; inside a transaction it waits for the commit. Reads nothing when this process added
 * fewer than MIN_CHANGES rows since its last look, and never throws. Returns the tables analysed;
 * [] on SQLite.
 */
export function analyseAfterOwnBurst(db: Db): string[] {
  const added = addedHere.get(db);
  // After every event and job: nothing allocated until a table has had a burst.
  if (!added || (added.outbox < MIN_CHANGES && added.jobs < MIN_CHANGES) || db.inTransaction) return [];
  const big = BURSTY_TABLES.filter((t) => added[t] >= MIN_CHANGES);
  const counted = big.map((t) => ({ table: t, rows: added[t] }));
  for (const t of big) added[t] = 0;
  try {
    const sizes = stmt(db, `SELECT relname AS name, reltuples AS size FROM pg_class WHERE oid IN (${big.map(() => 'to_regclass(?)').join(', ')})`).all(...big) as {
      name: string;
      size: number;
    }[];
    const sizeOf = (t: string) => Math.max(0, Number(sizes.find((r) => r.name === t)?.size ?? 0));
    return analyseStale(db, counted.filter((c) => c.rows >= MIN_SHARE * sizeOf(c.table)).map((c) => c.table));
  } catch {
    // Only a shortcut: whatever failed here (the connection, the server), the heartbeat's check
    // still comes within 5 s and logs; the caller's own work (a committed job, a send) goes on.
    return [];
  }
}
