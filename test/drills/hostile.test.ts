import { describe, expect, it } from 'vitest';
import { runInputDrill } from './hostile.js';

describe('drill: bad input corpus', () => {
  it('rejects or handles every hostile input with a clear error, leaving unrelated tables unchanged', { timeout: 120_000 }, async () => {
    const r = await runInputDrill();
    expect(r.problems, r.lines.join('\n')).toEqual([]);
    expect(r.byKind.config).toBeGreaterThanOrEqual(9);
    expect(r.byKind.message).toBeGreaterThanOrEqual(13);
    expect(r.byKind.webhook).toBeGreaterThanOrEqual(14);
  });
});
