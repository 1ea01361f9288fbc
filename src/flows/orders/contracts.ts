/**
 * The orders feature's public types: what a discount is (referrals grant one through the
 * `referral` service) and what others learn about an order when it is paid or refunded. Another
 * feature may import these types, and nothing else of this folder.
 */
import type { CourseConfig } from '../../core/types.js';
import type { Db } from '../../store/db.js';

/** A price reduction the order service applies at checkout. Amounts are in fen, computed here on the server. */
export interface Discount {
  kind: 'coupon' | 'referral';
  /** the coupon or referral code that earned it */
  code: string;
  fen: number;
  /** for referral discounts: who referred the buyer (their reward is booked when the order is paid) */
  referrerMemberId?: string;
  note?: string;
}

export interface DiscountQuery {
  memberId: string;
  productId: string;
  /** list price, fen */
  priceFen: number;
  /** a code the buyer entered at checkout, if any */
  code?: string;
  now: number;
}

/** Looks for a discount the buyer is entitled to; null when none. Must not write to the store. */
export type DiscountSource = (db: Db, config: CourseConfig, q: DiscountQuery) => Discount | null;

/** What other parts need to know about an order when its state changes. */
export interface OrderFacts {
  id: string;
  memberId: string;
  productId: string;
  /** amount actually paid, fen */
  amountFen: number;
  discounts: Discount[];
  /** The cohort (期) whose seat it sold, when the course has cohorts. */
  cohortId?: string | null;
}

/**
 * What an `order.paid` / `order.refunded` event carries (`ctx.trigger.order`), for the features
 * that act on it in the transaction that changed the order: the lifecycle's stage move, the
 * receipt, the referral reward.
 */
export interface OrderEvent extends OrderFacts {
  /** This event's amount: paid, or refunded (fen; Stars for XTR). */
  amount: number;
  currency: string;
  /** catalog.yaml `payments.paid_stage`: where a payment moves the buyer unless lifecycle.on_paid says otherwise. */
  paidStage: string;
  /** The buyer's stage before they paid. */
  stageBefore: string | null;
  /** The order's state after this event. */
  state: 'paid' | 'partially_refunded' | 'refunded';
}
