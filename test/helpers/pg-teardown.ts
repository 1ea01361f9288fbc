/**
 * Vitest global setup: after the whole run, drop the scratch PostgreSQL databases of test
 * workers that are gone (a worker killed before its exit handler ran leaves its copies behind).
 */
import { ScratchDatabases } from '../../src/store/pg-scratch.js';

export function teardown(): void {
  const url = process.env.KEQUN_TEST_PG_URL;
  if (!url) return;
  try {
    ScratchDatabases.dropOrphans(url);
  } catch (e) {
    // The server may already be gone; leftovers are harmless, only untidy.
    process.stderr.write(`could not drop leftover scratch databases: ${(e as Error).message}\n`);
  }
}
