import { describe, expect, it } from 'vitest';
import { pgAdminUrl } from '../helpers/store.js';
import { runClusterDrill } from './cluster.js';

/**
 * The short form of the cluster drill (the full one: `npm run drills -- cluster`, 10,000
 * reminders and 1,000 payments). Needs a PostgreSQL server (.ci/run starts one).
 */
describe.skipIf(!pgAdminUrl)('three kequn processes on one PostgreSQL, one killed mid-run', () => {
  it('runs every reminder and applies every payment exactly once; the others take over what they can reach', async () => {
    const lines: string[] = [];
    // 15 s takeover (the minimum is 10): a test run shares 2 cores with other test files, and a
    // live process must not stall long enough to look gone.
    const r = await runClusterDrill({ pgAdminUrl: pgAdminUrl!, reminders: 600, payments: 60, takeoverMs: 15_000, log: (l) => lines.push(l) });
    if (r.problems.length > 0) console.log([...lines, ...r.problems.slice(0, 20)].join('\n'));
    expect(r.problems).toEqual([]);
    expect(r.killed).toBe(true);
    // Half of the killed instance's private chats were reachable by another account.
    expect(r.chatsTakenOver).toBeGreaterThan(0);
    expect(r.chatsWaited).toBeGreaterThan(0);
    // Bounded: the takeover time (15 s) plus a heartbeat and some slack.
    expect(r.takeoverSeconds).toBeLessThan(30);
    expect(Object.keys(r.sentBy).sort()).toEqual(['k1', 'k2', 'k3']);
    expect(r.deliveries).toBeGreaterThanOrEqual(600 + 60);
  }, 180_000);
});
