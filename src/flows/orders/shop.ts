/**
 * Products sold in a shop the seller already uses (小鹅通, 有赞, 知识星球; docs/loyalty.md):
 * the member's personal link `/go/<token>` records the click and redirects to the shop with
 * `kequn_ref=<order id>`; the order stays pending until the shop's signed callback
 * (`POST /shop/callback/<shop>`) or staff `/paid` marks it paid, through the order service, so
 * it is the same `order.paid` event as any payment (stage, receipt, referral reward, dashboard).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { findOneMember } from '../../core/member-arg.js';
import { UsageError, type CommandSpec } from '../../core/types.js';
import { inTransaction } from '../../store/db.js';
import { identitiesOf } from '../../store/members.js';
import { PerMinuteLimiter } from '../../util/per-minute-limiter.js';
import type { WebContext } from '../../web/context.js';
import { SHOPS, shopSecretVar, type ShopId } from './catalog-schema.js';

export { shopSecretVar };
import { formatAmount } from './catalog.js';
import { openCheckout } from './orders.js';
import { discountSourcesOf } from './pricing.js';
import { getOrder } from './store/orders.js';
import { insertShopPayment, recordShopClick } from './store/shop.js';
import { CHECKOUT_HEADERS, esc, page } from './web/page.js';
import type { Orders } from './wiring.js';

/** A callback's timestamp may be this far from the server's clock, either way. */
export const SHOP_WINDOW_MS = 5 * 60_000;
export const SHOP_TIMESTAMP_HEADER = 'x-kequn-timestamp';
export const SHOP_SIGNATURE_HEADER = 'x-kequn-signature';
/**
 * Callbacks per client address per minute, whatever they carry: a shop or relay sends one per
 * sale or refund (and retries a 429 later), so only a flood meets it, and a flood of forged
 * callbacks is refused before any signature is computed.
 */
export const SHOP_CALLBACKS_PER_MINUTE = 60;

/** `sha256=<hex>` of HMAC-SHA256(secret, `<timestamp>.<raw body>`): what a shop or relay sends. */
export function signShopCallback(secret: string, timestamp: string, rawBody: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex');
}

/**
 * Checks a callback before anything in it is read: the timestamp (unix seconds) within the
 * window and the signature over timestamp and raw body, compared in constant time.
 */
export function verifyShopCallback(args: { secret: string; headers: Record<string, string | undefined>; rawBody: string; now: number }): { ok: true } | { ok: false; reason: string } {
  const ts = args.headers[SHOP_TIMESTAMP_HEADER] ?? '';
  const sig = args.headers[SHOP_SIGNATURE_HEADER] ?? '';
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'missing or malformed timestamp' };
  if (Math.abs(Number(ts) * 1000 - args.now) > SHOP_WINDOW_MS) return { ok: false, reason: 'timestamp outside the window' };
  const want = Buffer.from(signShopCallback(args.secret, ts, args.rawBody));
  const got = Buffer.from(sig);
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, reason: 'bad signature' };
  return { ok: true };
}

const SHOP_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const common = {
  ref: z.string().regex(/^o_[A-Za-z0-9_-]{6,24}$/),
  shop_order_id: z.string().regex(SHOP_ID),
  product: z.string().min(1).max(64),
  amount_fen: z.number().int().min(1).max(100_000_000),
};
/**
 * The callback's body (JSON): which kequn order, the shop's order id, what was paid; or, with
 * `event: "refund"`, what the shop refunded of that shop order (`refund_id`: the shop's refund id,
 * each applied once). Other fields are ignored.
 */
const callbackBody = z.union([
  z.object({ event: z.literal('paid').optional(), ...common }),
  z.object({ event: z.literal('refund'), refund_id: z.string().regex(SHOP_ID), ...common }),
]);

type Answer = { status: 200 | 400 | 401 | 404 | 409; body: Record<string, unknown> };

/**
 * A shop's callback, as received: verified, read, cross-checked against the stored order, then
 * recorded and applied in one transaction. Every refusal changes nothing.
 */
export function handleShopCallback(web: Pick<WebContext, 'db' | 'config' | 'now' | 'log' | 'env'>, orders: Pick<Orders, 'service'>, shop: string, req: { headers: Record<string, string | undefined>; rawBody: string }): Answer {
  const { db, log } = web;
  const id = (Object.keys(SHOPS) as ShopId[]).find((s) => s === shop);
  const secret = id ? web.env[shopSecretVar(id)] : undefined;
  // No secret, no route: a shop nobody configured cannot be called at all.
  if (!id || !secret || secret.length < 16) return { status: 404, body: { ok: false, error: 'no such shop callback' } };
  const v = verifyShopCallback({ secret, headers: req.headers, rawBody: req.rawBody, now: web.now() });
  if (!v.ok) {
    log.warn({ shop: id, reason: v.reason }, 'shop callback refused');
    return { status: 401, body: { ok: false, error: 'verification failed' } };
  }
  let parsed: z.infer<typeof callbackBody>;
  try {
    const r = callbackBody.safeParse(JSON.parse(req.rawBody));
    if (!r.success) return { status: 400, body: { ok: false, error: `bad body: ${r.error.issues.map((i) => i.path.join('.') || 'body').join(', ')}` } };
    parsed = r.data;
  } catch {
    return { status: 400, body: { ok: false, error: 'body is not JSON' } };
  }
  const order = getOrder(db, parsed.ref);
  if (!order) return { status: 404, body: { ok: false, error: 'unknown order' } };
  const product = web.config().catalog.products[order.product_id];
  if (order.product_id !== parsed.product || product?.external?.shop !== id || order.currency !== 'CNY') {
    log.error({ shop: id, order: order.id, product: parsed.product }, 'shop callback: the order is not this shop’s product; not applied');
    return { status: 400, body: { ok: false, error: 'order does not match the product or shop' } };
  }
  const provider = `shop:${id}`;
  if (parsed.event === 'refund') {
    // Only the shop order that paid this kequn order can be refunded into it.
    if (order.provider !== provider || order.transaction_id !== parsed.shop_order_id) {
      log.error({ shop: id, order: order.id, shopOrder: parsed.shop_order_id }, 'shop refund: not the shop order that paid this order; not applied');
      return { status: 400, body: { ok: false, error: 'shop_order_id did not pay this order' } };
    }
    const r = orders.service.applyShopRefund({ provider, orderId: order.id, refundId: parsed.refund_id, amount: parsed.amount_fen, now: web.now() });
    if (r === 'duplicate') return { status: 409, body: { ok: false, error: 'duplicate: this refund was recorded before' } };
    if (typeof r === 'object') return { status: 400, body: { ok: false, error: r.error } };
    const state = getOrder(db, order.id)!.state;
    log.info({ shop: id, order: order.id, shopOrder: parsed.shop_order_id, refund: parsed.refund_id, amount: parsed.amount_fen, state }, 'shop refund applied');
    return { status: 200, body: { ok: true, order: order.id, state } };
  }
  return inTransaction(db, () => {
    if (!insertShopPayment(db, { provider, reference: parsed.shop_order_id, order_id: order.id, amount: parsed.amount_fen, note: '', recorded_by: null, created_at: web.now() })) {
      return { status: 409, body: { ok: false, error: 'duplicate: this shop order was recorded before' } } as Answer;
    }
    const r = orders.service.applyShopPayment(provider, parsed.shop_order_id);
    log.info({ shop: id, order: order.id, shopOrder: parsed.shop_order_id, amount: parsed.amount_fen, result: r }, 'shop callback applied');
    return { status: 200, body: { ok: true, order: order.id, state: r === 'paid' ? 'paid' : 'already_paid' } } as Answer;
  });
}

/** The personal shop link and the shops' callbacks. */
export function createShopRoutes(web: WebContext, orders: Orders): Hono {
  const app = new Hono();
  const notice = (c: Context, title: string, text: string, status: 200 | 404 | 410) => {
    for (const [k, v] of Object.entries(CHECKOUT_HEADERS)) c.header(k, v);
    return c.html(page(title, `<h1>${esc(title)}</h1><p>${esc(text)}</p>`), status);
  };
  app.get('/go/:token', (c) => {
    const order = orders.service.orderByToken(c.req.param('token'));
    const product = order ? web.config().catalog.products[order.product_id] : undefined;
    if (!order || !product?.external) return notice(c, '找不到订单', '链接无效。请在群里或私信里重新发送「报名」获取你的链接。', 404);
    if (order.state === 'paid' || order.state === 'partially_refunded') return notice(c, '已购买', `「${product.title}」已经购买成功，入群邀请已私信发给你。`, 200);
    if (order.state !== 'created' || web.now() >= order.expires_at) return notice(c, '链接已过期', '这个链接已过期。请在群里或私信里重新发送「报名」获取新链接。', 410);
    recordShopClick(web.db, order.id, web.now());
    const url = new URL(product.external.url);
    url.searchParams.set('kequn_ref', order.id);
    c.header('cache-control', 'no-store');
    c.header('referrer-policy', 'no-referrer');
    return c.redirect(url.toString(), 302);
  });
  const limiter = new PerMinuteLimiter();
  app.post('/shop/callback/:shop', async (c) => {
    if (!limiter.allow(web.clientIp(c), SHOP_CALLBACKS_PER_MINUTE, web.now())) {
      c.header('retry-after', '60');
      return c.json({ ok: false, error: 'too many requests' }, 429);
    }
    const rawBody = await c.req.text();
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((v, k) => (headers[k.toLowerCase()] = v));
    const a = handleShopCallback(web, orders, c.req.param('shop'), { headers, rawBody });
    return c.json(a.body, a.status);
  });
  return app;
}

/**
 * `/paid <member> <product> [note]`: staff record a payment taken in the shop (or by hand);
 * applied right after this event commits (wiring.ts) as the same order.paid event.
 */
export const paidCommand: CommandSpec = {
  name: 'paid',
  roles: ['owner', 'instructor'],
  usage: '/paid <成员> <课程编号> [备注]',
  description: '登记在外部店铺（小鹅通、有赞等）或线下完成的购买，按已支付处理',
  run(args, ctx) {
    const { db, config } = ctx;
    const products = config.catalog.products;
    const words = args.trim().split(/\s+/).filter(Boolean);
    const at = words.findIndex((w, i) => i > 0 && Object.hasOwn(products, w));
    if (at < 0) throw new UsageError(`用法：/paid <成员> <课程编号> [备注]（课程编号：${Object.keys(products).join(', ')}）`);
    const member = findOneMember(db, words.slice(0, at).join(' '));
    const productId = words[at]!;
    const note = words.slice(at + 1).join(' ').slice(0, 200);
    const identity = identitiesOf(db, member.id)[0];
    if (!identity) throw new UsageError(`${member.display_name} 没有可联系的平台账号`);
    const r = openCheckout(db, config, discountSourcesOf(ctx.services), { memberId: member.id, platform: identity.platform, platformId: identity.platform_id, productId, now: ctx.now, cohorts: ctx.services.cohorts, paidElsewhere: true });
    if (!r.ok) throw new UsageError(`不能登记：${PAID_REASONS[r.reason]}`);
    const reference = 'p_' + randomBytes(9).toString('base64url');
    insertShopPayment(db, { provider: 'staff', reference, order_id: r.order.id, amount: r.order.amount, note, recorded_by: ctx.member.id, created_at: ctx.now });
    const title = products[productId]!.title;
    ctx.send({ to: 'dm', text: `已登记：${member.display_name} 购买「${title}」${formatAmount(r.order.amount, r.order.currency)}（订单 ${r.order.id}${note ? `，备注：${note}` : ''}）。支付确认和入群信息会私信发给学员。` });
    return `staff payment ${reference} recorded for ${r.order.id} (${member.id}, ${productId})`;
  },
};

const PAID_REASONS: Record<string, string> = {
  no_cohort: '现在没有开放报名的一期',
  cohort_closed: '这一期已经停止报名',
  unknown_product: '没有这门课程',
  not_on_sale: '这门课程现在不在售卖时间内',
  sold_out: '名额已满',
  already_paid: '学员已经购买过这门课程',
  no_stars_price: '这门课程没有价格',
};
