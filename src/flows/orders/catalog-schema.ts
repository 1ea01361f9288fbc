import { z } from 'zod';
import { duration } from '../../config/schema.js';

/** An ISO date-time with an offset (`2026-03-01T00:00:00+08:00`), parsed to epoch ms. */
const instant = z
  .string()
  .refine((s) => /[T ]\d{2}:\d{2}/.test(s) && !Number.isNaN(Date.parse(s)), { message: 'expected an ISO date-time such as 2026-03-01T00:00:00+08:00' })
  .transform((s) => Date.parse(s));

const handle = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lowercase letters, digits, - and _');

const product = z.strictObject({
  title: z.string().min(1).max(120),
  description: z.string().max(500).default(''),
  /** List price in fen (CNY): 19900 is ¥199.00. Integers only: money is never a float here. */
  price_fen: z.number().int().min(1).max(100_000_000),
  currency: z.literal('CNY').default('CNY'),
  /** Telegram Stars price (XTR), for Telegram buyers (digital goods must be sold in Stars there). */
  stars: z.number().int().min(1).max(1_000_000).optional(),
  /**
   * Group handles (kind: paid) the product unlocks. May be left out when the course has cohorts:
   * a buyer is then invited to the paid groups of the cohort whose seat they bought.
   */
  groups: z.array(z.string().min(1)).default([]),
  /**
   * The cohort (期) whose seats it sells: a cohort id, or `open` (the cohort open for sale at
   * checkout; the default when kequn.yaml has cohorts). docs/cohorts.md.
   */
  cohort: z.union([z.literal('open'), handle]).optional(),
  sale: z.strictObject({ from: instant.optional(), until: instant.optional() }).default({}),
  /** Seats: at most this many paid orders. */
  seats: z.number().int().min(1).optional(),
  /** A full refund removes the buyer from `groups` (where the bot is allowed to remove members). */
  remove_on_refund: z.boolean().default(true),
  /** What the course is about, for profiles and recommendations (`python`, `数据分析`). */
  tags: z.array(z.string().trim().min(1).max(20)).max(20).default([]),
  /** Topics it teaches, as members ask about them (`pandas`, `numpy`): FAQ entry ids or words. */
  topics: z.array(z.string().trim().min(1).max(40)).max(50).default([]),
  /** Products a buyer should have (bought) before this one: the course path. */
  requires: z.array(handle).max(10).default([]),
});

const coupon = z
  .strictObject({
    /** Fixed amount off, fen. */
    off_fen: z.number().int().min(1).optional(),
    /** Percent off (1-100); the discount is rounded down to the fen. */
    percent_off: z.number().int().min(1).max(100).optional(),
    /** Products it applies to (default: all). */
    products: z.array(z.string().min(1)).optional(),
    valid: z.strictObject({ from: instant.optional(), until: instant.optional() }).default({}),
    /** Paid orders that may use it in total / per member. */
    max_uses: z.number().int().min(1).optional(),
    per_member: z.number().int().min(1).default(1),
  })
  .refine((c) => (c.off_fen === undefined) !== (c.percent_off === undefined), { message: 'a coupon is either off_fen or percent_off' });

/**
 * Codes (coupon or referral) typed at checkout: refused ones per order, per member and per client
 * address within `per`; past a limit no code is looked at until the window moves on.
 */
export const CODE_ATTEMPT_DEFAULTS = { order: 5, member: 10, client: 30, per: 3_600_000 };
const codeAttempts = z
  .strictObject({
    order: z.number().int().min(1).max(100).default(CODE_ATTEMPT_DEFAULTS.order),
    member: z.number().int().min(1).max(1000).default(CODE_ATTEMPT_DEFAULTS.member),
    client: z.number().int().min(1).max(10_000).default(CODE_ATTEMPT_DEFAULTS.client),
    per: duration.default(CODE_ATTEMPT_DEFAULTS.per),
  })
  .default(CODE_ATTEMPT_DEFAULTS);

const platformKey = z.strictObject({ serial: z.string().min(1).max(64), file: z.string().min(1) });

const wechatpay = z.strictObject({
  mchid: z.string().regex(/^\d{6,20}$/, 'the merchant id (mchid) is a number string'),
  appid: z.string().regex(/^wx[0-9a-zA-Z]{16}$/, 'an appid looks like wx0123456789abcdef'),
  /** Serial number of the merchant API certificate (not secret; the private key is, and comes from the environment). */
  serial: z.string().min(8).max(64),
  /** Platform certificates or the platform public key (PEM files, relative to the config folder), by serial / public key id. */
  platform_keys: z.array(platformKey).min(1),
  /** The official account behind `appid` can do OAuth (snsapi_base) for JSAPI openids; its AppSecret comes from WECHAT_MP_SECRET. */
  official_account: z.boolean().default(false),
  /** Override of the API base (tests point it at a fake server). */
  api_base: z.string().url().default('https://api.mch.weixin.qq.com/'),
  /** Override of the official-account OAuth API base (tests). */
  oauth_api_base: z.string().url().default('https://api.weixin.qq.com'),
});

export const catalogSchema = z.strictObject({
  products: z.record(handle, product).default({}),
  coupons: z.record(z.string().regex(/^[A-Za-z0-9_-]{2,32}$/, 'coupon codes are 2-32 letters, digits, _ or -'), coupon).default({}),
  payments: z
    .strictObject({
      provider: z.enum(['sandbox', 'wechatpay']).default('sandbox'),
      /** Base URL members open checkout links at (https in production); KEQUN_PUBLIC_URL overrides. */
      public_url: z.string().url().optional(),
      /** A checkout link (and its unpaid order) expires after this. */
      link_ttl: duration.default(2 * 3_600_000),
      /** The stage a paid member moves to. */
      paid_stage: z.string().default('paid'),
      /** How often pending payments are queried with the provider. */
      reconcile_every: duration.default(60_000),
      /** After a link expires, pending payments are still queried for this long (the provider's notification window), then closed. */
      notify_window: duration.default(15 * 60_000),
      /** Limits on codes typed at checkout (guessing coupons); docs/payments.md. */
      code_attempts: codeAttempts,
      wechatpay: wechatpay.optional(),
    })
    .default({ provider: 'sandbox', link_ttl: 2 * 3_600_000, paid_stage: 'paid', reconcile_every: 60_000, notify_window: 15 * 60_000, code_attempts: CODE_ATTEMPT_DEFAULTS }),
});

export type CatalogFile = z.output<typeof catalogSchema>;
export type Product = z.output<typeof product> & { id: string };
export type Coupon = z.output<typeof coupon> & { code: string };
export type WechatPaySettings = z.output<typeof wechatpay>;
