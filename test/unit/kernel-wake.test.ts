import { describe, expect, it } from 'vitest';
import { Kernel } from '../../src/core/kernel.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';

import { enqueueMessage } from '../../src/store/outbox.js';
import { demoConfig, FakeAdapter, T0 } from '../helpers/fixtures.js';
import { openTestStore } from '../helpers/store.js';
import { registry } from '../../src/app.js';

describe('Kernel.wake', () => {
  it('inside a transaction, sends nothing until the transaction is over (a rollback must not leave a message out)', async () => {
    const db = openTestStore();
    const clock = new VirtualClock(T0);
    const adapter = new FakeAdapter(clock);
    const kernel = new Kernel({ registry, config: demoConfig(), db, clock, adapters: [adapter], log: silentLogger, live: true, random: () => 0 });
    const queue = (text: string) =>
      enqueueMessage(db, { platform: 'wechat', chatKind: 'dm', chatId: 'alice', memberId: null, groupId: null, text, priority: 'reply', notBefore: T0, eventId: null, ruleId: null, dryRun: false, now: T0, budget: null });
    // A payment applied, then the notification's transaction fails after the wake.
    expect(() =>
      db.transaction(() => {
        queue('receipt that never happened');
        kernel.wake();
        throw new Error('later step failed');
      })(),
    ).toThrow('later step failed');
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(adapter.sent).toEqual([]);

    db.transaction(() => {
      queue('receipt');
      kernel.wake();
      expect(adapter.sent).toEqual([]);
    })();
    for (let i = 0; i < 5 && adapter.sent.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(adapter.sent.map((s) => s.text)).toEqual(['receipt']);
    await kernel.stop();
    db.close();
  });
});
