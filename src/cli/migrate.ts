import { applyMigrations, appliedMigrations, describeStore, openStore } from '../store/db.js';
import { loadConfigOrReport } from './check.js';

/**
 * `kequn migrate`: applies the store's pending migrations (SQLite file or PostgreSQL at
 * DATABASE_URL) and says what it did. `kequn start` migrates too; this is for upgrading a
 * database before starting the new version, or preparing an empty PostgreSQL database.
 */
export function runMigrate(opts: { configDir: string; write: (line: string) => void }): number {
  const { write } = opts;
  const config = loadConfigOrReport(opts.configDir, write);
  if (!config) return 2;
  const where = describeStore(config.dataPath);
  let db;
  try {
    db = openStore(config.dataPath, { migrate: false });
  } catch (e) {
    write(`cannot open the store at ${where}: ${(e as Error).message}`);
    return 1;
  }
  try {
    const done = applyMigrations(db);
    for (const m of done) write(`applied migration ${m.version} (${m.name})`);
    const all = appliedMigrations(db);
    const version = all.at(-1)?.version ?? 0;
    write(done.length === 0 ? `${where} is up to date: schema ${version}` : `${where} is now at schema ${version} (${done.length} applied)`);
    return 0;
  } finally {
    db.close();
  }
}
