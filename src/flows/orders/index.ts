import { z } from 'zod';
import { formatAmount, formatLocalTime, onSale } from './catalog.js';
import { openCheckout } from './orders.js';
import { discountSourcesOf } from './pricing.js';
import { requestRefundRow } from './refunds.js';
import { getOrder, retryFailedInvoice } from './store/orders.js';
import { fmtLocal } from '../../util/localtime.js';
import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { catalogValues } from './course-values.js';
import type { CourseCheck, Feature, ReportContext, ReportLines } from '../../core/feature.js';
import { UsageError, type ActionSpec, type CommandSpec, type CourseConfig, type RunContext } from '../../core/types.js';
import type { Member } from '../../store/members.js';
import type { WebContext } from '../../web/context.js';
import { catalogSection } from './config.js';
import type { OrderEvent } from './contracts.js';
import { receiptAndAccess, refundNotice } from './events.js';
import { paidGroupLinkCreated } from './paid-access.js';
import { latestOrderOf, ordersPaidSince } from './store/orders.js';
import { createCheckoutRoutes } from './web/checkout.js';
import { createOrdersApi } from './web/orders-api.js';
import { createSandboxRoutes } from './web/sandbox-pages.js';
import type { Orders } from './wiring.js';

declare module '../../core/types.js' {
  interface TriggerTypes {
    /** An order was paid (src/flows/orders/service.ts emits it in the transaction that marks it paid). */
    'order.paid': true;
    /** A refund of an order succeeded. */
    'order.refunded': true;
  }
  interface Trigger {
    /** For `order.paid` / `order.refunded`: the order (amounts in fen, or Stars for XTR). */
    order?: OrderEvent;
  }
}

declare module '../../web/context.js' {
  interface Runtime {
    /** The order service and its provider, built by src/app.ts. */
    orders: Orders;
  }
}

const TEMPLATES = ['order_link', 'order_unavailable'] as const;

const REASONS: Record<string, string> = {
  unknown_product: '这门课程不存在',
  not_on_sale: '这门课程现在不在售卖时间内',
  sold_out: '这一期名额已满',
  already_paid: '你已经购买过这门课程了',
  no_stars_price: '这门课程暂不支持在 Telegram 购买',
  no_cohort: '现在没有正在招生的一期',
  cohort_closed: '这一期已经停止报名',
};

/** The product a `buy` without a product means: the first one in catalog.yaml on sale now. */
function defaultProduct(ctx: RunContext): string | undefined {
  return Object.values(ctx.config.catalog.products).find((p) => onSale(p, ctx.now))?.id ?? Object.keys(ctx.config.catalog.products)[0];
}

/**
 * Opens (or reuses) the member's checkout for a product and sends the link privately. The price
 * shown is computed here on the server; the link carries only a random token.
 */
function sendCheckoutLink(productId: string | undefined, ctx: RunContext): string {
  const { config, member, trigger, now } = ctx;
  if (!productId) {
    ctx.send({ to: 'dm', text: ctx.render(config.templates.order_unavailable!, { product: '', reason: '现在没有在售的课程' }) });
    return 'nothing on sale';
  }
  const r = openCheckout(ctx.db, config, discountSourcesOf(ctx.services), { memberId: member.id, platform: trigger.platform, platformId: trigger.userPlatformId, productId, now, cohorts: ctx.services.cohorts });
  const product = config.catalog.products[productId];
  if (!r.ok) {
    ctx.send({ to: 'dm', text: ctx.render(config.templates.order_unavailable!, { product: product?.title ?? productId, reason: REASONS[r.reason]! }) });
    return `not sold: ${r.reason}`;
  }
  const o = r.order;
  const expires = formatLocalTime(o.expires_at, config.course.timezone);
  ctx.send({
    to: 'dm',
    text: ctx.render(config.templates.order_link!, {
      product: product!.title,
      price: formatAmount(o.list_amount, o.currency),
      amount: formatAmount(o.amount, o.currency),
      link: `${config.catalog.payments.publicUrl}/pay/${o.token}`,
      expires,
      order: o.id,
      // `{cohort}`: 「第5期」 when the order sells a cohort's seat, else empty.
      cohort: o.cohort_id !== null ? `（${ctx.services.cohorts?.byId(o.cohort_id)?.name ?? o.cohort_id}）` : '',
    }),
  });
  // A Stars invoice that could not be sent goes out afresh once this event commits (wiring.ts).
  const retried = r.reused && o.invoice_error !== null && retryFailedInvoice(ctx.db, o.id);
  const note = `${r.reused ? 'checkout link sent again' : 'order opened'}: ${o.id} ${formatAmount(o.amount, o.currency)}`;
  return retried ? `${note}; its invoice failed before (${o.invoice_error}), a fresh one is sent` : note;
}

const buyArg = z.union([z.strictObject({ product: z.string().min(1).optional() }), z.string().min(1)]).default({});

const buy: ActionSpec<z.infer<typeof buyArg>> = {
  name: 'buy',
  description: 'send the member a private checkout link for a product of catalog.yaml (default: the first on sale)',
  schema: buyArg,
  check(arg, ctx) {
    const problems = TEMPLATES.filter((t) => !(t in ctx.config.templates)).map((t) => `buy needs a "${t}" template in templates.yaml`);
    const product = typeof arg === 'string' ? arg : arg.product;
    if (product !== undefined && !(product in ctx.config.catalog.products)) {
      problems.push(`unknown product "${product}" (products in catalog.yaml: ${Object.keys(ctx.config.catalog.products).join(', ') || 'none'})`);
    }
    if (Object.keys(ctx.config.catalog.products).length === 0) problems.push('buy needs products in catalog.yaml');
    return problems;
  },
  run(arg, ctx) {
    const product = typeof arg === 'string' ? arg : (arg.product ?? defaultProduct(ctx));
    ctx.note(sendCheckoutLink(product, ctx));
  },
};

const buyCommand: CommandSpec = {
  name: 'buy',
  roles: ['owner', 'instructor', 'assistant', 'member'],
  usage: '/buy [课程编号]',
  description: '私信获取报名支付链接',
  run(args, ctx) {
    const id = args.trim().split(/\s+/)[0] || undefined;
    if (id !== undefined && !(id in ctx.config.catalog.products)) throw new UsageError(`没有课程 "${id.slice(0, 32)}"（可选：${Object.keys(ctx.config.catalog.products).join(', ')}）`);
    if (!TEMPLATES.every((t) => t in ctx.config.templates)) throw new UsageError('这门课还没有配置报名消息（order_link, order_unavailable）');
    return sendCheckoutLink(id ?? defaultProduct(ctx), ctx);
  },
};

/**
 * `/refund <order> [amount in yuan] [reason]`: staff ask for a refund; the order service sends it
 * to the provider, and the provider's confirmation revokes the stage and notifies the member.
 */
const refundCommand: CommandSpec = {
  name: 'refund',
  roles: ['owner', 'instructor'],
  usage: '/refund <订单号> [金额(元)] [原因]',
  description: '为已支付的订单退款（全额或部分）',
  run(args, ctx) {
    const m = /^(o_[A-Za-z0-9_-]{6,24})(?:\s+(\d+(?:\.\d{1,2})?))?(?:\s+([\s\S]+))?$/.exec(args.trim());
    if (!m) throw new UsageError('需要订单号（o_ 开头）');
    const order = getOrder(ctx.db, m[1]!);
    if (!order) throw new UsageError(`没有订单 ${m[1]}`);
    // Yuan to fen without floating point: "12.5" → 1250.
    const amount = m[2] === undefined ? undefined : order.currency === 'XTR' ? Number(m[2]) : Number(m[2].split('.')[0]) * 100 + Number((m[2].split('.')[1] ?? '').padEnd(2, '0'));
    const r = requestRefundRow(ctx.db, order.id, { amount, reason: m[3]?.trim() ?? '', by: ctx.member.id, now: ctx.now });
    if (!r.ok) throw new UsageError(r.error);
    ctx.send({ to: 'dm', text: `已提交退款 ${formatAmount(r.amount, order.currency)}（订单 ${order.id}，退款单 ${r.outRefundNo}），支付平台确认后会通知学员。` });
    return `refund ${r.outRefundNo} requested for ${order.id}: ${formatAmount(r.amount, order.currency)}`;
  },
};

/** `订单：o_… course paid ¥199.00，支付于 …`: the member's latest order that got anywhere (paid or refunded), else the latest open one. */
function memberReport(ctx: ReportContext, member: Member): ReportLines {
  const o = latestOrderOf(ctx.db, member.id, ['paid', 'partially_refunded', 'refunded']) ?? latestOrderOf(ctx.db, member.id, ['created']);
  if (!o) return { detail: ['订单：无'] };
  const money = (n: number) => (o.currency === 'XTR' ? `${n} Stars` : `¥${(n / 100).toFixed(2)}`);
  const when = o.paid_at !== null ? `，支付于 ${fmtLocal(o.paid_at, ctx.config.course.timezone)}` : '';
  return { detail: [`订单：${o.id} ${o.product_id} ${o.state} ${money(o.paid_amount ?? o.amount)}${when}${o.refunded_amount ? `，已退 ${money(o.refunded_amount)}` : ''}`] };
}

/** `订单：已支付 3 笔，¥597.00` (orders belong to no group, so only in the all-groups figures). */
function dayReport(ctx: ReportContext, args: { since: number; group: string | undefined }): ReportLines {
  if (args.group) return {};
  const rows = ordersPaidSince(ctx.db, args.since);
  if (rows.length === 0) return { detail: ['订单：今天没有支付'] };
  const parts = rows.map((r) => (r.currency === 'XTR' ? `${r.n} 笔 ${r.sum} Stars` : `${r.n} 笔 ¥${(r.sum / 100).toFixed(2)}`));
  return { detail: [`订单：已支付 ${parts.join('，')}`] };
}

/** The checkout pages, the payment provider's webhooks, the sandbox's pay page, the admin orders API. */
function routes(app: Hono, web: WebContext): void {
  const orders = web.runtime.orders;
  for (const prefix of ['/pay/*', '/webhooks/*', '/sandbox/*']) {
    app.use(prefix, bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: `body larger than ${MAX_BODY_BYTES} bytes` }, 413) }));
  }
  // The sandbox's pay page exists where the sandbox takes payments; in staging behind the admin login.
  const sandbox = orders.sandbox?.open && web.exposure !== 'real' ? orders.sandbox : undefined;
  app.route('/', createCheckoutRoutes(web, orders, { sandboxPage: sandbox !== undefined }));
  if (sandbox) app.route('/', createSandboxRoutes(web, sandbox, web.exposure === 'staging' ? web.admin : undefined));
  app.route('/api', createOrdersApi(web, orders));
}

/**
 * A product's `cohort:` names a cohort of kequn.yaml; a product without `groups` sells a cohort's
 * seats (its paid groups are where the buyer goes).
 */
function checkProductCohorts(config: CourseConfig, check: CourseCheck): void {
  const cohorts = config.cohorts ?? [];
  for (const [id, p] of Object.entries(config.catalog.products)) {
    if (p.cohort !== undefined && cohorts.length === 0) check.problem('catalog.yaml', ['products', id, 'cohort'], 'the course has no cohorts (kequn.yaml `cohorts:`)');
    else if (p.cohort !== undefined && p.cohort !== 'open' && !cohorts.some((c) => c.id === p.cohort)) {
      check.problem('catalog.yaml', ['products', id, 'cohort'], `unknown cohort "${p.cohort}" (cohorts: ${cohorts.map((c) => c.id).join(', ')}, or open)`);
    }
    if (p.groups.length === 0 && cohorts.length === 0) check.problem('catalog.yaml', ['products', id, 'groups'], 'a product unlocks paid groups: name them, or sell seats of a cohort (kequn.yaml `cohorts:`)');
    const sells = p.cohort === undefined || p.cohort === 'open' ? cohorts : cohorts.filter((c) => c.id === p.cohort);
    const bare = sells.filter((c) => c.paidGroups.length === 0);
    if (p.groups.length === 0 && bare.length > 0) {
      check.warn('catalog.yaml', ['products', id], `buyers of ${bare.map((c) => c.name).join('、')} get no group: the cohort has no group of kind paid and the product names no groups`);
    }
  }
}

/** Largest request body accepted on the checkout and webhook routes. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Orders: the `buy` action and `/buy`, `/refund` for staff, facts about the order of an
 * `order.*` event, the receipt and access on payment, the checkout pages and webhooks.
 */
export const ordersFeature: Feature = {
  name: 'orders',
  config: [catalogSection],
  uses: ['referral', 'cohorts'],
  triggers: ['order.paid', 'order.refunded'],
  templateVars: ['product', 'price', 'link', 'expires', 'order', 'amount', 'paid_group', 'refund', 'code', 'reason', 'limit', 'invite_link', 'cohort'],
  on: { 'order.paid': receiptAndAccess, 'order.refunded': refundNotice },
  onPlatformAction: { paid_group: paidGroupLinkCreated },
  memberReport,
  dayReport,
  routes,
  // Checkout links' base (catalog.yaml `payments.public_url`) is where the server is reached too.
  publicUrl: (config) => config.catalog.payments.public_url,
  courseValues: catalogValues,
  checkCourse: checkProductCohorts,
  actions: [buy],
  commands: [buyCommand, refundCommand],
  facts: [
    { name: 'order.product', type: 'string', description: 'product id of the order (order.paid / order.refunded events; null otherwise)', get: (c) => c.trigger.order?.productId ?? null },
    { name: 'order.amount', type: 'number', description: 'amount of the order event in fen (paid, or refunded), Stars for XTR; null otherwise', get: (c) => c.trigger.order?.amount ?? null },
  ],
};
