import { createVerify } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WechatPayProvider } from '../../src/flows/orders/wechatpay.js';
import { OrderService } from '../../src/flows/orders/service.js';
import { silentLogger } from '../../src/log.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { getOrder, refundsOf } from '../../src/flows/orders/store/orders.js';
import { FakeWechatPay } from '../helpers/fake-wechatpay.js';
import { count } from '../helpers/fixtures.js';
import { APPID, MCHID, buy, notification, payHarness, snapshot, testKeys, wechatPayProvider, type PayHarness } from '../helpers/payments.js';

// The wechatpay provider through wechatpay-axios-plugin against a fake v3 server on 127.0.0.1:
// requests signed with the merchant key (the fake checks), responses verified against the
// platform key (a forged one is refused), and the order service's reconciliation on top.

const keys = testKeys();
const fake = new FakeWechatPay(keys);
let provider: WechatPayProvider;

beforeAll(async () => {
  await fake.start();
  provider = wechatPayProvider(keys, { apiBase: fake.url });
});
afterAll(() => fake.stop());

const base = { description: 'Python 数据分析正式班', amount: 19900, clientIp: '203.0.113.7', expiresAt: Date.now() + 3_600_000 };

describe('wechatpay provider (API v3)', () => {
  it('creates Native, H5 and JSAPI payments with signed requests, and signs the JSAPI parameters', async () => {
    const native = await provider.create({ ...base, outTradeNo: 'N-create-1', method: 'native' });
    expect(native).toEqual({ kind: 'qr', codeUrl: expect.stringMatching(/^weixin:\/\/wxpay\/bizpayurl\?pr=/) });
    const h5 = await provider.create({ ...base, outTradeNo: 'H-create-1', method: 'h5' });
    expect(h5).toEqual({ kind: 'redirect', url: expect.stringContaining('https://wx.tenpay.com/') });
    const jsapi = await provider.create({ ...base, outTradeNo: 'J-create-1', method: 'jsapi', openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' });
    expect(jsapi.kind).toBe('jsapi');
    const p = (jsapi as Extract<typeof jsapi, { kind: 'jsapi' }>).params;
    expect(p).toMatchObject({ appId: APPID, signType: 'RSA', package: expect.stringMatching(/^prepay_id=wx/) });
    // The payer's WeChat checks paySign with the merchant's certificate.
    expect(createVerify('RSA-SHA256').update(`${p.appId}\n${p.timeStamp}\n${p.nonceStr}\n${p.package}\n`).verify(keys.merchant.publicKey, p.paySign, 'base64')).toBe(true);

    const creates = fake.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v3/pay/transactions/'));
    expect(creates.map((r) => r.path)).toEqual(['/v3/pay/transactions/native', '/v3/pay/transactions/h5', '/v3/pay/transactions/jsapi']);
    expect(creates.every((r) => r.signed)).toBe(true);
    const h5Body = JSON.parse(creates[1]!.body);
    expect(h5Body).toMatchObject({ mchid: MCHID, appid: APPID, amount: { total: 19900, currency: 'CNY' }, scene_info: { payer_client_ip: '203.0.113.7', h5_info: { type: 'Wap' } }, notify_url: 'https://pay.example.com/webhooks/wechatpay' });
    expect(JSON.parse(creates[2]!.body).payer).toEqual({ openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' });
  });

  it('queries, closes and refunds', async () => {
    await provider.create({ ...base, outTradeNo: 'Q-1', method: 'native' });
    expect(await provider.query('Q-1')).toEqual({ state: 'pending' });
    fake.pay('Q-1');
    expect(await provider.query('Q-1')).toMatchObject({ state: 'paid', amount: 19900, transactionId: fake.payments.get('Q-1')!.transactionId });
    expect(await provider.close('Q-1')).toBe('already_paid');
    const refund = await provider.refund({ outTradeNo: 'Q-1', outRefundNo: 'R-1', total: 19900, refund: 5000, reason: '部分退款' });
    expect(refund).toMatchObject({ state: 'processing' });
    expect(fake.refunds.get('R-1')).toMatchObject({ outTradeNo: 'Q-1', amount: 5000 });
    expect(await provider.refund({ outTradeNo: 'Q-1', outRefundNo: 'R-2', total: 19900, refund: 99999, reason: '' })).toMatchObject({ state: 'failed' });

    await provider.create({ ...base, outTradeNo: 'C-1', method: 'native' });
    expect(await provider.close('C-1')).toBe('closed');
    expect(await provider.query('C-1')).toEqual({ state: 'closed' });
    expect(await provider.query('NO-SUCH-ORDER')).toMatchObject({ state: 'unknown' });
  });

  it('refuses a response whose signature is not the platform key', async () => {
    await provider.create({ ...base, outTradeNo: 'F-1', method: 'native' });
    fake.pay('F-1');
    fake.forgeNextResponse = true;
    const r = await provider.query('F-1');
    expect(r).toMatchObject({ state: 'unknown', detail: expect.stringContaining('EV3_RES_HEADER_SIGNATURE_DIGEST') });
  });
});

describe('the order service on WeChat Pay', () => {
  let h: PayHarness;
  beforeEach(() => {
    h = payHarness(() => provider);
  });

  it('a payment whose notification never arrives is found by reconciliation, once', async () => {
    const order = buy(h, 'carol');
    const { action, outTradeNo } = await h.service.startPayment(order.token, { method: 'native', clientIp: '127.0.0.1' });
    expect(action.kind).toBe('qr');
    fake.pay(outTradeNo);
    h.clock.set(h.clock.now() + 61_000);
    expect(await h.service.reconcile()).toMatchObject({ queried: 1, paid: 1 });
    expect(getOrder(h.db, order.id)).toMatchObject({ state: 'paid', out_trade_no: outTradeNo, transaction_id: fake.payments.get(outTradeNo)!.transactionId });
    expect(findMemberByIdentity(h.db, 'wechat', 'carol')!.stage).toBe('paid');
    const after = snapshot(h.db);
    h.clock.set(h.clock.now() + 3_600_000);
    await h.service.reconcile();
    // A late notification for the same payment changes nothing either.
    const late = notification(keys, { mchid: MCHID, appid: APPID, out_trade_no: outTradeNo, transaction_id: fake.payments.get(outTradeNo)!.transactionId, trade_state: 'SUCCESS', amount: { total: order.amount, currency: 'CNY' } }, { now: h.clock.now() });
    expect((await h.service.handleNotification('wechatpay', late)).status).toBe(204);
    expect({ ...snapshot(h.db), notifications: 0 }).toEqual({ ...after, notifications: 0 });
    expect(h.hookCalls).toHaveLength(1);
  });

  it('two processes reconciling the same store query each attempt once and mark it paid once', async () => {
    const order = buy(h, 'dora');
    const { outTradeNo } = await h.service.startPayment(order.token, { method: 'native', clientIp: '127.0.0.1' });
    fake.pay(outTradeNo);
    h.clock.set(h.clock.now() + 61_000);
    const other = new OrderService({ db: h.db, config: () => h.config, clock: h.clock, engine: h.engine, log: silentLogger, provider, instance: 'second' });
    const queries = () => fake.requests.filter((r) => r.method === 'GET' && r.path.includes(outTradeNo)).length;
    const before = queries();
    const [a, b] = await Promise.all([h.service.reconcile(), other.reconcile()]);
    expect(a.queried + b.queried).toBe(1);
    expect(a.paid + b.paid).toBe(1);
    expect(queries() - before).toBe(1);
    expect(getOrder(h.db, order.id)!.state).toBe('paid');
  });

  it('a crash between the provider taking the money and our commit is recovered by the reconciliation query', async () => {
    let crashes = 1;
    const crashing = payHarness(() => provider, {
      features: [{ name: 'crashing', on: { 'order.paid': () => { if (crashes-- > 0) throw new Error('process killed mid-commit'); } } }],
    });
    const order = buy(crashing, 'dave');
    const { outTradeNo } = await crashing.service.startPayment(order.token, { method: 'h5', clientIp: '198.51.100.4' });
    const paid = fake.pay(outTradeNo);
    const n = notification(keys, { mchid: MCHID, appid: APPID, out_trade_no: outTradeNo, transaction_id: paid.transactionId, trade_state: 'SUCCESS', amount: { total: order.amount, currency: 'CNY' } }, { now: crashing.clock.now() });
    expect((await crashing.service.handleNotification('wechatpay', n)).status).toBe(500);
    expect(getOrder(crashing.db, order.id)!.state).toBe('created');
    crashing.clock.set(crashing.clock.now() + 61_000);
    expect(await crashing.service.reconcile()).toMatchObject({ paid: 1 });
    expect(getOrder(crashing.db, order.id)!.state).toBe('paid');
    expect(count(crashing.db, 'stage_transitions', "to_stage = 'paid'")).toBe(1);
  });

  it('an unpaid link expires, and its attempt is closed at WeChat Pay after the notification window', async () => {
    const order = buy(h, 'erin');
    const { outTradeNo } = await h.service.startPayment(order.token, { method: 'native', clientIp: '127.0.0.1' });
    h.clock.set(order.expires_at + 1);
    expect(await h.service.reconcile()).toMatchObject({ expired: 1, closed: 0 });
    expect(getOrder(h.db, order.id)!.state).toBe('expired');
    await expect(h.service.startPayment(order.token, { method: 'native', clientIp: '127.0.0.1' })).rejects.toThrow(/关闭|过期/);
    h.clock.set(order.expires_at + 16 * 60_000);
    expect(await h.service.reconcile()).toMatchObject({ closed: 1 });
    expect(fake.payments.get(outTradeNo)!.state).toBe('CLOSED');
    expect(getOrder(h.db, order.id)!.state).toBe('closed');
    // Asking again gives a new order (and so a new out_trade_no at the next attempt).
    const again = buy(h, 'erin');
    expect(again.id).not.toBe(order.id);
  });

  it('a staff refund goes to WeChat Pay, and its notification revokes the stage', async () => {
    const order = buy(h, 'frank');
    const { outTradeNo } = await h.service.startPayment(order.token, { method: 'native', clientIp: '127.0.0.1' });
    const paid = fake.pay(outTradeNo);
    await h.service.handleNotification('wechatpay', notification(keys, { mchid: MCHID, appid: APPID, out_trade_no: outTradeNo, transaction_id: paid.transactionId, trade_state: 'SUCCESS', amount: { total: order.amount, currency: 'CNY' } }, { now: h.clock.now() }));
    expect(findMemberByIdentity(h.db, 'wechat', 'frank')!.stage).toBe('paid');
    // The owner asks by command (role by platform id: the demo's instructor is `teacher`).
    h.engine.handleEvent({ type: 'message', platform: 'wechat', eventId: 'refund-cmd-1', at: h.clock.now(), chat: { kind: 'dm' }, user: { id: 'teacher', name: '王老师' }, text: `/refund ${order.id}`, mentionsBot: false, contentKind: 'text' }, h.clock.now());
    expect(refundsOf(h.db, order.id)).toMatchObject([{ state: 'requested', amount: 19900 }]);
    expect(await h.service.processRefunds()).toBe(1);
    const [refund] = refundsOf(h.db, order.id);
    expect(refund!.state).toBe('processing');
    expect(fake.refunds.get(refund!.out_refund_no)).toMatchObject({ amount: 19900 });
    const n = notification(keys, { mchid: MCHID, out_trade_no: outTradeNo, transaction_id: paid.transactionId, out_refund_no: refund!.out_refund_no, refund_id: '50300000001', refund_status: 'SUCCESS', amount: { total: 19900, refund: 19900 } }, { now: h.clock.now(), eventType: 'REFUND.SUCCESS' });
    expect((await h.service.handleNotification('wechatpay', n)).status).toBe(204);
    expect(getOrder(h.db, order.id)).toMatchObject({ state: 'refunded', refunded_amount: 19900 });
    // The demo's lifecycle.on_refunded (without it: back to the stage before paying, prospect).
    expect(findMemberByIdentity(h.db, 'wechat', 'frank')!.stage).toBe('nurture');
    expect(h.hookCalls.map((c) => c.kind)).toEqual(['paid', 'refunded']);
    // A member cannot ask for refunds.
    h.engine.handleEvent({ type: 'message', platform: 'wechat', eventId: 'refund-cmd-2', at: h.clock.now(), chat: { kind: 'dm' }, user: { id: 'frank', name: 'frank' }, text: `/refund ${order.id}`, mentionsBot: false, contentKind: 'text' }, h.clock.now());
    expect(refundsOf(h.db, order.id)).toHaveLength(1);
  });
});
