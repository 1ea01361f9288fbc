import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import type { CourseConfig } from '../../src/config/load.js';
import { nextOnPath } from '../../src/flows/orders/course-path.js';
import { loyaltyNote } from '../../src/flows/orders/loyalty.js';
import { openCheckout, unavailable } from '../../src/flows/orders/orders.js';
import { computePrice, couponSource } from '../../src/flows/orders/pricing.js';
import { loyaltySource, upgradeSource } from '../../src/flows/orders/loyalty.js';
import { markOrderPaid, addOrderRefund } from '../../src/flows/orders/store/orders.js';
import { referralDiscount } from '../../src/flows/referral/discount.js';
import { addTag, resolveMember } from '../../src/store/members.js';
import type { Db } from '../../src/store/db.js';
import { T0, lineOf, loadProblems, replaceOnce } from '../helpers/fixtures.js';
import { openTestStore } from '../helpers/store.js';

// Loyalty prices (docs/loyalty.md) on the loyalty course (test/fixtures/loyalty-course): python-vip
// ¥199 (upgrade_from python-basic ¥99), python-basic ¥99, ml-advanced ¥399 (requires python-vip),
// interview-camp ¥299 (external, 小鹅通), bundle data-path ¥499 (python-vip + ml-advanced);
// loyalty: mature/loyal 10% off, else returning 5% off (「老学员 95 折」); floor 60%.

const LOYALTY_DIR = fileURLToPath(new URL('../fixtures/loyalty-course', import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function course(edit: (catalog: string) => string = (t) => t): { dir: string; config: CourseConfig } {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-loyalty-'));
  dirs.push(dir);
  cpSync(LOYALTY_DIR, dir, { recursive: true });
  writeFileSync(join(dir, 'catalog.yaml'), edit(readFileSync(join(dir, 'catalog.yaml'), 'utf8')));
  return { dir, config: loadConfig(dir, { env: {} }) };
}

const SOURCES = [upgradeSource, loyaltySource, couponSource, referralDiscount];

function member(db: Db, id: string, stage = 'trial'): string {
  const m = resolveMember(db, { platform: 'wechat', platformId: id, displayName: id, initialStage: 'prospect', now: T0 }).member.id;
  db.prepare('UPDATE members SET stage = ? WHERE id = ?').run(stage, m);
  return m;
}

/** A paid order of `productId` at the server's price, as the order service leaves it. */
function pay(db: Db, cfg: CourseConfig, memberId: string, productId: string): number {
  const r = openCheckout(db, cfg, SOURCES, { memberId, platform: 'wechat', platformId: memberId, productId, now: T0 });
  if (!r.ok) throw new Error(r.reason);
  markOrderPaid(db, { id: r.order.id, provider: 'sandbox', outTradeNo: `T-${r.order.id}`, transactionId: `X-${r.order.id}`, amount: r.order.amount, stageBefore: 'trial', now: T0 });
  return r.order.amount;
}

const price = (db: Db, cfg: CourseConfig, memberId: string, productId: string, code?: string) =>
  computePrice(db, cfg, SOURCES, { memberId, productId, priceFen: cfg.catalog.products[productId]!.price_fen, code, now: T0 });

describe('loyalty prices (fen, counted by hand)', () => {
  const { config: cfg } = course();

  it('an upgrade pays the difference, and a returning member gets their discount on what is left', () => {
    const db = openTestStore();
    const m = member(db, 'ann');
    expect(pay(db, cfg, m, 'python-basic')).toBe(9900);
    // 19900 − 9900 credit = 10000; 5% of 10000 = 500 (returning); 10000 − 500 = 9500.
    expect(price(db, cfg, m, 'python-vip')).toEqual({
      list: 19900,
      amount: 9500,
      codeRejected: false,
      discounts: [
        { kind: 'upgrade', code: '', fen: 9900, note: '已购《Python 入门（录播课）》，补差价升级' },
        { kind: 'loyalty', code: '', fen: 500, note: '老学员 95 折' },
      ],
    });
  });

  it('a refunded part of the cheaper product is not credited', () => {
    const db = openTestStore();
    const m = member(db, 'ben');
    pay(db, cfg, m, 'python-basic');
    const order = db.prepare('SELECT id FROM orders WHERE member_id = ?').get(m) as { id: string };
    addOrderRefund(db, { id: order.id, amount: 2900 });
    // Kept 9900 − 2900 = 7000: 19900 − 7000 = 12900; 5% of 12900 = 645; 12900 − 645 = 12255.
    expect(price(db, cfg, m, 'python-vip')).toMatchObject({ amount: 12255, discounts: [{ kind: 'upgrade', fen: 7000 }, { kind: 'loyalty', fen: 645 }] });
  });

  it('a mature or loyal member gets 9 折 by stage; a newcomer pays the list price', () => {
    const db = openTestStore();
    // 10% of 39900 = 3990: 35910.
    expect(price(db, cfg, member(db, 'cat', 'mature'), 'ml-advanced')).toMatchObject({ amount: 35910, discounts: [{ kind: 'loyalty', fen: 3990, note: '老学员 9 折' }] });
    expect(price(db, cfg, member(db, 'dan', 'loyal'), 'ml-advanced').amount).toBe(35910);
    expect(price(db, cfg, member(db, 'eve', 'trial'), 'ml-advanced')).toMatchObject({ amount: 39900, discounts: [] });
  });

  it('a tag rule matches by tag; a rule limited to products leaves the others alone', () => {
    const { config: c } = course((t) =>
      replaceOnce(t, '  - { stages: [mature, loyal], percent_off: 10 }', '  - { tags: [校友], off_fen: 2000, products: [ml-advanced] }\n  - { stages: [mature, loyal], percent_off: 10 }'),
    );
    const db = openTestStore();
    const m = member(db, 'fay');
    addTag(db, m, '校友', T0);
    expect(price(db, c, m, 'ml-advanced')).toMatchObject({ amount: 37900, discounts: [{ kind: 'loyalty', fen: 2000, note: '老学员立减 ¥20.00' }] });
    expect(price(db, c, m, 'python-vip')).toMatchObject({ amount: 19900, discounts: [] });
  });

  it('loyalty stacks with a coupon, and every discount after the credit stops at the floor (60%)', () => {
    const db = openTestStore();
    const m = member(db, 'gus', 'mature');
    // 39900 − 3990 (9 折) − 5000 (EARLY50) = 30910, above the floor 23940 (60% of 39900).
    expect(price(db, cfg, m, 'ml-advanced', 'EARLY50')).toMatchObject({ amount: 30910, discounts: [{ kind: 'loyalty', fen: 3990 }, { kind: 'coupon', fen: 5000 }] });
    // A ¥200 coupon would take it to 15910: it stops at 23940 (the coupon gives 39900 − 3990 − 23940 = 11970).
    const { config: big } = course((t) => replaceOnce(t, 'off_fen: 5000', 'off_fen: 20000'));
    expect(price(db, big, m, 'ml-advanced', 'EARLY50')).toMatchObject({ amount: 23940, discounts: [{ kind: 'loyalty', fen: 3990 }, { kind: 'coupon', fen: 11970 }] });
  });

  it('the floor is reckoned after the upgrade credit; floor 0 keeps the old 1-fen minimum', () => {
    const { config: c } = course((t) => replaceOnce(t, 'off_fen: 5000', 'off_fen: 20000'));
    const db = openTestStore();
    const m = member(db, 'hal');
    pay(db, c, m, 'python-basic');
    // 19900 − 9900 = 10000; 5% = 500; the coupon stops at 60% of 10000 = 6000: 10000 − 500 − 3500.
    // With floor 0 it stops at 1 fen: 10000 − 500 − 9499.
    expect(price(db, c, m, 'python-vip', 'EARLY50')).toMatchObject({ amount: 6000, discounts: [{ fen: 9900 }, { fen: 500 }, { kind: 'coupon', fen: 3500 }] });
    const { config: none } = course((t) => replaceOnce(replaceOnce(t, 'off_fen: 5000', 'off_fen: 20000'), 'floor_percent: 60', 'floor_percent: 0'));
    expect(price(db, none, m, 'python-vip', 'EARLY50')).toMatchObject({ amount: 1, discounts: [{ fen: 9900 }, { fen: 500 }, { kind: 'coupon', fen: 9499 }] });
  });

  it('a bundle credits what the buyer bought of it, and owning it means owning its products', () => {
    const db = openTestStore();
    const m = member(db, 'ivy');
    pay(db, cfg, m, 'python-vip');
    // 49900 − 19900 = 30000; returning 5% = 1500: 28500.
    expect(price(db, cfg, m, 'data-path')).toMatchObject({ amount: 28500, discounts: [{ kind: 'upgrade', fen: 19900, note: '已购《Python 数据分析正式班（第 3 期）》，套餐补差价' }, { fen: 1500 }] });
    const n = member(db, 'jon');
    expect(pay(db, cfg, n, 'data-path')).toBe(49900);
    expect(unavailable(db, cfg.catalog, 'ml-advanced', n, T0)).toBe('already_paid');
    expect(unavailable(db, cfg.catalog, 'python-vip', n, T0)).toBe('already_paid');
    expect(cfg.catalog.products['data-path']!.groups).toEqual(['python-vip', 'ml-advanced']);
    // Who bought both products one by one has nothing left to buy in the bundle.
    const k = member(db, 'kim');
    pay(db, cfg, k, 'python-vip');
    pay(db, cfg, k, 'ml-advanced');
    expect(unavailable(db, cfg.catalog, 'data-path', k, T0)).toBe('already_paid');
  });

  it('an external-shop product takes no discount (the shop sets its price)', () => {
    const db = openTestStore();
    const m = member(db, 'lou', 'mature');
    const r = openCheckout(db, cfg, SOURCES, { memberId: m, platform: 'telegram', platformId: 'lou', productId: 'interview-camp', now: T0 });
    expect(r).toMatchObject({ ok: true, order: { currency: 'CNY', list_amount: 29900, amount: 29900, discounts: '[]' } });
  });

  it('says the percent as 折', () => {
    expect(loyaltyNote({ percent_off: 10 })).toBe('老学员 9 折');
    expect(loyaltyNote({ percent_off: 15 })).toBe('老学员 8.5 折');
    expect(loyaltyNote({ off_fen: 1050 })).toBe('老学员立减 ¥10.50');
    expect(loyaltyNote({ percent_off: 10, note: '校友价' })).toBe('校友价');
  });
});

describe('the course path', () => {
  const { config: cfg } = course();
  it('offers each member the next product: newcomer → 数据分析; 入门 buyer → 数据分析; 数据分析 → 机器学习 → 面试冲刺营', () => {
    const db = openTestStore();
    const a = member(db, 'a');
    expect(nextOnPath(db, cfg.catalog, a, T0)).toBe('python-vip');
    const b = member(db, 'b');
    pay(db, cfg, b, 'python-basic');
    expect(nextOnPath(db, cfg.catalog, b, T0)).toBe('python-vip');
    pay(db, cfg, a, 'python-vip');
    // 入门 is behind who bought 数据分析 (it upgrades from it).
    expect(nextOnPath(db, cfg.catalog, a, T0)).toBe('ml-advanced');
    pay(db, cfg, a, 'ml-advanced');
    expect(nextOnPath(db, cfg.catalog, a, T0)).toBe('interview-camp');
  });
});

describe('loyalty rules in catalog.yaml are checked with file:line', () => {
  it.each([
    ['an unknown stage', (t: string) => replaceOnce(t, 'stages: [mature, loyal]', 'stages: [mature, veteran]'), 'stages: [mature, veteran]', 'loyalty[0].stages[1]', 'unknown stage "veteran"'],
    ['both percent and amount', (t: string) => replaceOnce(t, 'percent_off: 10 }', 'percent_off: 10, off_fen: 100 }'), 'off_fen: 100 }', 'loyalty[0]', 'either percent_off or off_fen'],
    ['a rule for nobody', (t: string) => replaceOnce(t, '{ stages: [mature, loyal], percent_off: 10 }', '{ percent_off: 10 }'), '- { percent_off: 10 }', 'loyalty[0]', 'names stages, tags or returning'],
    ['an unknown upgrade_from', (t: string) => replaceOnce(t, 'upgrade_from: [python-basic]', 'upgrade_from: [python-basics]'), 'upgrade_from: [python-basics]', 'products.python-vip.upgrade_from[0]', 'unknown product "python-basics"'],
    ['an upgrade from a dearer product', (t: string) => replaceOnce(t, 'requires: [python-vip]\n    # Sold', 'requires: [python-vip]\n    upgrade_from: [ml-advanced]\n    # Sold'), 'upgrade_from: [ml-advanced]', 'products.interview-camp.upgrade_from[0]', 'an upgrade is from a cheaper product'],
    ['a bundle dearer than its products', (t: string) => replaceOnce(t, 'price_fen: 49900', 'price_fen: 59800'), 'price_fen: 59800', 'bundles.data-path.price_fen', 'not less than its products together (59800 fen)'],
    ['a bundle of an external product', (t: string) => replaceOnce(t, 'products: [python-vip, ml-advanced]', 'products: [python-vip, interview-camp]'), 'products: [python-vip, interview-camp]', 'bundles.data-path.products[1]', 'sold in an external shop'],
    ['an unknown shop', (t: string) => replaceOnce(t, 'shop: 小鹅通', 'shop: 淘宝'), 'shop: 淘宝', 'products.interview-camp.external.shop', 'a shop is one of xiaoe (小鹅通)'],
    ['a product named next (reserved for buy: next)', (t: string) => replaceOnce(t, '  python-basic:\n', '  next:\n'), 'title: Python 入门（录播课）', 'products.next', '"next" is reserved'],
    ['a bundle with a product’s id', (t: string) => replaceOnce(t, '  data-path:\n', '  ml-advanced:\n'), 'title: 数据分析 + 机器学习 全程套餐', 'bundles.ml-advanced', 'a bundle needs an id of its own'],
    ['a floor over 100', (t: string) => replaceOnce(t, 'floor_percent: 60', 'floor_percent: 160'), 'floor_percent: 160', 'pricing.floor_percent', ''],
  ])('%s', (_name, edit, lineText, path, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-loyalty-'));
    dirs.push(dir);
    cpSync(LOYALTY_DIR, dir, { recursive: true });
    const text = edit(readFileSync(join(dir, 'catalog.yaml'), 'utf8'));
    writeFileSync(join(dir, 'catalog.yaml'), text);
    const problems = loadProblems(dir);
    const p = problems.find((x) => x.keyPath === path);
    expect(p, JSON.stringify(problems)).toBeDefined();
    expect(p!.file).toMatch(/catalog\.yaml$/);
    expect(p!.line).toBe(lineOf(text, lineText));
    expect(p!.message).toContain(message);
  });
});
