import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { acquireStoreLock, StoreLockedError, storeHolder } from './backup.js';
import { applyMigrations, appliedMigrations } from './db.js';
import { migrations } from './migrations.js';
import { PostgresDb } from './postgres.js';
import { isPostgresUrl, redactUrl } from './url.js';

/**
 * `kequn copy-store`: moves an existing SQLite installation into an empty PostgreSQL database.
 * The source is read in one read transaction (a consistent snapshot); the target is migrated to
 * the same schema, then every table is copied parent-before-child (foreign keys) in batches inside
 * ONE target transaction, with the identity columns restarted past the copied ids and the row
 * counts compared before the commit, so a failure at any point leaves the target as empty as it was.
 */

export class CopyStoreError extends Error {}

export interface CopyStoreResult {
  tables: { name: string; rows: number }[];
  rows: number;
  ms: number;
  schemaVersion: number;
}

/**
 * Tables the copy leaves alone: the target's migrations are its own (same versions, applied now);
 * its status_counts are made by its triggers as the outbox, jobs and members rows arrive.
 */
const SKIPPED = new Set(['schema_migrations', 'status_counts']);

/** Rows per INSERT statement (also bounded by PostgreSQL's 65535 parameters). */
const BATCH_ROWS = 500;

/** `sqlite:FILE` or a plain path → the file path. */
export function sqlitePathOf(from: string): string {
  return from.startsWith('sqlite:') ? from.slice('sqlite:'.length) : from;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Copies the SQLite store at `fromPath` into the PostgreSQL database at `toUrl`. Throws
 * CopyStoreError (or StoreLockedError) with a message for the operator, before changing anything,
 * when: the source is missing, held by a running kequn, has a migration this kequn does not know
 * or lacks one it knows (run `kequn migrate` on it first), or the target has kequn rows already.
 */
export function copyStore(fromPath: string, toUrl: string, opts: { onTable?: (name: string, rows: number) => void } = {}): CopyStoreResult {
  const t0 = performance.now();
  if (!isPostgresUrl(toUrl)) throw new CopyStoreError(`--to must be a postgres:// or postgresql:// URL, not ${toUrl}`);
  if (isPostgresUrl(fromPath)) throw new CopyStoreError('--from must be a SQLite file (sqlite:FILE or a path)');
  if (!existsSync(fromPath)) throw new CopyStoreError(`no SQLite store at ${fromPath}`);
  const holder = storeHolder(fromPath);
  if (holder !== undefined && holder !== process.pid) {
    throw new StoreLockedError(holder, fromPath, `kequn (pid ${holder}) is running on ${fromPath}; stop it first (the copy must not miss what it writes meanwhile)`);
  }
  // Held for the copy so a `kequn start` cannot begin writing to the source half-way through.
  const releaseSource = acquireStoreLock(fromPath);
  let src: Database.Database | undefined;
  let target: PostgresDb | undefined;
  let releaseTarget: (() => void) | undefined;
  try {
    src = new Database(fromPath, { readonly: true, fileMustExist: true });
    const version = checkSourceSchema(src, fromPath);
    // A kequn running on the target would be writing into what we are about to fill.
    releaseTarget = acquireStoreLock(toUrl, { exclusive: true });
    target = new PostgresDb(toUrl);
    applyMigrations(target);
    const targetVersions = appliedMigrations(target).map((m) => m.version);
    const known = new Set(migrations.map((m) => m.version));
    const unknownTarget = targetVersions.filter((v) => !known.has(v));
    if (unknownTarget.length > 0) throw new CopyStoreError(`${redactUrl(toUrl)} has schema migrations ${unknownTarget.join(', ')} this kequn does not know (made by a newer kequn?)`);

    src.exec('BEGIN'); // one snapshot of the source for the copy and the counts
    const tables = sourceTables(src);
    const targetTables = new Set((target.prepare("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'").all() as { t: string }[]).map((r) => r.t));
    const missing = tables.filter((t) => !targetTables.has(t));
    if (missing.length > 0) throw new CopyStoreError(`the target has no table ${missing.join(', ')} after migrating (tables not made by kequn's migrations cannot be copied)`);
    const tgt = target;
    const notEmpty = [...targetTables].filter((t) => !SKIPPED.has(t) && (tgt.prepare(`SELECT EXISTS (SELECT 1 FROM ${quote(t)}) AS x`).get() as { x: number }).x === 1);
    if (notEmpty.length > 0) throw new CopyStoreError(`${redactUrl(toUrl)} is not empty: ${notEmpty.sort().join(', ')} ${notEmpty.length === 1 ? 'has' : 'have'} rows; copy-store only fills an empty database (drop and recreate it, then run copy-store again)`);

    const copied: { name: string; rows: number }[] = [];
    tgt.transaction(() => {
      for (const table of tables) {
        const rows = copyTable(src!, tgt, table);
        copied.push({ name: table, rows });
        opts.onTable?.(table, rows);
      }
      restartIdentities(tgt);
      // Verify before committing: the same number of rows on both sides, table by table; a
      // mismatch rolls the whole copy back like any other failure.
      const wrong: string[] = [];
      for (const { name } of copied) {
        const q = `SELECT count(*) AS n FROM ${quote(name)}`;
        const [a, b] = [(src!.prepare(q).get() as { n: number }).n, (tgt.prepare(q).get() as { n: number }).n];
        if (a !== b) wrong.push(`${name}: ${a} in the source, ${b} in the target`);
      }
      if (wrong.length > 0) throw new Error(`the copy does not verify (rolled back):\n  ${wrong.join('\n  ')}`);
    })();
    src.exec('COMMIT');
    return { tables: copied, rows: copied.reduce((s, t) => s + t.rows, 0), ms: Math.round(performance.now() - t0), schemaVersion: version };
  } finally {
    src?.close();
    target?.close();
    releaseTarget?.();
    releaseSource();
  }
}

/** The source's schema version; refuses unknown (newer kequn) and missing (older store) migrations. */
function checkSourceSchema(src: Database.Database, fromPath: string): number {
  const has = src.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!has) throw new CopyStoreError(`${fromPath} is not a kequn store (no schema_migrations table)`);
  const versions = (src.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
  const known = new Set(migrations.map((m) => m.version));
  const unknown = versions.filter((v) => !known.has(v));
  if (unknown.length > 0) throw new CopyStoreError(`${fromPath} has schema migrations ${unknown.join(', ')} this kequn does not know (made by a newer kequn?); upgrade kequn first`);
  const have = new Set(versions);
  const pending = migrations.filter((m) => !have.has(m.version));
  if (pending.length > 0) {
    throw new CopyStoreError(`${fromPath} is at an older schema (missing migrations ${pending.map((m) => m.version).join(', ')}); bring it up to date first with \`KEQUN_DATA=${fromPath} npx kequn migrate\`, then copy it`);
  }
  return Math.max(0, ...versions);
}

/** The source's tables, parents before children (by their foreign keys), schema_migrations left out. */
export function sourceTables(src: Database.Database): string[] {
  const names = (src.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[])
    .map((r) => r.name)
    .filter((n) => !SKIPPED.has(n));
  const parents = new Map<string, string[]>();
  for (const n of names) {
    const fks = src.prepare(`PRAGMA foreign_key_list(${quote(n)})`).all() as { table: string }[];
    // A self-reference (referral_ledger.reverses) is satisfied by copying in id order.
    parents.set(n, [...new Set(fks.map((f) => f.table))].filter((t) => t !== n));
  }
  const ordered: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (n: string, path: string[]) => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'visiting') throw new CopyStoreError(`foreign keys form a cycle: ${[...path, n].join(' → ')}`);
    state.set(n, 'visiting');
    for (const p of parents.get(n) ?? []) if (parents.has(p)) visit(p, [...path, n]);
    state.set(n, 'done');
    ordered.push(n);
  };
  for (const n of names) visit(n, []);
  return ordered;
}

/** Copies one table in batches of multi-row INSERTs; returns its row count. */
function copyTable(src: Database.Database, target: PostgresDb, table: string): number {
  const cols = (src.prepare(`PRAGMA table_info(${quote(table)})`).all() as { name: string; pk: number }[]);
  const columnList = cols.map((c) => quote(c.name)).join(', ');
  const perRow = `(${cols.map(() => '?').join(', ')})`;
  const batch = Math.max(1, Math.min(BATCH_ROWS, Math.floor(60_000 / cols.length)));
  const insertOf = (n: number) => target.prepare(`INSERT INTO ${quote(table)} (${columnList}) VALUES ${Array.from({ length: n }, () => perRow).join(', ')}`);
  // rowid order: a row that references an earlier row of its own table comes after it.
  const hasRowid = !(src.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(table) as string).match(/WITHOUT\s+ROWID/i);
  const rows = src.prepare(`SELECT ${columnList} FROM ${quote(table)}${hasRowid ? ' ORDER BY rowid' : ''}`).raw().iterate() as IterableIterator<unknown[]>;
  let pending: unknown[] = [];
  let count = 0;
  let inBatch = 0;
  for (const row of rows) {
    pending.push(...row);
    inBatch++;
    count++;
    if (inBatch === batch) {
      insertOf(batch).run(...pending);
      pending = [];
      inBatch = 0;
    }
  }
  if (inBatch > 0) insertOf(inBatch).run(...pending);
  return count;
}

/**
 * Identity columns continue past the copied ids, so the next insert does not collide with a
 * copied row. ALTER ... RESTART is transactional (setval is not), so a failed copy leaves the
 * sequences as they were too.
 */
function restartIdentities(target: PostgresDb): void {
  const identities = target
    .prepare("SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'")
    .all() as { t: string; c: string }[];
  for (const { t, c } of identities) {
    const max = (target.prepare(`SELECT max(${quote(c)}) AS m FROM ${quote(t)}`).get() as { m: number | null }).m;
    if (max !== null) target.exec(`ALTER TABLE ${quote(t)} ALTER COLUMN ${quote(c)} RESTART WITH ${Math.trunc(max) + 1}`);
  }
}
