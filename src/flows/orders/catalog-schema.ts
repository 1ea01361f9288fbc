import { z } from 'zod';
import { duration } from '../../config/schema.js';

/** An ISO date-time with an offset (`2026-03-01T00:00:00+08:00`), parsed to epoch ms. */
const instant = z
  .string()
  .refine((s) => /[T ]\d{2}:\d{2}/.test(s) && !Number.isNaN(Date.parse(s)), { message: 'expected an ISO date-time such as 2026-03-01T00:00:00+08:00' })
  .transform((s) => Date.parse(s));

const handle = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lowercase letters, digits, - and _');

/**
 * The shops kequn knows by name: the id names the callback route (`/shop/callback/xiaoe`) and
 * its secret's environment variable (`KEQUN_SHOP_SECRET_XIAOE`). `other` is any shop or relay.
 */
export const SHOPS = { xiaoe: '小鹅通', youzan: '有赞', zsxq: '知识星球', other: '其他店铺' } as const;
export type ShopId = keyof typeof SHOPS;
const shopIds = Object.keys(SHOPS) as ShopId[];
/** The environment variable holding a shop's shared secret: `KEQUN_SHOP_SECRET_XIAOE`. Never in config. */
export function shopSecretVar(shop: ShopId): string {
  return `KEQUN_SHOP_SECRET_${shop.toUpperCase()}`;
}
const shopName = z
  .string()
  .refine((s) => shopIds.includes(s as ShopId) || Object.values(SHOPS).includes(s as (typeof SHOPS)[ShopId]), {
    message: `a shop is one of ${shopIds.map((id) => `${id} (${SHOPS[id]})`).join(', ')}`,
  })
  .transform((s) => (shopIds.includes(s as ShopId) ? (s as ShopId) : shopIds.find((id) => SHOPS[id] === s)!));

const externalShop = z.strictObject({
  /** The product's page in the shop (https). The member's personal link redirects here with `kequn_ref=<order id>` added. */
  url: z.string().url().refine((u) => /^https?:\/\//.test(u), { message: 'the shop link must be an http(s) URL' }),
  shop: shopName,
});

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
   * checkout; the default when kequn.yaml has cohorts), or `none`: a product of its own, not sold
   * by cohort (a recorded course, a camp sold elsewhere), whose buyers go to its own `groups`.
   * docs/cohorts.md.
   */
  cohort: z.union([z.literal('open'), z.literal('none'), handle]).optional(),
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
  /**
   * Cheaper products whose price a buyer already paid is credited here: an upgrade pays the
   * difference (docs/loyalty.md). Checked against known products at load.
   */
  upgrade_from: z.array(handle).max(10).default([]),
  /** Sold in a shop the seller already uses (小鹅通, 有赞, 知识星球): kequn's link redirects there (docs/loyalty.md). */
  external: externalShop.optional(),
});

/**
 * A returning member's discount (docs/loyalty.md): matches a member whose stage is one of
 * `stages`, or who has one of `tags`, or (`returning: true`) who has paid for another product.
 */
const loyaltyRule = z
  .strictObject({
    stages: z.array(z.string().min(1)).max(20).default([]),
    tags: z.array(z.string().trim().min(1).max(40)).max(20).default([]),
    returning: z.boolean().default(false),
    percent_off: z.number().int().min(1).max(90).optional(),
    off_fen: z.number().int().min(1).max(100_000_000).optional(),
    /** Products it applies to (default: all). */
    products: z.array(handle).optional(),
    /** The reason the buyer reads (default: 「老学员 9 折」 / 「老学员立减 ¥20.00」). */
    note: z.string().trim().min(1).max(30).optional(),
  })
  .refine((r) => (r.off_fen === undefined) !== (r.percent_off === undefined), { message: 'a loyalty rule is either percent_off or off_fen' })
  .refine((r) => r.stages.length > 0 || r.tags.length > 0 || r.returning, { message: 'a loyalty rule names stages, tags or returning: true (whom it rewards)' });

/** Several products sold together for one price; what the buyer already bought of them is credited. */
const bundle = z.strictObject({
  title: z.string().min(1).max(120),
  description: z.string().max(500).default(''),
  products: z.array(handle).min(2).max(20),
  price_fen: z.number().int().min(1).max(100_000_000),
  stars: z.number().int().min(1).max(1_000_000).optional(),
  sale: z.strictObject({ from: instant.optional(), until: instant.optional() }).default({}),
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
  /** Returning members' discounts: one rule or a list; the first that matches applies. */
  loyalty: z.union([loyaltyRule, z.array(loyaltyRule).max(20)]).optional(),
  bundles: z.record(handle, bundle).default({}),
  pricing: z
    .strictObject({
      /**
       * Discounts (loyalty, coupon, referral) stop at this percent of the price after an upgrade
       * credit: 60 means a buyer pays at least 60%. 0: only the 1-fen minimum.
       */
      floor_percent: z.number().int().min(0).max(100).default(0),
    })
    .default({ floor_percent: 0 }),
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
export type Product = z.output<typeof product> & {
  id: string;
  /** For a bundle (catalog.yaml `bundles:`): the products it includes; their groups are its groups. */
  bundle?: string[];
};
export type LoyaltyRule = z.output<typeof loyaltyRule>;
export type Coupon = z.output<typeof coupon> & { code: string };
export type WechatPaySettings = z.output<typeof wechatpay>;
