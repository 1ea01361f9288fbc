import type { CourseConfig } from '../../core/types.js';
import { yuan } from '../../util/money.js';

/**
 * What catalog.yaml holds that templates and FAQ answers may name, so a price is written once:
 * `{product.python-vip.price}` (yuan, `199`), `{product.python-vip.title}`,
 * `{product.python-vip.description}`, and coupons' discounts: `{coupon.EARLY50.off}` (yuan),
 * `{coupon.VIP10.percent}`.
 */
export function catalogValues(config: CourseConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, p] of Object.entries(config.catalog.products)) {
    out[`product.${id}.price`] = yuan(p.price_fen);
    out[`product.${id}.title`] = p.title;
    out[`product.${id}.description`] = p.description;
  }
  for (const [code, c] of Object.entries(config.catalog.coupons)) {
    if (c.off_fen !== undefined) out[`coupon.${code}.off`] = yuan(c.off_fen);
    else if (c.percent_off !== undefined) out[`coupon.${code}.percent`] = String(c.percent_off);
  }
  return out;
}
