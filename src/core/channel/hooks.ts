import type { Db } from '../../store/db.js';
import type { CourseConfig } from '../types.js';

/**
 * What features add to the private channel (Feature.channel), combined by the registry in the
 * order of the list: the core keeps the channel's state and the held messages; a feature plans
 * what waited for it (the trial's drip), and says what a deep link or a friend request's greeting
 * means to it (a referral code).
 */
export interface ChannelHooks {
  /** The channel opened: plan what waited for it; notes for the trace. */
  opened(db: Db, config: CourseConfig, args: { memberId: string; platform: string; now: number; cutoff: number }): string[];
  /** The text a Telegram deep-link payload stands for, as if the member said it (`ref-K7M2XQ` → `推荐码 K7M2XQ`), or null. */
  startPayloadText(payload: string): string | null;
  /** Why a friend request's greeting qualifies under the `keyword` policy besides a keyword (a valid referral code), or null. */
  greetingReason(db: Db, config: CourseConfig, greeting: string): string | null;
  /** What else qualifies a greeting, for the refusal's wording (`a referral code`), or null. */
  greetingAlso(config: CourseConfig): string | null;
}

/** The hooks of a course with no feature that adds to the channel. */
export const NO_CHANNEL_HOOKS: ChannelHooks = {
  opened: () => [],
  startPayloadText: () => null,
  greetingReason: () => null,
  greetingAlso: () => null,
};
