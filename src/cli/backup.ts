import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { backupStore, RestoreError, restoreStore, StoreLockedError, verifyBackup } from '../store/backup.js';
import { isPostgresUrl } from '../store/url.js';
import { loadConfigOrReport } from './check.js';

/** `kequn backup FILE`: an online copy of the store, safe while kequn runs. */
export async function runBackup(opts: { configDir: string; file: string; write: (line: string) => void }): Promise<number> {
  const { write } = opts;
  const config = loadConfigOrReport(opts.configDir, write);
  if (!config) return 2;
  if (isPostgresUrl(config.dataPath)) {
    write('the store is on PostgreSQL: back it up with pg_dump (docs/postgresql.md)');
    return 2;
  }
  if (!existsSync(config.dataPath)) {
    write(`no data yet: ${config.dataPath} does not exist (nothing to back up)`);
    return 1;
  }
  const target = resolve(opts.file);
  if (target === config.dataPath) {
    write('the backup file must not be the store itself');
    return 2;
  }
  const r = await backupStore(config.dataPath, target);
  const check = verifyBackup(target);
  if (!check.ok) {
    write(`backup written to ${target} but it does not verify:\n  ${check.problems.join('\n  ')}`);
    return 1;
  }
  write(`backed up ${config.dataPath} to ${target}: ${r.bytes} bytes, ${check.counts.members} members, ${check.counts.events} events, ${check.counts.orders} orders, schema ${check.schemaVersion} (${r.ms} ms)`);
  return 0;
}

/** `kequn restore FILE`: replaces the store with a backup (kequn must be stopped). */
export async function runRestore(opts: { configDir: string; file: string; write: (line: string) => void }): Promise<number> {
  const { write } = opts;
  const config = loadConfigOrReport(opts.configDir, write);
  if (!config) return 2;
  if (isPostgresUrl(config.dataPath)) {
    write('the store is on PostgreSQL: restore it with pg_restore or psql (docs/postgresql.md)');
    return 2;
  }
  const file = resolve(opts.file);
  if (file === config.dataPath) {
    write('the backup file is the store itself; nothing to restore');
    return 2;
  }
  try {
    const r = await restoreStore(config.dataPath, file);
    write(`restored ${config.dataPath} from ${file}: ${r.check.counts.members} members, ${r.check.counts.events} events, ${r.check.counts.orders} orders, schema ${r.check.schemaVersion}${r.migrated > 0 ? ` (+${r.migrated} newer migrations applied)` : ''}`);
    if (r.previous) write(`the store it replaced is kept as ${r.previous}`);
    return 0;
  } catch (e) {
    if (e instanceof StoreLockedError || e instanceof RestoreError) {
      write(e.message);
      return 1;
    }
    throw e;
  }
}
