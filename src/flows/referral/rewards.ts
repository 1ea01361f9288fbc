import type { CourseConfig, Services } from '../../core/types.js';
import { renderTemplate } from '../../core/templates.js';
import type { ReferralConfig } from './config.js';
import type { OrderFacts } from '../orders/contracts.js';
import type { Db } from '../../store/db.js';
import { getMember, identitiesOf } from '../../store/members.js';
import { enqueueDm } from '../../store/outbox.js';
import { budgetFor } from '../../bot/pacing.js';
import {
  activeRewardFor,
  activeRewardForOrder,
  activeTierBonuses,
  bookLedger,
  countPaidReferrals,
  markOrderRefunded,
  markReversed,
  recordPaidOrder,
  referralOf,
  type LedgerRow,
} from './store.js';
import { attribute, referrerOfCode } from './attribution.js';
import { yuan } from '../../util/money.js';

/** A ledger entry in words: "返现 30 元", "优惠券 50 元", "免费课：1 节一对一答疑". */
export function describeReward(r: { kind: string; fen: number; note: string }): string {
  const base = r.kind === 'cashback' ? `返现 ${yuan(r.fen)} 元` : r.kind === 'coupon' ? `优惠券 ${yuan(r.fen)} 元` : '免费课';
  return r.note ? `${base}（${r.note}）` : base;
}

type Reward = ReferralConfig['reward'];

function book(db: Db, args: { referrerId: string; referredId: string | null; orderId: string; entry: 'reward' | 'tier_bonus'; reward: Reward; tier: number | null; now: number }): number {
  return bookLedger(db, {
    referrerId: args.referrerId,
    referredId: args.referredId,
    orderId: args.orderId,
    entry: args.entry,
    kind: args.reward.kind,
    // A free session has no cash value in the ledger; its note says what it is.
    fen: args.reward.kind === 'free_session' ? 0 : args.reward.fen,
    tier: args.tier,
    note: args.reward.note,
    reverses: null,
    now: args.now,
  });
}

function reverse(db: Db, row: LedgerRow, orderId: string, now: number): number {
  const id = bookLedger(db, {
    referrerId: row.referrer_id,
    referredId: row.referred_id,
    orderId,
    entry: 'reversal',
    kind: row.kind,
    fen: -row.fen,
    tier: row.tier,
    note: `冲销 #${row.id}`,
    reverses: row.id,
    now,
  });
  markReversed(db, row.id, id);
  return id;
}

/** Tells the referrer privately through the outbox (on their first platform identity), when the template exists. */
function notifyReferrer(db: Db, config: CourseConfig, referrerId: string, referredId: string, reward: string, now: number): void {
  const template = config.templates.referral_reward_notice;
  const identity = identitiesOf(db, referrerId)[0];
  const referrer = getMember(db, referrerId);
  if (!template || !identity || !referrer) return;
  const text = renderTemplate(template, {
    name: referrer.display_name,
    referrer: referrer.display_name,
    course: config.course.name,
    bot: config.course.bot_name,
    stage: referrer.stage,
    group: '',
    reward,
    referrals_paid: String(countPaidReferrals(db, referrerId)),
    // Stryker disable next-line OptionalChaining,StringLiteral: the referred member is the buyer, whose payment this is: they exist
    referred: getMember(db, referredId)?.display_name ?? '',
  });
  enqueueDm(db, { platform: identity.platform, chatId: identity.platform_id, memberId: referrerId, text, priority: 'push', ruleId: 'referral.reward', dryRun: config.dryRun, now, budget: budgetFor(db, config, identity.platform, now) });
}

/**
 * The referral side of a payment, run by the order service inside the transaction that marks the
 * order paid (or refunded), so the ledger commits or rolls back with the payment.
 *
 * paid: the buyer's referral is their accepted one, else the one the checkout code earns now
 * (recorded as a `checkout` decision). The referrer gets the configured reward once per referred
 * member (a second order, or a repeated notification, books nothing), tier bonuses at their
 * thresholds, and moves to `referral.referrer_stage`.
 * refunded (in full): the order's reward is reversed by a new ledger entry, and so is any tier
 * bonus the referrer no longer reaches. Nothing is ever deleted or edited but `reversed_by`.
 */
export const referralRewards = {
  paid(db: Db, config: CourseConfig, order: OrderFacts, now: number, services: Pick<Services, 'stages'>): void {
    const r = config.referral;
    const first = recordPaidOrder(db, { orderId: order.id, memberId: order.memberId, now });
    if (!r || !first) return;
    let referral = referralOf(db, order.memberId);
    const discount = order.discounts.find((d) => d.kind === 'referral');
    if (!referral && discount) {
      const referrerId = discount.referrerMemberId ?? referrerOfCode(db, discount.code);
      attribute(db, config, {
        referredId: order.memberId,
        evidence: { source: 'checkout', referrerId, code: discount.code, orderId: order.id },
        eventId: null,
        now,
        paidExceptOrder: order.id,
      });
      referral = referralOf(db, order.memberId);
    }
    if (!referral || activeRewardFor(db, order.memberId)) return;
    const referrerId = referral.referrer_id;
    book(db, { referrerId, referredId: order.memberId, orderId: order.id, entry: 'reward', reward: r.reward, tier: null, now });
    const paidCount = countPaidReferrals(db, referrerId);
    const held = new Set(activeTierBonuses(db, referrerId).map((b) => b.tier));
    const bonuses: string[] = [];
    for (const tier of r.tiers) {
      if (tier.at <= paidCount && !held.has(tier.at)) {
        book(db, { referrerId, referredId: null, orderId: order.id, entry: 'tier_bonus', reward: tier, tier: tier.at, now });
        bonuses.push(`满 ${tier.at} 人奖励：${describeReward(tier)}`);
      }
    }
    if (r.referrer_stage) services.stages.move(db, config, { memberId: referrerId, to: r.referrer_stage, eventId: null, ruleId: 'referral.referrer_stage', actor: `order:${order.id}`, now });
    notifyReferrer(db, config, referrerId, order.memberId, [describeReward(r.reward), ...bonuses].join('；'), now);
  },

  refunded(db: Db, config: CourseConfig, order: OrderFacts, inFull: boolean, now: number): void {
    markOrderRefunded(db, order.id, now);
    // A partial refund (a make-good) leaves the purchase, and so the reward, standing. Whether the
    // order is refunded in full is its state after this refund, not this refund's amount: 50 + 149
    // of a 199 order is a full refund made in two parts, and the second one reverses the reward.
    if (!inFull) return;
    const reward = activeRewardForOrder(db, order.id);
    if (!reward) return;
    reverse(db, reward, order.id, now);
    const paidCount = countPaidReferrals(db, reward.referrer_id);
    for (const bonus of activeTierBonuses(db, reward.referrer_id)) {
      // A tier bonus always carries its tier.
      if (bonus.tier! > paidCount) reverse(db, bonus, order.id, now);
    }
  },
};
