/**
 * Several kequn instances sharing one store (src/bot/cluster.ts): who answers in a group, who
 * sends to a chat, and what happens when an instance goes silent. Two Cluster objects and two
 * Outboxes on one store stand for two processes (the three-process drill, test/drills/cluster,
 * runs real processes on PostgreSQL); this file runs on the tests' backend, both in CI.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, clusterFromEnv, ClusterEnvError, HEARTBEAT_MS, OWNERS_READ_AGAIN_MS } from '../../src/bot/cluster.js';
import { Outbox } from '../../src/bot/outbox.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { acquireStoreLock, StoreLockedError } from '../../src/store/backup.js';
import type { Db } from '../../src/store/db.js';
import { instanceSummaries, moveChat, retireInstance } from '../../src/store/cluster.js';
import { claimMessage, enqueueMessage, pendingHeads } from '../../src/store/outbox.js';
import { demoConfig, FakeAdapter, message, SECOND, T0 } from '../helpers/fixtures.js';
import { freshPgUrl, openTestStore, pgAdminUrl } from '../helpers/store.js';

const G1 = { id: 'g1@chatroom', name: 'group one' };
const G2 = { id: 'g2@chatroom', name: 'group two' };

interface Node {
  cluster: Cluster;
  adapter: FakeAdapter;
  outbox: Outbox;
}

let db: Db | undefined;
afterEach(() => db?.close());

function setup(): { db: Db; clock: VirtualClock; a: Node; b: Node } {
  db = openTestStore();
  const clock = new VirtualClock(T0);
  const config = demoConfig();
  const node = (instance: string): Node => {
    const cluster = new Cluster({ db: db!, clock, log: silentLogger, settings: { instance, takeoverAfterMs: 30 * SECOND } });
    const adapter = new FakeAdapter(clock);
    const outbox = new Outbox({ db: db!, config: () => config, clock, adapters: new Map([['wechat', adapter]]), log: silentLogger, random: () => 0, cluster });
    cluster.start();
    return { cluster, adapter, outbox };
  };
  return { db, clock, a: node('a'), b: node('b') };
}

function queue(db: Db, chatKind: 'group' | 'dm', chatId: string, text: string, now: number): number {
  return enqueueMessage(db, { platform: 'wechat', chatKind, chatId, memberId: null, groupId: null, text, priority: 'push', notBefore: now, eventId: null, ruleId: null, dryRun: false, now, budget: null });
}

/** Both instances dispatch, as their processes would, for `ms` of virtual time. */
async function run(clock: VirtualClock, nodes: Node[], ms: number): Promise<void> {
  const end = clock.now() + ms;
  while (clock.now() < end) {
    for (const n of nodes) await n.outbox.dispatch();
    clock.set(clock.now() + SECOND);
  }
}

const texts = (n: Node) => n.adapter.sent.map((m) => `${m.chat.id}:${m.text}`).sort();

describe('instances sharing a store', () => {
  it('the first instance to see a group answers there; the other only notes it can reach it', () => {
    const { db, clock, a, b } = setup();
    expect(a.cluster.accepts(message('u1', 'hi', { at: clock.now(), group: G1 }))).toBe(true);
    expect(b.cluster.accepts(message('u2', 'hi', { at: clock.now(), group: G1 }))).toBe(false);
    expect(b.cluster.accepts(message('u2', 'again', { at: clock.now(), group: G1 }))).toBe(false);
    expect(a.cluster.accepts(message('u2', 'again', { at: clock.now(), group: G1 }))).toBe(true);
    expect(db.prepare('SELECT instance FROM chat_reach WHERE chat_id = ? ORDER BY instance').all(G1.id)).toEqual([{ instance: 'a' }, { instance: 'b' }]);
    expect(db.prepare('SELECT instance FROM chat_owners WHERE chat_id = ?').get(G1.id)).toEqual({ instance: 'a' });
  });

  it('a heartbeat keeps the owners it read and reads again only those changed since (issue 20); all of them every five minutes', () => {
    const { db, clock, a } = setup();
    const hi = () => a.cluster.accepts(message('u1', 'hi', { at: clock.now(), group: G1 }));
    const beat = (ms: number) => {
      clock.set(clock.now() + ms);
      a.cluster.maintain(clock.now());
    };
    expect(hi()).toBe(true);
    // Changed behind the cluster's back, its time left as it was: a re-read would see it, the
    // kept owner does not (so no group's next event reads its owner again after a beat).
    db.prepare("UPDATE chat_owners SET instance = 'b', since = 0 WHERE chat_id = ?").run(G1.id);
    beat(HEARTBEAT_MS);
    expect(hi()).toBe(true);
    // A move (as a takeover or another instance's claim does) sets the time: seen at the next beat.
    db.prepare("UPDATE chat_owners SET instance = 'a' WHERE chat_id = ?").run(G1.id);
    expect(moveChat(db, 'wechat', G1.id, 'a', 'b', clock.now())).toBe(true);
    expect(hi()).toBe(true);
    beat(HEARTBEAT_MS);
    expect(hi()).toBe(false);
    // Whatever the clocks did, every owner is read again every five minutes.
    db.prepare("UPDATE chat_owners SET instance = 'a', since = 0 WHERE chat_id = ?").run(G1.id);
    beat(HEARTBEAT_MS);
    expect(hi()).toBe(false);
    beat(OWNERS_READ_AGAIN_MS);
    expect(hi()).toBe(true);
  });

  it('a private chat belongs to the instance the member last wrote to', () => {
    const { db, clock, a, b } = setup();
    expect(b.cluster.accepts(message('u1', 'hello', { at: clock.now(), dm: true }))).toBe(true);
    expect(db.prepare('SELECT instance FROM chat_owners WHERE chat_id = ?').get('u1')).toEqual({ instance: 'b' });
    expect(a.cluster.accepts(message('u1', 'hello again', { at: clock.now(), dm: true }))).toBe(true);
    expect(db.prepare('SELECT instance FROM chat_owners WHERE chat_id = ?').get('u1')).toEqual({ instance: 'a' });
  });

  it("each message goes out once, from its chat's owner; a chat nobody owns goes to the first sender, who then owns it", async () => {
    const { db, clock, a, b } = setup();
    a.cluster.accepts(message('u1', 'hi', { at: clock.now(), group: G1 }));
    b.cluster.accepts(message('u2', 'hi', { at: clock.now(), dm: true }));
    for (let i = 0; i < 3; i++) {
      queue(db, 'group', G1.id, `g1-${i}`, clock.now());
      queue(db, 'dm', 'u2', `u2-${i}`, clock.now());
    }
    queue(db, 'group', G2.id, 'g2-0', clock.now());
    await run(clock, [b, a], 60 * SECOND);
    expect(texts(a)).toEqual(['g1@chatroom:g1-0', 'g1@chatroom:g1-1', 'g1@chatroom:g1-2']);
    // b dispatched first each round, so the unowned group went from b, which now owns it.
    expect(texts(b)).toEqual(['g2@chatroom:g2-0', 'u2:u2-0', 'u2:u2-1', 'u2:u2-2']);
    expect(db.prepare('SELECT instance FROM chat_owners WHERE chat_id = ?').get(G2.id)).toEqual({ instance: 'b' });
    expect(db.prepare("SELECT claimed_by, COUNT(*) AS n FROM outbox WHERE status = 'sent' GROUP BY claimed_by ORDER BY claimed_by").all()).toEqual([
      { claimed_by: 'a', n: 3 },
      { claimed_by: 'b', n: 4 },
    ]);
    const summary = instanceSummaries(db, 0);
    expect(summary.instances.map((i) => [i.name, i.chats, i.waiting, i.sent_since])).toEqual([
      ['a', 1, 0, 3],
      ['b', 2, 0, 4],
    ]);
    expect(summary.unownedWaiting).toBe(0);
  });

  it('a silent instance: its reachable groups move to another, its interrupted send is never repeated, the rest waits for it', async () => {
    const { db, clock, a, b } = setup();
    a.cluster.accepts(message('u1', 'hi', { at: clock.now(), group: G1 }));
    a.cluster.accepts(message('u1', 'hi', { at: clock.now(), group: G2 }));
    b.cluster.accepts(message('u2', 'hi', { at: clock.now(), group: G1 })); // b is in g1 only
    const interrupted = queue(db, 'group', G1.id, 'mid-send', clock.now());
    expect(claimMessage(db, interrupted, 'a')).toBe(true); // a dies during adapter.send
    queue(db, 'group', G1.id, 'g1-later', clock.now());
    queue(db, 'group', G2.id, 'g2-later', clock.now());

    // b keeps beating; a is silent. Before the takeover time nothing moves.
    clock.set(clock.now() + 20 * SECOND);
    expect(b.cluster.maintain(clock.now())).toBe(0);
    await run(clock, [b], 5 * SECOND);
    expect(b.adapter.sent).toEqual([]);
    clock.set(clock.now() + 10 * SECOND);
    expect(b.cluster.maintain(clock.now())).toBe(1);
    expect(db.prepare('SELECT status FROM outbox WHERE id = ?').get(interrupted)).toEqual({ status: 'uncertain' });
    await run(clock, [b], 10 * SECOND);
    expect(texts(b)).toEqual(['g1@chatroom:g1-later']);
    expect(b.cluster.accepts(message('u2', 'now b answers', { at: clock.now(), group: G1 }))).toBe(true);

    // a comes back: g2 (only a can reach it) was waiting for it; g1 stays with b.
    a.cluster.maintain(clock.now());
    await run(clock, [a, b], 10 * SECOND);
    expect(texts(a)).toEqual(['g2@chatroom:g2-later']);
    expect(a.cluster.accepts(message('u1', 'hello', { at: clock.now(), group: G1 }))).toBe(false);
    expect(db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'").get()).toEqual({ n: 0 });
  });

  it('an instance that stalled past the takeover time sees at its next event that its group moved', () => {
    const { clock, a, b } = setup();
    expect(a.cluster.accepts(message('u1', 'hi', { at: clock.now(), group: G1 }))).toBe(true);
    b.cluster.accepts(message('u2', 'hi', { at: clock.now(), group: G1 }));
    clock.set(clock.now() + 31 * SECOND); // a's event loop was blocked; b beat and took over
    expect(b.cluster.maintain(clock.now())).toBe(1);
    // a's first event after the stall: it must not answer there any more (b does).
    expect(a.cluster.accepts(message('u1', 'still there?', { at: clock.now(), group: G1 }))).toBe(false);
    expect(b.cluster.accepts(message('u1', 'still there?', { at: clock.now(), group: G1 }))).toBe(true);
  });

  it('retiring an instance for good: its chats go to an instance that can reach them, the rest are released', () => {
    const { db, clock, a, b } = setup();
    a.cluster.accepts(message('u1', 'hi', { at: clock.now(), group: G1 }));
    a.cluster.accepts(message('u1', 'hi', { at: clock.now(), group: G2 }));
    a.cluster.accepts(message('u1', 'hello', { at: clock.now(), dm: true }));
    b.cluster.accepts(message('u2', 'hi', { at: clock.now(), group: G1 }));
    queue(db, 'group', G2.id, 'for g2', clock.now());
    expect(retireInstance(db, 'a', clock.now())).toEqual({ moved: 1, released: 2 });
    expect(db.prepare('SELECT chat_id, instance FROM chat_owners ORDER BY chat_id').all()).toEqual([{ chat_id: G1.id, instance: 'b' }]);
    expect(db.prepare('SELECT name FROM instances').all()).toEqual([{ name: 'b' }]);
    // A released chat is anyone's: b may send what waited for a.
    expect(pendingHeads(db, 'wechat', 'push', 'b', 10).map((m) => m.chat_id)).toEqual([G2.id]);
  });

  it('heartbeats at most every few seconds', () => {
    const { db, clock, b } = setup();
    const beat = () => (db.prepare("SELECT heartbeat_at AS t FROM instances WHERE name = 'b'").get() as { t: number }).t;
    const t0 = beat();
    clock.set(clock.now() + HEARTBEAT_MS - 1);
    b.cluster.maintain(clock.now());
    expect(beat()).toBe(t0);
    clock.set(clock.now() + 1);
    b.cluster.maintain(clock.now());
    expect(beat()).toBe(clock.now());
  });
});

describe('KEQUN_INSTANCE and KEQUN_TAKEOVER_AFTER', () => {
  it('defaults, accepts names and seconds, and names the variable when wrong', () => {
    expect(clusterFromEnv({})).toEqual({ instance: 'main', takeoverAfterMs: 30_000 });
    expect(clusterFromEnv({ KEQUN_INSTANCE: 'wx-2', KEQUN_TAKEOVER_AFTER: '12.5' })).toEqual({ instance: 'wx-2', takeoverAfterMs: 12_500 });
    expect(() => clusterFromEnv({ KEQUN_INSTANCE: 'two words' })).toThrow(/KEQUN_INSTANCE must be .*"two words"/);
    expect(() => clusterFromEnv({ KEQUN_TAKEOVER_AFTER: '3' })).toThrow(ClusterEnvError);
    expect(() => clusterFromEnv({ KEQUN_TAKEOVER_AFTER: 'soon' })).toThrow(/KEQUN_TAKEOVER_AFTER must be a number of seconds/);
  });
});

describe.skipIf(!pgAdminUrl)('instance locks on PostgreSQL', () => {
  it('one process per instance name; copy-store only when none runs', () => {
    const url = freshPgUrl();
    const releaseA = acquireStoreLock(url, { instance: 'a' });
    expect(() => acquireStoreLock(url, { instance: 'a' })).toThrow(/another kequn with KEQUN_INSTANCE=a is running/);
    const releaseB = acquireStoreLock(url, { instance: 'b' });
    expect(() => acquireStoreLock(url, { exclusive: true })).toThrow(StoreLockedError);
    releaseA();
    releaseB();
    return new Promise<void>((resolve) =>
      // PostgresDb.close() finishes the connection on the next turn.
      setTimeout(() => {
        const releaseCopy = acquireStoreLock(url, { exclusive: true });
        expect(() => acquireStoreLock(url, { instance: 'a' })).toThrow(/being filled by kequn copy-store/);
        releaseCopy();
        resolve();
      }, 50),
    );
  });
});
