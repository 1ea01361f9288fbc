import { afterAll, describe, expect, it } from 'vitest';
import type { CourseConfig } from '../../src/core/types.js';
import type { Discount, OrderFacts } from '../../src/flows/orders/contracts.js';
import { checkReferralCode, referralDiscount } from '../../src/flows/referral/discount.js';
import { describeReward, referralRewards } from '../../src/flows/referral/rewards.js';
import { moveStage } from '../../src/flows/lifecycle/stage-machine.js';
import type { Db } from '../../src/store/db.js';
import { loadConfig } from '../../src/app.js';
import { getMember, resolveMember, setStage, stageHistory } from '../../src/store/members.js';
import { forgetMember } from '../../src/store/privacy.js';
import { countPaidReferrals, decisionsAbout, insertCode, insertReferral, ledgerRows, ledgerTotalFen, recordDecision, recordPaidOrder, referralOf } from '../../src/flows/referral/store.js';
import { DAY, HOUR, T0, count, demoConfig, outboxRows, removeTempDirs, tempConfig } from '../helpers/fixtures.js';
import { openTestStore } from '../helpers/store.js';

// The demo course: reward cashback 3000 fen (note 推荐返现), tier at 3: free_session (1 节一对一答疑),
// referrer_stage loyal, newcomer_discount 2000, issue_at [paid].

afterAll(removeTempDirs);

type Referral = NonNullable<CourseConfig['referral']>;
const withReferral = (over: Partial<Referral>): CourseConfig => ({ ...demoConfig(), referral: { ...demoConfig().referral!, ...over } });

function world() {
  const db = openTestStore();
  const member = (pid: string, stage = 'trial') => resolveMember(db, { platform: 'wechat', platformId: pid, displayName: pid[0]!.toUpperCase() + pid.slice(1), initialStage: stage, now: T0 }).member.id;
  return { db, member };
}

function refer(db: Db, referredId: string, referrerId: string): void {
  const decisionId = recordDecision(db, { referredId, referrerId, source: 'inviter', accepted: true, reason: 'accepted', evidence: {}, eventId: null, now: T0 });
  insertReferral(db, { referredId, referrerId, source: 'inviter', decisionId, now: T0 });
}

/** The stages service as the lifecycle feature provides it (the referrer's stage move goes through it). */
const stages = { stages: { move: (db: Db, config: CourseConfig, args: Parameters<typeof moveStage>[2]) => moveStage(db, config, args) } };
const order = (memberId: string, id: string, extra: Partial<OrderFacts> = {}): OrderFacts => ({ id, memberId, productId: 'python-vip', amountFen: 19900, discounts: [], ...extra });
const ledger = (db: Db, referrerId: string) => ledgerRows(db, { referrerId, limit: 50 }).reverse().map((e) => [e.entry, e.kind, e.fen, e.tier, e.order_id, e.note, e.reverses]);
const dmsTo = (db: Db, chatId: string) => outboxRows(db).filter((o) => o.chat_id === chatId).map((o) => o.text);

describe('rewards in words', () => {
  it('cash back and coupons in yuan, a free session by its note', () => {
    expect(describeReward({ kind: 'cashback', fen: 3000, note: '推荐返现' })).toBe('返现 30 元（推荐返现）');
    expect(describeReward({ kind: 'coupon', fen: 1999, note: '' })).toBe('优惠券 19.99 元');
    expect(describeReward({ kind: 'free_session', fen: 0, note: '1 节一对一答疑' })).toBe('免费课（1 节一对一答疑）');
    expect(describeReward({ kind: 'free_session', fen: 0, note: '' })).toBe('免费课');
  });
});

describe('the paid hook', () => {
  it('books the reward once per referred member, moves the referrer to referrer_stage and tells them with every figure', () => {
    const { db, member } = world();
    const a = member('alice', 'paid');
    const b = member('bob');
    refer(db, b, a);
    const cfg = { ...demoConfig(), templates: { ...demoConfig().templates, referral_reward_notice: '{name}|{referrer}|{course}|{bot}|{stage}|{group}|{reward}|{referrals_paid}|{referred}' } };
    referralRewards.paid(db, cfg, order(b, 'o1'), T0 + DAY, stages);
    expect(ledger(db, a)).toEqual([['reward', 'cashback', 3000, null, 'o1', '推荐返现', null]]);
    expect(getMember(db, a)!.stage).toBe('loyal');
    expect(dmsTo(db, 'alice')).toEqual([`Alice|Alice|${cfg.course.name}|${cfg.course.bot_name}|loyal||返现 30 元（推荐返现）|1|Bob`]);
    // A second order of Bob's, and the first one's notification again: nothing more.
    referralRewards.paid(db, cfg, order(b, 'o2'), T0 + 2 * DAY, stages);
    referralRewards.paid(db, cfg, order(b, 'o1'), T0 + 3 * DAY, stages);
    expect(ledger(db, a)).toHaveLength(1);
    expect(dmsTo(db, 'alice')).toHaveLength(1);
  });

  it('without a reward_notice template the referrer is not messaged; without referrer_stage they stay', () => {
    const { db, member } = world();
    const a = member('alice', 'paid');
    const b = member('bob');
    refer(db, b, a);
    const base = withReferral({ referrer_stage: null });
    const templates = { ...base.templates };
    delete templates.referral_reward_notice;
    referralRewards.paid(db, { ...base, templates }, order(b, 'o1'), T0 + DAY, stages);
    expect(ledger(db, a)).toHaveLength(1);
    expect(getMember(db, a)!.stage).toBe('paid');
    expect(dmsTo(db, 'alice')).toEqual([]);
  });

  it('a free session is booked at 0 fen; a tier is booked when the paid count reaches it exactly, once', () => {
    const { db, member } = world();
    const a = member('alice', 'paid');
    const cfg = withReferral({ reward: { kind: 'free_session', fen: 500, note: '体验课' }, tiers: [{ at: 2, kind: 'coupon', fen: 5000, note: '满2' }, { at: 3, kind: 'cashback', fen: 1000, note: '满3' }] });
    const [b, c, d] = ['bob', 'carol', 'dan'].map((u) => member(u));
    for (const x of [b!, c!, d!]) refer(db, x, a);
    referralRewards.paid(db, cfg, order(b!, 'o1'), T0 + DAY, stages);
    expect(ledger(db, a)).toEqual([['reward', 'free_session', 0, null, 'o1', '体验课', null]]);
    referralRewards.paid(db, cfg, order(c!, 'o2'), T0 + DAY, stages);
    expect(dmsTo(db, 'alice').at(-1)).toBe('🎁 你推荐的 Carol 已报名，奖励已记入：免费课（体验课）；满 2 人奖励：优惠券 50 元（满2）。目前已有 2 位同学通过你报名。');
    referralRewards.paid(db, cfg, order(d!, 'o3'), T0 + DAY, stages);
    expect(ledger(db, a)).toEqual([
      ['reward', 'free_session', 0, null, 'o1', '体验课', null],
      ['reward', 'free_session', 0, null, 'o2', '体验课', null],
      ['tier_bonus', 'coupon', 5000, 2, 'o2', '满2', null],
      ['reward', 'free_session', 0, null, 'o3', '体验课', null],
      ['tier_bonus', 'cashback', 1000, 3, 'o3', '满3', null],
    ]);
    expect(ledgerTotalFen(db, a)).toBe(6000);
  });

  it('a checkout code earns the referral when the order is paid (recorded as a checkout decision); the discount may name the referrer or only the code', () => {
    const { db, member } = world();
    const a = member('alice', 'paid');
    insertCode(db, { code: 'AMY888', memberId: a, kind: 'custom', now: T0 });
    const b = member('bob');
    const c = member('carol');
    const byCode: Discount = { kind: 'referral', code: 'AMY888', fen: 2000 };
    referralRewards.paid(db, demoConfig(), order(b, 'o1', { amountFen: 17900, discounts: [byCode] }), T0 + HOUR, stages);
    expect(referralOf(db, b)).toMatchObject({ referrer_id: a, source: 'checkout' });
    expect(decisionsAbout(db, b).map((d) => [d.source, d.reason, JSON.parse(d.evidence)])).toEqual([['checkout', 'accepted', { code: 'AMY888', order: 'o1' }]]);
    const named: Discount = { kind: 'referral', code: 'WHATEVER', fen: 2000, referrerMemberId: a };
    referralRewards.paid(db, demoConfig(), order(c, 'o2', { amountFen: 17900, discounts: [named] }), T0 + HOUR, stages);
    expect(referralOf(db, c)).toMatchObject({ referrer_id: a, source: 'checkout' });
    expect(countPaidReferrals(db, a)).toBe(2);
  });

  it('a coupon is no referral; a refused checkout code books nothing; referrals switched off book nothing but the purchase', () => {
    const { db, member } = world();
    const a = member('alice', 'paid');
    const b = member('bob');
    referralRewards.paid(db, demoConfig(), order(b, 'o1', { discounts: [{ kind: 'coupon', code: 'EARLY50', fen: 5000 }] }), T0 + HOUR, stages);
    expect(referralOf(db, b)).toBeUndefined();
    // Self-referral at checkout: refused, nothing booked.
    insertCode(db, { code: 'BOB222', memberId: b, kind: 'custom', now: T0 });
    const c = member('carol');
    referralRewards.paid(db, demoConfig(), order(b, 'o2', { discounts: [{ kind: 'referral', code: 'BOB222', fen: 2000 }] }), T0 + HOUR, stages);
    expect(decisionsAbout(db, b).map((d) => d.reason)).toEqual(['self_referral']);
    expect(ledgerRows(db, { limit: 10 })).toEqual([]);
    // Off: Carol's order is recorded as a purchase (she is no newcomer any more), no reward.
    refer(db, c, a);
    referralRewards.paid(db, { ...demoConfig(), referral: null }, order(c, 'o3'), T0 + HOUR, stages);
    expect(ledgerRows(db, { limit: 10 })).toEqual([]);
    expect(referralDiscount(db, demoConfig(), { memberId: c, productId: 'python-vip', priceFen: 19900, now: T0 + DAY })).toBeNull();
  });
});

describe('the paid hook: what it must not do', () => {
  it('the referrer moves by the rule referral.referrer_stage, for this order; the notice goes out as a push DM', () => {
    const { db, member } = world();
    const a = member('alice', 'paid');
    const b = member('bob');
    refer(db, b, a);
    referralRewards.paid(db, demoConfig(), order(b, 'o1'), T0 + DAY, stages);
    expect(stageHistory(db, a).at(-1)).toMatchObject({ from_stage: 'paid', to_stage: 'loyal', rule_id: 'referral.referrer_stage', actor: 'order:o1', at: T0 + DAY });
    expect(db.prepare("SELECT chat_id, priority, rule_id FROM outbox WHERE chat_id = 'alice'").all()).toEqual([{ chat_id: 'alice', priority: 'push', rule_id: 'referral.reward' }]);
  });

  it('a referrer who asked to be forgotten (no account left to write to) still earns the reward but gets no message', () => {
    const { db, member } = world();
    const a = member('alice', 'paid');
    const b = member('bob');
    refer(db, b, a);
    forgetMember(db, a, T0 + HOUR);
    referralRewards.paid(db, demoConfig(), order(b, 'o1'), T0 + DAY, stages);
    expect(ledger(db, a)).toHaveLength(1);
    expect(count(db, 'outbox')).toBe(0);
  });

  it('the paid notification of a refunded order, delivered again, books nothing again', () => {
    const { db, member } = world();
    const a = member('alice', 'paid');
    const b = member('bob');
    refer(db, b, a);
    referralRewards.paid(db, demoConfig(), order(b, 'o1'), T0 + DAY, stages);
    referralRewards.refunded(db, demoConfig(), order(b, 'o1'), true, T0 + 2 * DAY);
    referralRewards.paid(db, demoConfig(), order(b, 'o1'), T0 + 3 * DAY, stages);
    expect(ledger(db, a).map((e) => e[0])).toEqual(['reward', 'reversal']);
    expect(countPaidReferrals(db, a)).toBe(0);
  });

  it('an order with a coupon only, or by a member already referred, decides nothing new', () => {
    const { db, member } = world();
    const a = member('alice', 'paid');
    insertCode(db, { code: 'AMY888', memberId: a, kind: 'custom', now: T0 });
    const b = member('bob');
    referralRewards.paid(db, demoConfig(), order(b, 'o1', { discounts: [{ kind: 'coupon', code: 'AMY888', fen: 5000 }] }), T0 + HOUR, stages);
    expect(decisionsAbout(db, b)).toEqual([]);
    const c = member('carol');
    refer(db, c, a);
    referralRewards.paid(db, demoConfig(), order(c, 'o2', { discounts: [{ kind: 'referral', code: 'AMY888', fen: 2000, referrerMemberId: a }] }), T0 + HOUR, stages);
    expect(decisionsAbout(db, c).map((d) => d.source)).toEqual(['inviter']);
    expect(ledger(db, a)).toHaveLength(1);
  });

  it('a tier already held is not booked again when more referrals pay', () => {
    const { db, member } = world();
    const a = member('alice', 'paid');
    const ms = ['bob', 'carol', 'dan', 'erin'].map((u) => member(u));
    ms.forEach((m) => refer(db, m, a));
    ms.forEach((m, i) => referralRewards.paid(db, demoConfig(), order(m, `o${i + 1}`), T0 + DAY, stages));
    expect(ledger(db, a).map((e) => e[0])).toEqual(['reward', 'reward', 'reward', 'tier_bonus', 'reward']);
    expect(dmsTo(db, 'alice').at(-1)).toBe('🎁 你推荐的 Erin 已报名，奖励已记入：返现 30 元（推荐返现）。目前已有 4 位同学通过你报名。');
  });

  it('without referrer_stage, even a course without transition rules leaves the referrer where they are', () => {
    const free = loadConfig(tempConfig({ 'kequn.yaml': (t) => t.replace(/, to: \[[^\]]*\]/g, '') }), { env: {} });
    const cfg = { ...free, referral: { ...free.referral!, referrer_stage: null } };
    const { db, member } = world();
    const a = member('alice', 'mature');
    const b = member('bob');
    refer(db, b, a);
    referralRewards.paid(db, cfg, order(b, 'o1'), T0 + DAY, stages);
    expect(getMember(db, a)!.stage).toBe('mature');
    expect(ledger(db, a)).toHaveLength(1);
  });

  it('at checkout, a code refused for a known referrer (their own) gives no discount', () => {
    const { db, member } = world();
    const b = member('bob');
    insertCode(db, { code: 'BOB222', memberId: b, kind: 'custom', now: T0 });
    expect(checkReferralCode(db, demoConfig(), { memberId: b, code: 'BOB222', now: T0 })).toMatchObject({ ok: false, reason: 'self_referral', referrerId: b, fen: 0 });
    expect(referralDiscount(db, demoConfig(), { memberId: b, productId: 'python-vip', priceFen: 19900, code: 'BOB222', now: T0 })).toBeNull();
  });
});

describe('the refunded hook', () => {
  function threePaid() {
    const w = world();
    const a = w.member('alice', 'paid');
    const members = ['bob', 'carol', 'dan'].map((u) => w.member(u));
    members.forEach((m) => refer(w.db, m, a));
    members.forEach((m, i) => referralRewards.paid(w.db, demoConfig(), order(m, `o${i + 1}`), T0 + DAY, stages));
    return { ...w, a, members };
  }

  it('a refund that leaves the order partly paid is partial: the reward stands', () => {
    const { db, a, members } = threePaid();
    referralRewards.refunded(db, demoConfig(), order(members[0]!, 'o1'), false, T0 + 2 * DAY);
    expect(countPaidReferrals(db, a)).toBe(3);
    expect(ledgerTotalFen(db, a)).toBe(9000);
  });

  it('a full refund made in two parts: the part that refunds the order in full reverses the reward', () => {
    const { db, a, members } = threePaid();
    referralRewards.refunded(db, demoConfig(), order(members[0]!, 'o1'), false, T0 + 2 * DAY);
    expect(ledgerTotalFen(db, a)).toBe(9000);
    referralRewards.refunded(db, demoConfig(), order(members[0]!, 'o1'), true, T0 + 3 * DAY);
    expect(countPaidReferrals(db, a)).toBe(2);
    expect(ledgerTotalFen(db, a)).toBe(6000);
  });

  it('a full refund reverses the reward and the tier bonus no longer reached; a tier still reached is kept', () => {
    const { db, member } = world();
    const cfg = withReferral({ tiers: [{ at: 2, kind: 'cashback', fen: 500, note: '满2' }, { at: 3, kind: 'cashback', fen: 700, note: '满3' }] });
    const a = member('alice', 'paid');
    const ms = ['bob', 'carol', 'dan'].map((u) => member(u));
    ms.forEach((m) => refer(db, m, a));
    // Ledger ids: #1 o1 reward, #2 o2 reward, #3 tier 2, #4 o3 reward, #5 tier 3.
    ms.forEach((m, i) => referralRewards.paid(db, cfg, order(m, `o${i + 1}`), T0 + DAY, stages));
    expect(ledgerTotalFen(db, a)).toBe(3 * 3000 + 500 + 700);
    referralRewards.refunded(db, cfg, order(ms[1]!, 'o2'), true, T0 + 2 * DAY);
    // 2 paid referrals left: the tier at 3 is reversed, the tier at 2 stays.
    expect(ledger(db, a).slice(-2)).toEqual([
      ['reversal', 'cashback', -3000, null, 'o2', '冲销 #2', 2],
      ['reversal', 'cashback', -700, 3, 'o2', '冲销 #5', 5],
    ]);
    expect(ledgerTotalFen(db, a)).toBe(2 * 3000 + 500);
    expect(countPaidReferrals(db, a)).toBe(2);
  });

  it('the refund of an order that earned nothing reverses nothing, but the purchase is marked refunded', () => {
    const { db, member } = world();
    const b = member('bob');
    recordPaidOrder(db, { orderId: 'o1', memberId: b, now: T0 });
    referralRewards.refunded(db, demoConfig(), order(b, 'o1'), true, T0 + DAY);
    expect(ledgerRows(db, { limit: 10 })).toEqual([]);
    expect(db.prepare('SELECT refunded_at FROM referral_orders WHERE order_id = ?').get('o1')).toEqual({ refunded_at: T0 + DAY });
  });
});

describe('the newcomer discount', () => {
  it('checking a code: accepted, or already referred by this code’s owner, gives the discount; the text says how much', () => {
    const { db, member } = world();
    const a = member('alice', 'paid');
    insertCode(db, { code: 'AMY888', memberId: a, kind: 'custom', now: T0 });
    const b = member('bob');
    expect(checkReferralCode(db, demoConfig(), { memberId: b, code: ' amy-888 ', now: T0 })).toEqual({ ok: true, reason: 'accepted', referrerId: a, fen: 2000, text: '推荐码已生效，报名立减 20 元。' });
    refer(db, b, a);
    expect(checkReferralCode(db, demoConfig(), { memberId: b, code: 'AMY888', now: T0 })).toEqual({ ok: true, reason: 'already_referred_same', referrerId: a, fen: 2000, text: '推荐码已生效，报名立减 20 元。' });
    const c = member('carol');
    refer(db, c, member('zed'));
    expect(checkReferralCode(db, demoConfig(), { memberId: c, code: 'AMY888', now: T0 })).toEqual({
      ok: false,
      reason: 'already_referred',
      referrerId: a,
      fen: 0,
      text: '你已经有推荐人了，每位同学只能登记一位推荐人。',
    });
    expect(checkReferralCode(db, { ...demoConfig(), referral: null }, { memberId: member('dan'), code: 'AMY888', now: T0 })).toMatchObject({ ok: false, reason: 'disabled', fen: 0, text: '本课程没有开启推荐。' });
  });

  it('a referred newcomer without a code of their referrer gets it by the referral; the note says how they came', () => {
    const { db, member } = world();
    const a = member('alice', 'paid');
    const b = member('bob');
    refer(db, b, a);
    // Alice has no code: the referral's source stands in for it.
    expect(referralDiscount(db, demoConfig(), { memberId: b, productId: 'python-vip', priceFen: 19900, now: T0 + HOUR })).toEqual({
      kind: 'referral',
      code: 'inviter',
      fen: 2000,
      referrerMemberId: a,
      note: 'referred via inviter',
    });
  });

  it('a code entered at checkout: blank is none, a refused one is none, a good one gives the discount', () => {
    const { db, member } = world();
    const a = member('alice', 'paid');
    insertCode(db, { code: 'AMY888', memberId: a, kind: 'custom', now: T0 });
    const b = member('bob');
    const q = { memberId: b, productId: 'python-vip', priceFen: 19900, now: T0 + HOUR };
    expect(referralDiscount(db, demoConfig(), { ...q, code: '   ' })).toBeNull();
    expect(referralDiscount(db, demoConfig(), { ...q, code: 'ZZZ222' })).toBeNull();
    expect(referralDiscount(db, demoConfig(), { ...q, code: 'amy888' })).toEqual({ kind: 'referral', code: 'AMY888', fen: 2000, referrerMemberId: a, note: 'code entered at checkout' });
    // Capped at the price.
    expect(referralDiscount(db, demoConfig(), { ...q, code: 'AMY888', priceFen: 1999 })!.fen).toBe(1999);
  });

  it('none when the course gives no newcomer discount, or for a member who paid or was ever in an issue_at stage', () => {
    const { db, member } = world();
    const a = member('alice', 'paid');
    const b = member('bob');
    refer(db, b, a);
    const q = { memberId: b, productId: 'python-vip', priceFen: 19900, now: T0 + HOUR };
    expect(referralDiscount(db, withReferral({ newcomer_discount: 0 }), q)).toBeNull();
    expect(referralDiscount(db, withReferral({ newcomer_discount: 1 }), q)).toMatchObject({ fen: 1 });
    expect(referralDiscount(db, { ...demoConfig(), referral: null }, q)).toBeNull();
    // Entered paid at this very instant (not yet a purchase row): already a customer.
    setStage(db, { memberId: b, to: 'paid', eventId: null, ruleId: null, actor: 'test', now: q.now });
    expect(referralDiscount(db, demoConfig(), q)).toBeNull();
    const c = member('carol');
    refer(db, c, a);
    recordPaidOrder(db, { orderId: 'o9', memberId: c, now: T0 });
    expect(referralDiscount(db, demoConfig(), { ...q, memberId: c })).toBeNull();
  });
});
