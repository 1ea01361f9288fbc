/**
 * The course path (docs/loyalty.md): catalog.yaml's products in the order written, each with the
 * products it `requires`. A member's next product is the first one on sale that they do not own
 * and whose requirements they own; bundles are not steps of the path, and a product an owned one
 * requires or upgrades from is behind the member (who bought 数据分析 is not offered 入门).
 */
import type { Db } from '../../store/db.js';
import { onSale, type Catalog } from './catalog.js';
import { ownedProducts } from './loyalty.js';

export function nextOnPath(db: Db, catalog: Catalog, memberId: string, now: number): string | undefined {
  const owned = ownedProducts(db, catalog, memberId);
  const behind = new Set([...owned].flatMap((id) => [...(catalog.products[id]?.requires ?? []), ...(catalog.products[id]?.upgrade_from ?? [])]));
  const steps = Object.values(catalog.products).filter((p) => !p.bundle && onSale(p, now) && !owned.has(p.id) && !behind.has(p.id));
  return (steps.find((p) => p.requires.every((r) => owned.has(r))) ?? steps[0])?.id;
}
