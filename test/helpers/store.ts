/**
 * The store the tests run on. SQLite in memory by default; with KEQUN_TEST_STORE=postgres and
 * KEQUN_TEST_PG_URL (a URL of a PostgreSQL server the tests may create databases on, e.g.
 * postgres://kequn@127.0.0.1:55432/postgres: .ci/run starts a throwaway one), every store is a
 * fresh PostgreSQL database copied from a migrated template (src/store/pg-scratch.ts). The
 * databases are dropped when the test file ends (test/helpers/file-end.ts).
 */
import { openStore, type Db } from '../../src/store/db.js';
import { ScratchDatabases } from '../../src/store/pg-scratch.js';
import { atFileEnd } from './file-end.js';

export const pgAdminUrl = process.env.KEQUN_TEST_PG_URL;
export const testBackend: 'sqlite' | 'postgres' = process.env.KEQUN_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
if (testBackend === 'postgres' && !pgAdminUrl) throw new Error('KEQUN_TEST_STORE=postgres needs KEQUN_TEST_PG_URL');

let scratch: ScratchDatabases | undefined;

function scratchDbs(): ScratchDatabases {
  if (!scratch) {
    const made = new ScratchDatabases(pgAdminUrl!);
    scratch = made;
    // Dropped by the worker at the file's end. A process 'exit' handler never ran in a vitest
    // worker (it is ended with SIGTERM): every copy stayed until the run's global teardown, which
    // dropped them all at once in vitest's main process, hundreds of DROP DATABASE blocking it long
    // enough for its "Timeout terminating forks worker" on the last file (CI, issue 20).
    atFileEnd(() => {
      if (scratch === made) scratch = undefined;
      made.dropAll();
    });
  }
  return scratch;
}

/** The URL of database `name` on the test server. */
export function pgUrlOf(name: string): string {
  return scratchDbs().urlOf(name);
}

/** A fresh, empty, migrated PostgreSQL database on the test server; its URL. */
export function freshPgUrl(): string {
  return scratchDbs().create();
}

/** Where a test's store lives: `:memory:` on SQLite, a fresh database's URL on PostgreSQL. */
export function testStorePath(): string {
  return testBackend === 'postgres' ? freshPgUrl() : ':memory:';
}

/** A fresh store on the backend the tests run on. */
export function openTestStore(): Db {
  return openStore(testStorePath());
}
