/**
 * What the orders feature does itself when one of its events runs (src/flows/orders/service.ts
 * emits them in the transaction that changes the order): the receipt and the paid groups' access
 * on `order.paid`, the refund notice and the removal from paid groups on `order.refunded`.
 */
import type { CourseConfig, RunContext } from '../../core/types.js';
import { formatAmount } from './catalog.js';
import { queuePaidGroupLink, queueRefundRemovals } from './paid-access.js';
import { accessGroups, cohortOfOrder } from './cohort-seats.js';
import { getOrder, type OrderRow } from './store/orders.js';

/** Used when a course's templates.yaml does not define the order templates. */
export const DEFAULT_TEMPLATES = {
  order_receipt: '✅ 支付成功！\n课程：{product}\n实付：{amount}\n订单号：{order}',
  order_invite: '🎓 欢迎加入「{paid_group}」，助教会尽快拉你进群。',
  order_refunded: '已为你办理退款 {refund}（订单 {order}，{product}），款项会原路退回。',
} as const;

/** The template variables of an order's messages. */
export function orderVars(config: CourseConfig, order: OrderRow, amount: number): Record<string, string> {
  const product = config.catalog.products[order.product_id];
  return { product: product?.title ?? order.product_id, amount: formatAmount(amount, order.currency), price: formatAmount(order.list_amount, order.currency), order: order.id };
}

/** `order.paid`: the receipt, then each paid group's access (a Telegram invite link, or the WeChat text). */
export function receiptAndAccess(ctx: RunContext): void {
  const e = ctx.trigger.order!;
  const { db, config, now } = ctx;
  const paid = getOrder(db, e.id)!;
  const vars = orderVars(config, paid, e.amount);
  // Stryker disable next-line StringLiteral: an order event's reply is the buyer's DM, so every target lands in the same chat
  ctx.send({ to: 'dm', text: ctx.render(config.templates.order_receipt ?? DEFAULT_TEMPLATES.order_receipt, vars) });
  // The cohort whose seat was bought: the buyer is in it now, and let into its paid groups.
  const cohort = cohortOfOrder(ctx.services.cohorts, paid);
  if (cohort && ctx.services.cohorts.assign(db, { memberId: paid.member_id, cohortId: cohort.id, source: 'order', reason: `order ${paid.id}`, by: null, now })) {
    ctx.note(`member in cohort ${cohort.id} (paid seat)`);
  }
  for (const g of accessGroups(config.catalog.products[paid.product_id], cohort)) {
    // Telegram: a one-person invite link follows once the Bot API made it; WeChat: the text.
    if (queuePaidGroupLink(db, config, paid, g, now)) continue;
    // A product's groups are checked at load: the group exists.
    // Stryker disable next-line StringLiteral: an order event's reply is the buyer's DM, so every target lands in the same chat
    ctx.send({ to: 'dm', text: ctx.render(config.templates.order_invite ?? DEFAULT_TEMPLATES.order_invite, { ...vars, paid_group: config.groups[g]!.name }) });
  }
  ctx.note(`order ${paid.id} paid (${formatAmount(e.amount, paid.currency)} via ${paid.provider})`);
}

/** `order.refunded`: the member is told; a full refund takes them out of the paid groups when the product says so. */
export function refundNotice(ctx: RunContext): void {
  const e = ctx.trigger.order!;
  const { db, config, now } = ctx;
  const order = getOrder(db, e.id)!;
  // A refunded order was paid: paid_amount is set.
  // Stryker disable next-line StringLiteral: an order event's reply is the buyer's DM, so every target lands in the same chat
  ctx.send({ to: 'dm', text: ctx.render(config.templates.order_refunded ?? DEFAULT_TEMPLATES.order_refunded, { ...orderVars(config, order, order.paid_amount!), refund: formatAmount(e.amount, order.currency) }) });
  const product = config.catalog.products[order.product_id];
  if (e.state === 'refunded' && product?.remove_on_refund) {
    const n = queueRefundRemovals(db, config, order, accessGroups(product, cohortOfOrder(ctx.services.cohorts, order)), now);
    if (n > 0) ctx.note(`removal from ${n} paid group(s) queued`);
  }
  ctx.note(`order ${order.id} ${e.state} (${formatAmount(e.amount, order.currency)})`);
}
