import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Commands the tests spawn (kequn start, stats, backup…) read the tests' own course, never
    // the seller's config/ (which they are free to change).
    env: { KEQUN_CONFIG: 'test/fixtures/course' },
    // A file's scratch PostgreSQL databases are dropped at its end, in its worker; the global
    // teardown drops what a worker killed mid-file left.
    setupFiles: ['test/helpers/file-end-hook.ts'],
    globalSetup: ['test/helpers/pg-teardown.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
