import type { Services } from '../../core/types.js';
import type { CourseConfig } from '../../core/types.js';
import type { Db } from '../../store/db.js';
import { countCodeUses } from './store/orders.js';
import type { Discount, DiscountQuery, DiscountSource } from './contracts.js';

/**
 * A coupon from catalog.yaml, when the buyer entered its code: fixed (`off_fen`) or percent off
 * (rounded down to the fen, so rounding never costs the buyer), within its validity and usage
 * limits. Uses are counted on paid orders, so an abandoned checkout does not burn a use.
 */
export const couponSource: DiscountSource = (db, config, q) => {
  if (!q.code) return null;
  const coupon = config.catalog.coupons[q.code];
  if (!coupon) return null;
  if (coupon.products && !coupon.products.includes(q.productId)) return null;
  if (coupon.valid.from !== undefined && q.now < coupon.valid.from) return null;
  if (coupon.valid.until !== undefined && q.now >= coupon.valid.until) return null;
  if (coupon.max_uses !== undefined && countCodeUses(db, coupon.code) >= coupon.max_uses) return null;
  if (countCodeUses(db, coupon.code, q.memberId) >= coupon.per_member) return null;
  const fen = coupon.off_fen !== undefined ? coupon.off_fen : Math.floor((q.priceFen * coupon.percent_off!) / 100);
  return { kind: 'coupon', code: coupon.code, fen, note: coupon.off_fen !== undefined ? '立减' : `${coupon.percent_off}% off` };
};

/**
 * The discount sources the order service asks at checkout, in order: coupons, then what other
 * features grant (the referral service's newcomer discount, when referrals are composed). Another
 * source is one more service here.
 */
export function discountSourcesOf(services: Services): DiscountSource[] {
  const referral = (services as Partial<Services>).referral;
  return referral ? [couponSource, referral.discount] : [couponSource];
}

export interface Price {
  /** List price, in the smallest unit of the currency (fen; Stars for XTR). */
  list: number;
  amount: number;
  discounts: Discount[];
  /** Why an entered code gave nothing, for the checkout page. */
  codeRejected: boolean;
}

/** Nothing is ever sold for less than this (WeChat Pay's minimum is 1 fen). */
export const MIN_AMOUNT = 1;

/**
 * The price of a product for a member, computed on the server only: list price minus every
 * discount the sources grant (at most one per kind), never below MIN_AMOUNT.
 *
 * @example computePrice(db, config, discountSourcesOf(services), { memberId, productId: 'vip', priceFen: 19900, code: 'EARLY', now })
 */
export function computePrice(db: Db, config: CourseConfig, sources: readonly DiscountSource[], q: DiscountQuery): Price {
  const discounts: Discount[] = [];
  let remaining = q.priceFen;
  for (const source of sources) {
    const d = source(db, config, { ...q, priceFen: q.priceFen });
    if (!d || !Number.isInteger(d.fen) || d.fen <= 0) continue;
    if (discounts.some((x) => x.kind === d.kind)) continue;
    const fen = Math.min(d.fen, remaining - MIN_AMOUNT);
    if (fen <= 0) continue;
    discounts.push({ ...d, fen });
    remaining -= fen;
  }
  const codeUsed = discounts.some((d) => d.code === q.code);
  return { list: q.priceFen, amount: remaining, discounts, codeRejected: q.code !== undefined && q.code !== '' && !codeUsed };
}
