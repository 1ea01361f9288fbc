import { readNamedFile } from '../../config/named-file.js';
import type { MainConfig } from '../../config/schema.js';
import type { YamlFile } from '../../config/yaml-file.js';
import { localParts } from '../../util/localtime.js';
import { CODE_ATTEMPT_DEFAULTS, type CatalogFile, type Coupon, type Product, type WechatPaySettings } from './catalog-schema.js';

/** What a course sells and how it is paid for, resolved at load (config/catalog.yaml). */
export interface Catalog {
  products: Record<string, Product>;
  coupons: Record<string, Coupon>;
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
    if (p.sale.from !== undefined && p.sale.until !== undefined && p.sale.until <= p.sale.from) file.problem(['products', id, 'sale', 'until'], 'the sale ends before it starts');
  }
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
  return { products, coupons, payments: { ...pay, publicUrl, wechatpay } };
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
