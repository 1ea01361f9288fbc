/**
 * An event whose transaction lost a race with another kequn process on the same PostgreSQL
 * (a unique key the other inserted a moment earlier, a deadlock) is run again, not dropped.
 * The race itself needs two processes (test/unit/traces.test.ts, the cluster drill); here the
 * engine is made to lose it on purpose.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { PostgresError } from '../../src/store/postgres.js';
import { countEvents } from '../../src/store/events.js';
import { getJob, planJob } from '../../src/store/jobs.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { demoConfig, message, T0 } from '../helpers/fixtures.js';
import { testStorePath } from '../helpers/store.js';

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

async function appWithFailures(errors: Error[]): Promise<{ app: App; calls: () => number }> {
  app = await createApp({ config: demoConfig(), clock: new VirtualClock(T0), log: silentLogger, live: false, dbPath: testStorePath(), wechat: { kind: 'off' } });
  const engine = app.kernel.engine;
  const real = engine.handleEvent.bind(engine);
  const spy = vi.spyOn(engine, 'handleEvent').mockImplementation((event, now) => {
    const e = errors.shift();
    if (e) throw e;
    return real(event, now);
  });
  return { app, calls: () => spy.mock.calls.length };
}

const dup = () => new PostgresError('duplicate key value violates unique constraint "identities_pkey"', '23505', 'INSERT INTO identities …');

describe('an event that lost a race with another process', () => {
  it('is run again and handled once', async () => {
    const { app, calls } = await appWithFailures([dup(), new PostgresError('deadlock detected', '40P01', 'UPDATE members …')]);
    const r = await app.kernel.handle(message('newbie', '大家好', { at: T0, dm: true }));
    expect(r.status).toBe('handled');
    expect(calls()).toBe(3);
    expect(countEvents(app.db)).toBe(1);
  });

  it('is dropped after three losses, and any other error is not retried', async () => {
    const a = await appWithFailures([dup(), dup(), dup()]);
    expect((await a.app.kernel.handle(message('newbie', 'hi', { at: T0, dm: true }))).reason).toMatch(/^error: duplicate key/);
    expect(a.calls()).toBe(3);
    await a.app.stop();
    const b = await appWithFailures([new Error('no such column'), dup()]);
    expect((await b.app.kernel.handle(message('newbie', 'hi', { at: T0, dm: true }))).reason).toBe('error: no such column');
    expect(b.calls()).toBe(1);
    expect(countEvents(b.app.db)).toBe(0);
  });

  it('a scheduled job that lost such a race stays pending and runs on the next tick, instead of failing', async () => {
    const { app } = await appWithFailures([]);
    await app.kernel.handle(message('newbie', 'hi', { at: T0, dm: true }));
    const member = findMemberByIdentity(app.db, 'wechat', 'newbie')!;
    const id = planJob(app.db, { kind: 'sequence.trial', memberId: member.id, payload: { sequence: 'trial', step: 0, platform: 'wechat' }, dueAt: T0, now: T0 })!;
    // The engine's job runner (src/core/engine/jobs.ts) runs one job in its transaction.
    const runner = (app.kernel.engine as unknown as { jobs: { run: (...args: unknown[]) => void } }).jobs;
    vi.spyOn(runner, 'run').mockImplementationOnce(() => {
      throw new PostgresError('deadlock detected', '40P01', 'UPDATE members …');
    });
    expect(app.kernel.engine.runDueJobs(T0 + 1)).toBe(0);
    expect(getJob(app.db, id)!.status).toBe('pending');
    expect(app.kernel.engine.runDueJobs(T0 + 2)).toBe(1);
    // It ran (and found the member not in the trial, so sent nothing): finished, not failed.
    expect(getJob(app.db, id)).toMatchObject({ status: 'skipped', note: expect.stringContaining('not trial') });
    // One that keeps "losing" (a unique violation that is no race) is failed on the third time.
    const again = planJob(app.db, { kind: 'sequence.trial', memberId: member.id, payload: { sequence: 'trial', step: 0, platform: 'wechat' }, dueAt: T0, now: T0, dedupeKey: 'again' })!;
    vi.spyOn(runner, 'run').mockImplementation(() => {
      throw new PostgresError('duplicate key', '23505', 'INSERT …');
    });
    app.kernel.engine.runDueJobs(T0 + 3);
    app.kernel.engine.runDueJobs(T0 + 4);
    expect(getJob(app.db, again)!.status).toBe('pending');
    app.kernel.engine.runDueJobs(T0 + 5);
    expect(getJob(app.db, again)).toMatchObject({ status: 'failed', note: expect.stringContaining('duplicate key') });
  });
});
