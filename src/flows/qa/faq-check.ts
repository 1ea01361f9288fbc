import type { CourseCheck } from '../../core/feature.js';
import { courseValueNames } from '../../core/templates.js';
import type { CourseConfig } from '../../core/types.js';
import { didYouMean } from '../../util/suggest.js';

/** An amount in yuan as written in Chinese text: `1999 元`, `¥199`, `￥19.9`. */
const AMOUNT = /(?:[¥￥]\s*(\d+(?:\.\d{1,2})?))|(\d+(?:\.\d{1,2})?)\s*元/g;

/** `199.00` and `199` are the same amount; `19.90` is `19.9`. */
const canonical = (n: string) => String(Number(n));

/**
 * The FAQ against the rest of the course: a `{product.x.price}` that names nothing is refused
 * (with a suggestion), and an answer that names an amount no product, coupon or referral
 * discount has is a warning: the demo FAQ once said 1999 元 while the catalog sold at 199.
 */
export function checkFaq(config: CourseConfig, check: CourseCheck): void {
  const names = Object.keys(config.values);
  const amounts = new Set(
    Object.entries(config.values)
      .filter(([k]) => /\.(price|off|discount|reward)$/.test(k))
      .map(([, v]) => canonical(v)),
  );
  config.faq.forEach((entry, i) => {
    for (const name of courseValueNames(entry.answer)) {
      if (!(name in config.values)) check.problem('faq.yaml', ['entries', i, 'a'], `unknown course value {${name}}${didYouMean(name, names)} (course values: ${names.join(', ') || 'none'})`);
    }
    if (amounts.size === 0) return;
    for (const m of entry.answer.matchAll(AMOUNT)) {
      const n = canonical(m[1] ?? m[2]!);
      if (!amounts.has(n)) {
        const prices = names.filter((k) => k.endsWith('.price')).map((k) => `{${k}} = ${config.values[k]}`);
        check.warn('faq.yaml', ['entries', i, 'a'], `names ${m[0].trim()}, which is no price or discount of this course (${prices.join(', ')}): write the value's name, e.g. {${names.find((k) => k.endsWith('.price'))}} 元, so it follows the catalog`);
      }
    }
  });
}
