import { describe, expect, it } from 'vitest';
import { openCheckout } from '../../src/flows/orders/orders.js';
import { couponSource } from '../../src/flows/orders/pricing.js';
import { referralDiscount } from '../../src/flows/referral/discount.js';
import { requestRefundRow } from '../../src/flows/orders/refunds.js';
import type { Db } from '../../src/store/db.js';
import { resolveMember } from '../../src/store/members.js';
import { addOrderRefund, getRefund, markOrderPaid, refundsOf, updateRefund, type OrderRow } from '../../src/flows/orders/store/orders.js';
import { DAY, T0, demoConfig } from '../helpers/fixtures.js';
import { openTestStore } from '../helpers/store.js';

// A refund request: the amount must fit in what was paid minus what is refunded or asked for
// already (not failed), and Stars charges are refunded whole. Nothing is written on a refusal.

function order(db: Db, platform: 'wechat' | 'telegram' = 'wechat', pay = true): OrderRow {
  const memberId = resolveMember(db, { platform, platformId: `${platform}-buyer`, displayName: 'Buyer', initialStage: 'trial', now: T0 }).member.id;
  const r = openCheckout(db, demoConfig(), [couponSource, referralDiscount], { memberId, platform, platformId: `${platform}-buyer`, productId: 'python-vip', now: T0 });
  if (!r.ok) throw new Error(r.reason);
  if (pay) markOrderPaid(db, { id: r.order.id, provider: platform === 'telegram' ? 'stars' : 'sandbox', outTradeNo: `T-${r.order.id}`, transactionId: `X-${r.order.id}`, amount: r.order.amount, stageBefore: 'trial', now: T0 });
  return r.order;
}

const ask = (db: Db, orderId: string, amount?: number, reason = '学员申请') => requestRefundRow(db, orderId, { amount, reason, by: 'm_teacher', now: T0 + DAY });

describe('refund requests', () => {
  it('the whole rest when no amount is given, stored as requested with who, why and when', () => {
    const db = openTestStore();
    const o = order(db);
    const r = ask(db, o.id);
    expect(r).toEqual({ ok: true, outRefundNo: expect.stringMatching(new RegExp(`^R${(T0 + DAY).toString(36)}[0-9a-f]{12}$`)), amount: 19900 });
    expect(getRefund(db, (r as { outRefundNo: string }).outRefundNo)).toMatchObject({ order_id: o.id, amount: 19900, reason: '学员申请', state: 'requested', requested_by: 'm_teacher', created_at: T0 + DAY });
    // Asked for in full already: nothing left to ask for.
    expect(ask(db, o.id, 1)).toEqual({ ok: false, error: 'refund must be 1..0 (¥0.00 left to refund)' });
  });

  it('from 1 fen up to exactly what is left; 0, negative, fractional or more are refused and write nothing', () => {
    const db = openTestStore();
    const o = order(db);
    for (const amount of [0, -100, 0.5, 150.5, 19901, Number.NaN]) {
      expect(ask(db, o.id, amount), String(amount)).toEqual({ ok: false, error: 'refund must be 1..19900 (¥199.00 left to refund)' });
    }
    expect(refundsOf(db, o.id)).toEqual([]);
    expect(ask(db, o.id, 1)).toMatchObject({ ok: true, amount: 1 });
    // 19900 − 1 = 19899 left: exactly that is allowed, one fen more is not.
    expect(ask(db, o.id, 19900)).toEqual({ ok: false, error: 'refund must be 1..19899 (¥198.99 left to refund)' });
    expect(ask(db, o.id, 19899)).toMatchObject({ ok: true, amount: 19899 });
    expect(refundsOf(db, o.id).map((r) => r.amount)).toEqual([1, 19899]);
  });

  it('counts refunds already done and still asked for, but not failed ones', () => {
    const db = openTestStore();
    const o = order(db);
    const done = ask(db, o.id, 5000) as { outRefundNo: string };
    updateRefund(db, { outRefundNo: done.outRefundNo, from: ['requested'], to: 'succeeded', now: T0 + DAY });
    expect(addOrderRefund(db, { id: o.id, amount: 5000 })).toBe('partially_refunded');
    const failed = ask(db, o.id, 3000) as { outRefundNo: string };
    updateRefund(db, { outRefundNo: failed.outRefundNo, from: ['requested'], to: 'failed', error: 'refused', now: T0 + DAY });
    ask(db, o.id, 2000); // asked, not yet answered
    // 19900 − 5000 done − 2000 asked = 12900 (the failed 3000 is free again).
    expect(ask(db, o.id, 12901)).toEqual({ ok: false, error: 'refund must be 1..12900 (¥129.00 left to refund)' });
    expect(ask(db, o.id)).toMatchObject({ ok: true, amount: 12900 });
  });

  it('only a paid or partly refunded order; an unknown one is named', () => {
    const db = openTestStore();
    const open = order(db, 'wechat', false);
    expect(ask(db, open.id)).toEqual({ ok: false, error: `order ${open.id} is created, not paid` });
    expect(ask(db, 'o_nope')).toEqual({ ok: false, error: 'no order o_nope' });
  });

  it('a refunded order takes no more requests', () => {
    const db = openTestStore();
    const o = order(db);
    const r = ask(db, o.id) as { outRefundNo: string };
    updateRefund(db, { outRefundNo: r.outRefundNo, from: ['requested'], to: 'succeeded', now: T0 + DAY });
    expect(addOrderRefund(db, { id: o.id, amount: 19900 })).toBe('refunded');
    expect(ask(db, o.id, 1)).toEqual({ ok: false, error: `order ${o.id} is refunded, not paid` });
  });

  it('Telegram Stars are refunded whole: a part is refused with the whole amount in Stars', () => {
    const db = openTestStore();
    const o = order(db, 'telegram');
    expect(o).toMatchObject({ currency: 'XTR', amount: 1500 });
    expect(ask(db, o.id, 500)).toEqual({ ok: false, error: 'Telegram Stars payments are refunded whole: 1500 ⭐' });
    expect(ask(db, o.id, 1501)).toEqual({ ok: false, error: 'refund must be 1..1500 (1500 ⭐ left to refund)' });
    expect(ask(db, o.id, 1500)).toMatchObject({ ok: true, amount: 1500 });
  });

  it('keeps the first 80 characters of the reason', () => {
    const db = openTestStore();
    const o = order(db);
    const reason = '退'.repeat(79) + '款ABC';
    const r = ask(db, o.id, 100, reason) as { outRefundNo: string };
    expect(getRefund(db, r.outRefundNo)!.reason).toBe('退'.repeat(79) + '款');
  });
});
