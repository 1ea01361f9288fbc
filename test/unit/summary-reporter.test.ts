import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPORTER = fileURLToPath(new URL('../summary-reporter.ts', import.meta.url));
const VITEST = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Runs a real vitest over `files` (in a temp folder) with the summary reporter: its exit code and closing lines. */
function runVitest(files: Record<string, string>): { status: number | null; summary: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-reporter-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'vitest.config.mjs'), 'export default {};\n');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  // The child is a run of its own, not a worker of this one.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'));
  const r = spawnSync(process.execPath, [VITEST, 'run', '--root', dir, '--reporter', REPORTER], { env, encoding: 'utf8', timeout: 60_000 });
  const out = r.stdout.split('\n');
  return { status: r.status, summary: out.slice(out.findIndex((l) => l.startsWith('vitest: '))).filter((l) => l !== '') };
}

describe('the summary line CI reads', () => {
  it('counts a file that fails to load, a throwing beforeAll (suite or file level) and an unhandled error as failures', () => {
    const r = runVitest({
      // 1 passed; the suite's beforeAll throws, so its 2 tests are skipped: 1 failure.
      'a.test.ts': `import { beforeAll, describe, expect, it } from 'vitest';
describe('hooked', () => {
  beforeAll(() => { throw new Error('boom in beforeAll'); });
  it('one', () => expect(1).toBe(1));
  it('two', () => expect(1).toBe(1));
});
it('fine', () => expect(1).toBe(1));
`,
      // Does not load: 1 failure, no tests.
      'b.test.ts': `import './missing-module.js';\nimport { it } from 'vitest';\nit('never', () => {});\n`,
      // 1 passed, 1 skipped, 1 failed.
      'c.test.ts': `import { expect, it } from 'vitest';
it('ok', () => expect(1).toBe(1));
it.skip('skipped', () => {});
it('bad', () => expect(1).toBe(2));
`,
      // A file-level beforeAll throws: its test is skipped, 1 failure.
      'd.test.ts': `import { beforeAll, expect, it } from 'vitest';\nbeforeAll(() => { throw new Error('file-level beforeAll'); });\nit('x', () => expect(1).toBe(1));\n`,
      // The test passes, but leaves an unhandled rejection: 1 failure.
      'e.test.ts': `import { it } from 'vitest';\nit('leaks a rejection', () => { void Promise.reject(new Error('nobody awaited this')); });\n`,
    });
    expect(r.status).toBe(1);
    // By hand: passed fine, ok, leaks a rejection = 3; failed bad + hooked + b + d + unhandled = 5;
    // skipped one, two, skipped, x = 4.
    expect(r.summary).toHaveLength(5);
    expect([r.summary[0], r.summary[1], r.summary[3], r.summary[4]]).toEqual([
      'vitest: 3 passed, 5 failed, 4 skipped',
      '  failed outside a test: a.test.ts > hooked: boom in beforeAll',
      '  failed outside a test: d.test.ts: file-level beforeAll',
      '  failed outside a test: unhandled error: nobody awaited this',
    ]);
    expect(r.summary[2]).toMatch(/^ {2}failed outside a test: b\.test\.ts: Cannot find module '\.\/missing-module\.js' imported from \S*b\.test\.ts$/);
  });

  it('a clean run reads 0 failed and exits 0', () => {
    const r = runVitest({ 'ok.test.ts': `import { expect, it } from 'vitest';\nit('a', () => expect(1).toBe(1));\nit('b', () => expect(2).toBe(2));\n` });
    expect(r).toEqual({ status: 0, summary: ['vitest: 2 passed, 0 failed'] });
  });
});
