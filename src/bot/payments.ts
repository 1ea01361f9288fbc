/**
 * Payments that go through a chat platform: Telegram Stars. The Telegram adapter is written
 * against these interfaces and the order service implements them; src/app.ts wires the two.
 */

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

