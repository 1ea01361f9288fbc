/**
 * A test file's scratch PostgreSQL databases are dropped by its own worker when the file ends
 * (test/helpers/file-end.ts). They used to wait for a process 'exit' handler that never ran
 * (vitest ends a forks worker with SIGTERM), so every copy of the run stayed until the global
 * teardown dropped them all in vitest's main process: on CI that blocked it long enough to print
 * "Timeout terminating forks worker" for the last file, every run (issue 20). A real vitest runs
 * one file here, without the global teardown, and nothing of its worker may be left.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresDb } from '../../src/store/postgres.js';
import { ScratchDatabases } from '../../src/store/pg-scratch.js';
import { removeTempDirs, tempDir } from '../helpers/fixtures.js';
import { pgAdminUrl } from '../helpers/store.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VITEST = join(ROOT, 'node_modules/vitest/vitest.mjs');

afterAll(() => removeTempDirs());

describe.skipIf(!pgAdminUrl)("a test file's scratch databases", () => {
  it('are dropped by its worker when the file ends, with no global teardown behind it', () => {
    const pidFile = join(tempDir('kequn-scratch-'), 'pid');
    // The child is a run of its own, not a worker of this one; its store is PostgreSQL.
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS')), KEQUN_TEST_STORE: 'postgres', SCRATCH_PID_FILE: pidFile };
    const r = spawnSync(process.execPath, [VITEST, 'run', '--config', 'test/fixtures/scratch-cleanup/vitest.config.ts'], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.status, output).toBe(0);
    expect(output).toMatch(/2 passed/);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const admin = new PostgresDb(pgAdminUrl!);
    try {
      const left = admin.prepare("SELECT datname FROM pg_database WHERE datname LIKE ? ORDER BY datname").pluck().all(`kequn\\_t${pid}\\_%`);
      expect(left).toEqual([]);
    } finally {
      admin.close();
      // Whatever the check found, the server is left clean (the worker is gone).
      ScratchDatabases.dropOrphans(pgAdminUrl!, [pid]);
    }
  });
});
