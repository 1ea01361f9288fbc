/**
 * Payments: how fast the order service verifies notifications (signature, decryption) and
 * applies a payment (the paid transaction with stage, outbox, rules), on the real engine and an
 * in-memory store. A busy launch day is hundreds of payments an hour; this shows the headroom.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Engine } from '../src/core/engine.js';
import { registry } from '../src/app.js';
import { loadConfig } from '../src/app.js';
import { silentLogger } from '../src/log.js';
import { couponSource } from '../src/flows/orders/pricing.js';
import { referralDiscount } from '../src/flows/referral/discount.js';

const discountSources = [couponSource, referralDiscount];
import { OrderService } from '../src/flows/orders/service.js';
import { WechatPayProvider } from '../src/flows/orders/wechatpay.js';
import { buildNotification, verifyNotification } from '../src/flows/orders/wechatpay-v3.js';
import { openCheckout } from '../src/flows/orders/orders.js';
import { VirtualClock } from '../src/core/schedule/clock.js';
import { openStore } from '../src/store/db.js';
import { resolveMember } from '../src/store/members.js';
import { insertAttempt } from '../src/flows/orders/store/orders.js';
import type { BenchResult } from './report.js';
import { buildServices } from '../src/core/registry.js';

export async function benchPayments(): Promise<BenchResult[]> {
  const config = loadConfig('test/fixtures/course', { env: {} });
  const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const apiV3Key = randomBytes(16).toString('hex');
  const provider = new WechatPayProvider(
    { mchid: '1230000109', appid: 'wxd678efh567hg6787', serial: 'M1', platform_keys: [], official_account: false, api_base: 'http://127.0.0.1:9/', oauth_api_base: 'http://127.0.0.1:9', platformKeys: [{ serial: 'P1', pem: platform.publicKey.export({ type: 'spki', format: 'pem' }) as string }] },
    { privateKey: merchant.privateKey, apiV3Key: Buffer.from(apiV3Key) },
    { notifyUrl: 'https://x/webhooks/wechatpay' },
  );
  const db = openStore(':memory:');
  const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
  const services = buildServices(registry, { db: db, config: config });
  const engine = new Engine({ db, config: () => config, registry, log: silentLogger, services: () => services });
  const service = new OrderService({ db, config: () => config, clock, engine, log: silentLogger, provider });

  const N = 500;
  const notes = [];
  for (let i = 0; i < N; i++) {
    const m = resolveMember(db, { platform: 'wechat', platformId: `u${i}`, displayName: `u${i}`, initialStage: 'trial', now: clock.now() }).member;
    const o = openCheckout(db, config, discountSources, { memberId: m.id, platform: 'wechat', platformId: `u${i}`, productId: 'python-vip', now: clock.now() });
    if (!o.ok) throw new Error(o.reason);
    insertAttempt(db, { out_trade_no: `B${i}`, order_id: o.order.id, provider: 'wechatpay', method: 'native', created_at: clock.now(), next_check_at: clock.now() + 60_000 });
    notes.push(
      buildNotification({
        id: `EV${i}`,
        eventType: 'TRANSACTION.SUCCESS',
        originalType: 'transaction',
        summary: '支付成功',
        resource: { mchid: '1230000109', appid: 'wxd678efh567hg6787', out_trade_no: `B${i}`, transaction_id: `T${i}`, trade_state: 'SUCCESS', amount: { total: o.order.amount, currency: 'CNY' } },
        signer: { serial: 'P1', privateKey: platform.privateKey },
        apiV3Key: Buffer.from(apiV3Key),
        now: clock.now(),
      }),
    );
  }
  let t = performance.now();
  for (const n of notes) verifyNotification({ ...n, now: clock.now() }, provider.notificationKeys());
  const verifyPerS = N / ((performance.now() - t) / 1000);
  t = performance.now();
  for (const n of notes) {
    const r = await service.handleNotification('wechatpay', n);
    if (r.status !== 204) throw new Error(`status ${r.status}`);
  }
  const paidPerS = N / ((performance.now() - t) / 1000);
  t = performance.now();
  for (const n of notes) await service.handleNotification('wechatpay', n);
  const dupPerS = N / ((performance.now() - t) / 1000);
  db.close();
  return [
    { name: 'payments: notification verify + decrypt', value: verifyPerS, unit: 'notifications/s', note: 'RSA-2048 + AES-256-GCM' },
    { name: 'payments: paid transaction (verify → stage, outbox, rules)', value: paidPerS, unit: 'payments/s', note: ':memory:' },
    { name: 'payments: duplicate notification', value: dupPerS, unit: 'notifications/s' },
  ];
}
