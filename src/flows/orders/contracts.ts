/**
 * The seams between the order service (payment issue), referrals (referral issue) and the
 * Telegram adapter (Telegram issue). Each side is written against these types, so the three can
 * be built apart and wired in one place (src/app.ts and src/flows/orders/service wiring).
 */
import type { CourseConfig } from '../../config/load.js';
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
}

/**
 * Called by the order service inside the transaction that marks an order paid or refunded, so the
 * effects (a referral reward, its reversal) commit or roll back with the payment state.
 */
export interface OrderHooks {
  paid?(db: Db, config: CourseConfig, order: OrderFacts, now: number): void;
  refunded?(db: Db, config: CourseConfig, order: OrderFacts, refundFen: number, now: number): void;
}

/** A Telegram Stars invoice (currency XTR: amount in Stars, digital goods). */
export interface StarsInvoice {
  chatId: string;
  title: string;
  description: string;
  /** opaque to Telegram; the order service's order reference */
  payload: string;
  amount: number;
}

/**
 * What the Telegram adapter asks the order service about Stars payments. The adapter answers
 * pre_checkout_query within Telegram's 10 s with whatever preCheckout returns.
 */
export interface StarsPayments {
  preCheckout(q: { payload: string; currency: string; totalAmount: number; telegramUserId: string }): { ok: true } | { ok: false; error: string };
  /** A successful_payment message. Must be idempotent by telegramChargeId (updates can be redelivered). */
  paid(p: { payload: string; currency: string; totalAmount: number; telegramUserId: string; telegramChargeId: string; providerChargeId: string }): void;
}

/**
 * What the order service asks of the Telegram adapter to refund a Stars payment. Telegram refunds
 * a Stars charge whole. Resolves when Telegram refunded it (or says it already was: the call is
 * safe to repeat after a crash); rejects with StarsRefundRefused when Telegram refuses for good,
 * with any other error when it may work later.
 */
export interface StarsRefunder {
  refundStarPayment(telegramUserId: string, telegramChargeId: string): Promise<'refunded' | 'already_refunded'>;
}

/** Telegram refused a Stars refund for good (unknown charge, wrong user…): retrying will not help. */
export class StarsRefundRefused extends Error {}

