import { defineConfig } from 'vitest/config';

/**
 * The vitest config Stryker runs (stryker.config.mjs): only the test files of the module being
 * mutated (KEQUN_MUTATION_TESTS, comma-separated), on SQLite. The test files are chosen here and
 * not with Stryker's `testFiles`: with `testFiles` Stryker 9.6 switches a mutant in a value
 * computed when a module loads (`export const list = [a, b]`) on only after the module has
 * loaded, so such mutants always survived.
 */
const tests = process.env.KEQUN_MUTATION_TESTS;
if (!tests) throw new Error('vitest.mutation.config.ts: KEQUN_MUTATION_TESTS names the test files (set by stryker.config.mjs)');

export default defineConfig({
  test: {
    include: tests.split(','),
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // As in vitest.config.ts: commands the tests spawn read the tests' own course.
    env: { KEQUN_CONFIG: 'test/fixtures/course' },
  },
});
