/**
 * A fake WeChat Pay API v3 server on 127.0.0.1, enough for kequn's provider: it checks each
 * request's merchant signature (Authorization: WECHATPAY2-SHA256-RSA2048 …) with the merchant's
 * public key, and signs each response with the platform key (Wechatpay-* headers), as the real
 * API does. JSAPI/H5/Native orders, query by out_trade_no, close, refunds.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerify, randomBytes } from 'node:crypto';
import { rsaSign } from '../../src/flows/orders/wechatpay-v3.js';
import { MCHID, PLATFORM_SERIAL, type Keys } from './payments.js';

export interface FakePayment {
  outTradeNo: string;
  appid: string;
  amount: number;
  kind: 'jsapi' | 'h5' | 'native';
  state: 'NOTPAY' | 'SUCCESS' | 'CLOSED' | 'REFUND';
  transactionId: string;
  body: Record<string, unknown>;
}

export class FakeWechatPay {
  readonly requests: { method: string; path: string; body: string; signed: boolean }[] = [];
  readonly payments = new Map<string, FakePayment>();
  readonly refunds = new Map<string, { outTradeNo: string; amount: number; body: Record<string, unknown> }>();
  /** The next response is signed with a wrong key (kequn must refuse it). */
  forgeNextResponse = false;
  private server: Server | undefined;
  url = '';

  constructor(private readonly keys: Keys) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** The payer paid (the notification is sent separately, or never). */
  pay(outTradeNo: string): FakePayment {
    const p = this.payments.get(outTradeNo)!;
    p.state = 'SUCCESS';
    return p;
  }

  private verifyRequest(req: IncomingMessage, path: string, body: string): boolean {
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('WECHATPAY2-SHA256-RSA2048 ')) return false;
    const f = Object.fromEntries([...auth.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (f.mchid !== MCHID || !f.signature || !f.timestamp || !f.nonce_str) return false;
    return createVerify('RSA-SHA256').update(`${req.method}\n${path}\n${f.timestamp}\n${f.nonce_str}\n${body}\n`).verify(this.keys.merchant.publicKey, f.signature, 'base64');
  }

  private send(res: ServerResponse, status: number, data: unknown): void {
    const body = data === undefined ? '' : JSON.stringify(data);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(16).toString('hex');
    const key = this.forgeNextResponse ? this.keys.merchant.privateKey : this.keys.platform.privateKey;
    this.forgeNextResponse = false;
    res.writeHead(status, {
      'content-type': 'application/json',
      'wechatpay-timestamp': timestamp,
      'wechatpay-nonce': nonce,
      'wechatpay-serial': PLATFORM_SERIAL,
      'wechatpay-signature': rsaSign(`${timestamp}\n${nonce}\n${body}\n`, key),
    });
    res.end(body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = req.url ?? '/';
    const signed = this.verifyRequest(req, path, raw);
    this.requests.push({ method: req.method ?? '', path, body: raw, signed });
    if (!signed) return this.send(res, 401, { code: 'SIGN_ERROR', message: '签名错误' });
    const url = new URL(path, 'http://x');
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    let m: RegExpExecArray | null;
    if (req.method === 'POST' && (m = /^\/v3\/pay\/transactions\/(jsapi|h5|native)$/.exec(url.pathname))) {
      const kind = m[1] as FakePayment['kind'];
      const no = String(body.out_trade_no);
      const amount = (body.amount as { total: number }).total;
      const existing = this.payments.get(no);
      if (existing && existing.amount !== amount) return this.send(res, 400, { code: 'INVALID_REQUEST', message: '201 商户订单号重复' });
      this.payments.set(no, existing ?? { outTradeNo: no, appid: String(body.appid), amount, kind, state: 'NOTPAY', transactionId: `42000${randomBytes(8).toString('hex')}`, body });
      if (kind === 'jsapi') return this.send(res, 200, { prepay_id: `wx${randomBytes(12).toString('hex')}` });
      if (kind === 'h5') return this.send(res, 200, { h5_url: `https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=${no}` });
      return this.send(res, 200, { code_url: `weixin://wxpay/bizpayurl?pr=${no.slice(-7)}` });
    }
    if (req.method === 'GET' && (m = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)$/.exec(url.pathname))) {
      const p = this.payments.get(decodeURIComponent(m[1]!));
      if (!p || url.searchParams.get('mchid') !== MCHID) return this.send(res, 404, { code: 'ORDER_NOT_EXIST', message: '订单不存在' });
      return this.send(res, 200, {
        appid: p.appid,
        mchid: MCHID,
        out_trade_no: p.outTradeNo,
        trade_state: p.state,
        trade_state_desc: p.state,
        ...(p.state === 'SUCCESS' || p.state === 'REFUND' ? { transaction_id: p.transactionId, amount: { total: p.amount, payer_total: p.amount, currency: 'CNY' } } : {}),
      });
    }
    if (req.method === 'POST' && (m = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)\/close$/.exec(url.pathname))) {
      const p = this.payments.get(decodeURIComponent(m[1]!));
      if (p?.state === 'SUCCESS') return this.send(res, 400, { code: 'ORDERPAID', message: '订单已支付' });
      if (p) p.state = 'CLOSED';
      return this.send(res, 204, undefined);
    }
    if (req.method === 'POST' && url.pathname === '/v3/refund/domestic/refunds') {
      const p = this.payments.get(String(body.out_trade_no));
      const amount = body.amount as { refund: number; total: number };
      if (!p || p.state !== 'SUCCESS' || amount.total !== p.amount || amount.refund > p.amount) return this.send(res, 400, { code: 'INVALID_REQUEST', message: '退款金额不符' });
      this.refunds.set(String(body.out_refund_no), { outTradeNo: p.outTradeNo, amount: amount.refund, body });
      return this.send(res, 200, { refund_id: `50300${randomBytes(6).toString('hex')}`, out_refund_no: body.out_refund_no, status: 'PROCESSING', amount: { refund: amount.refund, total: amount.total } });
    }
    return this.send(res, 404, { code: 'NOT_FOUND', message: 'no such API' });
  }
}
