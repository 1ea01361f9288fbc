import { z } from 'zod';
import { isDuration, parseDuration } from '../util/duration.js';
import { parseTimeOfDay } from '../util/localtime.js';
import { addressSpecProblem, hostNameProblem } from '../util/address-list.js';

/** A duration string such as `30s`, `2h`, `1d2h`, parsed to milliseconds. */
export const duration = z
  .union([z.string(), z.literal(0)])
  .refine((s) => s === 0 || isDuration(s), { message: 'expected a duration such as 30s, 10m, 2h, 1d, 1d2h' })
  .transform((s) => (s === 0 ? 0 : parseDuration(s)));

/** A zod check from a function that says what is wrong with a value (undefined: nothing). */
function addressCheck(problem: (s: string) => string | undefined) {
  return (s: string, ctx: z.RefinementCtx) => {
    const p = problem(s);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  };
}

const timeOfDay = z
  .string()
  .refine((s) => {
    try {
      parseTimeOfDay(s);
      return true;
    } catch {
      return false;
    }
  }, { message: 'expected a time of day as "HH:MM" (24-hour, quoted)' })
  .transform(parseTimeOfDay);

const timeZone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected an IANA time zone such as Asia/Shanghai' },
);

const handle = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lowercase letters, digits, - and _');

const rewardSchema = z.strictObject({
  kind: z.enum(['cashback', 'coupon', 'free_session']),
  /** value in fen: the cash-back amount, or the coupon's face value; 0 for a free session */
  fen: z.number().int().min(0).max(100_000_000).default(0),
  /** what the operator hands out, shown in the ledger and the export (e.g. "1 节一对一答疑") */
  note: z.string().max(200).default(''),
});

const referralSchema = z.strictObject({
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

/** Telegram: about 30 messages/s per bot (25 keeps a margin), 1/s per chat, 20/min per group. */
export const TELEGRAM_PACING_DEFAULTS = { account_interval: 40, chat_interval: 1000, group_per_minute: 20, jitter: 0, daily_cap: 100_000, reserve: 1000 };

/** The part of the daily cap kept for the urgent lane must leave the others some of it. */
function reserveBelowCap(o: { daily_cap: number; reserve: number }, ctx: z.RefinementCtx): void {
  if (o.reserve >= o.daily_cap) ctx.addIssue({ code: 'custom', path: ['reserve'], message: `reserve (${o.reserve}) must be less than daily_cap (${o.daily_cap})` });
}

const telegramPacing = z
  .strictObject({
    account_interval: duration.default(TELEGRAM_PACING_DEFAULTS.account_interval),
    chat_interval: duration.default(TELEGRAM_PACING_DEFAULTS.chat_interval),
    group_per_minute: z.number().int().min(1).max(60).default(TELEGRAM_PACING_DEFAULTS.group_per_minute),
    jitter: duration.default(TELEGRAM_PACING_DEFAULTS.jitter),
    daily_cap: z.number().int().min(1).default(TELEGRAM_PACING_DEFAULTS.daily_cap),
    /** Of the daily cap, what only the urgent lane (welcomes, staff answers, login links) may use. */
    reserve: z.number().int().min(0).default(TELEGRAM_PACING_DEFAULTS.reserve),
  })
  .superRefine(reserveBelowCap);

export const roleNames = ['owner', 'instructor', 'assistant'] as const;

/** The defaults of `private_channel.wechat` (docs/wechat.md explains the ban-risk reasoning). */
export const WECHAT_CHANNEL_DEFAULTS = {
  accept: ['keyword', 'members'] as ('keyword' | 'members')[] | 'everyone' | 'none',
  keywords: ['试听'],
  referral_codes: true,
  delay: { min: 30_000, max: 180_000 },
  daily_cap: 100,
  add_hint: '还没加我为好友的话，点群公告里「{bot}」的名片加好友，验证消息写「试听」，通过后马上私信你',
};

/**
 * The private channel (docs/wechat.md, docs/telegram.md): how long private messages wait for it
 * to open, how WeChat friend requests are accepted, what the group welcome tells a newcomer.
 */
const privateChannelSchema = z.strictObject({
  /** Private messages to someone whose channel is not open wait this long, then expire. */
  hold_for: duration.default(7 * 86_400_000),
  wechat: z
    .strictObject({
      /** Whose friend requests the account accepts: everyone, none (by hand), or any of keyword / members. */
      accept: z
        .union([z.enum(['everyone', 'none']), z.array(z.enum(['keyword', 'members'])).min(1)])
        .default(WECHAT_CHANNEL_DEFAULTS.accept),
      /** For `keyword`: words one of which the request's greeting must contain. */
      keywords: z.array(z.string().min(1).max(32)).default(WECHAT_CHANNEL_DEFAULTS.keywords),
      /** For `keyword`: a valid referral code in the greeting counts as a keyword. */
      referral_codes: z.boolean().default(WECHAT_CHANNEL_DEFAULTS.referral_codes),
      /** A random wait before each acceptance: bursts of acceptances are a ban signal. */
      delay: z
        .strictObject({ min: duration.default(WECHAT_CHANNEL_DEFAULTS.delay.min), max: duration.default(WECHAT_CHANNEL_DEFAULTS.delay.max) })
        .default(WECHAT_CHANNEL_DEFAULTS.delay),
      /** Acceptances per local day; the rest wait for the next day. */
      daily_cap: z.number().int().min(1).max(1000).default(WECHAT_CHANNEL_DEFAULTS.daily_cap),
      /** What {open_channel} says on WeChat (how to add the account as a friend). */
      add_hint: z.string().min(1).max(500).default(WECHAT_CHANNEL_DEFAULTS.add_hint),
    })
    .default(WECHAT_CHANNEL_DEFAULTS),
  telegram: z
    .strictObject({
      /** The bot's username for t.me deep links (default: what Telegram's getMe says at start). */
      username: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9_]{3,31}$/, 'a Telegram bot username: letters, digits and _, as @BotFather shows it (without @)')
        .optional(),
      /** What {open_channel} says on Telegram; {start_link} is the deep link. */
      start_hint: z.string().min(1).max(500).default('点这个链接私聊我，再点「Start / 开始」：{start_link}'),
    })
    .default({ start_hint: '点这个链接私聊我，再点「Start / 开始」：{start_link}' }),
});

export type PrivateChannelConfig = z.output<typeof privateChannelSchema>;

/** When a standing job runs: a local time (`at: "20:00"`) or a cron expression, checked at load. */
const scheduleSchema = z.strictObject({
  at: z.string().optional(),
  cron: z.string().optional(),
  /** IANA zone of `at`/`cron` (default: course.timezone). */
  timezone: timeZone.optional(),
  /** Missed while kequn was down: still run on start if at most this late (default: scheduler.grace). */
  grace: duration.optional(),
});

/** Check-ins (打卡): streaks, make-ups, leave, the leaderboard and the daily reminder. */
const checkinSchema = z.strictObject({
  /** Groups whose members are reminded (default: every group not of kind staff). */
  groups: z.array(handle).optional(),
  min_length: z.number().int().min(0).default(0),
  max_length: z.number().int().min(1).default(500),
  /** A refused check-in in a group: answer it there, or stay silent (private chats always answer). */
  group_errors: z.enum(['reply', 'silent']).default('reply'),
  makeup: z
    .strictObject({ within: z.number().int().min(0).max(31).default(2), per_month: z.number().int().min(0).default(2) })
    .default({ within: 2, per_month: 2 }),
  leave: z
    .strictObject({ max_days: z.number().int().min(1).max(31).default(7), per_month: z.number().int().min(0).default(4) })
    .default({ max_days: 7, per_month: 4 }),
  rank_size: z.number().int().min(1).max(50).default(10),
  reminder: scheduleSchema
    .extend({
      /** Groups that get the reminder (default: checkin.groups). */
      groups: z.array(handle).optional(),
      nudge_after: z.number().int().min(0).default(0),
    })
    .optional(),
});

/** Homework: one assignment per cohort week, submitted privately, reminded before the deadline. */
const homeworkSchema = z.strictObject({
  /** Groups whose members get the assignments (default: every group of kind paid). */
  groups: z.array(handle).optional(),
  /** Zone of `opens`/`due` (default: course.timezone). */
  timezone: timeZone.optional(),
  reminders: z.array(duration).default([24 * 3_600_000, 2 * 3_600_000]),
  /** Submissions after the deadline are accepted, flagged late, until this long after it. */
  late_until: duration.default(7 * 86_400_000),
  grace: duration.optional(),
  assignments: z
    .array(
      z.strictObject({
        week: z.number().int().min(1),
        title: z.string().min(1),
        description: z.string().default(''),
        opens: z.string(),
        due: z.string(),
      }),
    )
    .min(1),
});

/** `qa.clarify`: the menu the bot offers when it is not sure (docs/qa.md, "Clarification"). */
const CLARIFY_DEFAULTS = { enabled: true, min: 0.25, choices: 3, ratio: 0.6, within: 5 * 60_000, member: 3, group: 6, learn: true };
const clarifySchema = z.strictObject({
  /** false: below the threshold the question escalates (or the bot stays silent) as before. */
  enabled: z.boolean().default(CLARIFY_DEFAULTS.enabled),
  /** A menu only when the right entry is at least this likely (0-1) to be among its choices. */
  min: z.number().min(0).max(1).default(CLARIFY_DEFAULTS.min),
  /** At most this many choices. */
  choices: z.number().int().min(1).max(5).default(CLARIFY_DEFAULTS.choices),
  /** A runner-up is a choice when it scores at least this share of the best entry. */
  ratio: z.number().min(0).max(1).default(CLARIFY_DEFAULTS.ratio),
  /** A number from the asker within this time picks an entry; then the menu is closed. */
  within: duration.default(CLARIFY_DEFAULTS.within),
  /** Menus per member per qa.escalation.window; past it the question is escalated (within its limits). */
  member: z.number().int().min(0).default(CLARIFY_DEFAULTS.member),
  /** Menus per group per qa.escalation.window, so menus never pile up in a group. */
  group: z.number().int().min(0).default(CLARIFY_DEFAULTS.group),
  /** A member's pick teaches the entry their wording (not from members flagged by moderation). */
  learn: z.boolean().default(CLARIFY_DEFAULTS.learn),
});

export const mainSchema = z.strictObject({
  course: z.strictObject({
    name: z.string().min(1),
    timezone: timeZone.default('Asia/Shanghai'),
    bot_name: z.string().min(1).default('课群助手'),
  }),
  data: z.string().min(1).default('../data/kequn.db'),
  web: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8787),
      /** Host names the pages and admin API answer to besides loopback (docs/operations.md, Exposure); KEQUN_ALLOWED_HOSTS overrides. */
      allowed_hosts: z.array(z.string().superRefine(addressCheck(hostNameProblem))).default([]),
      /** Proxies whose X-Forwarded-For/-Proto are believed: addresses, CIDRs, `loopback`, `private`; KEQUN_TRUST_PROXY overrides. */
      trust_proxy: z.array(z.string().superRefine(addressCheck(addressSpecProblem))).default([]),
    })
    .default({ host: '127.0.0.1', port: 8787, allowed_hosts: [], trust_proxy: [] }),
  groups: z.record(
    handle,
    z.strictObject({
      name: z.string().min(1),
      kind: z.enum(['trial', 'paid', 'staff']).default('trial'),
      wechat: z.string().min(1).optional(),
      telegram: z.union([z.string().min(1), z.number().int()]).transform(String).optional(),
      dry_run: z.boolean().optional(),
      /** How the bot recognises a question in this group (overrides qa.detect). */
      qa_detect: z.array(z.enum(['question_mark', 'interrogative', 'mention'])).optional(),
      /** Staff commands typed in this group are accepted (default: only in groups of kind staff). */
      commands: z.boolean().optional(),
      /** Ads and spam in this group are warned and removed (settings: the moderation section). */
      moderation: z.boolean().optional(),
    }),
  ),
  staff: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        role: z.enum(roleNames),
        wechat: z.string().min(1).optional(),
        telegram: z.union([z.string().min(1), z.number().int()]).transform(String).optional(),
      }),
    )
    .default([]),
  /**
   * Lifecycle stages in order. `to` lists the stages a member may move to from this one; a stage
   * without `to` may move anywhere (a course that writes no `to` has no transition rules).
   */
  stages: z.array(z.strictObject({ id: handle, phase: z.string().optional(), to: z.array(z.string()).optional() })).min(1),
  /** Stage moves caused by payments (applied by the order hooks in src/flows/lifecycle/stage-machine.ts). */
  lifecycle: z
    .strictObject({
      on_paid: z.string().nullable().default(null),
      on_refunded: z.string().nullable().default(null),
    })
    .default({ on_paid: null, on_refunded: null }),
  /** Referral codes, attribution and rewards (docs/referrals.md); absent = referrals off. */
  referral: referralSchema.nullable().default(null),
  lessons: z.array(z.strictObject({ n: z.number().int().min(1), title: z.string().min(1), file: z.string().min(1) })).default([]),
  sequences: z
    .record(
      handle,
      z.strictObject({
        while_stage: z.array(z.string()).min(1),
        /**
         * Step times count from `start` (when start_sequence runs) or from `channel`: the opening
         * of the member's private channel (the sequence waits for it, at most private_channel.hold_for).
         */
        count_from: z.enum(['start', 'channel']).default('start'),
        steps: z
          .array(
            z.strictObject({
              after: duration,
              lesson: z.number().int().optional(),
              template: z.string().optional(),
            }),
          )
          .min(1),
      }),
    )
    .default({}),
  quiet_hours: z
    .strictObject({
      start: timeOfDay,
      end: timeOfDay,
      replies: z.enum(['send', 'defer']).default('send'),
    })
    .nullable()
    .default(null),
  outbox: z
    .strictObject({
      account_interval: duration.default(1000),
      chat_interval: duration.default(2000),
      jitter: duration.default(500),
      /** Sent plus queued per local day never exceeds it (docs/operations.md). */
      daily_cap: z.number().int().min(1).default(1500),
      /** Of the daily cap, what only the urgent lane (welcomes, staff answers, login links) may use. */
      reserve: z.number().int().min(0).default(100),
      max_attempts: z.number().int().min(1).max(20).default(5),
      retry_backoff: duration.default(30_000),
      /** Telegram's own pace: its limits are per bot, per chat and per group, not WeChat's. */
      telegram: telegramPacing.default(TELEGRAM_PACING_DEFAULTS),
    })
    .superRefine(reserveBelowCap)
    .default({ account_interval: 1000, chat_interval: 2000, jitter: 500, daily_cap: 1500, reserve: 100, max_attempts: 5, retry_backoff: 30_000, telegram: TELEGRAM_PACING_DEFAULTS }),
  scheduler: z.strictObject({ grace: duration.default(6 * 3_600_000) }).default({ grace: 6 * 3_600_000 }),
  dry_run: z.boolean().default(false),
  private_channel: privateChannelSchema.default({
    hold_for: 7 * 86_400_000,
    wechat: WECHAT_CHANNEL_DEFAULTS,
    telegram: { start_hint: '点这个链接私聊我，再点「Start / 开始」：{start_link}' },
  }),
  checkin: checkinSchema.optional(),
  homework: homeworkSchema.optional(),
  qa: z
    .strictObject({
      /** Answer only when the retrieval confidence (0-1) is at least this (src/flows/qa/policy.ts DEFAULT_THRESHOLD). */
      threshold: z.number().min(0).max(1).default(0.7),
      /** Below the threshold: a numbered menu of the plausible entries instead of a guess (docs/qa.md; defaults as src/flows/qa/policy.ts DEFAULT_CLARIFY). */
      clarify: clarifySchema.default(CLARIFY_DEFAULTS),
      /** An escalated question nobody answered is reminded to the staff after this long (0: never). */
      remind_after: duration.default(4 * 3_600_000),
      detect: z.array(z.enum(['question_mark', 'interrogative', 'mention'])).default(['question_mark', 'interrogative', 'mention']),
      /** `instructors` (each instructor and assistant privately) or the handle of a staff group. */
      escalate_to: z.string().default('instructors'),
      /** Questions the bot takes up (answers or escalates) per member and per group per local day. */
      daily_quota: z
        .strictObject({ member: z.number().int().min(0).default(20), group: z.number().int().min(0).default(200) })
        .default({ member: 20, group: 200 }),
      /** How many questions go to the staff, how they are merged, and how often the asker hears (docs/qa.md). */
      escalation: z
        .strictObject({
          /** Escalations are counted, and the asker told, per this rolling window. */
          window: duration.default(10 * 60_000),
          /** At most this many of one member's questions go to the staff per window; the rest are recorded, not forwarded. */
          member: z.number().int().min(0).default(3),
          /** At most this many of one group's questions go to the staff per window. */
          group: z.number().int().min(0).default(20),
          /** Escalations to a staff chat within this time of the last one are merged into one message. */
          merge: duration.default(2 * 60_000),
        })
        .default({ window: 10 * 60_000, member: 3, group: 20, merge: 2 * 60_000 }),
      /** The same FAQ entry is not answered again in the same group within this time. */
      repeat_cooldown: duration.default(10 * 60_000),
      /** The LLM mode, used when OPENAI_API_KEY is set (see docs/qa.md). */
      llm: z
        .strictObject({
          /** false: never call the LLM, even with a key in the environment. */
          enabled: z.boolean().default(true),
          /** OPENAI_MODEL overrides it. */
          model: z.string().min(1).default('gpt-4o-mini'),
          /** Prompt + completion tokens per local day; then FAQ-only answers until tomorrow. */
          daily_token_budget: z.number().int().min(0).default(200_000),
          timeout: duration.default(20_000),
          /** How many retrieved FAQ entries the LLM sees. */
          passages: z.number().int().min(1).max(10).default(4),
          /** Below this retrieval confidence nothing in the FAQ is relevant: no LLM call. */
          min_confidence: z.number().min(0).max(1).default(0.15),
          /** Longer answers are cut. */
          max_answer_chars: z.number().int().min(50).max(2000).default(500),
          /** The endpoint's /embeddings model (bge-m3, text-embedding-v3, text-embedding-3-small…), fused with BM25; empty: none. OPENAI_EMBEDDING_MODEL overrides it. */
          embedding_model: z.string().default(''),
        })
        .default({ enabled: true, model: 'gpt-4o-mini', daily_token_budget: 200_000, timeout: 20_000, passages: 4, min_confidence: 0.15, max_answer_chars: 500, embedding_model: '' }),
    })
    .default({
      threshold: 0.7,
      clarify: CLARIFY_DEFAULTS,
      remind_after: 4 * 3_600_000,
      detect: ['question_mark', 'interrogative', 'mention'],
      escalate_to: 'instructors',
      daily_quota: { member: 20, group: 200 },
      escalation: { window: 10 * 60_000, member: 3, group: 20, merge: 2 * 60_000 },
      repeat_cooldown: 10 * 60_000,
      llm: { enabled: true, model: 'gpt-4o-mini', daily_token_budget: 200_000, timeout: 20_000, passages: 4, min_confidence: 0.15, max_answer_chars: 500, embedding_model: '' },
    }),
  announce: z
    .strictObject({
      /** A preview not confirmed within this time is void. */
      confirm_within: duration.default(10 * 60_000),
      /** While an announcement is going out, the author hears how far it got this often. */
      progress_every: duration.default(60_000),
    })
    .default({ confirm_within: 10 * 60_000, progress_every: 60_000 }),
  moderation: z
    .strictObject({
      /** Links to these domains (and their subdomains) are fine; any other link is an ad. */
      allowed_domains: z.array(z.string().min(1)).default([]),
      /** Words or phrases that mark a message as an ad (case-insensitive). */
      keywords: z.array(z.string().min(1)).default([]),
      /** WeChat ids and QQ numbers posted as contact details ("加微信 abc123") are ads. */
      contact_ids: z.boolean().default(true),
      /** The same text this many times within `within` is spam (texts of 6+ characters). */
      repeat: z.strictObject({ count: z.number().int().min(2).default(3), within: duration.default(10 * 60_000) }).default({ count: 3, within: 10 * 60_000 }),
      /** This many messages in one group within `within` is one flood (one offence); each further `count` is another. */
      flood: z.strictObject({ count: z.number().int().min(2).default(8), within: duration.default(60_000) }).default({ count: 8, within: 60_000 }),
      /** Warnings before removal: the offence after the last warning removes the member. */
      warnings: z.number().int().min(0).default(2),
      /** Ask the platform to delete the offending message where it allows the bot to. */
      delete: z.boolean().default(true),
      /** Warnings and removal notices to a group (and removal notices to the staff) within this time of the last one are merged. */
      merge: duration.default(60_000),
    })
    .default({ allowed_domains: [], keywords: [], contact_ids: true, repeat: { count: 3, within: 10 * 60_000 }, flood: { count: 8, within: 60_000 }, warnings: 2, delete: true, merge: 60_000 }),
});

export type MainConfig = z.output<typeof mainSchema>;

export const templatesSchema = z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'template names use lowercase letters, digits and _'), z.string());

/** Raw rule shape; conditions and actions are checked by the rule compiler against the registry. */
export const rulesSchema = z.strictObject({
  rules: z.array(
    z.strictObject({
      id: handle,
      description: z.string().optional(),
      on: z.enum(['member.joined', 'member.left', 'message', 'command', 'timer', 'checkin', 'order.paid', 'order.refunded', 'channel.opened']),
      when: z.record(z.string(), z.unknown()).default({}),
      cooldown: duration.optional(),
      final: z.boolean().default(false),
      do: z.array(z.record(z.string(), z.unknown())).min(1),
    }),
  ),
});

export type RawRule = z.output<typeof rulesSchema>['rules'][number];

/** The course FAQ: questions with alternate phrasings and their answers (config/faq.yaml). */
export const faqSchema = z.strictObject({
  entries: z
    .array(
      z.strictObject({
        id: handle,
        q: z.string().min(1),
        also: z.array(z.string().min(1)).default([]),
        a: z.string().min(1),
      }),
    )
    .default([]),
});
