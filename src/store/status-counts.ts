import { dialectOf, type Db } from './db.js';
import { stmt, type Sql } from './statements.js';

/**
 * The counts /healthz reports, read from status_counts (migration 26): triggers record every
 * insert, status change and delete of an outbox row, a job or a member in the writing
 * transaction, so the figures are the store's (every process's) and as exact as a COUNT(*), at
 * the cost of a few rows read instead of a pass over the outbox and jobs tables.
 *
 * On PostgreSQL the triggers append to status_deltas instead of updating status_counts (see the
 * migration), and compactDeltas folds those into status_counts every heartbeat; a read sums both.
 */

export type CountedTable = 'outbox' | 'jobs' | 'members';

/** Arbitrary advisory-lock key for compactDeltas ("kqcount"): one process folds at a time. */
const COMPACT_LOCK = 0x6b71636f756e74;

function counts(db: Db, table: CountedTable): [string, number][] {
  const sql =
    dialectOf(db) === 'sqlite'
      ? 'SELECT status, n FROM status_counts WHERE tbl = ?'
      : `SELECT status, SUM(n) AS n FROM (SELECT status, n FROM status_counts WHERE tbl = @t UNION ALL SELECT status, n FROM status_deltas WHERE tbl = @t) x GROUP BY status`;
  const rows = dialectOf(db) === 'sqlite' ? stmt(db, sql).raw(true).all(table) : stmt(db, sql).raw(true).all({ t: table });
  return (rows as [string, number | string][]).map(([s, n]) => [s, Number(n)]);
}

/** Rows of `table` per status, statuses with no row left out (as a GROUP BY status would). */
export function statusCounts(db: Db, table: Exclude<CountedTable, 'members'>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [status, n] of counts(db, table).sort((a, b) => (a[0] < b[0] ? -1 : 1))) if (n !== 0) out[status] = n;
  return out;
}

/** How many members the store has. */
export function memberCount(db: Db): number {
  return counts(db, 'members').reduce((sum, [, n]) => sum + n, 0);
}

/**
 * PostgreSQL: folds the deltas the triggers appended into status_counts, in one statement (what
 * it deletes it adds), unless another process is folding right now. Returns the deltas folded;
 * 0 on SQLite, which has none.
 */
export function compactDeltas(db: Db): number {
  if (dialectOf(db) === 'sqlite') return 0;
  const q = compactSql();
  return Number((stmt(db, q.sql).get(...q.params) as { n: number | string }).n);
}

/**
 * compactDeltas as one statement (its own transaction; the cluster's heartbeat sends it with its
 * others): the lock is taken once, before the delete reads a row (an uncorrelated sub-select is
 * evaluated first), and held until the statement commits. PostgreSQL only.
 */
export function compactSql(): Sql {
  return {
    sql: `WITH d AS (DELETE FROM status_deltas WHERE (SELECT pg_try_advisory_xact_lock(?)) RETURNING tbl, status, n),
            f AS (INSERT INTO status_counts (tbl, status, n) SELECT tbl, status, SUM(n) FROM d GROUP BY tbl, status
                  ON CONFLICT (tbl, status) DO UPDATE SET n = status_counts.n + excluded.n RETURNING 1)
       SELECT (SELECT COUNT(*) FROM d) AS n`,
    params: [COMPACT_LOCK],
  };
}
