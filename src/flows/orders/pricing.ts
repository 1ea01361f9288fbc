import type { Services } from '../../core/types.js';
import type { CourseConfig } from '../../core/types.js';
import type { Db } from '../../store/db.js';
import { countCodeUses } from './store/orders.js';
import type { Discount, DiscountQuery, DiscountSource } from './contracts.js';
import { loyaltySource, upgradeSource } from './loyalty.js';

/**
 * A coupon from catalog.yaml, when the buyer entered its code: fixed (`off_fen`) or percent off
 * (rounded down to the fen, so rounding never costs the buyer), within its validity and usage
 * limits. Uses are counted on paid orders, so an abandoned checkout does not burn a use.
 */
export const couponSource: DiscountSource = (db, config, q) => {
  if (!q.code) return null;
  // Own keys only: the buyer types the code, and "toString" is not a coupon.
  const coupon = Object.hasOwn(config.catalog.coupons, q.code) ? config.catalog.coupons[q.code] : undefined;
  if (!coupon) return null;
  if (coupon.products && !coupon.products.includes(q.productId)) return null;
  if (q.now < (coupon.valid.from ?? -Infinity) || q.now >= (coupon.valid.until ?? Infinity)) return null;
  if (countCodeUses(db, coupon.code) >= (coupon.max_uses ?? Infinity)) return null;
  if (countCodeUses(db, coupon.code, q.memberId) >= coupon.per_member) return null;
  const fen = coupon.off_fen !== undefined ? coupon.off_fen : Math.floor((q.priceFen * coupon.percent_off!) / 100);
  return { kind: 'coupon', code: coupon.code, fen, note: coupon.off_fen !== undefined ? '立减' : `${coupon.percent_off}% off` };
};

/**
 * The discount sources the order service asks at checkout, in order: the upgrade credit and the
 * returning member's discount (loyalty.ts), coupons, then what other features grant (the referral
 * service's newcomer discount, when referrals are composed). Another source is one more service here.
 */
export function discountSourcesOf(services: Services): DiscountSource[] {
  const referral = (services as Partial<Services>).referral;
  const own = [upgradeSource, loyaltySource, couponSource];
  return referral ? [...own, referral.discount] : own;
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
 * An upgrade credit comes off first (it is money already paid, not a discount); the discounts
 * after it (loyalty, coupon, referral) are reckoned on what is left and stop at catalog.yaml
 * `pricing.floor_percent` of it, so stacking them never sells below the floor
 * (docs/loyalty.md). With no credit and floor 0 this is list minus every discount, at least 1 fen.
 *
 * @example computePrice(db, config, discountSourcesOf(services), { memberId, productId: 'vip', priceFen: 19900, code: 'EARLY', now })
 */
export function computePrice(db: Db, config: CourseConfig, sources: readonly DiscountSource[], q: DiscountQuery): Price {
  const discounts: Discount[] = [];
  let remaining = q.priceFen;
  // What percentages are reckoned on and the floor applies to: the price after an upgrade credit.
  let base = q.priceFen;
  const floorPercent = config.catalog.pricing?.floor_percent ?? 0;
  for (const source of sources) {
    const d = source(db, config, { ...q, priceFen: base });
    if (!d || !Number.isInteger(d.fen)) continue;
    if (discounts.some((x) => x.kind === d.kind)) continue;
    const floor = d.kind === 'upgrade' ? MIN_AMOUNT : Math.max(MIN_AMOUNT, Math.ceil((base * floorPercent) / 100));
    const fen = Math.min(d.fen, remaining - floor);
    // Nothing offered (0 or less), or the price is already at the floor: no discount is listed.
    if (fen <= 0) continue;
    discounts.push({ ...d, fen });
    remaining -= fen;
    if (d.kind === 'upgrade') base = remaining;
  }
  const codeUsed = discounts.some((d) => d.code === q.code);
  return { list: q.priceFen, amount: remaining, discounts, codeRejected: q.code !== undefined && q.code !== '' && !codeUsed };
}

/** How the buyer reads a discount on the checkout page and in the DM: 「优惠码 EARLY50」「老学员 9 折」「已购《Python 入门》，补差价升级」. */
export function discountLabel(d: Discount): string {
  if (d.kind === 'coupon') return `优惠码 ${d.code}`;
  if (d.kind === 'referral') return `推荐优惠 ${d.code}`;
  return d.note ?? (d.kind === 'upgrade' ? '补差价升级' : '老学员优惠');
}
