import type { CourseConfig } from '../../core/types.js';
import type { Discount, DiscountSource } from '../orders/contracts.js';
import type { Db } from '../../store/db.js';
import { activeCodeOf, everInStage, hasPaidOrder, referralOf } from './store.js';
import { normalizeCode } from './code.js';
import { judge, REASON_TEXT, referrerOfCode, type Reason } from './attribution.js';
import { yuan } from '../../util/money.js';

/**
 * What a code typed into the checkout form would do, without writing anything: for the order
 * service to show "推荐码已生效，减 20 元" or the reason it is refused before the buyer pays.
 * The checkout form must rate-limit calls itself (this function cannot count attempts).
 *
 * @example checkReferralCode(db, config, { memberId, code: 'k7m2xq', now }) // { ok: true, referrerId: 'm_…', fen: 2000, text: '…' }
 */
export function checkReferralCode(
  db: Db,
  config: CourseConfig,
  q: { memberId: string; code: string; now: number },
): { ok: boolean; reason: Reason; referrerId: string | null; fen: number; text: string } {
  const code = normalizeCode(q.code);
  const v = judge(db, config, { referredId: q.memberId, evidence: { source: 'checkout', referrerId: referrerOfCode(db, code), code }, now: q.now });
  // Already referred by this very code's owner: the discount stands.
  const ok = v.ok || v.reason === 'already_referred_same';
  const fen = ok ? (config.referral?.newcomer_discount ?? 0) : 0;
  return { ok, reason: v.reason, referrerId: v.referrerId, fen, text: ok ? `推荐码已生效，报名立减 ${yuan(fen)} 元。` : REASON_TEXT[v.reason as Exclude<Reason, 'accepted'>] };
}

/**
 * The newcomer's referral discount, for the order service's list of DiscountSources: a member
 * with an accepted referral, or one entering a valid code at checkout, gets
 * `referral.newcomer_discount` fen off their first order (capped at the list price). The
 * referrer's reward is booked by referralOrderHooks when the order is paid. Reads only.
 */
export const referralDiscount: DiscountSource = (db, config, q) => {
  const r = config.referral;
  if (!r || r.newcomer_discount <= 0) return null;
  // First order only: a returning customer is not a newcomer.
  if (hasPaidOrder(db, q.memberId) || everInStage(db, q.memberId, r.issue_at, q.now + 1)) return null;
  const existing = referralOf(db, q.memberId);
  let referrerId: string;
  let code: string;
  if (existing) {
    referrerId = existing.referrer_id;
    code = activeCodeOf(db, referrerId)?.code ?? existing.source;
  } else if (q.code !== undefined && q.code.trim() !== '') {
    const check = checkReferralCode(db, config, { memberId: q.memberId, code: q.code, now: q.now });
    if (!check.ok || check.referrerId === null) return null;
    referrerId = check.referrerId;
    code = normalizeCode(q.code);
  } else {
    return null;
  }
  const discount: Discount = {
    kind: 'referral',
    code,
    fen: Math.min(r.newcomer_discount, q.priceFen),
    referrerMemberId: referrerId,
    note: existing ? `referred via ${existing.source}` : 'code entered at checkout',
  };
  return discount;
};
