/**
 * The store's handle types, apart from db.ts so the PostgreSQL backend (postgres.ts) can implement
 * them without importing the module that opens it.
 */

/** What a statement's run() reports (better-sqlite3's RunResult). */
export interface RunResult {
  changes: number;
  /** SQLite only; on PostgreSQL use `INSERT ... RETURNING id` (portable: SQLite has RETURNING too). */
  lastInsertRowid: number | bigint;
}

/** A prepared statement: the part of better-sqlite3's Statement the store uses. */
export interface Statement {
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): RunResult;
  iterate(...params: unknown[]): IterableIterator<unknown>;
  /** Rows as arrays of values instead of objects. */
  raw(toggle?: boolean): Statement;
  /** Only the first column of each row. */
  pluck(toggle?: boolean): Statement;
}

/**
 * The store's handle: the part of better-sqlite3's Database the store uses. On SQLite it IS the
 * better-sqlite3 Database (no wrapper on the hot path); on PostgreSQL it is a PostgresDb
 * (src/store/postgres.ts) that behaves the same. Only modules under src/store see it; everything
 * else calls the store's functions (`getMember(db, id)`).
 */
export interface Db {
  prepare(sql: string): Statement;
  /** Returns `fn` wrapped in BEGIN/COMMIT, or in a savepoint when a transaction is open. */
  /* eslint-disable-next-line @typescript-eslint/no-explicit-any -- better-sqlite3's own signature */
  transaction<F extends (...args: any[]) => unknown>(fn: F): (...args: any[]) => ReturnType<F>;
  exec(sql: string): unknown;
  readonly inTransaction: boolean;
  close(): unknown;
}

export type Dialect = 'sqlite' | 'postgres';
