/**
 * The `referral:` section of kequn.yaml (docs/referrals.md): codes, attribution window, rewards and
 * tiers, checked at load (stages that exist, tiers in order, the templates referrals send).
 */
import { z } from 'zod';
import { unknownStage } from '../../config/checks.js';
import { duration } from '../../config/schema.js';
import type { SectionContext } from '../../config/section.js';
import { section } from '../../core/feature.js';
import type { CourseConfig } from '../../core/types.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    /** Referrals (null: off), with `blocked_stages` resolved. */
    referral: (ReferralConfig & { blocked_stages: string[] }) | null;
  }
}

/** Templates the referral feature sends; required when `referral:` is configured. */
export const REFERRAL_TEMPLATES = ['referral_mycode', 'referral_not_yet', 'referral_accepted', 'referral_rejected'] as const;

const rewardSchema = z.strictObject({
  kind: z.enum(['cashback', 'coupon', 'free_session']),
  /** value in fen: the cash-back amount, or the coupon's face value; 0 for a free session */
  fen: z.number().int().min(0).max(100_000_000).default(0),
  /** what the operator hands out, shown in the ledger and the export (e.g. "1 节一对一答疑") */
  note: z.string().max(200).default(''),
});

export const referralSchema = z.strictObject({
  /** Stages whose members get a referral code (on entering them, or on /mycode). */
  issue_at: z.array(z.string()).min(1).default(['paid']),
  code_length: z.number().int().min(5).max(12).default(6),
  /** Evidence (a code, an invite) counts only this long after the newcomer was first seen. */
  window: duration.default(30 * 86_400_000),
  /** Code attempts per member (said in chat) before further attempts are refused for a while. */
  attempts: z
    .strictObject({ max: z.number().int().min(1).max(100).default(5), per: duration.default(3_600_000) })
    .default({ max: 5, per: 3_600_000 }),
  /** Referrers in these stages cannot refer (default: `churned`, when the course has it). */
  blocked_stages: z.array(z.string()).optional(),
  /** Discount for the referred newcomer at checkout, fen (capped at the list price). */
  newcomer_discount: z.number().int().min(0).max(100_000_000).default(0),
  /** The referrer's reward when a referred member pays their first order. */
  reward: rewardSchema.default({ kind: 'cashback', fen: 0, note: '' }),
  /** Extra rewards at numbers of paid referrals (e.g. at: 3). */
  tiers: z.array(rewardSchema.extend({ at: z.number().int().min(1) })).default([]),
  /** Where the referrer moves when a referred member pays (e.g. loyal); null = stays. */
  referrer_stage: z.string().nullable().default(null),
});

export type ReferralConfig = z.output<typeof referralSchema>;


/** Stage references, reward and tier amounts, the templates; blocked stages resolved. */
function resolveReferral(r: ReferralConfig | null, ctx: SectionContext): CourseConfig['referral'] {
  if (!r) return null;
  const { file, stageIds, templates, templatesFile } = ctx;
  r.issue_at.forEach((s, i) => {
    const p = unknownStage(s, stageIds);
    if (p) file.problem(['referral', 'issue_at', i], p);
  });
  r.blocked_stages?.forEach((s, i) => {
    const p = unknownStage(s, stageIds);
    if (p) file.problem(['referral', 'blocked_stages', i], p);
  });
  if (r.referrer_stage !== null) {
    const p = unknownStage(r.referrer_stage, stageIds);
    if (p) file.problem(['referral', 'referrer_stage'], p);
  }
  // A cash-back of 0 means "no reward" (the referral still counts); a coupon of 0 is a mistake.
  if (r.reward.kind === 'coupon' && r.reward.fen === 0) file.problem(['referral', 'reward', 'fen'], 'a coupon reward needs its value in fen');
  let last = 0;
  r.tiers.forEach((t, i) => {
    if (t.at <= last) file.problem(['referral', 'tiers', i, 'at'], 'tiers must be in increasing order of `at`');
    last = t.at;
    if (t.kind !== 'free_session' && t.fen === 0) file.problem(['referral', 'tiers', i, 'fen'], `a ${t.kind} tier needs an amount in fen`);
  });
  for (const t of REFERRAL_TEMPLATES) {
    if (!(t in templates)) templatesFile.problem([], `referrals are configured: templates.yaml needs a "${t}" template (see docs/referrals.md)`);
  }
  // Referrers in these stages are refused: as configured, else `churned` when the course has it.
  return { ...r, blocked_stages: r.blocked_stages ?? stageIds.filter((s) => s === 'churned') };
}

/** kequn.yaml's `referral:` (absent: referrals off). */
export const referralSection = section({ key: 'referral', as: 'referral', schema: referralSchema.nullable().default(null), resolve: resolveReferral });
