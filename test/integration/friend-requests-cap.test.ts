import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createApp, waitReady, type App } from '../../src/app.js';
import { loadConfig } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { localDate, localMinuteOfDay } from '../../src/util/localtime.js';
import { seededRandom } from '../../src/util/random.js';
import { DAY, removeTempDirs, replaceOnce, T0, tempConfig } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/grpc-port.js';
import { testStorePath } from '../helpers/store.js';

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});
afterAll(() => removeTempDirs());

const TZ = 'Asia/Shanghai';
const REQUESTS = 500;
const CAP = 100;

describe('friend request acceptances under a flood', () => {
  it(`${REQUESTS} requests in a morning: at most ${CAP} accepted per local day, each at least delay.min apart, none in quiet hours; all accepted in the end`, async () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, '    accept: [keyword, members]\n', '    accept: everyone\n') });
    const clock = new VirtualClock(T0);
    app = await createApp({ config: loadConfig(dir, { env: {} }), clock, log: silentLogger, live: false, dbPath: testStorePath(), random: seededRandom(7) });
    let handled = 0;
    app.kernel.on('handled', (e) => {
      if (e.type === 'friend.requested') handled++;
    });
    await app.kernel.start();
    await waitReady(() => app!.kernel.isReady());
    const sim = app.sim!;
    for (let i = 0; i < REQUESTS; i++) {
      sim.user(`u${i}`, `学员${i}`, { stranger: true });
      sim.befriend(`u${i}`, '你好');
    }
    await waitFor(() => handled === REQUESTS || undefined, `${REQUESTS} friend requests handled`, 60_000);
    expect(app.db.prepare("SELECT COUNT(*) AS n FROM friend_requests WHERE status = 'pending'").get()).toEqual({ n: REQUESTS });

    await app.kernel.runUntil(T0 + 6 * DAY);
    const accepted = sim.friendRequests.map((r) => r.acceptedAt).filter((t): t is number => t !== null).sort((a, b) => a - b);
    const perDay = new Map<string, number>();
    for (const t of accepted) perDay.set(localDate(t, TZ), (perDay.get(localDate(t, TZ)) ?? 0) + 1);
    // The cap holds every day, and the queue drains at the cap's pace.
    expect([...perDay.values()].every((n) => n <= CAP)).toBe(true);
    expect([...perDay.entries()]).toEqual([
      ['2026-03-02', CAP],
      ['2026-03-03', CAP],
      ['2026-03-04', CAP],
      ['2026-03-05', CAP],
      ['2026-03-06', CAP],
    ]);
    expect(accepted.length).toBe(REQUESTS);
    // Never two acceptances closer than delay.min (30 s), never in quiet hours (22:00-08:00).
    const gaps = accepted.slice(1).map((t, i) => t - accepted[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(30_000);
    expect(accepted.every((t) => localMinuteOfDay(t, TZ) >= 8 * 60 && localMinuteOfDay(t, TZ) < 22 * 60)).toBe(true);
    // The store agrees with the platform, and every one of them got the welcome once.
    expect(app.db.prepare("SELECT status, COUNT(*) AS n FROM friend_requests GROUP BY status").all()).toEqual([{ status: 'accepted', n: REQUESTS }]);
    expect(app.db.prepare("SELECT COUNT(*) AS n FROM private_channels WHERE state = 'open' AND how = 'friend_request'").get()).toEqual({ n: REQUESTS });
  }, 120_000);
});
