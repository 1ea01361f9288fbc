import { describe, expect, it } from 'vitest';
import { leaveOneOut, simulatePurchases } from '../../bench/recommend.js';

// The benchmark's leave-one-out, on a log small enough to work out by hand (bench/recommend.ts).
describe('recommend benchmark: leave-one-out', () => {
  it('hides each last purchase and counts hits at 3 for the ranking and for popularity', () => {
    const log = [
      { purchases: ['py-intro', 'py-data'], questions: [] },
      { purchases: ['py-intro', 'py-data'], questions: [] },
      { purchases: ['web-intro', 'web-react'], questions: [] },
      { purchases: ['sql'], questions: [] }, // one purchase: not a case
    ];
    // 1st and 2nd: py-data is the next step (requires met) and bought together with py-intro by the
    // other: a hit for both methods. 3rd: web-react is the next step after web-intro (ranking: hit);
    // by popularity py-intro and py-data (2 buyers each) then py-ml (0, first in catalog order): a miss.
    expect(leaveOneOut(log)).toEqual({ cases: 3, hits: 3, popularHits: 2 });
  });

  it('the simulated log is the same for the same seed, and differs for another', () => {
    expect(simulatePurchases(50, 7)).toEqual(simulatePurchases(50, 7));
    expect(simulatePurchases(50, 7)).not.toEqual(simulatePurchases(50, 8));
    expect(simulatePurchases(50, 7).every((m) => m.purchases.length >= 1 && new Set(m.purchases).size === m.purchases.length)).toBe(true);
  });
});
