import { formatAmount } from '../flows/orders/catalog.js';
import { getMember } from '../store/members.js';
import { listOrders, orderCounts, type OrderState } from '../flows/orders/store/orders.js';
import { oneLine } from '../util/display-text.js';
import { localParts } from '../util/localtime.js';
import { withCourseStore } from './check.js';

const STATES: OrderState[] = ['created', 'paid', 'partially_refunded', 'refunded', 'expired', 'closed'];

/** `kequn orders [--state S] [--limit N]`: counts by state, then the newest orders. */
export function runOrders(opts: { configDir: string; state?: string; limit: number; write: (line: string) => void }): number {
  const { write } = opts;
  if (opts.state !== undefined && !STATES.includes(opts.state as OrderState)) {
    write(`--state must be one of ${STATES.join(', ')}`);
    return 2;
  }
  return withCourseStore(opts.configDir, write, (config, db) => {
    const counts = orderCounts(db);
    write(STATES.map((s) => `${s} ${counts[s] ?? 0}`).join(' · '));
    const tz = config.course.timezone;
    const when = (t: number) => {
      const p = localParts(t, tz);
      const two = (n: number) => String(n).padStart(2, '0');
      return `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}`;
    };
    for (const o of listOrders(db, { state: opts.state as OrderState | undefined, limit: opts.limit })) {
      const who = oneLine(getMember(db, o.member_id)?.display_name ?? o.member_id);
      const paid = o.paid_amount !== null ? ` paid ${formatAmount(o.paid_amount, o.currency)} via ${o.provider}` : '';
      const refunded = o.refunded_amount > 0 ? ` refunded ${formatAmount(o.refunded_amount, o.currency)}` : '';
      write(`${o.id}  ${when(o.created_at)}  ${o.state.padEnd(18)} ${o.product_id}  ${formatAmount(o.amount, o.currency)}${o.code ? ` (${o.code})` : ''}  ${who}${paid}${refunded}`);
    }
    return 0;
  });
}
