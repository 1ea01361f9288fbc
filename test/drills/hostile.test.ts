import { describe, expect, it } from 'vitest';
import { runInputDrill } from './hostile.js';
import { SUITES } from './hostile/index.js';

describe('drill: bad input corpus', () => {
  it('rejects or handles every hostile input with a clear error, leaving unrelated tables unchanged', { timeout: 120_000 }, async () => {
    const r = await runInputDrill();
    expect(r.problems, r.lines.join('\n')).toEqual([]);
    expect(r.byKind.config).toBeGreaterThanOrEqual(9);
    expect(r.byKind.message).toBeGreaterThanOrEqual(13);
    expect(r.byKind.webhook).toBeGreaterThanOrEqual(14);
  });

  // Every other suite of `npm run drills -- hostile`, at full length (each takes seconds).
  for (const suite of SUITES.filter((s) => s.name !== 'inputs')) {
    it(`${suite.name}: ${suite.title}`, { timeout: 120_000 }, async () => {
      const r = await suite.run();
      expect(r.problems, r.lines.join('\n')).toEqual([]);
      expect(r.tried).toBeGreaterThan(0);
    });
  }
});
