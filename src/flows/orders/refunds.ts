import { randomBytes } from 'node:crypto';
import { inTransaction, type Db } from '../../store/db.js';
import { getOrder, getRefund, insertRefund, refundedOrAsked } from './store/orders.js';
import { formatAmount } from './catalog.js';

/** Stores a refund request for a paid order; the amount must fit in what was paid and not yet refunded or asked. */
export function requestRefundRow(
  db: Db,
  orderId: string,
  args: { amount?: number; reason: string; by: string; now: number },
): { ok: true; outRefundNo: string; amount: number } | { ok: false; error: string } {
  return inTransaction(db, () => {
    const order = getOrder(db, orderId);
    if (!order) return { ok: false as const, error: `no order ${orderId}` };
    if (order.state !== 'paid' && order.state !== 'partially_refunded') return { ok: false as const, error: `order ${orderId} is ${order.state}, not paid` };
    // Paid in an external shop or recorded by staff (shop.ts): no provider here can send the money back.
    if (order.provider === 'staff' || order.provider?.startsWith('shop:')) return { ok: false as const, error: `order ${orderId} was paid outside kequn (${order.provider}); refund it in the shop` };
    const left = order.paid_amount! - refundedOrAsked(db, order.id);
    const amount = args.amount ?? left;
    if (!Number.isInteger(amount) || amount <= 0 || amount > left) return { ok: false as const, error: `refund must be 1..${left} (${formatAmount(left, order.currency)} left to refund)` };
    // Telegram refunds a Stars charge whole (refundStarPayment has no amount).
    if (order.provider === 'stars' && amount !== left) return { ok: false as const, error: `Telegram Stars payments are refunded whole: ${formatAmount(left, order.currency)}` };
    const outRefundNo = `R${args.now.toString(36)}${randomBytes(6).toString('hex')}`;
    insertRefund(db, { out_refund_no: outRefundNo, order_id: order.id, amount, reason: args.reason.slice(0, 80), requested_by: args.by, created_at: args.now });
    return { ok: true as const, outRefundNo, amount };
  });
}


/**
 * A refund the shop reports for an order it was paid in (shop.ts): stored as requested, in the
 * caller's transaction, for the order service to complete at once as any confirmed refund.
 * `duplicate`: this refund was recorded before (a retry); an error: nothing fits, nothing stored.
 */
export function recordShopRefundRow(
  db: Db,
  args: { orderId: string; outRefundNo: string; amount: number; reason: string; now: number },
): 'ok' | 'duplicate' | { error: string } {
  if (getRefund(db, args.outRefundNo)) return 'duplicate';
  const order = getOrder(db, args.orderId);
  if (!order || (order.state !== 'paid' && order.state !== 'partially_refunded')) return { error: 'order is not paid' };
  const left = order.paid_amount! - refundedOrAsked(db, order.id);
  if (args.amount > left) return { error: `refund larger than what is left to refund (${left} fen)` };
  insertRefund(db, { out_refund_no: args.outRefundNo, order_id: order.id, amount: args.amount, reason: args.reason.slice(0, 80), requested_by: 'provider', created_at: args.now });
  return 'ok';
}
