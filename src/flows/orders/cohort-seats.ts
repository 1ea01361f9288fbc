/**
 * Products that sell seats of a cohort (期): which cohort a checkout sells (the product's
 * `cohort:`, or the one open for sale), whether its seats are gone (paid orders of the cohort,
 * counted on the server), and which paid groups the buyer is let into (the cohort's). Cohorts are
 * reached through the `cohorts` service, never imported.
 */
import type { Db } from '../../store/db.js';
import type { Cohort, CohortsService } from '../cohorts/contracts.js';
import type { Product } from './catalog-schema.js';
import { countSoldInCohort } from './store/orders.js';

export type CohortPick = { ok: true; cohort: Cohort | undefined } | { ok: false; reason: 'no_cohort' | 'cohort_closed' | 'sold_out' };

/** The cohort a checkout of `product` at `now` sells a seat of (undefined: the course has no cohorts). */
export function cohortForCheckout(db: Db, product: Pick<Product, 'cohort'>, cohorts: CohortsService | undefined, now: number): CohortPick {
  if (!cohorts || cohorts.all().length === 0) return { ok: true, cohort: undefined };
  const want = product.cohort ?? 'open';
  const cohort = want === 'open' ? cohorts.openForSale(now) : cohorts.byId(want);
  if (!cohort) return { ok: false, reason: 'no_cohort' };
  if (now >= cohort.saleUntil) return { ok: false, reason: 'cohort_closed' };
  if (cohortSoldOut(db, cohort)) return { ok: false, reason: 'sold_out' };
  return { ok: true, cohort };
}

export function cohortSoldOut(db: Db, cohort: Cohort): boolean {
  return cohort.seats !== undefined && countSoldInCohort(db, cohort.id) >= cohort.seats;
}

/** An order's cohort, when it names one still in config. */
export function cohortOfOrder(cohorts: CohortsService | undefined, order: { cohort_id: string | null }): Cohort | undefined {
  return order.cohort_id === null ? undefined : cohorts?.byId(order.cohort_id);
}

/** The paid groups an order lets the buyer into: its cohort's, else the product's own. */
export function accessGroups(product: Pick<Product, 'groups'> | undefined, cohort: Cohort | undefined): readonly string[] {
  if (cohort && cohort.paidGroups.length > 0) return cohort.paidGroups;
  return product?.groups ?? [];
}
