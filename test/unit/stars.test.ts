import { describe, expect, it } from 'vitest';
import { SandboxProvider } from '../../src/flows/orders/sandbox.js';
import { OrderService } from '../../src/flows/orders/service.js';
import { silentLogger } from '../../src/log.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { getOrder } from '../../src/flows/orders/store/orders.js';
import { count } from '../helpers/fixtures.js';
import { buy, payHarness, snapshot } from '../helpers/payments.js';
import { StarsRefundRefused, type StarsRefunder } from '../../src/bot/payments.js';

// Telegram Stars through the StarsPayments contract the Telegram adapter calls: pre-checkout
// validates payload, buyer and amount against the order; a successful payment is applied once
// per charge id.

function setup(starsRefunder?: StarsRefunder) {
  const h = payHarness((x) => new SandboxProvider({ publicUrl: () => 'http://127.0.0.1:8787', now: () => x.clock.now(), deliver: async () => 204 }), { starsRefunder });
  const order = buy(h, '424242', 'telegram');
  return { h, order };
}

/** A Telegram stand-in that answers refundStarPayment from a script, and records each call. */
function scriptedRefunder(script: ('refunded' | 'already_refunded' | 'refused' | 'down')[]) {
  const calls: string[] = [];
  const refunder: StarsRefunder = {
    async refundStarPayment(userId, chargeId) {
      calls.push(`${userId}:${chargeId}`);
      const next = script.shift() ?? 'refunded';
      if (next === 'refused') throw new StarsRefundRefused('telegram: refundStarPayment refused: CHARGE_NOT_FOUND');
      if (next === 'down') throw new Error('telegram: connect ECONNREFUSED');
      return next;
    },
  };
  return { refunder, calls };
}

function paidStarsOrder(starsRefunder?: StarsRefunder) {
  const { h, order } = setup(starsRefunder);
  h.service.stars.paid({ payload: order.id, currency: 'XTR', totalAmount: 1500, telegramUserId: '424242', telegramChargeId: 'tg-charge-1', providerChargeId: 'prov-1' });
  return { h, order };
}

const refundRow = (h: ReturnType<typeof setup>['h']) => h.db.prepare('SELECT state, amount, last_error FROM refunds').get() as { state: string; amount: number; last_error: string | null };

describe('Telegram Stars', () => {
  it('prices Telegram orders in Stars and builds the invoice', () => {
    const { h, order } = setup();
    expect(order).toMatchObject({ currency: 'XTR', amount: 1500, platform: 'telegram', platform_id: '424242' });
    expect(h.service.starsInvoice(order.id)).toEqual({ chatId: '424242', title: 'Python 数据分析正式班（第 3 期）', description: '8 周直播课 + 作业批改 + 正式班答疑群', payload: order.id, amount: 1500 });
  });

  it('pre-checkout accepts only the order’s buyer, currency and amount, before expiry', () => {
    const { h, order } = setup();
    const q = { payload: order.id, currency: 'XTR', totalAmount: 1500, telegramUserId: '424242' };
    expect(h.service.stars.preCheckout(q)).toEqual({ ok: true });
    expect(h.service.stars.preCheckout({ ...q, totalAmount: 1 })).toMatchObject({ ok: false });
    expect(h.service.stars.preCheckout({ ...q, currency: 'USD' })).toMatchObject({ ok: false });
    expect(h.service.stars.preCheckout({ ...q, telegramUserId: '999' })).toMatchObject({ ok: false });
    expect(h.service.stars.preCheckout({ ...q, payload: 'o_doesnotexist' })).toMatchObject({ ok: false });
    h.clock.set(order.expires_at);
    expect(h.service.stars.preCheckout(q)).toMatchObject({ ok: false, error: expect.stringContaining('过期') });
  });

  it('a successful payment marks paid once, however often Telegram redelivers it', () => {
    const { h, order } = setup();
    const p = { payload: order.id, currency: 'XTR', totalAmount: 1500, telegramUserId: '424242', telegramChargeId: 'tg-charge-1', providerChargeId: 'prov-1' };
    h.service.stars.paid(p);
    expect(getOrder(h.db, order.id)).toMatchObject({ state: 'paid', provider: 'stars', transaction_id: 'tg-charge-1', paid_amount: 1500 });
    expect(findMemberByIdentity(h.db, 'telegram', '424242')!.stage).toBe('paid');
    const after = snapshot(h.db);
    h.service.stars.paid(p);
    h.service.stars.paid({ ...p, telegramChargeId: 'tg-charge-2' });
    expect({ ...snapshot(h.db), notifications: 0 }).toEqual({ ...after, notifications: 0 });
    expect(count(h.db, 'stage_transitions', "to_stage = 'paid'")).toBe(1);
    expect(h.hookCalls).toHaveLength(1);
  });

  it('a payment that does not match its order is not applied', () => {
    const { h, order } = setup();
    const before = snapshot(h.db);
    h.service.stars.paid({ payload: order.id, currency: 'XTR', totalAmount: 1, telegramUserId: '424242', telegramChargeId: 'c', providerChargeId: 'p' });
    h.service.stars.paid({ payload: order.id, currency: 'XTR', totalAmount: 1500, telegramUserId: '1', telegramChargeId: 'c', providerChargeId: 'p' });
    expect(snapshot(h.db)).toEqual(before);
  });

  it('a refund goes to Telegram (refundStarPayment) for the whole charge; a temporary failure is retried, never doubled', async () => {
    const tg = scriptedRefunder(['down', 'refunded']);
    const { h, order } = paidStarsOrder(tg.refunder);
    expect(h.service.requestRefund(order.id, { amount: 500, reason: 'part', by: 'owner', now: h.clock.now() })).toEqual({ ok: false, error: expect.stringContaining('refunded whole') });
    expect(count(h.db, 'refunds')).toBe(0);
    expect(h.service.requestRefund(order.id, { reason: '不想学了', by: 'owner', now: h.clock.now() })).toMatchObject({ ok: true, amount: 1500 });

    expect(await h.service.processRefunds()).toBe(0);
    expect(refundRow(h).state).toBe('processing');
    expect(getOrder(h.db, order.id)!.state).toBe('paid');

    expect(await h.service.processRefunds()).toBe(1);
    expect(tg.calls).toEqual(['424242:tg-charge-1', '424242:tg-charge-1']);
    expect(refundRow(h)).toMatchObject({ state: 'succeeded', amount: 1500 });
    expect(getOrder(h.db, order.id)).toMatchObject({ state: 'refunded', refunded_amount: 1500 });
    expect(findMemberByIdentity(h.db, 'telegram', '424242')!.stage).not.toBe('paid');
    expect(h.hookCalls.map((c) => c.kind)).toEqual(['paid', 'refunded']);

    expect(await h.service.processRefunds()).toBe(0);
    expect(tg.calls).toHaveLength(2);
  });

  it('a charge Telegram already refunded (a crash after the call) is recorded once; a refusal fails the refund and changes nothing else', async () => {
    const again = scriptedRefunder(['already_refunded']);
    const a = paidStarsOrder(again.refunder);
    a.h.service.requestRefund(a.order.id, { reason: 'r', by: 'owner', now: a.h.clock.now() });
    await a.h.service.processRefunds();
    expect(refundRow(a.h).state).toBe('succeeded');
    expect(getOrder(a.h.db, a.order.id)!.state).toBe('refunded');

    const refused = scriptedRefunder(['refused']);
    const b = paidStarsOrder(refused.refunder);
    b.h.service.requestRefund(b.order.id, { reason: 'r', by: 'owner', now: b.h.clock.now() });
    const before = { ...snapshot(b.h.db), refunds: 0 };
    await b.h.service.processRefunds();
    expect(refundRow(b.h)).toMatchObject({ state: 'failed', last_error: expect.stringContaining('CHARGE_NOT_FOUND') });
    expect({ ...snapshot(b.h.db), refunds: 0 }).toEqual(before);
    expect(getOrder(b.h.db, b.order.id)!.state).toBe('paid');
  });

  it("several instances: only the one whose bot took the charge refunds it (another bot cannot)", async () => {
    const tg = scriptedRefunder([]);
    const { h, order } = paidStarsOrder(tg.refunder);
    expect(getOrder(h.db, order.id)!.paid_by).toBe('main');
    h.service.requestRefund(order.id, { reason: 'r', by: 'owner', now: h.clock.now() });
    // The same store, another instance with its own bot: it leaves the refund alone.
    const other = new OrderService({
      db: h.db,
      config: () => h.config,
      clock: h.clock,
      engine: h.engine,
      log: silentLogger,
      provider: new SandboxProvider({ publicUrl: () => 'http://127.0.0.1:8787', now: () => h.clock.now(), deliver: async () => 204 }),
      starsRefunder: tg.refunder,
      instance: 'tg-2',
    });
    expect(await other.processRefunds()).toBe(0);
    expect(tg.calls).toEqual([]);
    expect(refundRow(h).state).toBe('requested');
    expect(await h.service.processRefunds()).toBe(1);
    expect(tg.calls).toHaveLength(1);
    expect(refundRow(h).state).toBe('succeeded');
  });

  it('without Telegram connected a Stars refund fails with the reason', async () => {
    const { h, order } = paidStarsOrder();
    h.service.requestRefund(order.id, { reason: 'r', by: 'owner', now: h.clock.now() });
    await h.service.processRefunds();
    expect(refundRow(h)).toMatchObject({ state: 'failed', last_error: expect.stringContaining('Telegram is not connected') });
    expect(getOrder(h.db, order.id)!.state).toBe('paid');
  });
});
