/**
 * Vitest global setup: after the whole run, drop the scratch PostgreSQL databases of test
 * workers that are gone. Each file's worker drops its own when the file ends (test/helpers/store.ts),
 * so only a worker killed mid-file leaves any. This runs in vitest's main process, synchronously,
 * while it still waits for the last workers to stop: it must stay short.
 */
import { ScratchDatabases } from '../../src/store/pg-scratch.js';

export function teardown(): void {
  const url = process.env.KEQUN_TEST_PG_URL;
  if (!url) return;
  try {
    const dropped = ScratchDatabases.dropOrphans(url);
    if (dropped > 0) process.stderr.write(`dropped ${dropped} scratch database(s) left by test workers that ended before their files did\n`);
  } catch (e) {
    // The server may already be gone; leftovers are harmless, only untidy.
    process.stderr.write(`could not drop leftover scratch databases: ${(e as Error).message}\n`);
  }
}
