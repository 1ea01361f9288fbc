import { Hono, type Context } from 'hono';
import type { WebContext } from '../../../web/context.js';
import { formatAmount } from '../catalog.js';
import type { SandboxProvider } from '../sandbox.js';
import { getAttempt, getOrder } from '../store/orders.js';
import type { AdminAuth } from '../../../web/context.js';
import { CHECKOUT_HEADERS, esc, page } from './page.js';

type Status = 200 | 401 | 404 | 410;

/** A sandbox payment's state as the payer reads it (WeChat Pay's trade_state words). */
const STATE: Record<string, string> = { NOTPAY: '未支付', SUCCESS: '已支付', CLOSED: '已关闭', PAYERROR: '支付失败' };

/**
 * The sandbox's pay / fail buttons for a payment, as on its pay page: the QR page on a PC shows
 * them too (checkout.ts). They post to `/sandbox/pay/<out_trade_no>`, with that route's checks.
 */
export function sandboxPayForm(outTradeNo: string): string {
  return `<form method="post" action="/sandbox/pay/${esc(outTradeNo)}"><button name="result" value="pay" class="pay" id="sandbox-pay">支付</button> <button name="result" value="fail" class="fail" id="sandbox-fail">失败 / 取消</button></form>`;
}

/**
 * The sandbox's fake WeChat Pay page (`/sandbox/pay/<out_trade_no>`): "pay" and "fail" buttons.
 * Mounted only where the sandbox takes payments: on the embedded default (every platform
 * simulated; no login: nothing real can be bought) and on a staging deployment (KEQUN_STAGING=1
 * beside a real platform), where every request needs the admin login (`admin`), because there
 * the orders belong to real members. A payment whose link has expired is refused with the words
 * and status of the checkout page's expired link (410), and nothing changes.
 */
export function createSandboxRoutes(ctx: WebContext, sandbox: SandboxProvider, admin?: AdminAuth): Hono {
  const { log } = ctx;
  const app = { db: ctx.db };
  const web = new Hono();

  const html = (c: Context, body: string, status: Status = 200) => {
    for (const [k, v] of Object.entries(CHECKOUT_HEADERS)) c.header(k, v);
    return c.html(body, status);
  };
  const notice = (c: Context, title: string, text: string, status: Status) => html(c, page(title, `<h1>${esc(title)}</h1><p>${esc(text)}</p>`), status);
  const expired = (c: Context) => notice(c, '链接已过期', '这个支付链接已过期。请在群里或私信里重新发送「报名」获取新链接。', 410);

  if (admin) {
    web.use('/sandbox/*', async (c, next) => {
      if (!admin.authed(c)) {
        return notice(c, '需要管理员登录', '这是预发布（staging）环境的沙盒支付页：请先在 /dashboard 登录管理员（KEQUN_ADMIN_TOKEN），或带上 Authorization: Bearer。', 401);
      }
      await next();
    });
  }

  web.get('/sandbox/pay/:no', (c) => {
    const p = sandbox.payment(c.req.param('no'));
    if (!p) return notice(c, '没有这笔支付', '沙盒里没有这笔支付。', 404);
    if (sandbox.expired(p.outTradeNo)) return expired(c);
    const attempt = getAttempt(app.db, p.outTradeNo);
    const order = attempt ? getOrder(app.db, attempt.order_id) : undefined;
    return html(
      c,
      page(
        '沙盒支付',
        `<h1>沙盒支付 <small>（演示：不会真的扣款）</small></h1><p>${esc(p.description)}</p><p class="total">${esc(formatAmount(p.amount, 'CNY'))}</p><p>状态：<span id="sandbox-state">${esc(STATE[p.state] ?? p.state)}</span></p>
${sandboxPayForm(p.outTradeNo)}
${order ? `<p><a href="/pay/${esc(order.token)}">返回订单</a></p>` : ''}`,
      ),
    );
  });

  web.post('/sandbox/pay/:no', async (c) => {
    const no = c.req.param('no');
    const attempt = getAttempt(app.db, no);
    if (!sandbox.payment(no) || !attempt) return notice(c, '没有这笔支付', '沙盒里没有这笔支付。', 404);
    if (sandbox.expired(no)) return expired(c);
    const form = await c.req.parseBody();
    const order = getOrder(app.db, attempt.order_id)!;
    if (form.result === 'pay') {
      const status = await sandbox.pay(no);
      if (status !== undefined && status >= 300) log.warn({ status, outTradeNo: no }, 'sandbox: the webhook refused the notification');
      return c.redirect(`/pay/${order.token}`, 303);
    }
    sandbox.fail(no);
    return c.redirect(`/pay/${order.token}?e=pay`, 303);
  });

  return web;
}
