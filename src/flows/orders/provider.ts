import type { NotificationKeys } from './wechatpay-v3.js';

/** How the checkout page pays: JSAPI inside WeChat, H5 in a mobile browser, a Native QR code on a PC. */
export type PayMethod = 'jsapi' | 'h5' | 'native';

export interface CreatePayment {
  outTradeNo: string;
  description: string;
  /** fen, from the stored order: never from the client */
  amount: number;
  method: PayMethod;
  /** JSAPI: the payer's openid under the configured appid */
  openid?: string;
  /** H5: the payer's IP as the web server saw it */
  clientIp: string;
  expiresAt: number;
}

/** What the checkout page does next with a created payment. */
export type CheckoutAction =
  | { kind: 'redirect'; url: string }
  | { kind: 'qr'; codeUrl: string }
  | { kind: 'jsapi'; params: { appId: string; timeStamp: string; nonceStr: string; package: string; signType: 'RSA'; paySign: string } };

export type QueryResult =
  | { state: 'paid'; transactionId: string; amount: number; raw: Record<string, unknown> }
  | { state: 'pending' }
  | { state: 'closed' }
  | { state: 'unknown'; detail: string };

export type RefundResult = { state: 'succeeded' | 'processing'; refundId: string } | { state: 'failed'; detail: string };

/**
 * A payment provider behind one interface. Its notifications are verified by the one v3
 * verification path with `notificationKeys`, and cross-checked against `mchid`/`appid`.
 */
export interface PaymentProvider {
  readonly name: 'sandbox' | 'wechatpay';
  readonly mchid: string;
  readonly appid: string;
  notificationKeys(): NotificationKeys;
  create(p: CreatePayment): Promise<CheckoutAction>;
  query(outTradeNo: string): Promise<QueryResult>;
  /** Closes an unpaid payment; 'already_paid' when the provider says it was paid meanwhile. */
  close(outTradeNo: string): Promise<'closed' | 'already_paid'>;
  refund(r: { outTradeNo: string; outRefundNo: string; total: number; refund: number; reason: string }): Promise<RefundResult>;
}
