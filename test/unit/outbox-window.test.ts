/**
 * The sender's window of queue heads (src/store/outbox-window.ts): on SQLite it is kept between
 * sends, so each way a head can move must reach it (a row queued on the connection, any other
 * change to a pending row, another connection's commit); on PostgreSQL it is read before every
 * send. Runs on the tests' backend (KEQUN_TEST_STORE).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../src/bot/outbox.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { openStore, type Db } from '../../src/store/db.js';
import { deferMessage, enqueueMessage } from '../../src/store/outbox.js';
import { HOUR, SECOND, T0, advance, demoConfig, drainOutbox, FakeAdapter, harness, type Harness } from '../helpers/fixtures.js';
import { freshPgUrl, testBackend } from '../helpers/store.js';

function queue(db: Db, now: number, chatId: string, text: string, memberId: string | null = null): number {
  return enqueueMessage(db, { platform: 'wechat', chatKind: 'dm', chatId, memberId, groupId: null, text, priority: 'reply', notBefore: now, eventId: null, ruleId: null, dryRun: false, now, budget: null });
}

const texts = (a: FakeAdapter) => a.sent.map((m) => m.text);

const closing: (() => void)[] = [];
afterEach(() => {
  for (const close of closing.splice(0)) close();
});

/** Two handles on one store, as two processes have: a file on SQLite, a fresh database on PostgreSQL. */
function twoHandles(): [Db, Db] {
  let where: string;
  if (testBackend === 'postgres') where = freshPgUrl();
  else {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-window-'));
    closing.push(() => rmSync(dir, { recursive: true, force: true }));
    where = join(dir, 'kequn.db');
  }
  const one = openStore(where);
  const two = openStore(where);
  closing.unshift(() => (one.close(), two.close()));
  return [one, two];
}

function sender(db: Db, clock: VirtualClock): { outbox: Outbox; adapter: FakeAdapter } {
  const adapter = new FakeAdapter(clock);
  const config = demoConfig();
  const outbox = new Outbox({ db, config: () => config, clock, adapters: new Map([['wechat', adapter]]), log: silentLogger, random: () => 0 });
  return { outbox, adapter };
}

describe('outbox window', () => {
  it('a message queued after the window was read (a new queue, and the next of a sent one) is sent, each chat in order', async () => {
    const h: Harness = harness();
    queue(h.db, h.clock.now(), 'chat-a', 'a0');
    expect(await h.outbox.dispatch()).toBe(1);
    // The window was read (and a0's queue emptied) before these were queued.
    queue(h.db, h.clock.now(), 'chat-b', 'b0');
    queue(h.db, h.clock.now(), 'chat-a', 'a1');
    queue(h.db, h.clock.now(), 'chat-b', 'b1');
    await drainOutbox(h, T0 + HOUR);
    expect(texts(h.adapter)).toEqual(['a0', 'b0', 'a1', 'b1']);
  });

  it("a pending row changed by someone else than the sender (held for later) is read again, not sent from the window's old copy", async () => {
    const h: Harness = harness();
    queue(h.db, h.clock.now(), 'chat-a', 'a0');
    const b0 = queue(h.db, h.clock.now(), 'chat-b', 'b0');
    queue(h.db, h.clock.now(), 'chat-a', 'a1');
    expect(await h.outbox.dispatch()).toBe(1);
    deferMessage(h.db, b0, T0 + HOUR, 'held by staff');
    for (let i = 0; i < 10; i++) {
      advance(h.clock, SECOND);
      await h.outbox.dispatch();
    }
    expect(texts(h.adapter)).toEqual(['a0', 'a1']);
    await drainOutbox(h, T0 + 2 * HOUR);
    expect(texts(h.adapter)).toEqual(['a0', 'a1', 'b0']);
    expect(h.adapter.sent[2]!.at).toBeGreaterThanOrEqual(T0 + HOUR);
  });

  it('a message rolled back after the window saw it leaves no trace: its id used again by another queue is not sent out of order', async () => {
    const h: Harness = harness();
    queue(h.db, h.clock.now(), 'chat-b', 'bx');
    expect(await h.outbox.dispatch()).toBe(1);
    // Held by chat-b's interval (2 s) for now.
    queue(h.db, h.clock.now(), 'chat-b', 'b0');
    expect(() =>
      h.db.transaction(() => {
        queue(h.db, h.clock.now(), 'chat-g', 'ghost');
        h.outbox.nextWakeAt();
        throw new Error('rolled back');
      })(),
    ).toThrow('rolled back');
    // Takes the ghost's id (SQLite reuses the top rowid), in chat-b's queue behind b0.
    queue(h.db, h.clock.now(), 'chat-b', 'b1');
    await drainOutbox(h, T0 + HOUR);
    expect(texts(h.adapter)).toEqual(['bx', 'b0', 'b1']);
  });

  it("another process's queued message is seen (another connection to the same store)", async () => {
    const [mine, theirs] = twoHandles();
    const clock = new VirtualClock(T0);
    const { outbox, adapter } = sender(mine, clock);
    queue(mine, clock.now(), 'chat-a', 'a0', 'm1');
    expect(await outbox.dispatch()).toBe(1);
    queue(theirs, clock.now(), 'chat-b', 'b0', 'm2');
    queue(theirs, clock.now(), 'chat-a', 'a1', 'm1');
    for (let i = 0; i < 10; i++) {
      advance(clock, SECOND);
      await outbox.dispatch();
    }
    expect(texts(adapter)).toEqual(['a0', 'b0', 'a1']);
  });

  it('a head another process sent meanwhile is not sent again from the window', async () => {
    const [one, two] = twoHandles();
    const clock = new VirtualClock(T0);
    const first = sender(one, clock);
    const second = sender(two, clock);
    queue(one, clock.now(), 'chat-a', 'a0');
    queue(one, clock.now(), 'chat-b', 'b0');
    expect(await first.outbox.dispatch()).toBe(1);
    // Same account: the second waits the account's interval after the first's send.
    advance(clock, SECOND);
    expect(await second.outbox.dispatch()).toBe(1);
    expect(texts(second.adapter)).toEqual(['b0']);
    for (let i = 0; i < 10; i++) {
      advance(clock, SECOND);
      await first.outbox.dispatch();
      await second.outbox.dispatch();
    }
    expect([...texts(first.adapter), ...texts(second.adapter)].sort()).toEqual(['a0', 'b0']);
  });
});
