import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { CheckoutAction, CreatePayment, PaymentProvider, QueryResult, RefundResult } from './provider.js';
import { buildNotification, type NotificationKeys } from './wechatpay-v3.js';

/** Delivers a notification to the order service's webhook handler; resolves with the HTTP status it answered. */
export type Deliver = (req: { headers: Record<string, string>; rawBody: string }) => Promise<number>;

interface SandboxPayment {
  outTradeNo: string;
  amount: number;
  description: string;
  state: 'NOTPAY' | 'SUCCESS' | 'CLOSED' | 'PAYERROR';
  transactionId: string | undefined;
  refunded: number;
  /** The order's link expiry (WeChat Pay's time_expire): after it the payment cannot be paid. */
  expiresAt: number;
}

let processKeys: { privateKey: KeyObject; publicKey: KeyObject } | undefined;

/** One RSA key per process: generating 2048-bit keys takes ~100 ms, and this key protects no money. */
function sandboxKeys(): { privateKey: KeyObject; publicKey: KeyObject } {
  processKeys ??= generateKeyPairSync('rsa', { modulusLength: 2048 });
  return processKeys;
}

export const SANDBOX_SERIAL = 'SANDBOX-PLATFORM-KEY';

/**
 * The embedded default provider: a fake WeChat Pay. Its pay page (served by kequn's web server)
 * has "pay" and "fail" buttons; paying sends a notification signed with a local RSA key and
 * encrypted with a local API v3 key in exactly the v3 format, through the same webhook handler
 * and verification as real WeChat Pay notifications.
 */
export class SandboxProvider implements PaymentProvider {
  readonly name = 'sandbox' as const;
  readonly mchid = '1900000000';
  readonly appid = 'wx00000000sandbox';
  private readonly apiV3Key = randomBytes(16).toString('hex');
  private readonly payments = new Map<string, SandboxPayment>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private seq = 0;

  constructor(
    private readonly opts: {
      publicUrl: () => string;
      now: () => number;
      deliver: Deliver;
      /**
       * Whether it takes new payments (default true). kequn closes it beside a real account
       * unless KEQUN_STAGING=1 (src/app.ts): there anyone could "pay" a real member's order.
       */
      open?: boolean;
    },
  ) {}

  /** It takes new payments (see the constructor's `open`). */
  get open(): boolean {
    return this.opts.open !== false;
  }

  notificationKeys(): NotificationKeys {
    return { platformKeys: new Map([[SANDBOX_SERIAL, sandboxKeys().publicKey]]), apiV3Key: Buffer.from(this.apiV3Key, 'utf8') };
  }

  async create(p: CreatePayment): Promise<CheckoutAction> {
    if (!this.open) throw new Error('the sandbox takes no payments beside a real account (KEQUN_STAGING=1 allows it on a staging deployment)');
    if (!this.payments.has(p.outTradeNo)) {
      this.payments.set(p.outTradeNo, { outTradeNo: p.outTradeNo, amount: p.amount, description: p.description, state: 'NOTPAY', transactionId: undefined, refunded: 0, expiresAt: p.expiresAt });
    }
    const url = `${this.opts.publicUrl()}/sandbox/pay/${encodeURIComponent(p.outTradeNo)}`;
    return p.method === 'native' ? { kind: 'qr', codeUrl: url } : { kind: 'redirect', url };
  }

  /** What the fake pay page shows. */
  payment(outTradeNo: string): Readonly<SandboxPayment> | undefined {
    return this.payments.get(outTradeNo);
  }

  /** The payment's link has expired and it was not paid: WeChat Pay no longer lets anyone pay it. */
  expired(outTradeNo: string): boolean {
    const p = this.payments.get(outTradeNo);
    return p !== undefined && p.state === 'NOTPAY' && this.opts.now() >= p.expiresAt;
  }

  /**
   * The operator pressed "pay" (or a scenario's `pay` step ran): the money is taken, then the
   * notification is delivered unless `deliver: false` (a notification lost on the way, or kequn
   * crashing before it committed: reconciliation must find the payment by querying). A payment
   * whose link has expired is not paid (undefined), as WeChat Pay refuses one past time_expire.
   */
  async pay(outTradeNo: string, opts: { deliver?: boolean } = {}): Promise<number | undefined> {
    const p = this.payments.get(outTradeNo);
    if (!p) throw new Error(`sandbox: no payment ${outTradeNo}`);
    if (this.expired(outTradeNo)) return undefined;
    if (p.state === 'NOTPAY') {
      p.state = 'SUCCESS';
      p.transactionId = `4200${String(this.opts.now()).slice(-10)}${String(++this.seq).padStart(6, '0')}`;
    }
    if (p.state !== 'SUCCESS' || opts.deliver === false) return undefined;
    return this.opts.deliver(this.paidNotification(outTradeNo)!);
  }

  /** The signed TRANSACTION.SUCCESS notification of a paid payment (each call: a new notification id). */
  paidNotification(outTradeNo: string): { headers: Record<string, string>; rawBody: string } | undefined {
    const p = this.payments.get(outTradeNo);
    if (p?.state !== 'SUCCESS') return undefined;
    return this.notification('TRANSACTION.SUCCESS', 'transaction', '支付成功', this.transaction(p));
  }

  /** The operator pressed "fail": the payer gave up; nothing is notified (as with WeChat Pay). */
  fail(outTradeNo: string): void {
    const p = this.payments.get(outTradeNo);
    if (p && p.state === 'NOTPAY') p.state = 'PAYERROR';
  }

  async query(outTradeNo: string): Promise<QueryResult> {
    const p = this.payments.get(outTradeNo);
    if (!p) return { state: 'unknown', detail: 'ORDER_NOT_EXIST' };
    if (p.state === 'SUCCESS') return { state: 'paid', transactionId: p.transactionId!, amount: p.amount, raw: this.transaction(p) };
    if (p.state === 'CLOSED') return { state: 'closed' };
    return { state: 'pending' };
  }

  async close(outTradeNo: string): Promise<'closed' | 'already_paid'> {
    const p = this.payments.get(outTradeNo);
    if (p?.state === 'SUCCESS') return 'already_paid';
    if (p) p.state = 'CLOSED';
    return 'closed';
  }

  /** Refunds at once and notifies REFUND.SUCCESS shortly after, as WeChat Pay does (PROCESSING, then a notification). */
  async refund(r: { outTradeNo: string; outRefundNo: string; total: number; refund: number; reason: string }): Promise<RefundResult> {
    const p = this.payments.get(r.outTradeNo);
    if (!p || p.state !== 'SUCCESS') return { state: 'failed', detail: 'sandbox: the payment was not made' };
    if (p.refunded + r.refund > p.amount) return { state: 'failed', detail: 'sandbox: refund exceeds the amount paid' };
    p.refunded += r.refund;
    const refundId = `5030${String(++this.seq).padStart(10, '0')}`;
    const resource = {
      mchid: this.mchid,
      out_trade_no: r.outTradeNo,
      transaction_id: p.transactionId,
      out_refund_no: r.outRefundNo,
      refund_id: refundId,
      refund_status: 'SUCCESS',
      success_time: new Date(this.opts.now()).toISOString(),
      amount: { total: r.total, refund: r.refund, payer_total: r.total, payer_refund: r.refund },
    };
    const delivery = new Promise((resolve) => setImmediate(resolve)).then(() => this.opts.deliver(this.notification('REFUND.SUCCESS', 'refund', '退款成功', resource)));
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery)).catch(() => undefined);
    return { state: 'processing', refundId };
  }

  /** Waits for notifications still on their way (refunds). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private transaction(p: SandboxPayment): Record<string, unknown> {
    return {
      mchid: this.mchid,
      appid: this.appid,
      out_trade_no: p.outTradeNo,
      transaction_id: p.transactionId,
      trade_type: 'NATIVE',
      trade_state: 'SUCCESS',
      trade_state_desc: '支付成功',
      bank_type: 'OTHERS',
      success_time: new Date(this.opts.now()).toISOString(),
      payer: { openid: 'sandbox-openid' },
      amount: { total: p.amount, payer_total: p.amount, currency: 'CNY', payer_currency: 'CNY' },
    };
  }

  private notification(eventType: string, originalType: string, summary: string, resource: Record<string, unknown>): { headers: Record<string, string>; rawBody: string } {
    return buildNotification({
      id: `sandbox-${randomBytes(8).toString('hex')}`,
      eventType,
      originalType,
      summary,
      resource,
      signer: { serial: SANDBOX_SERIAL, privateKey: sandboxKeys().privateKey },
      apiV3Key: Buffer.from(this.apiV3Key, 'utf8'),
      now: this.opts.now(),
    });
  }
}
