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

export const timeOfDay = z
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

export const timeZone = z.string().refine(
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

export const handle = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lowercase letters, digits, - and _');

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
export const scheduleSchema = z.strictObject({
  at: z.string().optional(),
  cron: z.string().optional(),
  /** IANA zone of `at`/`cron` (default: course.timezone). */
  timezone: timeZone.optional(),
  /** Missed while kequn was down: still run on start if at most this late (default: scheduler.grace). */
  grace: duration.optional(),
});

/** One entry of kequn.yaml's `groups:` as the core reads it; features add keys (Feature.groupKeys). */
export const groupSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.enum(['trial', 'paid', 'staff']).default('trial'),
  wechat: z.string().min(1).optional(),
  telegram: z.union([z.string().min(1), z.number().int()]).transform(String).optional(),
  dry_run: z.boolean().optional(),
  /** Staff commands typed in this group are accepted (default: only in groups of kind staff). */
  commands: z.boolean().optional(),
});

/**
 * The core's sections of kequn.yaml. The loader adds `groups:` (with the keys features add to a
 * group) and each feature's own sections (mainSchemaWith below).
 */
const coreShape = {
  course: z.strictObject({
    name: z.string().min(1),
    timezone: timeZone.default('Asia/Shanghai'),
    bot_name: z.string().min(1).default('课群助手'),
    /** Language of what the seller reads on the dashboard and in `kequn stats` (zh: 中文, the default). */
    locale: z.enum(['zh', 'en']).default('zh'),
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
      /** The base URL links the bot sends start with (the dashboard login; checkout links too unless catalog.yaml says otherwise); KEQUN_PUBLIC_URL overrides. */
      public_url: z.string().url().optional(),
    })
    .default({ host: '127.0.0.1', port: 8787, allowed_hosts: [], trust_proxy: [] }),
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
};

/** kequn.yaml's schema: the core's sections, `groups:` with the features' keys, the features' sections. */
export function mainSchemaWith(sections: Record<string, z.ZodType>, groupKeys: Record<string, z.ZodType>): z.ZodType {
  return z.strictObject({ ...coreShape, groups: z.record(handle, groupSchema.extend(groupKeys)), ...sections });
}

// Only its type is used (MainConfig below); the loader builds the full schema with mainSchemaWith.
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- used as a type
const coreMainSchema = z.strictObject({ ...coreShape, groups: z.record(handle, groupSchema) });

/** kequn.yaml's core sections as parsed (a feature's section resolver sees these typed, the rest as unknown). */
export type MainConfig = z.output<typeof coreMainSchema>;

export const templatesSchema = z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'template names use lowercase letters, digits and _'), z.string());

/** Raw rule shape; conditions and actions are checked by the rule compiler against the registry. */
function ruleSchema(triggers: readonly [string, ...string[]]) {
  return z.strictObject({
    id: handle,
    description: z.string().optional(),
    on: z.enum(triggers),
    when: z.record(z.string(), z.unknown()).default({}),
    cooldown: duration.optional(),
    final: z.boolean().default(false),
    /** Runs last, and only when no other rule answered this event (the Q&A's answer). */
    fallback: z.boolean().default(false),
    do: z.array(z.record(z.string(), z.unknown())).min(1),
  });
}

/** rules.yaml's schema, `on:` limited to the rule types the core and the features fire. */
export function rulesSchemaFor(triggers: readonly [string, ...string[]]) {
  return z.strictObject({ rules: z.array(ruleSchema(triggers)) });
}

/** A rule as parsed; `on` is narrowed to the rule types by the loader (RawRule in src/core/types.ts). */
export type RawRule = z.output<ReturnType<typeof ruleSchema>>;

