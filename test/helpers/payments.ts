/**
 * Helpers for the payment tests: real RSA keys made here (node:crypto), a WeChat Pay provider
 * configured with them, notifications signed and encrypted exactly as WeChat Pay sends them, and
 * the order service on the real engine and an in-memory store.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { ChatEvent } from '../../src/bot/events.js';
import { FEATURES } from '../../src/app.js';
import type { Feature } from '../../src/core/feature.js';
import { buildRegistry } from '../../src/core/registry.js';
import type { PaymentProvider } from '../../src/flows/orders/provider.js';
import { OrderService } from '../../src/flows/orders/service.js';
import { WechatPayProvider } from '../../src/flows/orders/wechatpay.js';
import { buildNotification } from '../../src/flows/orders/wechatpay-v3.js';
import { silentLogger } from '../../src/log.js';
import { insertAttempt, latestOrderOf, type OrderRow } from '../../src/flows/orders/store/orders.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import type { Db } from '../../src/store/db.js';
import { count, harness, type Harness } from './fixtures.js';
import { type StarsRefunder } from '../../src/bot/payments.js';

export interface Keys {
  merchant: { privateKey: KeyObject; publicKey: KeyObject };
  platform: { privateKey: KeyObject; publicKey: KeyObject };
  apiV3Key: string;
}

let cached: Keys | undefined;
/** Generated once per test file (2048-bit RSA takes ~100 ms). */
export function testKeys(): Keys {
  cached ??= {
    merchant: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    platform: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    apiV3Key: randomBytes(16).toString('hex'),
  };
  return cached;
}

export const MCHID = '1230000109';
export const APPID = 'wxd678efh567hg6787';
export const PLATFORM_SERIAL = 'PUB_KEY_ID_0112340000000000000000000000';

/**
 * catalog.yaml's `payments:` lines for WeChat Pay against a fake v3 server at `apiBase`
 * (replacing the demo's `  provider: sandbox`); the platform key is read from
 * wechatpay_pub_key.pem next to it.
 */
export function wechatPayCatalog(apiBase: string, extra: string[] = []): string {
  return [
    '  provider: wechatpay',
    '  public_url: https://pay.example.com',
    '  wechatpay:',
    `    mchid: "${MCHID}"`,
    `    appid: ${APPID}`,
    '    serial: MERCHANT0SERIAL0001',
    '    platform_keys:',
    `      - { serial: ${PLATFORM_SERIAL}, file: wechatpay_pub_key.pem }`,
    `    api_base: ${apiBase}`,
    ...extra.map((line) => `    ${line}`),
  ].join('\n');
}

export function pem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }) as string;
}

export function wechatPayProvider(keys: Keys, opts: { apiBase?: string; extraPlatformKeys?: { serial: string; pem: string }[] } = {}): WechatPayProvider {
  return new WechatPayProvider(
    {
      mchid: MCHID,
      appid: APPID,
      serial: 'MERCHANT0SERIAL0001',
      platform_keys: [],
      official_account: true,
      api_base: opts.apiBase ?? 'http://127.0.0.1:9/',
      oauth_api_base: 'http://127.0.0.1:9',
      platformKeys: [{ serial: PLATFORM_SERIAL, pem: pem(keys.platform.publicKey) }, ...(opts.extraPlatformKeys ?? [])],
    },
    { privateKey: keys.merchant.privateKey, apiV3Key: Buffer.from(keys.apiV3Key, 'utf8') },
    { notifyUrl: 'https://pay.example.com/webhooks/wechatpay' },
  );
}

export interface PayHarness extends Harness {
  service: OrderService;
  hookCalls: { kind: 'paid' | 'refunded'; orderId: string; amount: number }[];
}

/**
 * The real engine + order service on an in-memory store, with kequn's features plus one that
 * records every `order.paid` / `order.refunded` event it hears (and `features`, e.g. one that
 * fails inside the paid transaction).
 */
export function payHarness(provider: (h: Harness) => PaymentProvider, opts: { features?: Feature[]; starsRefunder?: StarsRefunder; instance?: string; wake?: () => void; log?: Logger } = {}): PayHarness {
  const hookCalls: PayHarness['hookCalls'] = [];
  const recorder: Feature = {
    name: 'test-order-recorder',
    on: {
      'order.paid': (ctx) => void hookCalls.push({ kind: 'paid', orderId: ctx.trigger.order!.id, amount: ctx.trigger.order!.amountFen }),
      'order.refunded': (ctx) => void hookCalls.push({ kind: 'refunded', orderId: ctx.trigger.order!.id, amount: ctx.trigger.order!.amount }),
    },
  };
  const h = harness({ registry: buildRegistry([...FEATURES, recorder, ...(opts.features ?? [])]) }) as PayHarness;
  h.hookCalls = hookCalls;
  h.service = new OrderService({ db: h.db, config: () => h.config, clock: h.clock, engine: h.engine, log: opts.log ?? silentLogger, provider: provider(h), starsRefunder: opts.starsRefunder, instance: opts.instance, wake: opts.wake, services: () => h.services });
  return h;
}

let seq = 0;
export function dm(user: string, text: string, at: number, platform: 'wechat' | 'telegram' = 'wechat'): ChatEvent {
  return { type: 'message', platform, eventId: `pay-dm:${user}:${++seq}`, at, chat: { kind: 'dm' }, user: { id: user, name: user }, text, mentionsBot: false, contentKind: 'text' };
}

/** A member asks for the link (`/buy`) through the engine; returns their open order. */
export function buy(h: Harness, user: string, platform: 'wechat' | 'telegram' = 'wechat'): OrderRow {
  h.engine.handleEvent(dm(user, '/buy', h.clock.now(), platform), h.clock.now());
  const m = findMemberByIdentity(h.db, platform, user)!;
  return latestOrderOf(h.db, m.id, ['created'])!;
}

/** An attempt as the checkout page's pay button stores it (the provider call is tested elsewhere). */
export function attempt(h: Harness, order: OrderRow, outTradeNo = `T${randomBytes(6).toString('hex')}`): string {
  insertAttempt(h.db, { out_trade_no: outTradeNo, order_id: order.id, provider: 'wechatpay', method: 'native', created_at: h.clock.now(), next_check_at: h.clock.now() + 60_000 });
  return outTradeNo;
}

export function transaction(outTradeNo: string, amount: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mchid: MCHID,
    appid: APPID,
    out_trade_no: outTradeNo,
    transaction_id: `4200000${randomBytes(6).toString('hex')}`,
    trade_type: 'NATIVE',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'CMC',
    success_time: '2026-03-02T09:00:05+08:00',
    payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    amount: { total: amount, payer_total: amount, currency: 'CNY', payer_currency: 'CNY' },
    ...over,
  };
}

/** A notification as WeChat Pay sends it, signed by `signer` (default: the platform key). */
export function notification(
  keys: Keys,
  resource: Record<string, unknown>,
  opts: { now: number; id?: string; eventType?: string; serial?: string; signWith?: KeyObject; apiV3Key?: string } ,
): { headers: Record<string, string>; rawBody: string } {
  return buildNotification({
    id: opts.id ?? `EV-${randomBytes(8).toString('hex')}`,
    eventType: opts.eventType ?? 'TRANSACTION.SUCCESS',
    originalType: opts.eventType?.startsWith('REFUND') ? 'refund' : 'transaction',
    summary: '支付成功',
    resource,
    signer: { serial: opts.serial ?? PLATFORM_SERIAL, privateKey: opts.signWith ?? keys.platform.privateKey },
    apiV3Key: Buffer.from(opts.apiV3Key ?? keys.apiV3Key, 'utf8'),
    now: opts.now,
  });
}

/** Everything a payment can change, for "nothing changed" assertions. */
export function snapshot(db: Db): Record<string, unknown> {
  return {
    orders: db.prepare('SELECT id, state, paid_amount, refunded_amount, transaction_id FROM orders ORDER BY id').all(),
    attempts: db.prepare('SELECT out_trade_no, state FROM payment_attempts ORDER BY out_trade_no').all(),
    stages: db.prepare('SELECT id, stage FROM members ORDER BY id').all(),
    transitions: count(db, 'stage_transitions'),
    outbox: count(db, 'outbox'),
    events: count(db, 'events'),
    notifications: count(db, 'payment_notifications'),
    refunds: db.prepare('SELECT out_refund_no, state FROM refunds ORDER BY out_refund_no').all(),
  };
}
