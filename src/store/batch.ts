import { dialectOf, type Db } from './db.js';
import type { AheadRead, PostgresDb } from './postgres.js';
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
