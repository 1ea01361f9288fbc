import { readNamedFile } from '../../config/named-file.js';
import type { MainConfig } from '../../config/schema.js';
import type { YamlFile } from '../../config/yaml-file.js';
import { localParts } from '../../util/localtime.js';
import { CODE_ATTEMPT_DEFAULTS, shopSecretVar, type CatalogFile, type Coupon, type LoyaltyRule, type Product, type WechatPaySettings } from './catalog-schema.js';

/** What a course sells and how it is paid for, resolved at load (config/catalog.yaml). */
export interface Catalog {
  products: Record<string, Product>;
  coupons: Record<string, Coupon>;
  /** Returning members' discounts, in the order written (the first that matches applies). */
  loyalty: LoyaltyRule[];
  pricing: CatalogFile['pricing'];
  payments: Omit<CatalogFile['payments'], 'wechatpay'> & {
    /** Checkout links start with this (no trailing slash). */
    publicUrl: string;
    wechatpay: (WechatPaySettings & { platformKeys: { serial: string; pem: string }[] }) | undefined;
  };
}

export function emptyCatalog(): Catalog {
  return {
    products: {},
    coupons: {},
    loyalty: [],
    pricing: { floor_percent: 0 },
    payments: {
      provider: 'sandbox',
      publicUrl: 'http://127.0.0.1:8787',
      link_ttl: 2 * 3_600_000,
      paid_stage: 'paid',
      reconcile_every: 60_000,
      notify_window: 15 * 60_000,
      code_attempts: CODE_ATTEMPT_DEFAULTS,
      wechatpay: undefined,
    },
  };
}

/** Checks references (groups, stages, products, key files) and reports problems at their keys. */
export function loadCatalog(
  raw: CatalogFile,
  ctx: { file: YamlFile; dir: string; groups: MainConfig['groups']; web: MainConfig['web']; stageIds: string[]; env: NodeJS.ProcessEnv },
): Catalog {
  const { file } = ctx;
  const products: Record<string, Product> = {};
  for (const [id, p] of Object.entries(raw.products)) {
    // `buy: next` means the member's next product on the course path (course-path.ts).
    if (id === 'next') file.problem(['products', id], '"next" is reserved (buy: next is the next product on the course path); name the product otherwise');
    products[id] = { ...p, id };
    p.groups.forEach((g, i) => {
      const group = ctx.groups[g];
      if (!group) file.problem(['products', id, 'groups', i], `unknown group "${g}" (groups: ${Object.keys(ctx.groups).join(', ')})`);
      else if (group.kind !== 'paid') file.problem(['products', id, 'groups', i], `group "${g}" is of kind ${group.kind}; a product unlocks groups of kind paid`);
    });
    p.requires.forEach((r, i) => {
      if (r === id) file.problem(['products', id, 'requires', i], 'a product cannot require itself');
      else if (!(r in raw.products)) file.problem(['products', id, 'requires', i], `unknown product "${r}" (products: ${Object.keys(raw.products).join(', ')})`);
    });
    p.upgrade_from.forEach((r, i) => {
      if (r === id) file.problem(['products', id, 'upgrade_from', i], 'a product cannot be an upgrade from itself');
      else if (!(r in raw.products)) file.problem(['products', id, 'upgrade_from', i], `unknown product "${r}" (products: ${Object.keys(raw.products).join(', ')})`);
      else if (raw.products[r]!.price_fen >= p.price_fen) file.problem(['products', id, 'upgrade_from', i], `"${r}" costs as much or more (${raw.products[r]!.price_fen} fen); an upgrade is from a cheaper product`);
    });
    if (p.sale.from !== undefined && p.sale.until !== undefined && p.sale.until <= p.sale.from) file.problem(['products', id, 'sale', 'until'], 'the sale ends before it starts');
    // Without the shop's secret its callback is off: only staff /paid can mark these orders paid.
    const secretVar = p.external ? shopSecretVar(p.external.shop) : undefined;
    if (secretVar && (ctx.env[secretVar] ?? '').length < 16) file.warn(['products', id, 'external', 'shop'], `${secretVar} is not set (16+ characters): the shop's callback is off, only /paid marks these orders paid (docs/loyalty.md)`);
  }
  // A bundle is sold like a product whose groups are all its products' groups; what the buyer
  // already bought of it is credited like an upgrade (pricing.ts).
  for (const [id, b] of Object.entries(raw.bundles)) {
    if (id in raw.products || id === 'next') {
      file.problem(['bundles', id], id === 'next' ? '"next" is reserved (buy: next)' : `"${id}" is also a product; a bundle needs an id of its own`);
      continue;
    }
    const known = b.products.filter((pid, i) => {
      if (pid in raw.products && !raw.products[pid]!.external) return true;
      file.problem(['bundles', id, 'products', i], pid in raw.products ? `"${pid}" is sold in an external shop; a bundle is paid here` : `unknown product "${pid}" (products: ${Object.keys(raw.products).join(', ')})`);
      return false;
    });
    if (new Set(b.products).size !== b.products.length) file.problem(['bundles', id, 'products'], 'a product is listed twice');
    const sum = known.reduce((n, pid) => n + raw.products[pid]!.price_fen, 0);
    if (known.length === b.products.length && b.price_fen >= sum) file.problem(['bundles', id, 'price_fen'], `the bundle costs ${b.price_fen} fen, not less than its products together (${sum} fen)`);
    const groups = [...new Set(known.flatMap((pid) => raw.products[pid]!.groups))];
    products[id] = {
      id,
      title: b.title,
      description: b.description,
      price_fen: b.price_fen,
      currency: 'CNY',
      stars: b.stars,
      groups,
      sale: b.sale,
      remove_on_refund: known.every((pid) => raw.products[pid]!.remove_on_refund),
      tags: [...new Set(known.flatMap((pid) => raw.products[pid]!.tags))],
      topics: [...new Set(known.flatMap((pid) => raw.products[pid]!.topics))],
      requires: [],
      upgrade_from: known,
      bundle: known,
      // A bundle with a product sold by cohort sells a seat of that cohort too (the open one);
      // one without is a product of its own.
      cohort: known.some((pid) => raw.products[pid]!.cohort !== 'none') ? raw.products[known.find((pid) => raw.products[pid]!.cohort !== 'none')!]!.cohort : 'none',
    };
  }
  const loyalty = raw.loyalty === undefined ? [] : Array.isArray(raw.loyalty) ? raw.loyalty : [raw.loyalty];
  loyalty.forEach((rule, i) => {
    const at = Array.isArray(raw.loyalty) ? ['loyalty', i] : ['loyalty'];
    rule.stages.forEach((st, j) => {
      if (!ctx.stageIds.includes(st)) file.problem([...at, 'stages', j], `unknown stage "${st}" (stages: ${ctx.stageIds.join(', ')})`);
    });
    (rule.products ?? []).forEach((pid, j) => {
      if (!(pid in products)) file.problem([...at, 'products', j], `unknown product "${pid}"`);
    });
  });
  const coupons: Record<string, Coupon> = {};
  for (const [code, c] of Object.entries(raw.coupons)) {
    coupons[code] = { ...c, code };
    (c.products ?? []).forEach((p, i) => {
      if (!(p in products)) file.problem(['coupons', code, 'products', i], `unknown product "${p}"`);
    });
  }
  const pay = raw.payments;
  if (!ctx.stageIds.includes(pay.paid_stage)) file.problem(['payments', 'paid_stage'], `unknown stage "${pay.paid_stage}" (stages: ${ctx.stageIds.join(', ')})`);
  if (pay.provider === 'wechatpay' && !pay.wechatpay) file.problem(['payments', 'provider'], 'provider wechatpay needs a wechatpay section (mchid, appid, serial, platform_keys)');
  let wechatpay: Catalog['payments']['wechatpay'];
  if (pay.wechatpay) {
    const platformKeys = pay.wechatpay.platform_keys.flatMap((k, i) => {
      const f = readNamedFile(ctx.dir, k.file);
      if (!f.ok) {
        file.problem(['payments', 'wechatpay', 'platform_keys', i, 'file'], f.message);
        return [];
      }
      return [{ serial: k.serial, pem: f.text }];
    });
    wechatpay = { ...pay.wechatpay, platformKeys };
  }
  const publicUrl = (ctx.env.KEQUN_PUBLIC_URL ?? pay.public_url ?? ctx.web.public_url ?? `http://127.0.0.1:${ctx.env.KEQUN_PORT ?? ctx.web.port}`).replace(/\/+$/, '');
  return { products, coupons, loyalty, pricing: raw.pricing, payments: { ...pay, publicUrl, wechatpay } };
}

/** Whether a product is on sale at `now` (its sale window). */
export function onSale(p: Product, now: number): boolean {
  return (p.sale.from === undefined || now >= p.sale.from) && (p.sale.until === undefined || now < p.sale.until);
}

/** `19900` → `¥199.00`; Stars as `500 ⭐`. */
export function formatAmount(amount: number, currency: string): string {
  if (currency === 'XTR') return `${amount} ⭐`;
  return `¥${Math.floor(amount / 100)}.${String(amount % 100).padStart(2, '0')}`;
}

/** A time as buyers read it, in the course's zone: `3月2日 12:00` (the checkout link's expiry in the DM and on the page). */
export function formatLocalTime(epochMs: number, timeZone: string): string {
  const t = localParts(epochMs, timeZone);
  return `${t.month}月${t.day}日 ${String(t.hour).padStart(2, '0')}:${String(t.minute).padStart(2, '0')}`;
}
