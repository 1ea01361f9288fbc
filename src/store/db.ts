import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkpointInBackground } from './checkpointer.js';
import { migrations, type Migration } from './migrations.js';
import { postgresSqlOf, sqliteDdlToPostgres } from './pg-ddl.js';
import { PostgresDb } from './postgres.js';
import { isPostgresUrl, redactUrl } from './url.js';

export type { Db, Dialect, RunResult, Statement } from './handle.js';
import type { Db, Dialect } from './handle.js';

/** Which backend `db` is on, for the few places whose SQL cannot be the same text on both. */
export function dialectOf(db: Db): Dialect {
  return (db as { dialect?: Dialect }).dialect ?? 'sqlite';
}

/** The better-sqlite3 Database under `db`, for SQLite-only work (pragmas, online backup). */
export function sqliteOf(db: Db): Database.Database {
  if (dialectOf(db) !== 'sqlite') throw new Error('this needs the SQLite store');
  return db as Database.Database;
}

/** How a store location is shown to a person: a PostgreSQL URL without its password. */
export function describeStore(pathOrUrl: string): string {
  return isPostgresUrl(pathOrUrl) ? redactUrl(pathOrUrl) : pathOrUrl;
}

export { isPostgresUrl };

/** Whether there is a store to open: the SQLite file exists (a PostgreSQL URL always counts). */
export function storeExists(pathOrUrl: string): boolean {
  return isPostgresUrl(pathOrUrl) || pathOrUrl === ':memory:' || existsSync(pathOrUrl);
}

/**
 * Opens the store and applies missing migrations: a `postgres://` or `postgresql://` URL opens
 * PostgreSQL; anything else is the SQLite file at that path (created if needed), or an in-memory
 * store for `:memory:`. `backgroundCheckpoints`: for the long-running bot on SQLite (kequn start).
 *
 * @example const db = openStore(':memory:');
 */
export function openStore(pathOrUrl: string, opts: { migrate?: boolean; backgroundCheckpoints?: boolean } = {}): Db {
  const wantMigrate = opts.migrate ?? true;
  if (isPostgresUrl(pathOrUrl)) {
    const pg = new PostgresDb(pathOrUrl);
    try {
      if (wantMigrate) migrate(pg);
    } catch (e) {
      pg.close();
      throw e;
    }
    return pg;
  }
  const path = pathOrUrl;
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  if (wantMigrate) migrate(db);
  // The running bot: WAL checkpoints off the event loop (see checkpointer.ts).
  if (opts.backgroundCheckpoints && path !== ':memory:') checkpointInBackground(db, path);
  return db;
}

/** Applies the missing migrations; returns how many. */
export function migrate(db: Db): number {
  return applyMigrations(db).length;
}

/**
 * Applies the missing migrations in order, each in its own transaction, and returns them. On
 * PostgreSQL a session advisory lock makes processes starting together apply them once.
 */
export function applyMigrations(db: Db): Migration[] {
  const pg = dialectOf(db) === 'postgres';
  if (pg) db.prepare('SELECT pg_advisory_lock(?)').get(MIGRATION_LOCK);
  try {
    const table = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)';
    db.exec(pg ? sqliteDdlToPostgres(table) : table);
    const applied = new Set(
      (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
    );
    const done: Migration[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      db.transaction(() => {
        db.exec(pg ? postgresSqlOf(m) : m.sql);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      })();
      done.push(m);
    }
    return done;
  } finally {
    if (pg) db.prepare('SELECT pg_advisory_unlock(?)').get(MIGRATION_LOCK);
  }
}

/** The migrations the store has, in order (for `kequn migrate` and backups). */
export function appliedMigrations(db: Db): { version: number; name: string; applied_at: number }[] {
  return db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all() as { version: number; name: string; applied_at: number }[];
}

/** Arbitrary advisory-lock key for migrations ("kequn" in ASCII). */
const MIGRATION_LOCK = 0x6b6571756e;

/** Runs `fn` in one transaction (nested calls join the outer one). */
export function inTransaction<T>(db: Db, fn: () => T): T {
  if (db.inTransaction) return fn();
  return db.transaction(fn)();
}

export function getKv(db: Db, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM kv WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

export function setKv(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}
