import { afterAll, describe, expect, it } from 'vitest';
import { type CourseConfig } from '../../src/config/load.js';
import { loadConfig } from '../../src/app.js';
import type { DiscountSource } from '../../src/flows/orders/contracts.js';
import { openCheckout } from '../../src/flows/orders/orders.js';
import { computePrice, couponSource, discountSourcesOf } from '../../src/flows/orders/pricing.js';
import type { Services } from '../../src/core/types.js';
import { referralDiscount } from '../../src/flows/referral/discount.js';
import { loyaltySource, upgradeSource } from '../../src/flows/orders/loyalty.js';

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

describe('coupons: exact boundaries and every refusal', () => {
  const FROM = Date.parse('2026-03-01T00:00:00+08:00');
  const UNTIL = Date.parse('2026-04-01T00:00:00+08:00');
  const windowed = () => config((t) => t.replace('valid: { until: 2027-12-31T00:00:00+08:00 }', 'valid: { from: 2026-03-01T00:00:00+08:00, until: 2026-04-01T00:00:00+08:00 }'));

  it('is valid from its start instant, and no longer at its end instant', () => {
    const c = windowed();
    const db = openTestStore();
    const m = member(db, 'a');
    const at = (now: number) => price(db, c, m, 'EARLY50', discountSources, now);
    expect(at(FROM - 1)).toMatchObject({ amount: 19900, discounts: [], codeRejected: true });
    expect(at(FROM)).toMatchObject({ amount: 14900, codeRejected: false });
    expect(at(UNTIL - 1)).toMatchObject({ amount: 14900, codeRejected: false });
    expect(at(UNTIL)).toMatchObject({ amount: 19900, discounts: [], codeRejected: true });
  });

  it('a coupon without a validity window or a total limit applies at any time, however often it was used', () => {
    // VIP10 has neither `valid` nor `max_uses`; 3 members used it already.
    const c = config();
    const db = openTestStore();
    for (const u of ['u1', 'u2', 'u3']) paidOrder(db, c, member(db, u), 'VIP10');
    const m = member(db, 'a');
    expect(price(db, c, m, 'VIP10', discountSources, 0)).toMatchObject({ amount: 17910, codeRejected: false });
    expect(price(db, c, m, 'VIP10', discountSources, Date.parse('2099-01-01T00:00:00Z'))).toMatchObject({ amount: 17910, codeRejected: false });
  });

  it('a coupon for some products gives nothing on another; one without `products` applies to every product', () => {
    const c = config();
    const db = openTestStore();
    const m = member(db, 'a');
    const other = (code: string) => computePrice(db, c, [couponSource], { memberId: m, productId: 'python-basic', priceFen: 9900, code, now: T0 });
    expect(other('VIP10')).toEqual({ list: 9900, amount: 9900, discounts: [], codeRejected: true });
    expect(other('EARLY50')).toMatchObject({ amount: 4900, discounts: [{ code: 'EARLY50', fen: 5000 }], codeRejected: false });
  });

  it('says what the discount is: 立减 for a fixed amount, the percentage for a percent coupon', () => {
    const db = openTestStore();
    const m = member(db, 'a');
    expect(price(db, config(), m, 'EARLY50').discounts).toEqual([{ kind: 'coupon', code: 'EARLY50', fen: 5000, note: '立减' }]);
    expect(price(db, config(), m, 'VIP10').discounts).toEqual([{ kind: 'coupon', code: 'VIP10', fen: 1990, note: '10% off' }]);
  });

  it('no code, an empty code or an unknown one: the list price; only an entered code that gave nothing is "rejected"', () => {
    const db = openTestStore();
    const m = member(db, 'a');
    expect(price(db, config(), m, undefined)).toEqual({ list: 19900, amount: 19900, discounts: [], codeRejected: false });
    expect(price(db, config(), m, '')).toEqual({ list: 19900, amount: 19900, discounts: [], codeRejected: false });
    expect(price(db, config(), m, 'NOPE')).toEqual({ list: 19900, amount: 19900, discounts: [], codeRejected: true });
    // A coupon is only ever applied for its code: even one named "undefined" needs it typed.
    const odd = config((t) => t.replace('coupons:\n', 'coupons:\n  undefined:\n    off_fen: 100\n'));
    expect(price(db, odd, m, undefined)).toMatchObject({ amount: 19900, discounts: [] });
    expect(price(db, odd, m, 'undefined')).toMatchObject({ amount: 19800, codeRejected: false });
  });

  it('a code that names no coupon of the catalog is refused, even one that is a property of every object', () => {
    const db = openTestStore();
    const m = member(db, 'a');
    for (const code of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expect(price(db, config(), m, code), code).toEqual({ list: 19900, amount: 19900, discounts: [], codeRejected: true });
    }
  });

  it('a rejected code next to another discount is still reported rejected', () => {
    const db = openTestStore();
    const m = member(db, 'a');
    const referral: DiscountSource = () => ({ kind: 'referral', code: 'AMY888', fen: 2000, referrerMemberId: 'm_amy' });
    expect(price(db, config(), m, 'NOPE', [couponSource, referral])).toEqual({
      list: 19900,
      amount: 17900,
      discounts: [{ kind: 'referral', code: 'AMY888', fen: 2000, referrerMemberId: 'm_amy' }],
      codeRejected: true,
    });
    // The referral code itself, entered at checkout, is the code that was used.
    expect(price(db, config(), m, 'AMY888', [couponSource, referral])).toMatchObject({ amount: 17900, codeRejected: false });
  });
});

describe('discounts from the sources', () => {
  const cfg = config();
  const fixed =
    (kind: 'coupon' | 'referral', fen: number): DiscountSource =>
    () => ({ kind, code: `${kind}-${fen}`, fen });

  it('once the price is at the 1-fen floor, a second discount is not listed (no 0-fen discount)', () => {
    const db = openTestStore();
    const m = member(db, 'a');
    // 19900 − 19899 = 1 fen; the referral's 1000 fen cannot take anything more.
    expect(price(db, cfg, m, undefined, [fixed('coupon', 19899), fixed('referral', 1000)])).toEqual({
      list: 19900,
      amount: 1,
      discounts: [{ kind: 'coupon', code: 'coupon-19899', fen: 19899 }],
      codeRejected: false,
    });
    // 19900 − 19898 = 2 fen: the referral takes the 1 fen left above the floor.
    expect(price(db, cfg, m, undefined, [fixed('coupon', 19898), fixed('referral', 1000)])).toMatchObject({
      amount: 1,
      discounts: [{ fen: 19898 }, { kind: 'referral', fen: 1 }],
    });
  });

  it('a source offering 0, a negative or a fractional amount adds nothing', () => {
    const db = openTestStore();
    const m = member(db, 'a');
    for (const fen of [0, -500, 12.5, Number.NaN]) {
      expect(price(db, cfg, m, undefined, [fixed('coupon', fen)]), String(fen)).toEqual({ list: 19900, amount: 19900, discounts: [], codeRejected: false });
    }
    // A source that gives nothing does not use up its kind: the next one of that kind applies.
    expect(price(db, cfg, m, undefined, [fixed('referral', 0), fixed('referral', 700)])).toMatchObject({ amount: 19200, discounts: [{ fen: 700 }] });
  });

  it('the checkout asks the upgrade credit and loyalty (docs/loyalty.md), coupons, then the referral service when referrals are composed', () => {
    const referral = { discount: referralDiscount } as unknown as Services['referral'];
    expect(discountSourcesOf({ referral } as Services)).toEqual([upgradeSource, loyaltySource, couponSource, referralDiscount]);
    expect(discountSourcesOf({} as Services)).toEqual([upgradeSource, loyaltySource, couponSource]);
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
    // Wrong value types in a coupon: each names its line and key, and the course does not load.
    const coupon = (from: string, to: string) => {
      let text = '';
      const problems = mk(tempConfig({ 'catalog.yaml': (t) => (text = replaceOnce(t, from, to)) }));
      return { problems, line: lineOf(text, to.trim()) };
    };
    for (const [from, to, message] of [
      ['percent_off: 10', 'percent_off: "10"', 'coupons.VIP10.percent_off: Invalid input: expected number, received string'],
      ['percent_off: 10', 'percent_off: 101', 'coupons.VIP10.percent_off: Too big: expected number to be <=100'],
      ['products: [python-vip]', 'products: python-vip', 'coupons.VIP10.products: Invalid input: expected array, received string'],
      ['off_fen: 5000', 'off_fen: "5000"', 'coupons.EARLY50.off_fen: Invalid input: expected number, received string'],
      ['max_uses: 100', 'max_uses: 0', 'coupons.EARLY50.max_uses: Too small: expected number to be >=1'],
      ['per_member: 1', 'per_member: 1.5', 'coupons.EARLY50.per_member: Invalid input: expected int, received number'],
      ['valid: { until: 2027-12-31T00:00:00+08:00 }', 'valid: { until: next week }', 'coupons.EARLY50.valid.until: expected an ISO date-time such as 2026-03-01T00:00:00+08:00'],
    ] as const) {
      const r = coupon(from, to);
      expect(r.problems, to).toEqual([`catalog.yaml:${r.line} ${message}`]);
    }
    // A rule that buys an unknown product is a load error in rules.yaml.
    // (The demo's 报名 rules each buy python-vip: every one of them names the unknown product.)
    const buys = mk(tempConfig({ 'rules.yaml': (t) => t.replaceAll('buy: { product: python-vip }', 'buy: { product: python-vipp }') }));
    expect(buys.length).toBe(3);
    for (const p of buys) expect(p).toContain('unknown product "python-vipp"');
  });
});
