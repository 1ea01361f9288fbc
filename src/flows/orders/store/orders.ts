import { dialectOf, type Db } from '../../../store/db.js';
import { stmt } from '../../../store/statements.js';

export type OrderState = 'created' | 'paid' | 'refunded' | 'partially_refunded' | 'expired' | 'closed';

export interface OrderRow {
  id: string;
  token: string;
  member_id: string;
  platform: string;
  platform_id: string;
  product_id: string;
  currency: string;
  list_amount: number;
  amount: number;
  discounts: string;
  code: string | null;
  state: OrderState;
  provider: string | null;
  out_trade_no: string | null;
  transaction_id: string | null;
  paid_amount: number | null;
  refunded_amount: number;
  payer_openid: string | null;
  /** Telegram Stars: the kequn instance whose bot was paid (only it can refund). */
  paid_by: string | null;
  stage_before: string | null;
  invoice_sent_at: number | null;
  /** Why the Stars invoice could not be sent (migration 16); the next /buy sends it afresh. */
  invoice_error: string | null;
  /** The cohort whose seat it sells (migration "cohort membership"; null: no cohorts). */
  cohort_id: string | null;
  created_at: number;
  expires_at: number;
  paid_at: number | null;
  closed_at: number | null;
}

export interface AttemptRow {
  out_trade_no: string;
  order_id: string;
  provider: string;
  method: string;
  amount: number;
  discounts: string;
  code: string | null;
  state: 'pending' | 'paid' | 'closed' | 'failed';
  created_at: number;
  next_check_at: number;
  checks: number;
  last_result: string | null;
}

export interface RefundRow {
  out_refund_no: string;
  order_id: string;
  amount: number;
  reason: string;
  state: 'requested' | 'processing' | 'succeeded' | 'failed';
  requested_by: string | null;
  refund_id: string | null;
  created_at: number;
  finished_at: number | null;
  last_error: string | null;
}

/** States in which an order holds a seat and a coupon use. */
const TAKEN = "('paid', 'partially_refunded')";

export function insertOrder(
  db: Db,
  o: Pick<OrderRow, 'id' | 'token' | 'member_id' | 'platform' | 'platform_id' | 'product_id' | 'currency' | 'list_amount' | 'amount' | 'discounts' | 'code' | 'created_at' | 'expires_at' | 'cohort_id'>,
): void {
  stmt(
    db,
    `INSERT INTO orders (id, token, member_id, platform, platform_id, product_id, currency, list_amount, amount, discounts, code, state, created_at, expires_at, cohort_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, ?, ?)`,
  ).run(o.id, o.token, o.member_id, o.platform, o.platform_id, o.product_id, o.currency, o.list_amount, o.amount, o.discounts, o.code, o.created_at, o.expires_at, o.cohort_id);
}

export function getOrder(db: Db, id: string): OrderRow | undefined {
  return stmt(db, 'SELECT * FROM orders WHERE id = ?').get(id) as OrderRow | undefined;
}

export function getOrderByToken(db: Db, token: string): OrderRow | undefined {
  return stmt(db, 'SELECT * FROM orders WHERE token = ?').get(token) as OrderRow | undefined;
}

/**
 * Newest order first. Order ids are random, so two orders created in the same millisecond (a
 * virtual clock in tests, a double click) are told apart by insertion order: SQLite's rowid;
 * on PostgreSQL the row's physical position, which follows insertion for rows not updated since.
 */
function newestFirst(db: Db): string {
  return dialectOf(db) === 'postgres' ? 'created_at DESC, ctid DESC' : 'created_at DESC, rowid DESC';
}

/** The member's newest order for a product still awaiting payment and not past its expiry. */
export function openOrderOf(db: Db, memberId: string, productId: string, now: number): OrderRow | undefined {
  return stmt(db, `SELECT * FROM orders WHERE member_id = ? AND product_id = ? AND state = 'created' AND expires_at > ? ORDER BY ${newestFirst(db)} LIMIT 1`).get(
    memberId,
    productId,
    now,
  ) as OrderRow | undefined;
}

export function latestOrderOf(db: Db, memberId: string, states: OrderState[], productId?: string): OrderRow | undefined {
  const list = states.map(() => '?').join(', ');
  if (productId !== undefined) {
    return stmt(db, `SELECT * FROM orders WHERE member_id = ? AND product_id = ? AND state IN (${list}) ORDER BY ${newestFirst(db)} LIMIT 1`).get(memberId, productId, ...states) as
      | OrderRow
      | undefined;
  }
  return stmt(db, `SELECT * FROM orders WHERE member_id = ? AND state IN (${list}) ORDER BY ${newestFirst(db)} LIMIT 1`).get(memberId, ...states) as
    | OrderRow
    | undefined;
}

export function hasPaidOrder(db: Db, memberId: string, productId: string): boolean {
  return stmt(db, `SELECT 1 FROM orders WHERE member_id = ? AND product_id = ? AND state IN ${TAKEN} LIMIT 1`).get(memberId, productId) !== undefined;
}

/** What a member has paid for and kept: product, amount paid less refunds (loyalty prices, upgrades). */
export function paidProductsOf(db: Db, memberId: string): { product_id: string; kept: number; currency: string }[] {
  return stmt(db, `SELECT product_id, paid_amount - refunded_amount AS kept, currency FROM orders WHERE member_id = ? AND state IN ${TAKEN} ORDER BY paid_at`).all(memberId) as {
    product_id: string;
    kept: number;
    currency: string;
  }[];
}

export function countSold(db: Db, productId: string): number {
  return (stmt(db, `SELECT COUNT(*) AS n FROM orders WHERE product_id = ? AND state IN ${TAKEN}`).get(productId) as { n: number }).n;
}

/** Seats of a cohort taken: its paid orders (any product), counted here on the server. */
export function countSoldInCohort(db: Db, cohortId: string): number {
  return (stmt(db, `SELECT COUNT(*) AS n FROM orders WHERE cohort_id = ? AND state IN ${TAKEN}`).get(cohortId) as { n: number }).n;
}

export function countCodeUses(db: Db, code: string, memberId?: string): number {
  if (memberId === undefined) return (stmt(db, `SELECT COUNT(*) AS n FROM orders WHERE code = ? AND state IN ${TAKEN}`).get(code) as { n: number }).n;
  return (stmt(db, `SELECT COUNT(*) AS n FROM orders WHERE code = ? AND member_id = ? AND state IN ${TAKEN}`).get(code, memberId) as { n: number }).n;
}

/** Re-prices an order that is still awaiting payment (a coupon entered at checkout). */
export function repriceOrder(db: Db, args: { id: string; amount: number; discounts: string; code: string | null }): boolean {
  return stmt(db, "UPDATE orders SET amount = ?, discounts = ?, code = ? WHERE id = ? AND state = 'created'").run(args.amount, args.discounts, args.code, args.id).changes > 0;
}

/** Records which instance's bot took a Stars payment (its bot alone can refund the charge). */
export function setPaidBy(db: Db, id: string, instance: string): void {
  stmt(db, 'UPDATE orders SET paid_by = ? WHERE id = ?').run(instance, id);
}

export function setPayerOpenid(db: Db, id: string, openid: string): void {
  stmt(db, 'UPDATE orders SET payer_openid = ? WHERE id = ?').run(openid, id);
}

/**
 * Marks an order paid. Only an order not yet paid moves (a late payment of an expired or closed
 * order is still money received); returns false when it was already paid, refunded or unknown.
 */
export function markOrderPaid(
  db: Db,
  args: { id: string; provider: string; outTradeNo: string; transactionId: string; amount: number; stageBefore: string; now: number },
): boolean {
  // The order takes the price, discounts and code of the attempt that was paid (the buyer may
  // have changed the coupon after pressing pay): coupon uses are counted on what was paid.
  return (
    stmt(
      db,
      `UPDATE orders SET state = 'paid', provider = ?, out_trade_no = ?, transaction_id = ?, paid_amount = ?, stage_before = ?, paid_at = ?,
         amount = COALESCE((SELECT amount FROM payment_attempts WHERE out_trade_no = ?), amount),
         discounts = COALESCE((SELECT discounts FROM payment_attempts WHERE out_trade_no = ?), discounts),
         code = CASE WHEN EXISTS (SELECT 1 FROM payment_attempts WHERE out_trade_no = ?) THEN (SELECT code FROM payment_attempts WHERE out_trade_no = ?) ELSE code END
       WHERE id = ? AND state IN ('created', 'expired', 'closed')`,
    ).run(args.provider, args.outTradeNo, args.transactionId, args.amount, args.stageBefore, args.now, args.outTradeNo, args.outTradeNo, args.outTradeNo, args.outTradeNo, args.id)
      .changes > 0
  );
}

/** Adds a refunded amount; the order becomes refunded when all of it is back. */
export function addOrderRefund(db: Db, args: { id: string; amount: number }): OrderState | undefined {
  const r = stmt(
    db,
    `UPDATE orders SET refunded_amount = refunded_amount + ?,
       state = CASE WHEN refunded_amount + ? >= paid_amount THEN 'refunded' ELSE 'partially_refunded' END
     WHERE id = ? AND state IN ${TAKEN} AND refunded_amount + ? <= paid_amount`,
  ).run(args.amount, args.amount, args.id, args.amount);
  return r.changes > 0 ? getOrder(db, args.id)!.state : undefined;
}

/** Ends an unpaid order (expired: its link ran out; closed: the provider confirmed nothing was paid). */
export function endOrder(db: Db, args: { id: string; state: 'expired' | 'closed'; now: number }): boolean {
  return stmt(db, "UPDATE orders SET state = ?, closed_at = ? WHERE id = ? AND state IN ('created', 'expired')").run(args.state, args.now, args.id).changes > 0;
}

/**
 * Open Telegram Stars orders whose invoice has not gone out yet. Asked after every Telegram
 * update (src/flows/orders/wiring.ts): almost always there are none, and finding out by a probe
 * of orders_state costs well under a microsecond, where the full read with its sort cost ~20 µs
 * on an empty table (issue 20, bench/telegram.ts).
 */
export function ordersAwaitingInvoice(db: Db, now: number, limit: number): OrderRow[] {
  if (stmt(db, "SELECT 1 FROM orders WHERE state = 'created' AND expires_at > ? AND currency = 'XTR' AND invoice_sent_at IS NULL LIMIT 1").pluck(true).get(now) === undefined) return [];
  return stmt(db, "SELECT * FROM orders WHERE currency = 'XTR' AND state = 'created' AND invoice_sent_at IS NULL AND expires_at > ? ORDER BY created_at LIMIT ?").all(now, limit) as OrderRow[];
}

/** Claims an order's invoice for sending; only one claimant wins (an invoice goes out at most once). */
export function claimInvoice(db: Db, id: string, now: number): boolean {
  return stmt(db, 'UPDATE orders SET invoice_sent_at = ? WHERE id = ? AND invoice_sent_at IS NULL').run(now, id).changes > 0;
}

/** The claimed invoice could not be sent: why, as the platform said (it stays claimed: no retry by itself). */
export function failInvoice(db: Db, id: string, reason: string): void {
  stmt(db, 'UPDATE orders SET invoice_error = ? WHERE id = ?').run(reason.slice(0, 500), id);
}

/**
 * The member asked again (/buy) for an open order whose invoice failed: it is to be sent afresh
 * (unclaimed, its error cleared). False when there was no failure to retry.
 */
export function retryFailedInvoice(db: Db, id: string): boolean {
  return stmt(db, "UPDATE orders SET invoice_sent_at = NULL, invoice_error = NULL WHERE id = ? AND state = 'created' AND invoice_error IS NOT NULL").run(id).changes > 0;
}

/** Unpaid orders whose link has run out. */
export function expiredOrders(db: Db, now: number, limit: number): OrderRow[] {
  return stmt(db, "SELECT * FROM orders WHERE state = 'created' AND expires_at <= ? ORDER BY expires_at LIMIT ?").all(now, limit) as OrderRow[];
}

export function listOrders(db: Db, args: { state?: OrderState; limit: number }): OrderRow[] {
  if (args.state) return stmt(db, 'SELECT * FROM orders WHERE state = ? ORDER BY created_at DESC LIMIT ?').all(args.state, args.limit) as OrderRow[];
  return stmt(db, 'SELECT * FROM orders ORDER BY created_at DESC LIMIT ?').all(args.limit) as OrderRow[];
}

export function orderCounts(db: Db): Record<string, number> {
  const rows = stmt(db, 'SELECT state, COUNT(*) AS n FROM orders GROUP BY state').all() as { state: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

/** A press of "pay": the order's current price, discounts and code are frozen on the attempt. */
export function insertAttempt(db: Db, a: Pick<AttemptRow, 'out_trade_no' | 'order_id' | 'provider' | 'method' | 'created_at' | 'next_check_at'>): AttemptRow {
  stmt(
    db,
    `INSERT INTO payment_attempts (out_trade_no, order_id, provider, method, amount, discounts, code, state, created_at, next_check_at)
     SELECT ?, id, ?, ?, amount, discounts, code, 'pending', ?, ? FROM orders WHERE id = ?`,
  ).run(a.out_trade_no, a.provider, a.method, a.created_at, a.next_check_at, a.order_id);
  return getAttempt(db, a.out_trade_no)!;
}

export function getAttempt(db: Db, outTradeNo: string): AttemptRow | undefined {
  return stmt(db, 'SELECT * FROM payment_attempts WHERE out_trade_no = ?').get(outTradeNo) as AttemptRow | undefined;
}

export function pendingAttemptsOf(db: Db, orderId: string): AttemptRow[] {
  return stmt(db, "SELECT * FROM payment_attempts WHERE order_id = ? AND state = 'pending' ORDER BY created_at").all(orderId) as AttemptRow[];
}

/** Pending attempts whose next provider query is due. */
export function dueAttempts(db: Db, now: number, limit: number): AttemptRow[] {
  return stmt(db, "SELECT * FROM payment_attempts WHERE state = 'pending' AND next_check_at <= ? ORDER BY next_check_at LIMIT ?").all(now, limit) as AttemptRow[];
}

/**
 * Takes a due attempt for one provider query: moves its next check to `until` if it is still
 * due at `dueAt`. One process wins when several reconcile the same store; a process that dies
 * mid-query leaves the attempt due again at `until`.
 */
export function leaseAttempt(db: Db, outTradeNo: string, dueAt: number, until: number): boolean {
  return stmt(db, "UPDATE payment_attempts SET next_check_at = ? WHERE out_trade_no = ? AND state = 'pending' AND next_check_at = ?").run(until, outTradeNo, dueAt).changes > 0;
}

export function finishAttempt(db: Db, outTradeNo: string, state: 'paid' | 'closed' | 'failed', note: string): boolean {
  return stmt(db, "UPDATE payment_attempts SET state = ?, last_result = ? WHERE out_trade_no = ? AND state = 'pending'").run(state, note, outTradeNo).changes > 0;
}

export function rescheduleAttempt(db: Db, outTradeNo: string, nextCheckAt: number, note: string): void {
  stmt(db, 'UPDATE payment_attempts SET next_check_at = ?, checks = checks + 1, last_result = ? WHERE out_trade_no = ?').run(nextCheckAt, note, outTradeNo);
}

/** Records a verified notification; false when this id was seen before (a redelivery). */
export function recordNotification(db: Db, n: { provider: string; id: string; eventType: string; orderId: string | null; outcome: string; now: number }): boolean {
  return (
    stmt(db, 'INSERT INTO payment_notifications (provider, notification_id, event_type, order_id, outcome, received_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING').run(
      n.provider,
      n.id,
      n.eventType,
      n.orderId,
      n.outcome,
      n.now,
    ).changes > 0
  );
}

export function insertRefund(db: Db, r: Pick<RefundRow, 'out_refund_no' | 'order_id' | 'amount' | 'reason' | 'requested_by' | 'created_at'>): void {
  stmt(db, "INSERT INTO refunds (out_refund_no, order_id, amount, reason, state, requested_by, created_at) VALUES (?, ?, ?, ?, 'requested', ?, ?)").run(
    r.out_refund_no,
    r.order_id,
    r.amount,
    r.reason,
    r.requested_by,
    r.created_at,
  );
}

export function getRefund(db: Db, outRefundNo: string): RefundRow | undefined {
  return stmt(db, 'SELECT * FROM refunds WHERE out_refund_no = ?').get(outRefundNo) as RefundRow | undefined;
}

export function refundsOf(db: Db, orderId: string): RefundRow[] {
  return stmt(db, 'SELECT * FROM refunds WHERE order_id = ? ORDER BY created_at').all(orderId) as RefundRow[];
}

/** Refunds still owed to the buyer or waiting for the provider's answer. */
export function openRefunds(db: Db, limit: number): RefundRow[] {
  return stmt(db, "SELECT * FROM refunds WHERE state IN ('requested', 'processing') ORDER BY created_at LIMIT ?").all(limit) as RefundRow[];
}

/** Amount of refunds asked for and not failed: a new request must fit in what is left. */
export function refundedOrAsked(db: Db, orderId: string): number {
  return (stmt(db, "SELECT COALESCE(SUM(amount), 0) AS n FROM refunds WHERE order_id = ? AND state != 'failed'").get(orderId) as { n: number }).n;
}

export function updateRefund(db: Db, args: { outRefundNo: string; from: RefundRow['state'][]; to: RefundRow['state']; refundId?: string; error?: string; now: number }): boolean {
  const list = args.from.map(() => '?').join(', ');
  return (
    stmt(
      db,
      `UPDATE refunds SET state = ?, refund_id = COALESCE(?, refund_id), last_error = ?, finished_at = CASE WHEN CAST(? AS TEXT) IN ('succeeded', 'failed') THEN ? ELSE finished_at END
       WHERE out_refund_no = ? AND state IN (${list})`,
    ).run(args.to, args.refundId ?? null, args.error ?? null, args.to, args.now, args.outRefundNo, ...args.from).changes > 0
  );
}

/** Orders paid since `since`, by currency: count and sum (fen for CNY, Stars for XTR). */
export function ordersPaidSince(db: Db, since: number): { currency: string; n: number; sum: number }[] {
  return stmt(db, 'SELECT currency, COUNT(*) AS n, COALESCE(SUM(paid_amount), 0) AS sum FROM orders WHERE paid_at >= ? GROUP BY currency ORDER BY currency').all(since) as {
    currency: string;
    n: number;
    sum: number;
  }[];
}
