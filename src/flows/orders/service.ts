import type { Logger } from 'pino';
import type { Platform } from '../../bot/events.js';
import { DEFAULT_INSTANCE } from '../../bot/cluster.js';
import type { CourseConfig, Services } from '../../core/types.js';
import type { Engine } from '../../core/engine.js';
import type { Clock } from '../../core/schedule/clock.js';
import { inTransaction, type Db } from '../../store/db.js';
import { getMember } from '../../store/members.js';
import {
  addOrderRefund,
  dueAttempts,
  endOrder,
  expiredOrders,
  finishAttempt,
  getAttempt,
  getOrder,
  getOrderByToken,
  getRefund,
  insertAttempt,
  latestOrderOf,
  leaseAttempt,
  markOrderPaid,
  openRefunds,
  pendingAttemptsOf,
  recordNotification,
  rescheduleAttempt,
  setPaidBy,
  updateRefund,
  type OrderRow,
  type RefundRow,
} from './store/orders.js';
import type { OrderEvent } from './contracts.js';
import { finishShopPayment, getShopPayment, pendingShopPayments } from './store/shop.js';
import { factsOf, newOutTradeNo, unavailable } from './orders.js';
import type { CheckoutAction, PayMethod, PaymentProvider } from './provider.js';
import { verifyNotification } from './wechatpay-v3.js';
import { recordShopRefundRow, requestRefundRow } from './refunds.js';
import { cohortOfOrder, cohortSoldOut } from './cohort-seats.js';
import { StarsRefundRefused, type StarsPayments, type StarsRefunder } from '../../bot/payments.js';

/** Pay presses per order: enough for a payer who changes their mind, not for a flood of prepay calls. */
const MAX_ATTEMPTS_PER_ORDER = 10;

export interface OrderServiceDeps {
  db: Db;
  config: () => CourseConfig;
  clock: Clock;
  engine: Engine;
  log: Logger;
  provider: PaymentProvider;
  /** Called after a commit that queued messages (the outbox should look now). */
  wake?: () => void;
  /** Telegram, when it is on: refunds of Stars payments go to it. */
  starsRefunder?: StarsRefunder;
  /** This kequn instance (src/bot/cluster.ts): a Stars charge is refunded by the instance whose bot took it. */
  instance?: string;
  /** The running features' services (the cohorts whose seats orders sell). */
  services?: () => Partial<Services>;
}

export type WebhookAnswer = { status: 200 | 204 | 400 | 401 | 404 | 500; body?: { code: string; message: string } };

/** A refusal the checkout page shows the buyer (never a stack trace). */
export class CheckoutError extends Error {
  constructor(
    readonly status: 404 | 409 | 410 | 502,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The order service: payments for orders the `buy` action opened. Everything that changes money
 * state (paid, refunded) happens in one transaction with its consequences: the member's stage,
 * the receipt and invite in the outbox, the referral hooks and the `on: order.*` rules.
 * Notifications are verified before anything is read from them; duplicates change nothing.
 */
export class OrderService {
  constructor(private readonly deps: OrderServiceDeps) {}

  get provider(): PaymentProvider {
    return this.deps.provider;
  }

  private get config(): CourseConfig {
    return this.deps.config();
  }

  orderByToken(token: string): OrderRow | undefined {
    return typeof token === 'string' && token.length <= 64 ? getOrderByToken(this.deps.db, token) : undefined;
  }

  /**
   * The buyer pressed "pay": a new attempt (new out_trade_no) for the order's server-side amount,
   * stored before the provider is called so a crash after the provider's answer is still
   * reconciled, then created with the provider.
   */
  async startPayment(token: string, args: { method: PayMethod; openid?: string; clientIp: string }): Promise<{ action: CheckoutAction; outTradeNo: string }> {
    const { db, clock, provider } = this.deps;
    const now = clock.now();
    const order = this.orderByToken(token);
    if (!order) throw new CheckoutError(404, '没有这个订单');
    if (order.state !== 'created') throw new CheckoutError(409, order.state === 'paid' ? '这个订单已经支付过了' : '这个订单已经关闭');
    if (order.currency !== 'CNY') throw new CheckoutError(409, '这个订单用 Telegram Stars 支付');
    if (this.config.catalog.products[order.product_id]?.external) throw new CheckoutError(409, '这门课程在店铺购买，请打开私信里的链接');
    if (now >= order.expires_at) throw new CheckoutError(410, '支付链接已过期，请在群里重新发送「报名」获取新链接');
    const why = unavailable(db, this.config.catalog, order.product_id, order.member_id, now);
    if (why === 'sold_out' || why === 'not_on_sale' || why === 'unknown_product') throw new CheckoutError(409, why === 'sold_out' ? '名额已满' : '课程当前不在售');
    if (this.cohortFull(order)) throw new CheckoutError(409, '这一期名额已满');
    const product = this.config.catalog.products[order.product_id]!;
    const { no: outTradeNo, amount } = inTransaction(db, () => {
      if (pendingAttemptsOf(db, order.id).length >= MAX_ATTEMPTS_PER_ORDER) throw new CheckoutError(409, '尝试次数过多，请稍后再试');
      const a = insertAttempt(db, { out_trade_no: newOutTradeNo(now), order_id: order.id, provider: provider.name, method: args.method, created_at: now, next_check_at: now + this.config.catalog.payments.reconcile_every });
      return { no: a.out_trade_no, amount: a.amount };
    });
    try {
      const action = await provider.create({
        outTradeNo,
        description: product.title,
        amount,
        method: args.method,
        openid: args.openid ?? order.payer_openid ?? undefined,
        clientIp: args.clientIp,
        expiresAt: order.expires_at,
      });
      return { action, outTradeNo };
    } catch (e) {
      finishAttempt(db, outTradeNo, 'failed', `create failed: ${(e as Error).message.slice(0, 200)}`);
      this.deps.log.error({ order: order.id, outTradeNo, err: (e as Error).message }, 'payment: the provider refused to create the payment');
      throw new CheckoutError(502, '支付服务暂时不可用，请稍后再试');
    }
  }

  /**
   * A notification from the provider, as received: verified over the raw body (signature,
   * serial, timestamp window), decrypted, cross-checked against the stored order, then applied
   * in one transaction. Refusals change nothing. A duplicate is answered 204 like the first.
   */
  async handleNotification(providerName: string, req: { headers: Record<string, string | undefined>; rawBody: string }): Promise<WebhookAnswer> {
    const { provider, log, clock, db } = this.deps;
    if (providerName !== provider.name) return { status: 404, body: { code: 'FAIL', message: 'no such provider' } };
    const now = clock.now();
    const v = verifyNotification({ headers: req.headers, rawBody: req.rawBody, now }, provider.notificationKeys());
    if (!v.ok) {
      log.warn({ provider: providerName, reason: v.reason }, 'payment notification refused');
      return { status: 401, body: { code: 'FAIL', message: 'verification failed' } };
    }
    const { body, resource } = v;
    try {
      if (body.event_type === 'TRANSACTION.SUCCESS') return this.onTransaction(body.id, resource);
      if (body.event_type.startsWith('REFUND.')) return this.onRefund(body.id, body.event_type, resource);
      recordNotification(db, { provider: provider.name, id: body.id, eventType: body.event_type, orderId: null, outcome: 'ignored', now });
      return { status: 204 };
    } catch (e) {
      // Rolled back: nothing changed; the provider retries and reconciliation will also find it.
      log.error({ provider: providerName, notification: body.id, err: (e as Error).message }, 'payment notification failed; nothing was changed');
      return { status: 500, body: { code: 'FAIL', message: 'internal error' } };
    }
  }

  private reject(message: string, detail: Record<string, unknown>): WebhookAnswer {
    this.deps.log.error(detail, `payment notification rejected: ${message}`);
    return { status: 400, body: { code: 'FAIL', message } };
  }

  private onTransaction(notificationId: string, t: Record<string, unknown>): WebhookAnswer {
    const { db, provider, clock } = this.deps;
    const now = clock.now();
    const amount = t.amount as { total?: unknown; currency?: unknown } | undefined;
    if (t.mchid !== provider.mchid || t.appid !== provider.appid) return this.reject('mchid/appid do not match', { mchid: t.mchid, appid: t.appid });
    if (t.trade_state !== 'SUCCESS') return this.reject('trade_state is not SUCCESS', { trade_state: t.trade_state });
    if (typeof t.out_trade_no !== 'string' || typeof t.transaction_id !== 'string') return this.reject('no out_trade_no/transaction_id', {});
    const attempt = getAttempt(db, t.out_trade_no);
    if (!attempt || attempt.provider !== provider.name) return this.reject('unknown out_trade_no', { out_trade_no: t.out_trade_no });
    if (!Number.isInteger(amount?.total) || amount!.total !== attempt.amount || (amount!.currency ?? 'CNY') !== 'CNY') {
      return this.reject('amount does not match the order', { out_trade_no: t.out_trade_no, paid: amount?.total, expected: attempt.amount });
    }
    return inTransaction(db, () => {
      if (!recordNotification(db, { provider: provider.name, id: notificationId, eventType: 'TRANSACTION.SUCCESS', orderId: attempt.order_id, outcome: 'received', now })) {
        return { status: 204 } as WebhookAnswer;
      }
      this.applyPaid({ orderId: attempt.order_id, outTradeNo: attempt.out_trade_no, provider: provider.name, transactionId: t.transaction_id as string, amount: attempt.amount, now });
      return { status: 204 } as WebhookAnswer;
    });
  }

  /**
   * Marks an order paid with everything that follows, in one transaction: the attempt, the
   * order, the `order.paid` event (stage, receipt, invite, rules) and the hooks. Paid already:
   * nothing changes (a second attempt paid too is logged for a refund by the operator).
   */
  private applyPaid(p: { orderId: string; outTradeNo: string; provider: string; transactionId: string; amount: number; now: number }): 'paid' | 'already' {
    const { db, engine, log } = this.deps;
    const config = this.config;
    const result = inTransaction(db, () => {
      finishAttempt(db, p.outTradeNo, 'paid', `paid ${p.transactionId}`);
      const order = getOrder(db, p.orderId)!;
      const member = getMember(db, order.member_id)!;
      if (!markOrderPaidRow(db, order, p, member.stage)) {
        if (order.out_trade_no !== p.outTradeNo && order.transaction_id !== p.transactionId) {
          log.error({ order: order.id, outTradeNo: p.outTradeNo, transactionId: p.transactionId }, 'payment: a second payment for an order already paid; refund it by hand');
        }
        return 'already' as const;
      }
      const paid = getOrder(db, order.id)!;
      // A payment enters the kernel as an event, like a platform's: its features' handlers (the
      // stage move, the receipt and invites, the referral reward) and the `on: order.paid` rules run
      // in this transaction, with the order's state.
      engine.handleMemberEvent(
        {
          type: 'order.paid',
          dedupeKey: `order.paid:${paid.id}`,
          memberId: paid.member_id,
          platform: paid.platform as Platform,
          platformId: paid.platform_id,
          fields: { order: orderEvent(config, paid, p.amount, 'paid') },
        },
        p.now,
      );
      return 'paid' as const;
    });
    if (result === 'paid') {
      log.info({ order: p.orderId, provider: p.provider, amount: p.amount }, 'order paid');
      this.deps.wake?.();
    }
    return result;
  }

  private onRefund(notificationId: string, eventType: string, r: Record<string, unknown>): WebhookAnswer {
    const { db, provider, clock } = this.deps;
    const now = clock.now();
    if (r.mchid !== provider.mchid) return this.reject('mchid does not match', { mchid: r.mchid });
    if (typeof r.out_refund_no !== 'string' || typeof r.out_trade_no !== 'string') return this.reject('no out_refund_no/out_trade_no', {});
    const refund = getRefund(db, r.out_refund_no);
    if (!refund) return this.reject('unknown refund', { out_refund_no: r.out_refund_no });
    // A refund row always has its order (foreign key); the notification must name its payment.
    const order = getOrder(db, refund.order_id)!;
    if (order.out_trade_no !== r.out_trade_no) return this.reject('unknown refund', { out_refund_no: r.out_refund_no, out_trade_no: r.out_trade_no });
    const amount = (r.amount as { refund?: unknown } | undefined)?.refund;
    if (amount !== refund.amount) return this.reject('refund amount does not match', { out_refund_no: r.out_refund_no, refund: amount, expected: refund.amount });
    return inTransaction(db, () => {
      if (!recordNotification(db, { provider: provider.name, id: notificationId, eventType, orderId: order.id, outcome: 'received', now })) return { status: 204 } as WebhookAnswer;
      if (eventType === 'REFUND.SUCCESS' && r.refund_status === 'SUCCESS') this.applyRefund(refund.out_refund_no, String(r.refund_id ?? ''), now);
      else updateRefund(db, { outRefundNo: refund.out_refund_no, from: ['requested', 'processing'], to: 'failed', error: `${eventType} ${String(r.refund_status)}`, now });
      return { status: 204 } as WebhookAnswer;
    });
  }

  /** A refund the provider confirmed: order amounts, and on a full refund the stage goes back; hooks and rules run. */
  private applyRefund(outRefundNo: string, refundId: string, now: number): boolean {
    const { db, engine, log } = this.deps;
    const config = this.config;
    const done = inTransaction(db, () => {
      if (!updateRefund(db, { outRefundNo, from: ['requested', 'processing'], to: 'succeeded', refundId, now })) return false;
      const refund = getRefund(db, outRefundNo)!;
      const state = addOrderRefund(db, { id: refund.order_id, amount: refund.amount });
      if (!state) throw new Error(`refund ${outRefundNo} does not fit order ${refund.order_id}`);
      const order = getOrder(db, refund.order_id)!;
      engine.handleMemberEvent(
        {
          type: 'order.refunded',
          dedupeKey: `order.refunded:${outRefundNo}`,
          memberId: order.member_id,
          platform: order.platform as Platform,
          platformId: order.platform_id,
          fields: { order: orderEvent(config, order, refund.amount, state === 'refunded' ? 'refunded' : 'partially_refunded') },
        },
        now,
      );
      return true;
    });
    if (done) {
      log.info({ refund: outRefundNo }, 'order refunded');
      this.deps.wake?.();
    }
    return done;
  }

  /**
   * Asks for a refund of a paid order (the whole rest when `amount` is omitted), in the caller's
   * transaction or its own; `processRefunds` sends it to the provider.
   */
  requestRefund(orderId: string, args: { amount?: number; reason: string; by: string; now: number }): { ok: true; outRefundNo: string; amount: number } | { ok: false; error: string } {
    return requestRefundRow(this.deps.db, orderId, args);
  }

  /** Sends requested refunds to the provider; the provider's answer or notification completes them. */
  async processRefunds(): Promise<number> {
    const { db, provider, clock, log } = this.deps;
    let n = 0;
    for (const refund of openRefunds(db, 50)) {
      const order = getOrder(db, refund.order_id)!;
      if (order.provider === 'stars') {
        if (await this.refundStars(refund, order)) n++;
        continue;
      }
      if (refund.state !== 'requested') continue;
      if (order.provider !== provider.name) {
        updateRefund(db, { outRefundNo: refund.out_refund_no, from: ['requested'], to: 'failed', error: `order was paid via ${order.provider}; refund it there`, now: clock.now() });
        continue;
      }
      // Marked processing before the call: a refund is never sent twice (out_refund_no is also idempotent at WeChat Pay).
      if (!updateRefund(db, { outRefundNo: refund.out_refund_no, from: ['requested'], to: 'processing', now: clock.now() })) continue;
      const r = await provider.refund({ outTradeNo: order.out_trade_no!, outRefundNo: refund.out_refund_no, total: order.paid_amount!, refund: refund.amount, reason: refund.reason });
      n++;
      if (r.state === 'succeeded') this.applyRefund(refund.out_refund_no, r.refundId, clock.now());
      else if (r.state === 'failed') {
        updateRefund(db, { outRefundNo: refund.out_refund_no, from: ['processing'], to: 'failed', error: r.detail, now: clock.now() });
        log.error({ refund: refund.out_refund_no, err: r.detail }, 'refund refused by the provider');
      }
    }
    return n;
  }

  private readonly starsInFlight = new Set<string>();

  /**
   * A Stars refund: Telegram's refundStarPayment, whole charge only. Safe to repeat (a charge
   * refunded before counts as done), so a refund left `processing` by a crash is simply sent
   * again; a temporary failure stays `processing` and is retried on the next round. The set keeps
   * two rounds in this process from calling at once.
   */
  private async refundStars(refund: RefundRow, order: OrderRow): Promise<boolean> {
    const { db, clock, log, starsRefunder } = this.deps;
    const fail = (error: string) => {
      updateRefund(db, { outRefundNo: refund.out_refund_no, from: ['requested', 'processing'], to: 'failed', error, now: clock.now() });
      log.error({ refund: refund.out_refund_no, order: order.id, err: error }, 'stars refund failed');
      return false;
    };
    // Another instance's bot took this charge; only that bot can refund it, so that instance does.
    if (order.paid_by !== null && order.paid_by !== (this.deps.instance ?? DEFAULT_INSTANCE)) return false;
    if (!starsRefunder) return fail('Telegram is not connected: Stars payments are refunded through the Telegram bot');
    if (!order.platform_id || !order.transaction_id) return fail("the buyer's Telegram id or the charge id is no longer stored (member forgotten?); refund in Telegram by hand");
    if (this.starsInFlight.has(refund.out_refund_no)) return false;
    if (refund.state === 'requested' && !updateRefund(db, { outRefundNo: refund.out_refund_no, from: ['requested'], to: 'processing', now: clock.now() })) return false;
    this.starsInFlight.add(refund.out_refund_no);
    try {
      const r = await starsRefunder.refundStarPayment(order.platform_id, order.transaction_id);
      if (r === 'already_refunded') log.warn({ refund: refund.out_refund_no, order: order.id }, 'stars refund: Telegram says the charge was already refunded; recording it');
      this.applyRefund(refund.out_refund_no, order.transaction_id, clock.now());
      return true;
    } catch (e) {
      if (e instanceof StarsRefundRefused) return fail(e.message);
      log.warn({ refund: refund.out_refund_no, err: (e as Error).message }, 'stars refund: Telegram did not answer; retrying on the next round');
      return false;
    } finally {
      this.starsInFlight.delete(refund.out_refund_no);
    }
  }

  /**
   * Reconciliation (run at `payments.reconcile_every`): pending attempts are queried with the
   * provider (a payment whose notification was lost or whose commit crashed is marked paid here);
   * links past their expiry end, and their attempts are closed at the provider once the
   * notification window has passed (a close that answers "already paid" marks paid).
   */
  async reconcile(): Promise<{ queried: number; paid: number; closed: number; expired: number }> {
    const { db, provider, clock, log } = this.deps;
    const pay = this.config.catalog.payments;
    const out = { queried: 0, paid: 0, closed: 0, expired: 0 };
    for (const order of expiredOrders(db, clock.now(), 200)) if (endOrder(db, { id: order.id, state: 'expired', now: clock.now() })) out.expired++;
    for (const attempt of dueAttempts(db, clock.now(), 100)) {
      if (attempt.provider !== provider.name) continue;
      // Several kequn processes reconcile the same store: one queries each attempt.
      if (!leaseAttempt(db, attempt.out_trade_no, attempt.next_check_at, clock.now() + Math.max(pay.reconcile_every, 60_000))) continue;
      out.queried++;
      const r = await provider.query(attempt.out_trade_no);
      const now = clock.now();
      if (r.state === 'paid') {
        if (r.amount !== attempt.amount) {
          log.error({ outTradeNo: attempt.out_trade_no, paid: r.amount, expected: attempt.amount }, 'reconcile: provider reports another amount; not marked paid');
          rescheduleAttempt(db, attempt.out_trade_no, now + 10 * pay.reconcile_every, 'amount mismatch');
          continue;
        }
        if (this.applyPaid({ orderId: attempt.order_id, outTradeNo: attempt.out_trade_no, provider: provider.name, transactionId: r.transactionId, amount: attempt.amount, now }) === 'paid') out.paid++;
        continue;
      }
      if (r.state === 'closed') {
        finishAttempt(db, attempt.out_trade_no, 'closed', 'closed at the provider');
        continue;
      }
      const order = getOrder(db, attempt.order_id)!;
      if (order.state !== 'created' && now >= order.expires_at + pay.notify_window) {
        const closed = await provider.close(attempt.out_trade_no).catch((e: unknown) => {
          log.warn({ outTradeNo: attempt.out_trade_no, err: (e as Error).message }, 'reconcile: close failed; will retry');
          return 'error' as const;
        });
        if (closed === 'already_paid') {
          const again = await provider.query(attempt.out_trade_no);
          if (again.state === 'paid' && again.amount === attempt.amount) {
            if (this.applyPaid({ orderId: attempt.order_id, outTradeNo: attempt.out_trade_no, provider: provider.name, transactionId: again.transactionId, amount: attempt.amount, now: clock.now() }) === 'paid') out.paid++;
            continue;
          }
        }
        if (closed === 'closed') {
          finishAttempt(db, attempt.out_trade_no, 'closed', 'closed after the notification window');
          if (pendingAttemptsOf(db, order.id).length === 0) endOrder(db, { id: order.id, state: 'closed', now: clock.now() });
          out.closed++;
          continue;
        }
      }
      const backoff = pay.reconcile_every * Math.min(2 ** attempt.checks, 8);
      rescheduleAttempt(db, attempt.out_trade_no, now + backoff, r.state === 'unknown' ? r.detail : 'pending');
    }
    return out;
  }

  /** Telegram Stars, for the Telegram adapter (src/flows/orders/contracts.ts). The payload is the order id. */
  readonly stars: StarsPayments = {
    preCheckout: (q) => {
      const order = getOrder(this.deps.db, q.payload);
      if (!order || order.platform !== 'telegram' || order.platform_id !== q.telegramUserId) return { ok: false, error: '订单不存在' };
      if (order.state !== 'created') return { ok: false, error: order.state === 'paid' ? '已经支付过了' : '订单已关闭' };
      if (this.deps.clock.now() >= order.expires_at) return { ok: false, error: '订单已过期，请重新发送 /buy' };
      if (q.currency !== 'XTR' || order.currency !== 'XTR' || q.totalAmount !== order.amount) return { ok: false, error: '金额不符' };
      if (unavailable(this.deps.db, this.config.catalog, order.product_id, order.member_id, this.deps.clock.now()) === 'sold_out') return { ok: false, error: '名额已满' };
      if (this.cohortFull(order)) return { ok: false, error: '这一期名额已满' };
      return { ok: true };
    },
    paid: (p) => {
      const { db, clock, log } = this.deps;
      const order = getOrder(db, p.payload);
      if (!order || order.platform !== 'telegram' || order.platform_id !== p.telegramUserId || p.currency !== 'XTR' || order.currency !== 'XTR' || p.totalAmount !== order.amount) {
        log.error({ payload: p.payload.slice(0, 64), charge: p.telegramChargeId }, 'stars: a payment that does not match its order; not applied');
        return;
      }
      inTransaction(db, () => {
        if (!recordNotification(db, { provider: 'stars', id: p.telegramChargeId, eventType: 'successful_payment', orderId: order.id, outcome: 'received', now: clock.now() })) return;
        this.applyPaid({ orderId: order.id, outTradeNo: p.telegramChargeId, provider: 'stars', transactionId: p.telegramChargeId, amount: order.amount, now: clock.now() });
        setPaidBy(db, order.id, this.deps.instance ?? DEFAULT_INSTANCE);
      });
    },
  };

  /** The Stars invoice for a Telegram order (the adapter sends it with sendInvoice). */
  starsInvoice(orderId: string): import('../../bot/payments.js').StarsInvoice | undefined {
    const order = getOrder(this.deps.db, orderId);
    if (!order || order.currency !== 'XTR' || order.state !== 'created') return undefined;
    const product = this.config.catalog.products[order.product_id];
    return { chatId: order.platform_id, title: product?.title ?? order.product_id, description: product?.description || (product?.title ?? ''), payload: order.id, amount: order.amount };
  }

  /**
   * A payment taken outside the providers (shop.ts: a shop's signed callback, a staff /paid),
   * recorded in shop_payments: applied to its order in one transaction with the order.paid event,
   * exactly as a provider's payment (stage, receipt, invite, referral reward). A row applied
   * before changes nothing; an order paid before is left as it is (logged for the operator).
   */
  applyShopPayment(provider: string, reference: string): 'paid' | 'already' | 'none' {
    const { db, clock } = this.deps;
    return inTransaction(db, () => {
      const row = getShopPayment(db, provider, reference);
      if (!row || row.state !== 'pending') return 'none' as const;
      const now = clock.now();
      const r = this.applyPaid({ orderId: row.order_id, outTradeNo: `${provider}:${reference}`, provider, transactionId: reference, amount: row.amount, now });
      finishShopPayment(db, provider, reference, r === 'paid' ? 'applied' : 'already', now);
      return r;
    });
  }

  /**
   * A refund made in the shop and reported by its signed callback (shop.ts): recorded and applied
   * in one transaction through the same path as a refund the payment provider confirmed (order
   * amounts, `order.refunded`: a full refund takes the stage back and the member out of the paid
   * groups). A refund id seen before changes nothing (`duplicate`).
   */
  applyShopRefund(args: { provider: string; orderId: string; refundId: string; amount: number; now: number }): 'refunded' | 'duplicate' | { error: string } {
    const outRefundNo = `${args.provider}:${args.refundId}`;
    return inTransaction(this.deps.db, () => {
      const r = recordShopRefundRow(this.deps.db, { orderId: args.orderId, outRefundNo, amount: args.amount, reason: `refunded in ${args.provider}`, now: args.now });
      if (r !== 'ok') return r;
      if (!this.applyRefund(outRefundNo, args.refundId, args.now)) throw new Error(`shop refund ${outRefundNo} was not applied`);
      return 'refunded' as const;
    });
  }

  /** Staff payments recorded by /paid (and any left by a crash), applied after their event committed. */
  applyPendingShopPayments(): number {
    let n = 0;
    for (const row of pendingShopPayments(this.deps.db, 50)) if (this.applyShopPayment(row.provider, row.reference) === 'paid') n++;
    return n;
  }

  /** The seats of the order's cohort were sold while it waited (checked again before money moves). */
  private cohortFull(order: OrderRow): boolean {
    const cohort = cohortOfOrder(this.deps.services?.().cohorts, order);
    return cohort !== undefined && cohortSoldOut(this.deps.db, cohort);
  }

  /** The member's latest order awaiting payment (the scenario `pay` step's default). */
  latestOpenOrder(memberId: string): OrderRow | undefined {
    return latestOrderOf(this.deps.db, memberId, ['created']);
  }

  latestPaidOrder(memberId: string): OrderRow | undefined {
    return latestOrderOf(this.deps.db, memberId, ['paid', 'partially_refunded']);
  }

}

function markOrderPaidRow(db: Db, order: OrderRow, p: { provider: string; outTradeNo: string; transactionId: string; amount: number; now: number }, stageBefore: string): boolean {
  return markOrderPaid(db, { id: order.id, provider: p.provider, outTradeNo: p.outTradeNo, transactionId: p.transactionId, amount: p.amount, stageBefore, now: p.now });
}

/** What the `order.*` event of a paid or refunded order carries (src/flows/orders/contracts.ts OrderEvent). */
function orderEvent(config: CourseConfig, order: OrderRow, amount: number, state: OrderEvent['state']): OrderEvent {
  return { ...factsOf(order), amount, currency: order.currency, paidStage: config.catalog.payments.paid_stage, stageBefore: order.stage_before, state };
}

