import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { WebContext } from '../../../web/context.js';
import type { Orders } from '../wiring.js';
import { getOrder, listOrders, refundsOf, type OrderState } from '../store/orders.js';

const refundBody = z.strictObject({
  /** fen; omitted: everything not yet refunded */
  amount_fen: z.number().int().positive().optional(),
  reason: z.string().max(80).default(''),
});

function sameSecret(a: string, b: string): boolean {
  // Hash first so the comparison takes the same time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * The order service's admin API (`/api/orders`): list orders, and refund one. Money moves, so
 * besides the loopback host check every call needs `Authorization: Bearer $KEQUN_ADMIN_TOKEN`;
 * without that variable the API is off.
 */
export function createOrdersApi(web: WebContext, orders: Orders): Hono {
  const api = new Hono();
  const token = web.env.KEQUN_ADMIN_TOKEN;
  api.use('/orders/*', async (c, next) => authorize(c, next));
  api.use('/orders', async (c, next) => authorize(c, next));
  async function authorize(c: Context, next: () => Promise<void>) {
    if (!token || token.length < 16) return c.json({ error: 'the admin API is off: set KEQUN_ADMIN_TOKEN (16+ characters) to use it' }, 403);
    const given = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
    if (!sameSecret(given, token)) return c.json({ error: 'missing or wrong bearer token' }, 401);
    await next();
  }

  api.get('/orders', (c) => {
    const state = c.req.query('state') as OrderState | undefined;
    return c.json({ orders: listOrders(web.db, { state, limit: 200 }).map(({ token: _t, ...o }) => o) });
  });

  api.post('/orders/:id/refund', async (c) => {
    let raw: unknown;
    try {
      raw = JSON.parse(await c.req.text());
    } catch {
      return c.json({ error: 'body is not valid JSON' }, 400);
    }
    const body = refundBody.safeParse(raw);
    if (!body.success) return c.json({ error: body.error.issues[0]!.message }, 400);
    const order = getOrder(web.db, c.req.param('id'));
    if (!order) return c.json({ error: 'no such order' }, 404);
    const r = orders.service.requestRefund(order.id, { amount: body.data.amount_fen, reason: body.data.reason, by: 'api', now: web.now() });
    if (!r.ok) return c.json({ error: r.error }, 409);
    await orders.service.processRefunds();
    return c.json({ refund: refundsOf(web.db, order.id).find((x) => x.out_refund_no === r.outRefundNo) });
  });
  return api;
}
