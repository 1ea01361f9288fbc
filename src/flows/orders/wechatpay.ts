import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Wechatpay } from 'wechatpay-axios-plugin';
import type { WechatPaySettings } from './catalog-schema.js';
import type { CheckoutAction, CreatePayment, PaymentProvider, QueryResult, RefundResult } from './provider.js';
import { apiV3KeyFrom, publicKeyFromPem, rsaSign, type NotificationKeys } from './wechatpay-v3.js';

/** The merchant's secrets. Read from the environment only; never from config files, never logged. */
export interface WechatPaySecrets {
  privateKey: KeyObject;
  apiV3Key: Buffer;
}

/**
 * `WECHATPAY_PRIVATE_KEY` (PEM text) or `WECHATPAY_PRIVATE_KEY_FILE` (a path), and
 * `WECHATPAY_APIV3_KEY` or `WECHATPAY_APIV3_KEY_FILE`. Throws a message that names the variable,
 * never its value.
 */
export function wechatPaySecretsFromEnv(env: NodeJS.ProcessEnv): WechatPaySecrets {
  const read = (name: string): string => {
    const direct = env[name];
    if (direct) return direct;
    const file = env[`${name}_FILE`];
    if (!file) throw new Error(`WeChat Pay needs ${name} or ${name}_FILE in the environment`);
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`${name}_FILE: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  const pemText = read('WECHATPAY_PRIVATE_KEY');
  const keyText = read('WECHATPAY_APIV3_KEY').trim();
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pemText);
  } catch {
    throw new Error('WECHATPAY_PRIVATE_KEY is not a PEM private key (apiclient_key.pem)');
  }
  let apiV3Key: Buffer;
  try {
    apiV3Key = apiV3KeyFrom(keyText);
  } catch {
    throw new Error('WECHATPAY_APIV3_KEY must be the 32-character API v3 key');
  }
  return { privateKey, apiV3Key };
}

type Call = {
  post(data: unknown, config?: Record<string, unknown>): Promise<{ status: number; data: Record<string, unknown> }>;
  get(config?: Record<string, unknown>): Promise<{ status: number; data: Record<string, unknown> }>;
};

/** An error response of the v3 API: `{ code, message }` with the HTTP status. */
function apiError(e: unknown): { status: number | undefined; code: string; message: string } {
  const err = e as { response?: { status?: number; data?: { code?: string; message?: string } }; code?: string; message?: string };
  return { status: err.response?.status, code: err.response?.data?.code ?? err.code ?? 'ERROR', message: err.response?.data?.message ?? err.message ?? String(e) };
}

/**
 * WeChat Pay API v3 through wechatpay-axios-plugin: requests are signed with the merchant key,
 * responses verified against the platform keys (certificates or the platform public key, by
 * serial). JSAPI, H5 and Native orders, query, close and refund.
 */
export class WechatPayProvider implements PaymentProvider {
  readonly name = 'wechatpay' as const;
  readonly mchid: string;
  readonly appid: string;
  private readonly platformKeys: Map<string, KeyObject>;
  private readonly client: Record<string, Call>;

  constructor(
    private readonly settings: WechatPaySettings & { platformKeys: { serial: string; pem: string }[] },
    private readonly secrets: WechatPaySecrets,
    private readonly opts: { notifyUrl: string; timeoutMs?: number },
  ) {
    this.mchid = settings.mchid;
    this.appid = settings.appid;
    this.platformKeys = new Map(settings.platformKeys.map((k) => [k.serial, publicKeyFromPem(k.pem)]));
    const client = new Wechatpay({
      mchid: settings.mchid,
      serial: settings.serial,
      privateKey: secrets.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      certs: Object.fromEntries(this.platformKeys),
      baseURL: settings.api_base,
      timeout: opts.timeoutMs ?? 10_000,
    } as unknown as ConstructorParameters<typeof Wechatpay>[0]) as unknown as Record<string, Call>;
    // Paths are used as written (the plugin also offers a chained property syntax).
    this.client = new Proxy({}, { get: (_t, path: string) => client[path] }) as Record<string, Call>;
  }

  notificationKeys(): NotificationKeys {
    return { platformKeys: this.platformKeys, apiV3Key: this.secrets.apiV3Key };
  }

  async create(p: CreatePayment): Promise<CheckoutAction> {
    const base = {
      appid: this.appid,
      mchid: this.mchid,
      description: p.description.slice(0, 127),
      out_trade_no: p.outTradeNo,
      time_expire: new Date(p.expiresAt).toISOString().replace(/\.\d{3}Z$/, '+00:00'),
      notify_url: this.opts.notifyUrl,
      amount: { total: p.amount, currency: 'CNY' },
    };
    if (p.method === 'jsapi') {
      if (!p.openid) throw new Error('JSAPI needs the payer openid');
      const { data } = await this.client['v3/pay/transactions/jsapi']!.post({ ...base, payer: { openid: p.openid } });
      const prepayId = String(data.prepay_id ?? '');
      if (!prepayId) throw new Error('WeChat Pay returned no prepay_id');
      return { kind: 'jsapi', params: this.jsapiParams(prepayId) };
    }
    if (p.method === 'h5') {
      const { data } = await this.client['v3/pay/transactions/h5']!.post({ ...base, scene_info: { payer_client_ip: p.clientIp, h5_info: { type: 'Wap' } } });
      return { kind: 'redirect', url: String(data.h5_url) };
    }
    const { data } = await this.client['v3/pay/transactions/native']!.post(base);
    return { kind: 'qr', codeUrl: String(data.code_url) };
  }

  /** The parameters WeixinJSBridge's getBrandWCPayRequest takes, signed with the merchant key. */
  jsapiParams(prepayId: string): Extract<CheckoutAction, { kind: 'jsapi' }>['params'] {
    const timeStamp = String(Math.floor(Date.now() / 1000));
    const nonceStr = randomBytes(16).toString('hex');
    const pkg = `prepay_id=${prepayId}`;
    const paySign = rsaSign(`${this.appid}\n${timeStamp}\n${nonceStr}\n${pkg}\n`, this.secrets.privateKey);
    return { appId: this.appid, timeStamp, nonceStr, package: pkg, signType: 'RSA', paySign };
  }

  async query(outTradeNo: string): Promise<QueryResult> {
    try {
      const { data } = await this.client['v3/pay/transactions/out-trade-no/{out_trade_no}']!.get({ params: { mchid: this.mchid }, out_trade_no: outTradeNo });
      const state = String(data.trade_state);
      if (data.mchid !== this.mchid || data.out_trade_no !== outTradeNo) return { state: 'unknown', detail: 'query answer is for another merchant or order' };
      if (state === 'SUCCESS' || state === 'REFUND') {
        const amount = (data.amount as { total?: number } | undefined)?.total;
        return { state: 'paid', transactionId: String(data.transaction_id), amount: typeof amount === 'number' ? amount : -1, raw: data };
      }
      if (state === 'CLOSED' || state === 'REVOKED' || state === 'PAYERROR') return { state: 'closed' };
      return { state: 'pending' };
    } catch (e) {
      const err = apiError(e);
      return { state: 'unknown', detail: `${err.code}: ${err.message}` };
    }
  }

  async close(outTradeNo: string): Promise<'closed' | 'already_paid'> {
    try {
      await this.client['v3/pay/transactions/out-trade-no/{out_trade_no}/close']!.post({ mchid: this.mchid }, { out_trade_no: outTradeNo });
      return 'closed';
    } catch (e) {
      const err = apiError(e);
      if (err.code === 'ORDERPAID') return 'already_paid';
      if (err.code === 'ORDER_CLOSED' || err.code === 'ORDERNOTEXIST' || err.code === 'ORDER_NOT_EXIST') return 'closed';
      throw new Error(`close ${outTradeNo}: ${err.code}: ${err.message}`);
    }
  }

  async refund(r: { outTradeNo: string; outRefundNo: string; total: number; refund: number; reason: string }): Promise<RefundResult> {
    try {
      const { data } = await this.client['v3/refund/domestic/refunds']!.post({
        out_trade_no: r.outTradeNo,
        out_refund_no: r.outRefundNo,
        reason: r.reason.slice(0, 80) || undefined,
        notify_url: this.opts.notifyUrl,
        amount: { refund: r.refund, total: r.total, currency: 'CNY' },
      });
      const status = String(data.status);
      if (status === 'SUCCESS') return { state: 'succeeded', refundId: String(data.refund_id) };
      if (status === 'PROCESSING') return { state: 'processing', refundId: String(data.refund_id) };
      return { state: 'failed', detail: `refund status ${status}` };
    } catch (e) {
      const err = apiError(e);
      return { state: 'failed', detail: `${err.code}: ${err.message}` };
    }
  }
}
