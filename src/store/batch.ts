import { dialectOf, type Db } from './db.js';
import type { AheadRead, PostgresDb, Rider } from './postgres.js';
import { stmt } from './statements.js';

/**
 * One read and one batched write per event (issue 20, docs/operations.md "What one event writes").
 *
 * On PostgreSQL every statement the engine waits for is a round trip, so an event's handling
 * loads what its rules will read in one request (`prefetch`), answers those reads from memory,
 * and sends the writes nobody reads back (`later`) with the next request or the COMMIT. On SQLite
 * a statement costs microseconds in-process: `prefetch` does nothing and `later` writes now.
 * Either way the statements and their order within the transaction are the same.
 */

/** A read to load ahead: the statement exactly as its store function runs it, its values, the tables it reads. */
export type StoreRead = AheadRead;

/** Loads `reads()` in one request (PostgreSQL, inside a transaction); on SQLite not even lists them. */
export function prefetch(db: Db, reads: () => StoreRead[]): void {
  if (dialectOf(db) === 'postgres') (db as PostgresDb).prefetch(reads());
}

/** A write whose result nobody reads: now on SQLite; with the next request on PostgreSQL. */
export function later(db: Db, sql: string, ...params: unknown[]): void {
  if (dialectOf(db) === 'postgres') (db as PostgresDb).later(sql, params);
  else stmt(db, sql).run(...params);
}

/** A statement of no transaction, its rows or error handed to `done` (src/store/postgres.ts Rider). */
export type Upkeep = Rider;

/**
 * Upkeep statements (the cluster's heartbeat), each committed on its own and in order, their
 * results handed to their `done`. `now`: sent at once, in one request on PostgreSQL. Otherwise
 * on PostgreSQL they go in front of the next transaction's first request (no request of their
 * own; `sendRiders` sends any still waiting); on SQLite they always run at once.
 */
export function ride(db: Db, upkeep: Upkeep[], opts: { now: boolean }): void {
  if (dialectOf(db) === 'postgres') {
    const pg = db as PostgresDb;
    pg.ride(upkeep);
    if (opts.now) pg.sendRiders();
    return;
  }
  for (const u of upkeep) {
    let r: Parameters<Upkeep['done']>[0];
    try {
      const s = stmt(db, u.sql);
      r = /^\s*(?:SELECT|WITH)\b/i.test(u.sql) || /\bRETURNING\b/i.test(u.sql) ? { rows: s.all(...u.params) as Record<string, unknown>[], changes: 0 } : { rows: [], changes: s.run(...u.params).changes };
    } catch (e) {
      r = { error: e as Error };
    }
    u.done(r);
  }
}

/** Upkeep still waiting for a request to go with (PostgreSQL), sent now. */
export function sendRiders(db: Db): void {
  if (dialectOf(db) === 'postgres') (db as PostgresDb).sendRiders();
}
