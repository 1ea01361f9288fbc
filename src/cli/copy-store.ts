import { CopyStoreError, copyStore, sqlitePathOf } from '../store/copy-store.js';
import { StoreLockedError } from '../store/backup.js';
import { describeStore } from '../store/db.js';

/**
 * `kequn copy-store --from sqlite:FILE --to postgres://...`: moves an existing SQLite
 * installation into an empty PostgreSQL database (docs/postgresql.md, "Moving an existing
 * installation"). `--to` defaults to DATABASE_URL, so the password need not be on the command line.
 */
export function runCopyStore(opts: { from?: string; to?: string; write: (line: string) => void }): number {
  const { write } = opts;
  const to = opts.to ?? process.env.DATABASE_URL;
  if (!opts.from || !to) {
    write('usage: kequn copy-store --from sqlite:FILE --to postgres://USER:PASSWORD@HOST:PORT/DB   (--to defaults to DATABASE_URL)');
    return 2;
  }
  const from = sqlitePathOf(opts.from);
  write(`copying ${from} to ${describeStore(to)}`);
  try {
    const onTable = (name: string, rows: number) => {
      if (rows > 0) write(`  ${name}: ${rows} rows`);
    };
    const r = copyStore(from, to, { onTable });
    const seconds = r.ms / 1000;
    write(`copied ${r.tables.length} tables, ${r.rows} rows in ${seconds.toFixed(1)} s (${Math.round(r.rows / Math.max(seconds, 0.001))} rows/s), schema ${r.schemaVersion}; row counts verified`);
    write(`now point kequn at it: export DATABASE_URL=${describeStore(to)} (with the password), then npx kequn start`);
    return 0;
  } catch (e) {
    if (e instanceof CopyStoreError || e instanceof StoreLockedError) {
      write(`refused: ${e.message}`);
      return 1;
    }
    // A failure during the copy rolled the one target transaction back (PostgresDb errors carry no password).
    write(`copy failed, no rows were written to the target: ${(e as Error).message}`);
    return 1;
  }
}
