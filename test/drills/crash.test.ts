import { describe, expect, it } from 'vitest';
import { runCrashDrill } from './crash.js';

// The shortened form (`npm run drills` kills 20 times): three SIGKILLs under load.
describe('drill: crash under load (short)', () => {
  it('survives 3 kill -9 with nothing lost or doubled', { timeout: 120_000 }, async () => {
    const r = await runCrashDrill({ kills: 3, seed: Date.now() });
    expect(r.problems).toEqual([]);
    expect(r.kills).toBe(3);
    expect(r.events).toBeGreaterThan(0);
    expect(r.paidOrders).toBeGreaterThan(0);
    expect(r.deliveries).toBeGreaterThanOrEqual(r.sent);
  });
});
