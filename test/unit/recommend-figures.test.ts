import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, registry } from '../../src/app.js';
import { openCheckout } from '../../src/flows/orders/orders.js';
import { addOrderRefund, markOrderPaid } from '../../src/flows/orders/store/orders.js';
import { loyaltyFigures, loyaltySections } from '../../src/flows/recommend/figures.js';
import { allBaskets, coPurchaseFor, recordRecommendation } from '../../src/flows/recommend/store.js';
import { buildCoPurchase } from '../../src/flows/recommend/rank.js';
import { cachedCoPurchase, forgetCoPurchase } from '../../src/flows/recommend/co-purchase-cache.js';
import { inTransaction } from '../../src/store/db.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { harness, joined, message, removeTempDirs, tempConfig, type Harness } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

// The 忠诚期 figures against a store whose every row is written below and counted by hand.
// Cohorts: 第3期 = python-101 + python-vip, 第4期 = ml-camp; data-pro and interview belong to none.
const at = (local: string) => Date.parse(`${local}+08:00`);
const COHORTS = `
cohorts:
  - { id: c3, name: 第3期, start: "2026-03-16", weeks: 2, groups: [python-101, python-vip] }
  - { id: c4, name: 第4期, start: "2026-04-13", weeks: 2, groups: [ml-camp] }
`;
const group = (id: string, name: string) => ({ id: `${id}@chatroom`, name });

function store(): Harness {
  const config = loadConfig(tempConfig({ 'kequn.yaml': (t) => t + COHORTS }, 'test/fixtures/recommend-course'), { env: {} });
  const h = harness({ config, start: at('2026-03-16T08:00:00') });
  const t = at('2026-03-16T09:00:00');
  h.clock.set(t);
  const join = (user: string, g = group('python-101', 'Python 入门体验群')) => h.engine.handleEvent(joined(user, { at: t, group: g, name: user }), t);
  join('alice');
  join('bob');
  join('bob', group('ml-camp', '机器学习实战营'));
  join('carol', group('ml-camp', '机器学习实战营'));
  h.engine.handleEvent(message('dave', '你好', { at: t, dm: true }), t);
  join('erin');
  join('teacher'); // staff (kequn.yaml staff: wechat teacher)
  return h;
}

function paid(h: Harness, user: string, productId: string, when: string, refund = 0): void {
  const m = findMemberByIdentity(h.db, 'wechat', user)!;
  const r = openCheckout(h.db, h.config, [], { memberId: m.id, platform: 'wechat', platformId: user, productId, now: at(when) });
  if (!r.ok) throw new Error(r.reason);
  markOrderPaid(h.db, { id: r.order.id, provider: 'sandbox', outTradeNo: `T-${r.order.id}`, transactionId: `X-${r.order.id}`, amount: r.order.amount, stageBefore: m.stage, now: at(when) });
  if (refund > 0) addOrderRefund(h.db, { id: r.order.id, amount: refund });
}

function recommended(h: Harness, user: string, productId: string, when: string): void {
  recordRecommendation(h.db, { memberId: findMemberByIdentity(h.db, 'wechat', user)!.id, productId, reason: 'r', score: 1, ruleId: null, now: at(when) });
}

describe('loyalty figures', () => {
  it('repeat purchases, value per cohort and recommendations → bought, staff left out, as counted by hand', () => {
    const h = store();
    recommended(h, 'alice', 'data-pro', '2026-03-20T10:00:00');
    paid(h, 'alice', 'python-vip', '2026-03-16T10:00:00'); // 199
    paid(h, 'alice', 'data-pro', '2026-03-21T10:00:00'); // 299, after its recommendation: bought
    paid(h, 'bob', 'python-vip', '2026-03-16T10:00:00', 19900); // refunded in full: not a buyer, 0 revenue
    recommended(h, 'bob', 'ml-camp', '2026-03-20T10:00:00');
    paid(h, 'carol', 'interview', '2026-03-16T10:00:00', 4900); // 99 − 49 = 50
    paid(h, 'dave', 'python-vip', '2026-03-20T10:00:00'); // 199, in no cohort
    recommended(h, 'dave', 'python-vip', '2026-03-25T10:00:00'); // paid before it: not "bought after"
    recommended(h, 'erin', 'python-vip', '2026-03-20T10:00:00');
    paid(h, 'teacher', 'python-vip', '2026-03-16T10:00:00');
    paid(h, 'teacher', 'data-pro', '2026-03-16T10:00:00');
    recommended(h, 'teacher', 'ml-camp', '2026-03-20T10:00:00');
    // Staff move erin to 第4期 (/defer); she is still in python-101 only.
    const erin = findMemberByIdentity(h.db, 'wechat', 'erin')!.id;
    inTransaction(h.db, () => h.services.cohorts!.assign(h.db, { memberId: erin, cohortId: 'c4', source: 'defer', reason: '出差', by: null, now: at('2026-03-17T10:00:00') }));

    const f = loyaltyFigures(h.db, h.config, h.services);
    // Buyers: alice (2 orders), carol (1), dave (1); bob's one order is refunded; teacher is staff.
    expect([f.buyers, f.repeatBuyers, f.repeatRate]).toEqual([3, 1, 1 / 3]);
    expect(f.cohorts).toEqual([
      // By membership: 第3期 alice (199 + 299); 第4期 bob (joined its group after 第3期's: moved
      // on, 0 after his refund), carol (50) and erin (deferred there, 0) — ¥50 / 3 = ¥16.67.
      { cohort: 'c3', name: '第3期', members: 1, buyers: 1, revenue: 49800, perMember: 49800 },
      { cohort: 'c4', name: '第4期', members: 3, buyers: 1, revenue: 5000, perMember: 1667 },
      { cohort: null, name: '（不属于任何一期）', members: 1, buyers: 1, revenue: 19900, perMember: 19900 },
    ]);
    // The rows add up: 5 members (alice, bob, carol, dave, erin), ¥747.
    expect(f.cohorts.reduce((s, c) => s + c.members, 0)).toBe(5);
    expect(f.cohorts.reduce((s, c) => s + c.revenue, 0)).toBe(74700);
    expect(f.recommendations).toEqual({ sent: 4, bought: 1, rate: 0.25 });
    expect(loyaltySections(f).flatMap((s) => s.lines)).toEqual([
      '购买过的学员 3 人，其中购买 2 次及以上 1 人，复购率 33.3%',
      '第3期（c3）：学员 1 人，付费 1 人，收入 ¥498.00，人均 ¥498.00',
      '第4期（c4）：学员 3 人，付费 1 人，收入 ¥50.00，人均 ¥16.67',
      '（不属于任何一期）：学员 1 人，付费 1 人，收入 ¥199.00，人均 ¥199.00',
      '已发送 4 次，之后购买了推荐课程 1 次，转化率 25.0%',
    ]);
  });

  it("the database's co-purchase counts equal the fold of everyone's baskets", () => {
    const h = store();
    paid(h, 'alice', 'python-vip', '2026-03-16T10:00:00');
    paid(h, 'alice', 'data-pro', '2026-03-21T10:00:00');
    paid(h, 'bob', 'python-vip', '2026-03-16T10:00:00', 19900); // refunded: in nobody's basket
    paid(h, 'carol', 'python-vip', '2026-03-16T10:00:00', 100); // partly refunded: still bought
    paid(h, 'carol', 'interview', '2026-03-16T10:00:00');
    paid(h, 'dave', 'data-pro', '2026-03-16T10:00:00');
    const fold = buildCoPurchase(allBaskets(h.db));
    const db = coPurchaseFor(h.db, ['python-vip', 'data-pro', 'ml-camp']);
    expect(db.buyers).toEqual(fold.buyers);
    expect(db.members).toBe(fold.members);
    expect(Object.fromEntries(db.pairs.get('python-vip')!)).toEqual({ 'data-pro': 1, interview: 1 });
    expect(db.pairs.get('python-vip')).toEqual(fold.pairs.get('python-vip'));
    expect(db.pairs.get('data-pro')).toEqual(fold.pairs.get('data-pro'));
    expect(db.pairs.get('ml-camp')!.size).toBe(0);
  });

  it('the co-purchase cache: kept between rankings, forgotten on a payment here or after 10 minutes', () => {
    const h = store();
    const t = at('2026-03-16T10:00:00');
    paid(h, 'alice', 'python-vip', '2026-03-16T10:00:00');
    expect(cachedCoPurchase(h.db, ['python-vip'], t).buyers.get('python-vip')).toBe(1);
    paid(h, 'carol', 'python-vip', '2026-03-16T10:01:00'); // written behind the cache's back
    expect(cachedCoPurchase(h.db, ['python-vip'], t + 60_000).buyers.get('python-vip')).toBe(1);
    expect(cachedCoPurchase(h.db, ['python-vip'], t + 10 * 60_000 + 1).buyers.get('python-vip')).toBe(2);
    paid(h, 'dave', 'python-vip', '2026-03-16T10:12:00');
    forgetCoPurchase(h.db); // what the feature's order.paid handler does
    expect(cachedCoPurchase(h.db, ['python-vip'], t + 11 * 60_000).buyers.get('python-vip')).toBe(3);
    expect(registry.handlers('order.paid').map((x) => x.feature)).toContain('recommend');
    expect(registry.handlers('order.refunded').map((x) => x.feature)).toContain('recommend');
  });

  it('an empty store: zeros, no division by zero', () => {
    const h = harness({ config: loadConfig('test/fixtures/recommend-course', { env: {} }) });
    expect(loyaltyFigures(h.db, h.config, h.services)).toEqual({ buyers: 0, repeatBuyers: 0, repeatRate: 0, cohorts: [], recommendations: { sent: 0, bought: 0, rate: 0 } });
  });
});
