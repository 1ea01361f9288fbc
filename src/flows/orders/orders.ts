import { randomBytes } from 'node:crypto';
import type { CourseConfig } from '../../core/types.js';
import type { Db } from '../../store/db.js';
import { countSold, hasPaidOrder, insertOrder, openOrderOf, repriceOrder, type OrderRow } from './store/orders.js';
import { onSale, type Catalog } from './catalog.js';
import type { Discount, DiscountSource, OrderFacts } from './contracts.js';
import { computePrice, type Price } from './pricing.js';
import type { CohortsService } from '../cohorts/contracts.js';
import { cohortForCheckout } from './cohort-seats.js';

/** Random, unguessable identifiers: an order id and a link token are never sequential. */
export function newOrderId(): string {
  return 'o_' + randomBytes(9).toString('base64url');
}
export function newToken(): string {
  return randomBytes(18).toString('base64url');
}
/** out_trade_no: 6-32 characters of [A-Za-z0-9_-|*] for WeChat Pay; a new one per attempt. */
export function newOutTradeNo(now: number): string {
  return `K${now.toString(36)}${randomBytes(8).toString('hex')}`.slice(0, 32);
}

export type OpenResult =
  | { ok: true; order: OrderRow; reused: boolean }
  | { ok: false; reason: 'unknown_product' | 'not_on_sale' | 'sold_out' | 'already_paid' | 'no_stars_price' | 'no_cohort' | 'cohort_closed' };

/** Why a product cannot be bought now, or undefined when it can. */
export function unavailable(db: Db, catalog: Catalog, productId: string, memberId: string, now: number): 'unknown_product' | 'not_on_sale' | 'sold_out' | 'already_paid' | undefined {
  const product = catalog.products[productId];
  if (!product) return 'unknown_product';
  if (!onSale(product, now)) return 'not_on_sale';
  if (hasPaidOrder(db, memberId, productId)) return 'already_paid';
  if (product.seats !== undefined && countSold(db, productId) >= product.seats) return 'sold_out';
  return undefined;
}

/**
 * Opens a checkout for a member and product, in the caller's transaction: the member's unexpired
 * open order is reused (one link, however often they say 报名), else a new order is priced on the
 * server and stored with a fresh token and expiry. Telegram buyers pay in Stars (XTR).
 */
export function openCheckout(
  db: Db,
  config: CourseConfig,
  sources: readonly DiscountSource[],
  args: { memberId: string; platform: string; platformId: string; productId: string; now: number; cohorts?: CohortsService },
): OpenResult {
  const why = unavailable(db, config.catalog, args.productId, args.memberId, args.now);
  if (why) return { ok: false, reason: why };
  const product = config.catalog.products[args.productId]!;
  // The cohort whose seat this sells is decided now, and kept with the order.
  const pick = cohortForCheckout(db, product, args.cohorts, args.now);
  if (!pick.ok) return { ok: false, reason: pick.reason };
  const cohortId = pick.cohort?.id ?? null;
  const existing = openOrderOf(db, args.memberId, args.productId, args.now);
  if (existing && existing.platform === args.platform && existing.cohort_id === cohortId) return { ok: true, order: existing, reused: true };
  const currency = args.platform === 'telegram' ? 'XTR' : product.currency;
  const list = currency === 'XTR' ? product.stars : product.price_fen;
  if (list === undefined) return { ok: false, reason: 'no_stars_price' };
  // Discounts are amounts in fen: they do not apply to a Stars price (Telegram orders pay `stars`).
  const price = computePrice(db, config, currency === 'XTR' ? [] : sources, { memberId: args.memberId, productId: args.productId, priceFen: list, now: args.now });
  const order = {
    id: newOrderId(),
    token: newToken(),
    member_id: args.memberId,
    platform: args.platform,
    platform_id: args.platformId,
    product_id: args.productId,
    currency,
    list_amount: list,
    amount: price.amount,
    discounts: JSON.stringify(price.discounts),
    code: null,
    created_at: args.now,
    expires_at: args.now + config.catalog.payments.link_ttl,
    cohort_id: cohortId,
  };
  insertOrder(db, order);
  return { ok: true, order: { ...order, state: 'created', provider: null, out_trade_no: null, transaction_id: null, paid_amount: null, refunded_amount: 0, payer_openid: null, paid_by: null, stage_before: null, invoice_sent_at: null, invoice_error: null, paid_at: null, closed_at: null }, reused: false };
}

/** Re-prices an open order with a code entered at checkout; the price stays server-side. */
export function applyCode(db: Db, config: CourseConfig, sources: readonly DiscountSource[], order: OrderRow, code: string, now: number): Price {
  const price = computePrice(db, config, sources, { memberId: order.member_id, productId: order.product_id, priceFen: order.list_amount, code: code || undefined, now });
  if (!price.codeRejected) repriceOrder(db, { id: order.id, amount: price.amount, discounts: JSON.stringify(price.discounts), code: code || null });
  return price;
}

export function discountsOf(order: OrderRow): Discount[] {
  return JSON.parse(order.discounts) as Discount[];
}

export function factsOf(order: OrderRow): OrderFacts {
  return { id: order.id, memberId: order.member_id, productId: order.product_id, amountFen: order.paid_amount ?? order.amount, discounts: discountsOf(order), ...(order.cohort_id ? { cohortId: order.cohort_id } : {}) };
}
