/**
 * The dashboard charts' axis rules (src/flows/dashboard/web/browser/chart.ts), the parts that need
 * no browser: the top of a count axis is a whole number at or above the largest value, rates are
 * always 0–100 %, and label widths count CJK characters double. test/integration/browser.test.ts
 * checks the drawn charts in Chromium.
 */
import { describe, expect, it } from 'vitest';
import { niceCeil, textWidth, yRange } from '../../src/flows/dashboard/web/browser/chart.js';

describe('dashboard chart axes', () => {
  it('a count axis runs from 0 to a nice whole number at or above the largest value (at least 1)', () => {
    expect(yRange('count', 0)).toEqual([0, 1]);
    expect(yRange('count', 1)).toEqual([0, 1]);
    expect(yRange('count', 3)).toEqual([0, 3]);
    expect(yRange('count', 7)).toEqual([0, 8]);
    expect(yRange('count', 11)).toEqual([0, 12]);
    expect(yRange('count', 101)).toEqual([0, 120]);
    expect(yRange('money', 547)).toEqual([0, 600]);
    expect(yRange('money', 0.5)).toEqual([0, 1]);
    for (let n = 1; n <= 2000; n += 7) {
      const top = niceCeil(n);
      expect(Number.isInteger(top)).toBe(true);
      expect(top).toBeGreaterThanOrEqual(n);
      // the steps 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10 are at most a third apart
      expect(top).toBeLessThanOrEqual((n * 4) / 3 + 1);
    }
  });

  it('a rate axis is 0–100 % whatever the values', () => {
    expect(yRange('pct', 0)).toEqual([0, 100]);
    expect(yRange('pct', 66.7)).toEqual([0, 100]);
    expect(yRange('pct', 100)).toEqual([0, 100]);
  });

  it("a label's width counts Chinese characters about twice as wide as Latin ones", () => {
    expect(textWidth('03-20')).toBe(5 * 6.5);
    expect(textWidth('试听')).toBe(24);
    expect(textWidth('已付费（paid）')).toBe(3 * 12 + 2 * 12 + 4 * 6.5);
  });
});
