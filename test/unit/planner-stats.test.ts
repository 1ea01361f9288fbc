/**
 * The planner's statistics after a burst (src/store/planner-stats.ts): on PostgreSQL the outbox
 * analysed while empty, with autovacuum off (as a loaded server leaves it), gets fresh
 * statistics at the next heartbeat once thousands of reminders are queued; nothing is analysed
 * when little changed, and a table someone else holds is left for the next beat without waiting.
 * A burst this process queued itself is analysed before its own next read of the outbox, without
 * waiting for the heartbeat or for the server's counters.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, HEARTBEAT_MS } from '../../src/bot/cluster.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { silentLogger } from '../../src/log.js';
import { openStore, type Db } from '../../src/store/db.js';
import { enqueueMessage } from '../../src/store/outbox.js';
import { HeadWindow } from '../../src/store/outbox-window.js';
import { analyseAfterOwnBurst, refreshPlannerStats } from '../../src/store/planner-stats.js';
import { PostgresDb } from '../../src/store/postgres.js';
import { T0, message } from '../helpers/fixtures.js';
import { freshPgUrl, pgAdminUrl } from '../helpers/store.js';

const open: Db[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

function queueReminders(db: Db, n: number): void {
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      enqueueMessage(db, {
        platform: 'wechat', chatKind: 'dm', chatId: `wxid_m${i}`, memberId: `wechat:wxid_m${i}`, groupId: null, text: `第 ${i} 位的打卡提醒`,
        priority: 'bulk', notBefore: T0 + i, eventId: null, ruleId: null, dryRun: false, now: T0, budget: null,
      });
    }
  })();
}

/** This connection's table counters, flushed so pg_stat_user_tables shows them. */
function flushStats(db: Db): void {
  db.prepare('SELECT pg_stat_force_next_flush()').get();
  db.prepare('SELECT 1').get();
}

const reltuples = (db: Db, table: string) => Number((db.prepare('SELECT reltuples AS n FROM pg_class WHERE oid = to_regclass(?)').get(table) as { n: number }).n);

describe('planner statistics after a burst', () => {
  it('SQLite has nothing to refresh', () => {
    const db = openStore(':memory:');
    open.push(db);
    queueReminders(db, 600);
    expect(refreshPlannerStats(db)).toEqual([]);
  });

  it.skipIf(!pgAdminUrl)('PostgreSQL: the outbox is analysed once thousands of rows arrived, not for a few', () => {
    const db = openStore(freshPgUrl());
    open.push(db);
    db.exec('ANALYZE outbox; ANALYZE jobs; ALTER TABLE outbox SET (autovacuum_enabled = false)');
    expect(reltuples(db, 'outbox')).toBe(0);

    queueReminders(db, 100);
    flushStats(db);
    expect(refreshPlannerStats(db)).toEqual([]);

    queueReminders(db, 3000);
    flushStats(db);
    expect(refreshPlannerStats(db)).toEqual(['outbox']);
    expect(reltuples(db, 'outbox')).toBe(3100);

    // Analysed: the counters start again, and the next beat does nothing.
    flushStats(db);
    expect(refreshPlannerStats(db)).toEqual([]);
  });

  it.skipIf(!pgAdminUrl)('PostgreSQL: a table another session holds is left for the next beat, without waiting for it', () => {
    const url = freshPgUrl();
    const db = openStore(url);
    open.push(db);
    db.exec('ANALYZE outbox; ALTER TABLE outbox SET (autovacuum_enabled = false)');
    queueReminders(db, 2000);
    flushStats(db);
    const other = new PostgresDb(url);
    try {
      // What a VACUUM holds: ANALYZE would wait for it.
      other.exec('BEGIN; LOCK TABLE outbox IN SHARE UPDATE EXCLUSIVE MODE');
      // Were it to wait, this test would hang: the lock's holder is this same process.
      expect(refreshPlannerStats(db)).toEqual([]);
      expect(reltuples(db, 'outbox')).toBe(0);
      other.exec('ROLLBACK');
      expect(refreshPlannerStats(db)).toEqual(['outbox']);
      expect(reltuples(db, 'outbox')).toBe(2000);
    } finally {
      other.close();
    }
  });

  it.skipIf(!pgAdminUrl)("PostgreSQL: a beat that goes with an event finds the burst; the next tick analyses it, not the event", () => {
    const db = openStore(freshPgUrl()) as PostgresDb;
    open.push(db);
    db.exec('ANALYZE outbox; ANALYZE jobs; ALTER TABLE outbox SET (autovacuum_enabled = false)');
    const clock = new VirtualClock(T0);
    const cluster = new Cluster({ db, clock, log: silentLogger });
    cluster.start();
    const group = { id: 'g1@chatroom', name: 'g1' };
    expect(cluster.accepts(message('u1', 'hi', { at: clock.now(), group }))).toBe(true);
    queueReminders(db, 2000);
    flushStats(db);
    // A beat just due: it waits for the event's first request (here, the transaction below).
    clock.set(clock.now() + HEARTBEAT_MS);
    expect(cluster.accepts(message('u1', 'again', { at: clock.now(), group }))).toBe(true);
    const sent: string[] = [];
    db.onRequest = (sql) => sent.push(sql);
    db.transaction(() => db.prepare('SELECT 1').get())();
    cluster.settle();
    db.onRequest = undefined;
    // The beat in front of BEGIN and the read; the COMMIT; nothing analysed on the way.
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatch(/pg_stat_user_tables[\s\S]*\n; BEGIN\n; SELECT 1$/);
    expect(reltuples(db, 'outbox')).toBe(0);
    // The scheduler's next tick (no beat due yet) analyses it.
    clock.set(clock.now() + 1000);
    expect(cluster.maintain(clock.now())).toBe(0);
    expect(reltuples(db, 'outbox')).toBe(2000);
  });

  it.skipIf(!pgAdminUrl)("PostgreSQL: this process's own burst is analysed before its sender's next window read, with no beat and no flushed counters", () => {
    const db = openStore(freshPgUrl());
    open.push(db);
    db.exec('ANALYZE outbox; ANALYZE jobs; ALTER TABLE outbox SET (autovacuum_enabled = false)');
    const window = new HeadWindow(db, 'k1');

    // A few rows: nothing read, nothing analysed.
    queueReminders(db, 100);
    expect(analyseAfterOwnBurst(db)).toEqual([]);
    window.heads('wechat');
    expect(reltuples(db, 'outbox')).toBe(0);

    // A fan-out: the window's next read analyses first (the statistics knew an empty outbox).
    queueReminders(db, 3000);
    expect(window.heads('wechat').size).toBeGreaterThan(0);
    expect(reltuples(db, 'outbox')).toBe(3100);
    // Counted again from zero since: 400 more is not a burst.
    queueReminders(db, 400);
    expect(analyseAfterOwnBurst(db)).toEqual([]);
  });

  it.skipIf(!pgAdminUrl)('PostgreSQL: inside a transaction it waits for the commit (a rollback would leave nothing to analyse)', () => {
    const db = openStore(freshPgUrl());
    open.push(db);
    db.exec('ANALYZE outbox');
    db.transaction(() => {
      queueReminders(db, 600);
      expect(analyseAfterOwnBurst(db)).toEqual([]);
    })();
    expect(analyseAfterOwnBurst(db)).toEqual(['outbox']);
    expect(reltuples(db, 'outbox')).toBe(600);
  });

  it('SQLite counts nothing and analyses nothing', () => {
    const db = openStore(':memory:');
    open.push(db);
    queueReminders(db, 600);
    expect(analyseAfterOwnBurst(db)).toEqual([]);
  });
});
