/**
 * The co-purchase counts, kept between rankings: counting everyone's paid orders costs tens of
 * milliseconds on a course of 10,000 buyers, and they change only when an order is paid or
 * refunded. This process forgets them at each `order.paid` / `order.refunded` it handles (the
 * feature's handlers), and after `MAX_AGE` whatever happened, for the orders other processes on
 * the same PostgreSQL store took.
 */
import type { Db } from '../../store/db.js';
import type { CoPurchase } from './rank.js';
import { coPurchaseFor } from './store.js';

const MAX_AGE = 10 * 60_000;

interface Entry {
  at: number;
  buyers: CoPurchase['buyers'];
  members: number;
  pairs: CoPurchase['pairs'];
}

const cache = new WeakMap<Db, Entry>();

/** The counts a ranking of a member who bought `bought` needs, from the cache where it has them. */
export function cachedCoPurchase(db: Db, bought: readonly string[], now: number): CoPurchase {
  let e = cache.get(db);
  if (!e || now - e.at > MAX_AGE || now < e.at) {
    const fresh = coPurchaseFor(db, []);
    e = { at: now, buyers: fresh.buyers, members: fresh.members, pairs: new Map() };
    cache.set(db, e);
  }
  const missing = bought.filter((b) => !e.pairs.has(b));
  if (missing.length > 0) for (const [b, row] of coPurchaseFor(db, missing).pairs) e.pairs.set(b, row);
  return { buyers: e.buyers, members: e.members, pairs: e.pairs };
}

/** An order was paid or refunded here: the next ranking counts afresh. */
export function forgetCoPurchase(db: Db): void {
  cache.delete(db);
}
