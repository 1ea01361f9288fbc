/**
 * The store the tests run on. SQLite in memory by default; with KEQUN_TEST_STORE=postgres and
 * KEQUN_TEST_PG_URL (a URL of a PostgreSQL server the tests may create databases on, e.g.
 * postgres://kequn@127.0.0.1:55432/postgres: .ci/run starts a throwaway one), every store is a
 * fresh PostgreSQL database, copied from a migrated template so a test does not pay for the
 * migrations. The databases are dropped when the test process exits.
 */
import { createHash } from 'node:crypto';
import { openStore, type Db } from '../../src/store/db.js';
import { migrations } from '../../src/store/migrations.js';
import { PostgresDb } from '../../src/store/postgres.js';

export const pgAdminUrl = process.env.KEQUN_TEST_PG_URL;
export const testBackend: 'sqlite' | 'postgres' = process.env.KEQUN_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
if (testBackend === 'postgres' && !pgAdminUrl) throw new Error('KEQUN_TEST_STORE=postgres needs KEQUN_TEST_PG_URL');

let admin: PostgresDb | undefined;
let template: string | undefined;
const created: string[] = [];
let counter = 0;

/** The URL of database `name` on the test server. */
export function pgUrlOf(name: string): string {
  const u = new URL(pgAdminUrl!);
  u.pathname = `/${name}`;
  return u.toString();
}

function adminDb(): PostgresDb {
  if (!admin) {
    admin = new PostgresDb(pgAdminUrl!);
    process.on('exit', dropCreated);
  }
  return admin;
}

function dropCreated(): void {
  for (const name of created.splice(0)) {
    try {
      admin!.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } catch {
      // the server may be gone already (CI stops it after the run)
    }
  }
  admin?.close();
  admin = undefined;
}

/** A migrated template database, made once per set of migrations (test workers share it). */
function templateDb(): string {
  if (template) return template;
  const a = adminDb();
  const hash = createHash('sha1').update(JSON.stringify(migrations)).digest('hex').slice(0, 10);
  const name = `kequn_template_${hash}`;
  a.prepare('SELECT pg_advisory_lock(?)').get(0x6b7470);
  try {
    if (!a.prepare('SELECT 1 FROM pg_database WHERE datname = ?').get(name)) {
      a.exec(`CREATE DATABASE ${name}`);
      (openStore(pgUrlOf(name)) as PostgresDb).close();
    }
  } finally {
    a.prepare('SELECT pg_advisory_unlock(?)').get(0x6b7470);
  }
  template = name;
  return name;
}

/** A fresh, empty, migrated PostgreSQL database on the test server; its URL. */
export function freshPgUrl(): string {
  const a = adminDb();
  const name = `kequn_t${process.pid}_${++counter}`;
  a.exec(`CREATE DATABASE ${name} TEMPLATE ${templateDb()} STRATEGY FILE_COPY`);
  created.push(name);
  return pgUrlOf(name);
}

/** Where a test's store lives: `:memory:` on SQLite, a fresh database's URL on PostgreSQL. */
export function testStorePath(): string {
  return testBackend === 'postgres' ? freshPgUrl() : ':memory:';
}

/** A fresh store on the backend the tests run on. */
export function openTestStore(): Db {
  return openStore(testStorePath());
}
