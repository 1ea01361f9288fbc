// Mutation testing (StrykerJS 9.6, vitest runner): `npm run mutation` (test/mutation/run.mjs), or
// one module by hand: `KEQUN_MUTATION_MODULE=pricing npx stryker run`. docs/testing.md explains it.
//
// MODULES is the one list of what is mutated and which tests must catch it: the code that decides
// money, rewards, stages and rule matching, each module against its own unit tests only (a
// mutant an integration test happens to catch is not caught by the test that claims it).
// When files move, only this list changes.
import { readFileSync } from 'node:fs';

/**
 * `file:start-end` mutation ranges covering the named methods or functions of a file, found by
 * their header line (`  private applyPaid(`, `function orderEvent(`) and ending at the
 * first closing brace at the header's own indentation. Computed on every run, so the ranges follow
 * the code as lines move above them.
 */
function members(file, names) {
  const lines = readFileSync(new URL(file, import.meta.url), 'utf8').split('\n');
  return names.map((name) => {
    const header = new RegExp(`^(\\s*)(?:export\\s+)?(?:private\\s+|async\\s+|function\\s+)*${name}\\s*[(<]`);
    const start = lines.findIndex((l) => header.test(l));
    if (start < 0) throw new Error(`stryker.config.mjs: no "${name}" in ${file}; update MODULES`);
    const indent = header.exec(lines[start])[1];
    const end = lines.findIndex((l, i) => i > start && l === `${indent}}`);
    if (end < 0) throw new Error(`stryker.config.mjs: cannot find the end of "${name}" in ${file}`);
    return `${file}:${start + 1}-${end + 1}`;
  });
}

/** @type {{ name: string; what: string; mutate: string[]; tests: string[] }[]} */
export const MODULES = [
  {
    name: 'pricing',
    what: 'coupons and the price computation',
    mutate: ['src/flows/orders/pricing.ts'],
    tests: ['test/unit/pricing.test.ts'],
  },
  {
    name: 'refunds',
    what: 'refund requests: how much may still be refunded',
    mutate: ['src/flows/orders/refunds.ts'],
    tests: ['test/unit/refunds.test.ts'],
  },
  {
    name: 'order-transitions',
    what: "the order service's paid and refunded transitions, and what the orders feature does on its own events",
    mutate: [...members('src/flows/orders/service.ts', ['onTransaction', 'applyPaid', 'onRefund', 'applyRefund', 'orderEvent']), 'src/flows/orders/events.ts'],
    tests: ['test/unit/payment-notify.test.ts', 'test/unit/order-transitions.test.ts'],
  },
  {
    name: 'attribution',
    what: 'referral attribution: who referred whom, and every refusal',
    mutate: ['src/flows/referral/attribution.ts'],
    tests: ['test/unit/referral.test.ts', 'test/unit/referral-attribution.test.ts'],
  },
  {
    name: 'rewards',
    what: 'referral rewards, their reversal, and the newcomer discount',
    mutate: ['src/flows/referral/rewards.ts', 'src/flows/referral/discount.ts'],
    tests: ['test/unit/referral.test.ts', 'test/unit/referral-rewards.test.ts'],
  },
  {
    name: 'stages',
    what: 'the stage machine, the lifecycle feature and its stage moves on payment',
    mutate: ['src/flows/lifecycle/stage-machine.ts', 'src/flows/lifecycle/move.ts', 'src/flows/lifecycle/payments.ts', 'src/flows/lifecycle/index.ts'],
    tests: ['test/unit/lifecycle.test.ts'],
  },
  {
    name: 'streak',
    what: 'streaks, missed days and the nudge window',
    mutate: ['src/flows/checkin/streak.ts'],
    tests: ['test/unit/checkin-days.test.ts'],
  },
  {
    name: 'conditions',
    what: 'rule conditions: compile-time checks and evaluation',
    mutate: ['src/core/rules/conditions.ts'],
    tests: ['test/unit/conditions.test.ts'],
  },
  {
    name: 'qa-policy',
    what: 'the Q&A policy: answer, offer a menu, or escalate (issue 17)',
    mutate: ['src/flows/qa/policy.ts'],
    tests: ['test/unit/qa-policy.test.ts'],
  },
];

const name = process.env.KEQUN_MUTATION_MODULE;
const mod = MODULES.find((m) => m.name === name);
if (name !== undefined && !mod) throw new Error(`KEQUN_MUTATION_MODULE=${name}: no such module (${MODULES.map((m) => m.name).join(', ')})`);

/**
 * Run with every module's tests: it imports src/app.ts inside a test, so a mutant that breaks the
 * composition of the features when the app loads fails a test. Without it every test file fails
 * to load, no test runs, and Stryker counts the mutant as survived.
 */
export const LOAD_TEST = 'test/unit/app-loads.test.ts';

// The module's tests, for vitest.mutation.config.ts in the test processes Stryker starts (they
// inherit this environment). Set by hand (a.test.ts,b.test.ts) to try a module against other tests.
if (mod) process.env.KEQUN_MUTATION_TESTS ??= [...mod.tests, LOAD_TEST].join(',');

/** Where a module's reports and incremental file live (reports/ is not committed: a local cache). */
export const reportDir = (module) => `reports/mutation/${module}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  // Without a module: stryker.config.mjs is only being read (the runner imports MODULES).
  mutate: mod?.mutate ?? [],
  coverageAnalysis: 'perTest',
  // Two cores shared with the rest of the machine: one test process, one module per run.
  concurrency: 1,
  incremental: true,
  incrementalFile: `${reportDir(name ?? 'none')}/incremental.json`,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `${reportDir(name ?? 'none')}/index.html` },
  jsonReporter: { fileName: `${reportDir(name ?? 'none')}/mutation.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['data', 'dist', 'reports', 'scratch', 'test-artifacts', 'bench/results.json', 'deploy'],
  timeoutMS: 10000,
};
