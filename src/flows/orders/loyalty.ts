/**
 * Prices that reward loyalty (docs/loyalty.md), as discount sources of the order service: the
 * credit of an upgrade (what the buyer paid for a cheaper product of `upgrade_from`, or for the
 * products of a bundle they already have) and a returning member's discount (catalog.yaml
 * `loyalty:`). Both are computed here on the server from the store, like every price.
 */
import { formatAmount, type Catalog } from './catalog.js';
import type { DiscountSource } from './contracts.js';
import { getMember, tagsOf } from '../../store/members.js';
import type { Db } from '../../store/db.js';
import { paidProductsOf } from './store/orders.js';

/** The products a member owns: paid (and not fully refunded) directly, or as part of a bundle. */
export function ownedProducts(db: Db, catalog: Catalog, memberId: string): Set<string> {
  const owned = new Set<string>();
  for (const r of paidProductsOf(db, memberId)) {
    owned.add(r.product_id);
    for (const p of catalog.products[r.product_id]?.bundle ?? []) owned.add(p);
  }
  return owned;
}

/** `《Python 入门》《数据分析》` */
function titles(catalog: Catalog, ids: string[]): string {
  return ids.map((id) => `《${catalog.products[id]?.title ?? id}》`).join('');
}

/**
 * The upgrade credit: what the buyer kept paid (CNY) for the products this one upgrades from
 * (a bundle: its products they bought one by one). Stars payments are not credited against a
 * price in fen.
 */
export const upgradeSource: DiscountSource = (db, config, q) => {
  const product = config.catalog.products[q.productId];
  if (!product || product.upgrade_from.length === 0) return null;
  const from = new Set(product.upgrade_from);
  let fen = 0;
  const credited: string[] = [];
  for (const r of paidProductsOf(db, q.memberId)) {
    if (!from.has(r.product_id) || r.currency !== 'CNY' || r.kept <= 0) continue;
    fen += r.kept;
    if (!credited.includes(r.product_id)) credited.push(r.product_id);
  }
  if (fen <= 0) return null;
  const note = product.bundle ? `已购${titles(config.catalog, credited)}，套餐补差价` : `已购${titles(config.catalog, credited)}，补差价升级`;
  return { kind: 'upgrade', code: '', fen, note };
};

/** `percent_off: 10` → 「老学员 9 折」; 15 → 「老学员 8.5 折」. */
export function loyaltyNote(rule: { percent_off?: number; off_fen?: number; note?: string }): string {
  if (rule.note) return rule.note;
  if (rule.percent_off !== undefined) return `老学员 ${String((100 - rule.percent_off) / 10)} 折`;
  return `老学员立减 ${formatAmount(rule.off_fen!, 'CNY')}`;
}

/**
 * A returning member's discount: the first `loyalty:` rule for this product that matches the
 * member's stage, tags, or (returning) a product they paid for before. Percent of the price after
 * an upgrade credit, rounded down to the fen.
 */
export const loyaltySource: DiscountSource = (db, config, q) => {
  const rules = config.catalog.loyalty;
  if (rules.length === 0) return null;
  const member = getMember(db, q.memberId);
  if (!member) return null;
  let tags: string[] | undefined;
  let returning: boolean | undefined;
  for (const rule of rules) {
    if (rule.products && !rule.products.includes(q.productId)) continue;
    let match = rule.stages.includes(member.stage);
    if (!match && rule.tags.length > 0) {
      tags ??= tagsOf(db, q.memberId);
      match = rule.tags.some((t) => tags!.includes(t));
    }
    if (!match && rule.returning) {
      returning ??= paidProductsOf(db, q.memberId).some((r) => r.product_id !== q.productId);
      match = returning;
    }
    if (!match) continue;
    const fen = rule.percent_off !== undefined ? Math.floor((q.priceFen * rule.percent_off) / 100) : rule.off_fen!;
    return { kind: 'loyalty', code: '', fen, note: loyaltyNote(rule) };
  }
  return null;
};
