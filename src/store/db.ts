import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkpointInBackground } from './checkpointer.js';
import { migrations } from './migrations.js';

/**
 * The store's handle. Only modules under src/store see the driver; everything else calls the
 * store's functions (`getMember(db, id)`), so another backend can be added behind them.
 */
export type Db = Database.Database;

/**
 * Opens (creating if needed) the SQLite file at `path`, or an in-memory store for `:memory:`,
 * and applies missing migrations. `backgroundCheckpoints`: for the long-running bot (kequn start).
 *
 * @example const db = openStore(':memory:');
 */
export function openStore(path: string, opts: { backgroundCheckpoints?: boolean } = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  // The running bot: WAL checkpoints off the event loop (see checkpointer.ts).
  if (opts.backgroundCheckpoints && path !== ':memory:') checkpointInBackground(db, path);
  return db;
}

export function migrate(db: Db): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  let count = 0;
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    })();
    count++;
  }
  return count;
}

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
