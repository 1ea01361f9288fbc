/**
 * What referrals add to the private channel (Feature.channel): a Telegram deep link carrying a
 * code (`/start ref-<CODE>`, or a bare well-formed code) is handled as if the member said it, and
 * a WeChat friend request whose greeting carries a valid referral code qualifies under the
 * `keyword` policy (private_channel.wechat.referral_codes).
 */
import type { ChannelHooks } from '../../core/channel/hooks.js';
import { referrerOfCode } from './attribution.js';
import { findCodeInText, isWellFormed, normalizeCode } from './code.js';

/**
 * The referral code a deep-link payload carries, if any.
 *
 * @example codeOfStartPayload('ref-K7M2XQ') // 'K7M2XQ'
 * @example codeOfStartPayload('src-xhs')    // null
 */
export function codeOfStartPayload(payload: string): string | null {
  const p = payload.trim();
  const ref = /^ref[-_]([A-Za-z0-9]{4,12})$/i.exec(p);
  if (ref) return normalizeCode(ref[1]!);
  if (/^[A-Za-z0-9]{4,12}$/.test(p) && isWellFormed(normalizeCode(p))) return normalizeCode(p);
  return null;
}

export const referralChannel: Partial<ChannelHooks> = {
  startPayloadText(payload) {
    const code = codeOfStartPayload(payload);
    return code ? `推荐码 ${code}` : null;
  },
  greetingReason(db, config, greeting) {
    if (!config.referral) return null;
    const code = findCodeInText(greeting);
    return code && referrerOfCode(db, code) ? `referral code ${code} in the greeting` : null;
  },
  greetingAlso: (config) => (config.referral ? 'a referral code' : null),
};
