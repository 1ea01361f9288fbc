import type { Reporter, SerializedError, TestModule } from 'vitest/node';

/** The counts behind the closing line, and what failed outside any test. */
export interface Summary {
  passed: number;
  /** Failed tests, plus every file, suite or hook that failed outside a test, plus unhandled errors. */
  failed: number;
  skipped: number;
  /** `file: why` for each failure that is not a test's own (a file that did not load, a beforeAll that threw). */
  outside: string[];
}

/**
 * Counts a run. A file that fails to load, or a suite whose beforeAll/afterAll throws, leaves its
 * tests "skipped" and none "failed": counted by tests alone such a run reads "0 failed" while
 * vitest exits 1. So every module and suite with errors of its own counts as one failure too,
 * and so does each unhandled error.
 */
export function summarize(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError> = []): Summary {
  const s: Summary = { passed: 0, failed: 0, skipped: 0, outside: [] };
  for (const m of modules) {
    for (const t of m.children.allTests()) {
      const state = t.result().state;
      if (state === 'passed') s.passed++;
      else if (state === 'failed') s.failed++;
      else s.skipped++;
    }
    const why = (errors: SerializedError[]) => errors.map((e) => e.message.split('\n')[0]).join('; ');
    if (m.errors().length > 0) s.outside.push(`${m.relativeModuleId}: ${why(m.errors())}`);
    for (const suite of m.children.allSuites()) {
      if (suite.errors().length > 0) s.outside.push(`${m.relativeModuleId} > ${suite.fullName}: ${why(suite.errors())}`);
    }
  }
  for (const e of unhandledErrors) s.outside.push(`unhandled error: ${e.message.split('\n')[0]}`);
  s.failed += s.outside.length;
  return s;
}

/** The plain closing line CI reads: `vitest: N passed, M failed`, and what failed outside a test. */
export function summaryText(s: Summary): string {
  const lines = [`vitest: ${s.passed} passed, ${s.failed} failed${s.skipped ? `, ${s.skipped} skipped` : ''}`];
  for (const o of s.outside) lines.push(`  failed outside a test: ${o}`);
  return lines.join('\n');
}

/** Prints the plain closing line CI reads: `vitest: N passed, M failed`. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    process.stdout.write(`\n${summaryText(summarize(modules, unhandledErrors))}\n`);
  }
}
