import { afterAll, describe, expect, it } from 'vitest';
import { type CourseConfig } from '../../src/config/load.js';
import { loadConfig } from '../../src/app.js';
import type { DiscountSource } from '../../src/flows/orders/contracts.js';
import { openCheckout } from '../../src/flows/orders/orders.js';
import { computePrice, couponSource } from '../../src/flows/orders/pricing.js';
import { referralDiscount } from '../../src/flows/referral/discount.js';

/** Every discount source of the course: coupons, then the referral service's. */
const discountSources = [couponSource, referralDiscount];
import { resolveMember } from '../../src/store/members.js';
import { markOrderPaid } from '../../src/flows/orders/store/orders.js';
import type { Db } from '../../src/store/db.js';
import { DAY, T0, lineOf, loadProblems, removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';
import { openTestStore } from '../helpers/store.js';

afterAll(removeTempDirs);

function config(edit: (catalog: string) => string = (t) => t): CourseConfig {
  return loadConfig(tempConfig({ 'catalog.yaml': edit }), { env: {} });
}

function member(db: Db, id: string): string {
  return resolveMember(db, { platform: 'wechat', platformId: id, displayName: id, initialStage: 'prospect', now: T0 }).member.id;
}

/** A paid order, as the order service leaves it (the seat and the coupon use are taken). */
function paidOrder(db: Db, cfg: CourseConfig, memberId: string, code?: string): void {
  const r = openCheckout(db, cfg, discountSources, { memberId, platform: 'wechat', platformId: memberId, productId: 'python-vip', now: T0 });
  if (!r.ok) throw new Error(r.reason);
  if (code) db.prepare('UPDATE orders SET code = ? WHERE id = ?').run(code, r.order.id);
  markOrderPaid(db, { id: r.order.id, provider: 'sandbox', outTradeNo: `T-${r.order.id}`, transactionId: `X-${r.order.id}`, amount: r.order.amount, stageBefore: 'trial', now: T0 });
}

const price = (db: Db, cfg: CourseConfig, memberId: string, code?: string, sources: readonly DiscountSource[] = discountSources, now = T0) =>
  computePrice(db, cfg, sources, { memberId, productId: 'python-vip', priceFen: cfg.catalog.products['python-vip']!.price_fen, code, now });

describe('price computation (fen, on the server)', () => {
  const cfg = config();
  it('list price, fixed and percent coupons', () => {
    const db = openTestStore();
    const m = member(db, 'alice');
    expect(price(db, cfg, m)).toMatchObject({ list: 19900, amount: 19900, discounts: [], codeRejected: false });
    expect(price(db, cfg, m, 'EARLY50')).toMatchObject({ amount: 14900, discounts: [{ kind: 'coupon', code: 'EARLY50', fen: 5000 }] });
    expect(price(db, cfg, m, 'VIP10')).toMatchObject({ amount: 17910, discounts: [{ fen: 1990 }] });
    expect(price(db, cfg, m, 'NOPE')).toMatchObject({ amount: 19900, codeRejected: true });
  });

  it('rounds a percent discount down to the fen (never in the buyer’s disfavour by more than 1 fen)', () => {
    const c = config((t) => replaceOnce(t, 'price_fen: 19900', 'price_fen: 19999'));
    const db = openTestStore();
    // 10% of 19999 fen is 1999.9: the discount is 1999 fen, the buyer pays 18000.
    expect(price(db, c, member(db, 'a'), 'VIP10')).toMatchObject({ amount: 18000, discounts: [{ fen: 1999 }] });
  });

  it('never goes below 1 fen, and takes one discount per kind (a referral stacks with a coupon)', () => {
    const c = config((t) => replaceOnce(t, 'off_fen: 5000', 'off_fen: 50000'));
    const db = openTestStore();
    const m = member(db, 'a');
    expect(price(db, c, m, 'EARLY50')).toMatchObject({ amount: 1, discounts: [{ fen: 19899 }] });
    const referral: DiscountSource = (_db, _c, q) => ({ kind: 'referral', code: 'REF-BOB', fen: 1000, referrerMemberId: 'm_bob', note: q.productId });
    const twice: DiscountSource = () => ({ kind: 'referral', code: 'REF-2', fen: 3000 });
    expect(price(db, cfg, m, 'EARLY50', [couponSource, referral, twice])).toMatchObject({
      amount: 13900,
      discounts: [{ kind: 'coupon', fen: 5000 }, { kind: 'referral', fen: 1000, referrerMemberId: 'm_bob' }],
    });
  });

  it('respects validity, products, total and per-member usage limits (counted on paid orders)', () => {
    const c = config((t) => replaceOnce(t, 'max_uses: 100', 'max_uses: 2').replace('valid: { until: 2027-12-31T00:00:00+08:00 }', 'valid: { from: 2026-03-01T00:00:00+08:00, until: 2026-04-01T00:00:00+08:00 }'));
    const db = openTestStore();
    const [a, b, d] = [member(db, 'a'), member(db, 'b'), member(db, 'd')];
    expect(price(db, c, a, 'EARLY50', discountSources, T0 - 2 * DAY).codeRejected).toBe(true);
    expect(price(db, c, a, 'EARLY50', discountSources, T0 + 40 * DAY).codeRejected).toBe(true);
    paidOrder(db, c, a, 'EARLY50');
    // Per member 1: a cannot use it again (say, on a second product), b still can.
    expect(price(db, c, a, 'EARLY50').codeRejected).toBe(true);
    expect(price(db, c, b, 'EARLY50').codeRejected).toBe(false);
    paidOrder(db, c, b, 'EARLY50');
    // Total 2 used up.
    expect(price(db, c, d, 'EARLY50').codeRejected).toBe(true);
    const other = config((t) => t.replace('products: [python-vip]', 'products: [python-vip]\n    valid: { until: 2026-01-01T00:00:00+08:00 }'));
    expect(price(db, other, d, 'VIP10').codeRejected).toBe(true);
  });
});

describe('stock and sale windows', () => {
  it('sells at most `seats`, only inside the sale window, once per member', () => {
    const c = config((t) => replaceOnce(t, 'seats: 200', 'seats: 1'));
    const db = openTestStore();
    const [a, b] = [member(db, 'a'), member(db, 'b')];
    const open = (m: string, now = T0) => openCheckout(db, c, discountSources, { memberId: m, platform: 'wechat', platformId: m, productId: 'python-vip', now });
    expect(open(a, Date.parse('2025-12-31T00:00:00+08:00'))).toEqual({ ok: false, reason: 'not_on_sale' });
    const first = open(a);
    expect(first.ok).toBe(true);
    // Asked again: the same open order (one link), not a second one.
    expect(open(a)).toMatchObject({ ok: true, reused: true, order: { id: first.ok ? first.order.id : '' } });
    paidOrder(db, c, a);
    expect(open(a)).toEqual({ ok: false, reason: 'already_paid' });
    expect(open(b)).toEqual({ ok: false, reason: 'sold_out' });
  });
});

describe('catalog.yaml validation', () => {
  it('names file, line and key for bad references and bad values', () => {
    const mk = (d: string) => loadProblems(d).map((p) => `${p.file.split('/').pop()}:${p.line} ${p.keyPath}: ${p.message}`);
    let c2 = '';
    const groupProblems = mk(tempConfig({ 'catalog.yaml': (t) => (c2 = replaceOnce(t, 'groups: [python-vip]', 'groups: [python-101, nope]')) }));
    expect(groupProblems).toEqual([
      `catalog.yaml:${lineOf(c2, 'groups: [python-101')} products.python-vip.groups[0]: group "python-101" is of kind trial; a product unlocks groups of kind paid`,
      `catalog.yaml:${lineOf(c2, 'groups: [python-101')} products.python-vip.groups[1]: unknown group "nope" (groups: python-101, python-vip)`,
    ]);
    let c3 = '';
    expect(mk(tempConfig({ 'catalog.yaml': (t) => (c3 = replaceOnce(t, 'provider: sandbox', 'provider: wechatpay')) }))).toEqual([
      `catalog.yaml:${lineOf(c3, 'provider: wechatpay')} payments.provider: provider wechatpay needs a wechatpay section (mchid, appid, serial, platform_keys)`,
    ]);
    let c1 = '';
    expect(mk(tempConfig({ 'catalog.yaml': (t) => (c1 = replaceOnce(t, 'percent_off: 10', 'percent_off: 10\n    off_fen: 100')) }))).toEqual([
      `catalog.yaml:${lineOf(c1, 'VIP10:') + 1} coupons.VIP10: a coupon is either off_fen or percent_off`,
    ]);
    let c4 = '';
    expect(mk(tempConfig({ 'catalog.yaml': (t) => (c4 = replaceOnce(t, 'price_fen: 19900', 'price_fen: 199.5')) }))[0]).toMatch(
      new RegExp(`^catalog.yaml:${lineOf(c4, 'price_fen: 199.5')} products.python-vip.price_fen: `),
    );
    // A rule that buys an unknown product is a load error in rules.yaml.
    // (The demo's 报名 rules each buy python-vip: every one of them names the unknown product.)
    const buys = mk(tempConfig({ 'rules.yaml': (t) => t.replaceAll('buy: { product: python-vip }', 'buy: { product: python-vipp }') }));
    expect(buys.length).toBe(3);
    for (const p of buys) expect(p).toContain('unknown product "python-vipp"');
  });
});
