/**
 * An event whose transaction lost a race with another kequn process on the same PostgreSQL
 * (a unique key the other inserted a moment earlier, a deadlock) is run again, not dropped.
 * The race itself needs two processes (test/unit/traces.test.ts, the cluster drill); here the
 * engine is made to lose it on purpose.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/schedule/clock.js';
import { PostgresError } from '../../src/store/postgres.js';
import { countEvents } from '../../src/store/events.js';
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
});
