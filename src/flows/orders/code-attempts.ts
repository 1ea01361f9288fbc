import type { CourseConfig } from '../../core/types.js';
import { inTransaction, type Db } from '../../store/db.js';
import { recordCodeAttempt, refusedCodeAttempts } from './store/code-attempts.js';
import type { OrderRow } from './store/orders.js';
import type { DiscountSource } from './contracts.js';
import { applyCode } from './orders.js';
import type { Price } from './pricing.js';

/** What became of a code typed at checkout. */
export type CodeEntry =
  | { outcome: 'accepted' | 'refused'; price: Price }
  /** Over a limit: the code was not looked at. `retryAt`: when the oldest counted refusal leaves the window. */
  | { outcome: 'limited'; by: 'order' | 'member' | 'client'; retryAt: number };

/**
 * A code (coupon or referral) typed into the checkout page of `order`, from client address
 * `client`: refused codes are counted per order, per member and per client address within
 * `payments.code_attempts.per`, and once any count reaches its limit the code is not even
 * looked at, so a guesser learns nothing more, a right code included (700 guesses in 1.5 s
 * once found EARLY50 and VIP10). Every attempt is recorded, accepted or not; an empty code
 * (taking a code off) is no attempt. One transaction: the count and the record go together.
 *
 * @example enterCode(db, config, discountSourcesOf(services), order, { code: 'EARLY50', client: '203.0.113.7', now })
 */
export function enterCode(db: Db, config: CourseConfig, sources: readonly DiscountSource[], order: OrderRow, args: { code: string; client: string; now: number }): CodeEntry {
  return inTransaction(db, () => {
    if (args.code === '') return { outcome: 'accepted', price: applyCode(db, config, sources, order, '', args.now) };
    const limits = config.catalog.payments.code_attempts;
    const since = args.now - limits.per;
    const checks = [
      ['order', order.id, limits.order],
      ['member', order.member_id, limits.member],
      ['client', args.client, limits.client],
    ] as const;
    for (const [by, key, max] of checks) {
      const { n, first } = refusedCodeAttempts(db, by, key, since);
      if (n >= max) {
        recordCodeAttempt(db, { orderId: order.id, memberId: order.member_id, client: args.client, code: args.code, outcome: 'limited', now: args.now });
        return { outcome: 'limited', by, retryAt: (first ?? args.now) + limits.per };
      }
    }
    const price = applyCode(db, config, sources, order, args.code, args.now);
    const outcome = price.codeRejected ? 'refused' : 'accepted';
    recordCodeAttempt(db, { orderId: order.id, memberId: order.member_id, client: args.client, code: args.code, outcome, now: args.now });
    return { outcome, price };
  });
}
