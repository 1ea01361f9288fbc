import type { Db, Statement } from './db.js';

/** A statement and its values, to run now or to send with others (src/store/batch.ts ride). */
export interface Sql {
  sql: string;
  params: unknown[];
}

const cache = new WeakMap<Db, Map<string, Statement>>();

/** A prepared statement, prepared once per connection: the store's hot paths run thousands/s. */
export function stmt(db: Db, sql: string): Statement {
  let m = cache.get(db);
  if (!m) {
    m = new Map();
    cache.set(db, m);
  }
  let s = m.get(sql);
  if (!s) {
    s = db.prepare(sql);
    m.set(sql, s);
  }
  return s;
}
