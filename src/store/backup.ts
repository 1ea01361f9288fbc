import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrations } from './migrations.js';
import { openStore } from './db.js';
import { PostgresDb } from './postgres.js';
import { isPostgresUrl, redactUrl } from './url.js';

/**
 * Backup, restore and the store lock. A backup uses SQLite's online backup API from a read-only
 * connection: in WAL mode a reader never blocks the running bot's writes, and the copy is one
 * consistent snapshot. A restore replaces the file, so it refuses while a kequn process holds it.
 */

/** The lock file `kequn start` holds next to the store: its pid, one line. */
export function lockPathOf(dataPath: string): string {
  return `${dataPath}.lock`;
}

export class StoreLockedError extends Error {
  constructor(
    /** The holder's pid; 0 when unknown (another machine, on PostgreSQL). */
    readonly pid: number,
    dataPath: string,
    message = `kequn (pid ${pid}) is running on ${dataPath}; stop it first (a restore replaces the file under it)`,
  ) {
    super(message);
  }
}

/** The pid in the lock file, when that process is still alive (a lock left by a crash is ignored). */
export function storeHolder(dataPath: string): number | undefined {
  const path = lockPathOf(dataPath);
  if (!existsSync(path)) return undefined;
  const pid = Number(readFileSync(path, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (pid === process.pid) return pid;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    // EPERM: alive but someone else's; ESRCH: gone (kill -9, power loss).
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/**
 * Marks the store as in use by this process. Throws StoreLockedError when another live kequn
 * holds it (two bots on one store would both answer every message). Returns the release function.
 * On PostgreSQL several processes may share the store, one per instance name (`instance`);
 * `exclusive` (kequn copy-store) wants none running.
 */
export function acquireStoreLock(dataPath: string, opts: { instance?: string; exclusive?: boolean } = {}): () => void {
  if (dataPath === ':memory:') return () => undefined;
  if (isPostgresUrl(dataPath)) return acquirePostgresLock(dataPath, opts);
  const holder = storeHolder(dataPath);
  if (holder !== undefined && holder !== process.pid) throw new StoreLockedError(holder, dataPath);
  const path = lockPathOf(dataPath);
  // On a fresh install the data folder does not exist yet (the store creates it when it opens).
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${process.pid}\n`);
  return () => {
    try {
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
    } catch {
      // already gone
    }
  };
}

/**
 * On PostgreSQL the locks are session advisory locks held by a connection of its own for as long
 * as the process runs: they go away with the process, on any machine. A running instance holds
 * the store key shared and its name's key exclusively: a second process with the same
 * KEQUN_INSTANCE is refused (both would answer the same account's messages), and so is a
 * copy-store (which takes the store key exclusively) while any instance runs.
 */
function acquirePostgresLock(url: string, opts: { instance?: string; exclusive?: boolean }): () => void {
  const conn = new PostgresDb(url);
  const where = redactUrl(url);
  const refuse = (message: string): never => {
    conn.close();
    throw new StoreLockedError(0, where, message);
  };
  if (opts.exclusive) {
    const { ok } = conn.prepare('SELECT pg_try_advisory_lock(?, 0) AS ok').get(RUN_LOCK) as { ok: number };
    if (!ok) refuse(`kequn is running on ${where}; stop every instance first`);
  } else {
    const { ok } = conn.prepare('SELECT pg_try_advisory_lock_shared(?, 0) AS ok').get(RUN_LOCK) as { ok: number };
    if (!ok) refuse(`${where} is being filled by kequn copy-store; start kequn when it has finished`);
    const name = opts.instance ?? 'main';
    const mine = conn.prepare('SELECT pg_try_advisory_lock(?, hashtext(CAST(? AS TEXT))) AS ok').get(INSTANCE_LOCK, name) as { ok: number };
    if (!mine.ok) refuse(`another kequn with KEQUN_INSTANCE=${name} is running on ${where}; give each process its own KEQUN_INSTANCE (docs/deploy.md)`);
  }
  return () => {
    conn.close();
  };
}

/** Advisory-lock namespaces (two-key form): a running kequn ("kqn!") and its instance name ("kqni"). */
const RUN_LOCK = 0x6b716e21;
const INSTANCE_LOCK = 0x6b716e69;

export interface BackupResult {
  path: string;
  bytes: number;
  pages: number;
  ms: number;
}

/**
 * Online backup of the store at `dataPath` into `target` (written to a temp name, then renamed,
 * so a half-written backup never carries the final name). Safe while kequn runs.
 */
export async function backupStore(dataPath: string, target: string): Promise<BackupResult> {
  const t0 = performance.now();
  if (!existsSync(dataPath)) throw new Error(`no store at ${dataPath}`);
  const src = new Database(dataPath, { readonly: true, fileMustExist: true });
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  try {
    // All pages in one step: a step-by-step copy restarts whenever the bot writes in between,
    // and under steady load would never finish. One step holds a read snapshot, which in WAL
    // mode does not block the writer.
    const r = await src.backup(partial, { progress: () => 0x7fffffff });
    renameSync(partial, target);
    return { path: target, bytes: statSync(target).size, pages: r.totalPages, ms: Math.round(performance.now() - t0) };
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  } finally {
    src.close();
  }
}

export interface BackupCheck {
  ok: boolean;
  /** What is wrong, for the operator: integrity errors, unknown schema, not a kequn store. */
  problems: string[];
  schemaVersion: number;
  counts: { members: number; events: number; orders: number };
}

/** Verifies a backup file without changing it: integrity_check and a schema this kequn knows. */
export function verifyBackup(file: string): BackupCheck {
  const empty = { members: 0, events: 0, orders: 0 };
  if (!existsSync(file)) return { ok: false, problems: [`${file} does not exist`], schemaVersion: 0, counts: empty };
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    return { ok: false, problems: [`cannot open ${file}: ${(e as Error).message}`], schemaVersion: 0, counts: empty };
  }
  try {
    const problems: string[] = [];
    let integrity: string[];
    try {
      integrity = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
    } catch (e) {
      return { ok: false, problems: [`${file} is not a SQLite database: ${(e as Error).message}`], schemaVersion: 0, counts: empty };
    }
    if (integrity.length !== 1 || integrity[0] !== 'ok') problems.push(...integrity.slice(0, 10).map((m) => `integrity_check: ${m}`));
    const hasTable = (name: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
    if (!hasTable('schema_migrations') || !hasTable('members') || !hasTable('events')) {
      problems.push(`${file} is not a kequn store (no schema_migrations/members/events tables)`);
      return { ok: false, problems, schemaVersion: 0, counts: empty };
    }
    const versions = (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
    const known = new Set(migrations.map((m) => m.version));
    const unknown = versions.filter((v) => !known.has(v));
    if (unknown.length > 0) problems.push(`${file} has schema migrations ${unknown.join(', ')} this kequn does not know (made by a newer kequn?); upgrade kequn first`);
    const count = (t: string) => (hasTable(t) ? (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n : 0);
    return { ok: problems.length === 0, problems, schemaVersion: Math.max(0, ...versions), counts: { members: count('members'), events: count('events'), orders: count('orders') } };
  } finally {
    db.close();
  }
}

export class RestoreError extends Error {}

/**
 * Replaces the store at `dataPath` with `file`: refuses while kequn holds the store or when the
 * backup fails verification; keeps the current store as `<dataPath>.bak`; brings the restored
 * store to the current schema (an older backup gets the newer migrations).
 */
export async function restoreStore(dataPath: string, file: string): Promise<{ check: BackupCheck; previous?: string; migrated: number }> {
  const holder = storeHolder(dataPath);
  if (holder !== undefined) throw new StoreLockedError(holder, dataPath);
  const check = verifyBackup(file);
  if (!check.ok) throw new RestoreError(`refusing to restore ${file}:\n  ${check.problems.join('\n  ')}`);
  let previous: string | undefined;
  if (existsSync(dataPath)) {
    // Through the backup API rather than a file copy: the live WAL's pages are in the .bak too.
    previous = `${dataPath}.bak`;
    await backupStore(dataPath, previous);
  }
  const staging = `${dataPath}.restoring`;
  copyFileSync(file, staging);
  // The old WAL belongs to the old file: left in place, SQLite would replay it onto the new one.
  for (const suffix of ['-wal', '-shm']) rmSync(dataPath + suffix, { force: true });
  renameSync(staging, dataPath);
  const db = openStore(dataPath);
  const before = check.schemaVersion;
  const after = (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v;
  db.close();
  return { check, previous, migrated: migrations.filter((m) => m.version > before && m.version <= after).length };
}
