import type { CourseConfig } from '../../core/types.js';
import type { Db } from '../../store/db.js';
import { getMember, identitiesOf } from '../../store/members.js';
import { effectiveRole } from '../../core/roles.js';
import {
  countCodeAttempts,
  findCode,
  hasPaidOrder,
  everInStage,
  insertReferral,
  recordDecision,
  referralOf,
  type ReferralSource,
} from './store.js';
import { formatDuration } from '../../util/duration.js';

/**
 * Who referred whom. Evidence comes in this order of strength: the platform names the inviter
 * (Wechaty room-join inviter), a personal invite link (Telegram), the code the newcomer says in
 * chat, the code entered at checkout. The first valid evidence within the window wins; every
 * attempt, accepted or not, is recorded with its evidence and reason.
 */

export type Reason =
  | 'accepted'
  | 'already_referred_same'
  | 'already_referred'
  | 'self_referral'
  | 'unknown_code'
  | 'rate_limited'
  | 'referrer_is_staff'
  | 'referrer_blocked'
  | 'already_paid'
  | 'circular'
  | 'window_expired'
  | 'disabled';

/** What the newcomer is told, per reason (inserted as {reason} into the referral_rejected template). */
export const REASON_TEXT: Record<Exclude<Reason, 'accepted'>, string> = {
  already_referred_same: '你已经登记过这位推荐人了。',
  already_referred: '你已经有推荐人了，每位同学只能登记一位推荐人。',
  self_referral: '不能使用自己的推荐码哦。',
  unknown_code: '没有找到这个推荐码，请核对后再试（推荐码里没有 0、O、1、I、L）。',
  rate_limited: '尝试次数太多了，请过一会儿再试。',
  referrer_is_staff: '老师和助教的邀请不算推荐。',
  referrer_blocked: '这个推荐码已经失效了。',
  already_paid: '推荐码只适用于第一次报名的新同学。',
  circular: '你们之间已经有推荐关系了，不能互相推荐。',
  window_expired: '推荐码需要在第一次入群后尽快登记，现在已经超过期限了。',
  disabled: '本课程没有开启推荐。',
};

export interface Evidence {
  source: ReferralSource;
  /** The referrer, when the evidence names one (inviter, known link or code). */
  referrerId: string | null;
  code?: string;
  link?: string;
  group?: string | null;
  orderId?: string;
}

export interface Verdict {
  ok: boolean;
  reason: Reason;
  referrerId: string | null;
}

/** The member key behind a code (active codes only), or null. */
export function referrerOfCode(db: Db, code: string): string | null {
  const c = findCode(db, code);
  return c && c.retired_at === null ? c.member_id : null;
}

/**
 * Judges evidence without writing: the checks, in order. `paidExceptOrder`: at checkout and in
 * the paid hook, the order being paid does not make the buyer "already paid".
 */
export function judge(db: Db, config: CourseConfig, args: { referredId: string; evidence: Evidence; now: number; paidExceptOrder?: string }): Verdict {
  const { referredId, evidence, now } = args;
  const r = config.referral;
  const referrerId = evidence.referrerId;
  const verdict = (reason: Reason): Verdict => ({ ok: reason === 'accepted', reason, referrerId });
  if (!r) return verdict('disabled');
  // Rate limit first: a member guessing codes learns nothing more once over the limit.
  if (evidence.source === 'code' && countCodeAttempts(db, referredId, now - r.attempts.per) >= r.attempts.max) return verdict('rate_limited');
  if (referrerId === null) return verdict('unknown_code');
  if (referrerId === referredId) return verdict('self_referral');
  const existing = referralOf(db, referredId);
  if (existing) return verdict(existing.referrer_id === referrerId ? 'already_referred_same' : 'already_referred');
  const referrer = getMember(db, referrerId);
  const referred = getMember(db, referredId);
  if (!referrer || !referred) return verdict('unknown_code');
  // Staff add people to groups all day: their invitations are not referrals.
  if (identitiesOf(db, referrerId).some((i) => effectiveRole(db, config, i.platform as 'wechat' | 'telegram', i.platform_id) !== 'member')) return verdict('referrer_is_staff');
  if (r.blocked_stages.includes(referrer.stage)) return verdict('referrer_blocked');
  if (hasPaidOrder(db, referredId, args.paidExceptOrder) || everInStage(db, referredId, r.issue_at, args.paidExceptOrder !== undefined ? now : now + 1)) {
    return verdict('already_paid');
  }
  if (inChainAbove(db, referrerId, referredId)) return verdict('circular');
  if (now - referred.created_at > r.window) return verdict('window_expired');
  return verdict('accepted');
}

/** Whether `target` is among `start`'s referrers (its referrer, their referrer, …). */
function inChainAbove(db: Db, start: string, target: string): boolean {
  let at: string | undefined = start;
  for (let depth = 0; at !== undefined && depth < 100; depth++) {
    const up: string | undefined = referralOf(db, at)?.referrer_id;
    if (up === target) return true;
    at = up;
  }
  return false;
}

export interface Decision extends Verdict {
  decisionId: number;
  /** For a reply: the reason in words (empty when accepted). */
  text: string;
}

/**
 * Judges the evidence and records the decision; an accepted one becomes the member's referral.
 * One transaction with the caller's: a racing referrer loses at the referrals primary key.
 */
export function attribute(db: Db, config: CourseConfig, args: { referredId: string; evidence: Evidence; eventId: number | null; now: number; paidExceptOrder?: string }): Decision {
  let v = judge(db, config, args);
  const { evidence } = args;
  const record = (verdict: Verdict) =>
    recordDecision(db, {
      referredId: args.referredId,
      referrerId: verdict.referrerId,
      source: evidence.source,
      accepted: verdict.ok,
      reason: verdict.reason,
      evidence: { code: evidence.code, link: evidence.link, group: evidence.group, order: evidence.orderId },
      eventId: args.eventId,
      now: args.now,
    });
  let decisionId = record(v);
  if (v.ok && !insertReferral(db, { referredId: args.referredId, referrerId: v.referrerId!, source: evidence.source, decisionId, now: args.now })) {
    // Cannot happen inside one transaction (judge saw no referral); kept so the ledger can never get two.
    v = { ok: false, reason: 'already_referred', referrerId: v.referrerId };
    decisionId = record(v);
  }
  return { ...v, decisionId, text: v.ok ? '' : REASON_TEXT[v.reason as Exclude<Reason, 'accepted'>] };
}

/** Window in words, for docs and replies. */
export function windowText(config: CourseConfig): string {
  return config.referral ? formatDuration(config.referral.window) : '';
}
