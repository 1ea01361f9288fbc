/**
 * One read and one batched write per event (issue 20, src/store/batch.ts): on PostgreSQL an
 * event's reads are loaded ahead in one request and the writes nobody reads back go with the
 * next request or the COMMIT (libpq's pipeline mode). These check the request count of a plain
 * group message and the guarantees of the queue: a failing queued write undoes the whole
 * transaction, rows loaded ahead go stale on a write to their table, a rolled-back savepoint
 * takes its queued writes with it. The engine's other tests run on both backends as before.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/db.js';
import { PostgresDb } from '../../src/store/postgres.js';
import { SECOND, T0, count, demoConfig, harness, message } from '../helpers/fixtures.js';
import { freshPgUrl, testBackend } from '../helpers/store.js';

const onPostgres = testBackend === 'postgres';

describe.skipIf(!onPostgres)('a group message on PostgreSQL', () => {
  it('takes 3 requests: BEGIN with the sender reads, the event insert with the facts, the writes with COMMIT', () => {
    // A group without moderation: its flood and repeat checks read the member's recent messages
    // (three or four requests more in a moderated group, not loaded ahead yet).
    const config = demoConfig();
    config.groups['python-101']!.moderation = false;
    const h = harness({ config });
    const pg = h.db as PostgresDb;
    // The member's first message creates them, and each statement is prepared once per connection.
    for (let i = 0; i < 3; i++) expect(h.engine.handleEvent(message('ann', `热身${i}`, { at: T0 + i * SECOND }), T0 + i * SECOND).status).toBe('handled');
    const sent: string[] = [];
    pg.onRequest = (sql) => sent.push(sql);
    const before = pg.roundTrips;
    const t = T0 + 10 * SECOND;
    const r = h.engine.handleEvent(message('ann', '今天天气不错', { at: t }), t);
    pg.onRequest = undefined;
    expect(r).toMatchObject({ status: 'handled', fired: [] });
    expect(pg.roundTrips - before, sent.join('\n----\n')).toBe(3);
    expect(sent[0]).toMatch(/^BEGIN\n; SELECT i\.display_name AS identity_name/);
    expect(sent[1]).toMatch(/^INSERT INTO events/);
    expect(sent[2]).toMatch(/UPDATE events SET unmatched[\s\S]*\n; COMMIT$/);
    // What the requests carried is all there: the event, its packed line, no trace row.
    expect(count(h.db, 'events', `id = ${r.eventRowId!} AND unmatched IS NOT NULL`)).toBe(1);
    expect(count(h.db, 'rule_traces', `event_id = ${r.eventRowId!}`)).toBe(0);
  });
});

describe.skipIf(!onPostgres)('the PostgreSQL request queue', () => {
  const open: PostgresDb[] = [];
  const fresh = () => {
    const db = openStore(freshPgUrl()) as PostgresDb;
    open.push(db);
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    return db;
  };
  afterEach(() => {
    for (const db of open.splice(0)) db.close();
  });
  const rows = (db: PostgresDb) => db.prepare('SELECT id, v FROM t ORDER BY id').all();

  it('a queued write that fails fails the COMMIT request, and nothing of the transaction stays', () => {
    const db = fresh();
    const before = db.roundTrips;
    expect(() =>
      db.transaction(() => {
        db.later('INSERT INTO t (id, v) VALUES (?, ?)', [1, 'a']);
        db.later('INSERT INTO t (id, v) VALUES (?, ?)', [1, 'again']);
      })(),
    ).toThrow(/duplicate key/);
    // One request carried BEGIN, both inserts and the COMMIT; one more ended the aborted transaction.
    expect(db.roundTrips - before).toBeLessThanOrEqual(3);
    expect(db.pq.transactionStatus()).toBe(0);
    expect(rows(db)).toEqual([]);
    db.transaction(() => db.later('INSERT INTO t (id, v) VALUES (?, ?)', [2, 'b']))();
    expect(rows(db)).toEqual([{ id: 2, v: 'b' }]);
  });

  it('rows loaded ahead answer without a request until a write to their table, and a write queued before a read is seen by it', () => {
    const db = fresh();
    db.prepare('INSERT INTO t (id, v) VALUES (?, ?)').run(1, 'x');
    // Prepared on the server once per connection (a request of its own), before counting.
    db.prepare('UPDATE t SET v = ? WHERE id = ?').run('a', 1);
    const get = () => db.prepare('SELECT v FROM t WHERE id = ?').get(1);
    db.transaction(() => {
      db.prefetch([{ sql: 'SELECT v FROM t WHERE id = ?', params: [1], tables: ['t'] }]);
      const before = db.roundTrips;
      expect(get()).toEqual({ v: 'a' });
      expect(get()).toEqual({ v: 'a' });
      expect(db.roundTrips).toBe(before);
      db.later('UPDATE t SET v = ? WHERE id = ?', ['b', 1]);
      expect(db.roundTrips).toBe(before);
      // Stale now: read again, in the request that carries the update.
      expect(get()).toEqual({ v: 'b' });
      expect(db.roundTrips).toBe(before + 1);
    })();
    expect(get()).toEqual({ v: 'b' });
  });

  it('an insert sent ahead answers its own statement once; a savepoint rolled back takes its queued writes with it', () => {
    const db = fresh();
    const insert = 'INSERT INTO t (id, v) VALUES (?, ?) ON CONFLICT (id) DO NOTHING RETURNING id';
    db.transaction(() => {
      db.prefetch([{ sql: insert, params: [1, 'a'], tables: ['t'] }]);
      const before = db.roundTrips;
      expect(db.prepare(insert).get(1, 'a')).toEqual({ id: 1 });
      expect(db.roundTrips).toBe(before);
      // The second time it runs for real: the row is there, nothing is returned.
      expect(db.prepare(insert).get(1, 'a')).toBeUndefined();
      db.later('INSERT INTO t (id, v) VALUES (?, ?)', [2, 'b']);
      expect(() =>
        db.transaction(() => {
          db.later('INSERT INTO t (id, v) VALUES (?, ?)', [3, 'c']);
          throw new Error('undone');
        })(),
      ).toThrow('undone');
      db.later('INSERT INTO t (id, v) VALUES (?, ?)', [4, 'd']);
    })();
    expect(rows(db)).toEqual([
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
      { id: 4, v: 'd' },
    ]);
  });

  it('a transaction that neither read nor wrote sends nothing; one that only wrote sends one request', () => {
    const db = fresh();
    let before = db.roundTrips;
    db.transaction(() => undefined)();
    expect(db.roundTrips).toBe(before);
    db.prepare('INSERT INTO t (id, v) VALUES (?, ?)').run(9, 'warm');
    before = db.roundTrips;
    db.transaction(() => db.later('INSERT INTO t (id, v) VALUES (?, ?)', [1, 'a']))();
    expect(db.roundTrips - before).toBe(1);
    expect(rows(db)).toContainEqual({ id: 1, v: 'a' });
  });

  it('a statement prepares once on the server whatever its row mode, however often pluck() or raw() is asked for', () => {
    const db = fresh();
    db.prepare('INSERT INTO t (id, v) VALUES (?, ?)').run(1, 'a');
    const sql = 'SELECT v FROM t WHERE id = ?';
    const sent: string[] = [];
    db.onRequest = (s) => sent.push(s);
    for (let i = 0; i < 3; i++) {
      expect(db.prepare(sql).pluck().get(1)).toBe('a');
      expect(db.prepare(sql).raw().get(1)).toEqual(['a']);
    }
    db.onRequest = undefined;
    // One PREPARE, then one request per statement run (the cluster's heartbeat plucks its instances).
    expect(sent.filter((s) => s.startsWith('PREPARE'))).toEqual([`PREPARE ${sql}`]);
    expect(sent).toHaveLength(7);
  });
});
