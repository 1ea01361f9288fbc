import { describe, expect, it } from 'vitest';
import { SandboxProvider } from '../../src/orders/sandbox.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { getOrder } from '../../src/store/orders.js';
import { count } from '../helpers/fixtures.js';
import { buy, payHarness, snapshot } from '../helpers/payments.js';

// Telegram Stars through the StarsPayments contract the Telegram adapter calls: pre-checkout
// validates payload, buyer and amount against the order; a successful payment is applied once
// per charge id.

function setup() {
  const h = payHarness((x) => new SandboxProvider({ publicUrl: () => 'http://127.0.0.1:8787', now: () => x.clock.now(), deliver: async () => 204 }));
  const order = buy(h, '424242', 'telegram');
  return { h, order };
}

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
});
