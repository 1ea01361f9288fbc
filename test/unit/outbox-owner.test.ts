/**
 * The outbox's owner column on PostgreSQL (migration 27): a queued message is stamped with its
 * chat's owner, a sender reads only its own rows and the unowned ones, and rows follow their chat
 * when it changes hands, in order. Needs KEQUN_TEST_PG_URL (SQLite has one process and leaves
 * the column empty).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/bot/cluster.js';
import { Outbox } from '../../src/bot/outbox.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { openStore, type Db } from '../../src/store/db.js';
import { enqueueMessage, pendingHeads } from '../../src/store/outbox.js';
import { demoConfig, FakeAdapter, message, SECOND, T0 } from '../helpers/fixtures.js';
import { freshPgUrl, pgAdminUrl } from '../helpers/store.js';

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
  db = openStore(freshPgUrl());
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
  return enqueueMessage(db, { platform: 'wechat', chatKind, chatId, memberId: null, groupId: null, text, priority: 'reply', notBefore: now, eventId: null, ruleId: null, dryRun: false, now, budget: null });
}

const owners = (db: Db) => db.prepare("SELECT text, owner FROM outbox WHERE status = 'pending' ORDER BY id").all() as { text: string; owner: string | null }[];
const heads = (db: Db, instance: string) => pendingHeads(db, 'wechat', 'reply', instance, 100).map((h) => h.chat_id).sort();

async function run(clock: VirtualClock, nodes: Node[], ms: number): Promise<void> {
  const end = clock.now() + ms;
  while (clock.now() < end) {
    for (const n of nodes) await n.outbox.dispatch();
    clock.set(clock.now() + SECOND);
  }
}

describe.skipIf(!pgAdminUrl)('outbox owner (PostgreSQL)', () => {
  it("a queued message is stamped with its chat's owner; each sender's window holds its own chats and the unowned ones only", () => {
    const { db, clock, a, b } = setup();
    a.cluster.accepts(message('u1', 'hi', { at: clock.now(), group: G1 }));
    b.cluster.accepts(message('u2', 'hi', { at: clock.now(), group: G2 }));
    for (let i = 0; i < 3; i++) {
      queue(db, 'group', G1.id, `g1-${i}`, clock.now());
      queue(db, 'group', G2.id, `g2-${i}`, clock.now());
    }
    queue(db, 'dm', 'nobody-yet', 'unowned', clock.now());
    expect(owners(db).map((r) => `${r.text}:${r.owner}`)).toEqual(['g1-0:a', 'g2-0:b', 'g1-1:a', 'g2-1:b', 'g1-2:a', 'g2-2:b', 'unowned:null']);
    expect(heads(db, 'a')).toEqual([G1.id, 'nobody-yet']);
    expect(heads(db, 'b')).toEqual([G2.id, 'nobody-yet']);
  });

  it('a private chat that moves to another instance takes its queued messages along; the first sender of an unowned chat takes its rows', async () => {
    const { db, clock, a, b } = setup();
    a.cluster.accepts(message('u1', 'hi', { at: clock.now(), dm: true }));
    queue(db, 'dm', 'u1', 'first', clock.now());
    queue(db, 'dm', 'u1', 'second', clock.now());
    queue(db, 'dm', 'u9', 'to nobody', clock.now());
    expect(owners(db).map((r) => r.owner)).toEqual(['a', 'a', null]);
    // u1 writes to b's account: the chat and its two queued messages are b's now.
    b.cluster.accepts(message('u1', 'hello b', { at: clock.now(), dm: true }));
    expect(owners(db).map((r) => r.owner)).toEqual(['b', 'b', null]);
    expect(heads(db, 'a')).toEqual(['u9']);
    await run(clock, [a, b], 30 * SECOND);
    expect(b.adapter.sent.map((m) => m.text)).toEqual(['first', 'second']);
    // a sent to the unowned chat first and took it (and would take rows still queued for it).
    expect(a.adapter.sent.map((m) => m.text)).toEqual(['to nobody']);
    expect(db.prepare('SELECT instance FROM chat_owners WHERE chat_id = ?').get('u9')).toEqual({ instance: 'a' });
  });

  it('a message stamped with the old owner while its chat moved (the race at insert) is handed over and still goes first', async () => {
    const { db, clock, a, b } = setup();
    b.cluster.accepts(message('u1', 'hi', { at: clock.now(), dm: true }));
    const early = queue(db, 'dm', 'u1', 'early', clock.now());
    // As if a's transaction read chat_owners before b's move committed: stamped with a.
    db.prepare('UPDATE outbox SET owner = ? WHERE id = ?').run('a', early);
    queue(db, 'dm', 'u1', 'late', clock.now());
    expect(owners(db).map((r) => r.owner)).toEqual(['a', 'b']);
    // b's window does not offer "late" while "early" is queued before it.
    expect(heads(db, 'b')).toEqual([]);
    // a's window finds a row of a chat it no longer owns: hands it to b, sends nothing.
    expect(heads(db, 'a')).toEqual([]);
    expect(owners(db).map((r) => r.owner)).toEqual(['b', 'b']);
    await run(clock, [a, b], 30 * SECOND);
    expect(b.adapter.sent.map((m) => m.text)).toEqual(['early', 'late']);
    expect(a.adapter.sent).toEqual([]);
  });

  it("an instance that stops: at the lease's expiry its queued messages go to the chats' new owner, in order, none twice", async () => {
    const { db, clock, a, b } = setup();
    a.cluster.accepts(message('u1', 'hi', { at: clock.now(), group: G1 }));
    b.cluster.accepts(message('u2', 'hi', { at: clock.now(), group: G1 })); // b can reach g1 too
    for (let i = 0; i < 3; i++) queue(db, 'group', G1.id, `g1-${i}`, clock.now());
    expect(owners(db).map((r) => r.owner)).toEqual(['a', 'a', 'a']);
    // a stops; b waits out the lease, then takes the group and its queue.
    clock.set(clock.now() + 20 * SECOND);
    expect(b.cluster.maintain(clock.now())).toBe(0);
    expect(heads(db, 'b')).toEqual([]);
    clock.set(clock.now() + 11 * SECOND);
    expect(b.cluster.maintain(clock.now())).toBe(1);
    expect(owners(db).map((r) => r.owner)).toEqual(['b', 'b', 'b']);
    await run(clock, [b], 30 * SECOND);
    expect(b.adapter.sent.map((m) => m.text)).toEqual(['g1-0', 'g1-1', 'g1-2']);
    expect(db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent'").get()).toEqual({ n: 3 });
  });
});
