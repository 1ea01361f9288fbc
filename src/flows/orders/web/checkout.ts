import { Hono, type Context } from 'hono';
import QRCode from 'qrcode';
import type { WebContext } from '../../../web/context.js';
import type { Orders } from '../wiring.js';
import { formatAmount, formatLocalTime } from '../catalog.js';
import type { Discount } from '../contracts.js';
import { enterCode } from '../code-attempts.js';
import { discountsOf } from '../orders.js';
import { discountLabel, discountSourcesOf } from '../pricing.js';
import type { PayMethod } from '../provider.js';
import { CheckoutError } from '../service.js';
import { getOrder, setPayerOpenid, type OrderRow } from '../store/orders.js';
import { CHECKOUT_HEADERS, CHECKOUT_SCRIPT, CHECKOUT_STYLE, esc, page } from './page.js';
import { sandboxPayForm } from './sandbox-pages.js';
import { clientOf } from '../../../web/client.js';
import { browserScript, browserStyle, SCRIPT_TYPE, STYLE_TYPE } from '../../../web/browser-assets.js';

/**
 * Which WeChat Pay product can pay in this browser (DESIGN.md): inside WeChat only JSAPI (an
 * official-account page with the payer's openid); H5 only in a mobile browser outside WeChat; on
 * a PC a Native QR code scanned with the phone (a QR cannot be paid by long-press in WeChat).
 */
export function payMethodFor(userAgent: string | undefined): PayMethod {
  const ua = userAgent ?? '';
  if (/MicroMessenger/i.test(ua)) return 'jsapi';
  if (/Android|iPhone|iPad|iPod|Mobile|HarmonyOS/i.test(ua)) return 'h5';
  return 'native';
}

/** What the pay button says: the buyer's words, not WeChat Pay's product names (JSAPI, H5, Native). */
const METHOD_LABEL: Record<PayMethod, string> = { jsapi: '微信支付', h5: '微信支付', native: '微信扫码支付' };

/** The payer's IP for H5 (WeChat Pay checks it): the socket's, or from X-Forwarded-For of a trusted proxy only. */
function clientIp(c: Context): string {
  return clientOf(c).ip;
}

/**
 * The order service's pages: the checkout page of a link (`/pay/<token>`), its coupon and pay
 * buttons, the status the QR page polls, the official-account OAuth return and the provider
 * webhooks (the sandbox's fake pay page: sandbox-pages.ts). The token is the only credential: random, bound to
 * one member and product, expiring with the order.
 */
export function createCheckoutRoutes(
  ctx: WebContext,
  orders: Orders,
  deps: {
    fetchImpl?: typeof fetch;
    /**
     * The sandbox's pay page is served here (sandbox-pages.ts): the QR page on a PC then offers the
     * simulated pay / fail a phone gets there, since no phone can open a QR code of 127.0.0.1.
     */
    sandboxPage?: boolean;
  } = {},
): Hono {
  const { log } = ctx;
  const app = { db: ctx.db };
  const web = new Hono();
  const service = () => orders.service;
  const config = ctx.config;
  const now = ctx.now;

  const html = (c: Context, body: string, status: 200 | 404 | 409 | 410 | 502 = 200) => {
    for (const [k, v] of Object.entries(CHECKOUT_HEADERS)) c.header(k, v);
    return c.html(body, status);
  };
  const notice = (c: Context, title: string, text: string, status: 200 | 404 | 409 | 410 | 502 = 200) =>
    html(c, page(title, `<h1>${esc(title)}</h1><p>${esc(text)}</p>`), status);

  const orderOr404 = (c: Context): OrderRow | undefined => service().orderByToken(c.req.param('token') ?? '');

  web.get('/pay/assets/checkout.js', async (c) => c.body(await browserScript(CHECKOUT_SCRIPT), 200, { 'content-type': SCRIPT_TYPE, 'cache-control': 'no-cache' }));
  web.get('/pay/assets/checkout.css', async (c) => c.body(await browserStyle(CHECKOUT_STYLE), 200, { 'content-type': STYLE_TYPE, 'cache-control': 'no-cache' }));
  /** The sandbox takes this order's payments here (no money moves). */
  const simulated = () => service().provider.name === 'sandbox' && deps.sandboxPage === true;

  web.get('/pay/:token', (c) => {
    const order = orderOr404(c);
    if (!order) return notice(c, '找不到订单', '链接无效。请在群里或私信里重新发送「报名」获取你的支付链接。', 404);
    const cfg = config();
    const product = cfg.catalog.products[order.product_id];
    const title = product?.title ?? order.product_id;
    if (order.state === 'paid' || order.state === 'partially_refunded') return notice(c, '支付成功', `「${title}」已支付 ${formatAmount(order.paid_amount ?? order.amount, order.currency)}。入群邀请已私信发给你。`);
    if (order.state === 'refunded') return notice(c, '已退款', `「${title}」的订单已退款。`);
    if (order.state !== 'created' || now() >= order.expires_at) return notice(c, '链接已过期', '这个支付链接已过期。请在群里或私信里重新发送「报名」获取新链接。', 410);
    // Sold in an external shop: the personal link goes there (shop.ts).
    if (product?.external) return c.redirect(`/go/${order.token}`, 302);
    if (order.currency !== 'CNY') return notice(c, '请在 Telegram 中支付', '这个订单使用 Telegram Stars 支付，请回到 Telegram 点击账单。', 409);
    const method = payMethodFor(c.req.header('user-agent'));
    const wp = cfg.catalog.payments.wechatpay;
    const real = orders.service.provider.name === 'wechatpay';
    let payable = true;
    let hint = '';
    if (method === 'jsapi' && real && !order.payer_openid) {
      if (wp?.official_account) {
        const back = `${cfg.catalog.payments.publicUrl}/pay/${order.token}/oauth`;
        const url = `https://open.weixin.qq.com/connect/oauth2/authorize?appid=${encodeURIComponent(wp.appid)}&redirect_uri=${encodeURIComponent(back)}&response_type=code&scope=snsapi_base&state=${encodeURIComponent(order.id)}#wechat_redirect`;
        return c.redirect(url, 302);
      }
      payable = false;
      hint = '微信内支付需要公众号。请点击右上角「…」选择「在浏览器打开」，用手机浏览器完成支付。';
    }
    const discounts = discountsOf(order);
    const error = c.req.query('e');
    const body = `
<h1>${esc(title)}</h1>
${product?.description ? `<p class="desc">${esc(product.description)}</p>` : ''}
<table class="price">
<tr><td>原价</td><td>${esc(formatAmount(order.list_amount, order.currency))}</td></tr>
${discounts.map((d: Discount) => `<tr class="discount" data-kind="${esc(d.kind)}"><td>${esc(discountLabel(d))}</td><td>-${esc(formatAmount(d.fen, order.currency))}</td></tr>`).join('')}
<tr class="total"><td>应付</td><td id="amount">${esc(formatAmount(order.amount, order.currency))}</td></tr>
</table>
${error === 'code' ? '<p class="error">这个优惠码不可用（不存在、已过期、已用完或不适用于这门课）。</p>' : ''}
${error === 'limit' ? `<p class="error">优惠码尝试次数太多了，请 ${Math.ceil(cfg.catalog.payments.code_attempts.per / 60_000)} 分钟后再试。</p>` : ''}
${error === 'pay' ? '<p class="error">支付没有完成，可以再试一次。</p>' : ''}
<form method="post" action="/pay/${esc(order.token)}/code" class="code"><input name="code" maxlength="32" placeholder="优惠码" autocomplete="off"><button type="submit">使用</button></form>
${hint ? `<p class="hint">${esc(hint)}</p>` : ''}
${payable ? `<form method="post" action="/pay/${esc(order.token)}/pay"><button type="submit" class="pay">${esc(METHOD_LABEL[method])} ${esc(formatAmount(order.amount, order.currency))}</button></form>` : ''}
${simulated() ? '<p class="hint" id="sandbox-note">这是沙盒（演示）支付：不会真的扣款，支付和失败都可以在下一页模拟。</p>' : ''}
<p class="meta" data-method="${method}">订单 ${esc(order.id)} · 链接有效期至 <span id="expires">${esc(formatLocalTime(order.expires_at, cfg.course.timezone))}</span></p>`;
    return html(c, page(`支付 ${title}`, body));
  });

  web.post('/pay/:token/code', async (c) => {
    const order = orderOr404(c);
    if (!order) return notice(c, '找不到订单', '链接无效。', 404);
    const form = await c.req.parseBody();
    const code = typeof form.code === 'string' ? form.code.trim().slice(0, 32) : '';
    if (order.state !== 'created' || now() >= order.expires_at) return c.redirect(`/pay/${order.token}`, 303);
    // Limited per order, member and client address (src/flows/orders/code-attempts.ts): a guesser is told
    // plainly that there were too many attempts, and from then on no code is looked at, so the
    // answer says nothing about the code; an honest buyer is not told a right code is wrong.
    const client = clientIp(c);
    const entry = enterCode(app.db, config(), discountSourcesOf(ctx.services()), getOrder(app.db, order.id)!, { code, client, now: now() });
    if (entry.outcome !== 'accepted') {
      const detail = { order: order.id, member: order.member_id, client, code };
      if (entry.outcome === 'limited') log.warn({ ...detail, limit: entry.by, retryAt: entry.retryAt }, 'checkout: code refused unread, too many attempts');
      else log.info(detail, 'checkout: code refused');
    }
    return c.redirect(`/pay/${order.token}${entry.outcome === 'refused' ? '?e=code' : entry.outcome === 'limited' ? '?e=limit' : ''}`, 303);
  });

  web.post('/pay/:token/pay', async (c) => {
    const order = orderOr404(c);
    if (!order) return notice(c, '找不到订单', '链接无效。', 404);
    const method = payMethodFor(c.req.header('user-agent'));
    try {
      const { action, outTradeNo } = await service().startPayment(order.token, { method, clientIp: clientIp(c) });
      if (action.kind === 'redirect') return c.redirect(action.url, 303);
      if (action.kind === 'qr') {
        const svg = await QRCode.toString(action.codeUrl, { type: 'svg', margin: 1, width: 240 });
        const img = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
        // On the sandbox the QR code leads to kequn's own pay page, which a phone can open only
        // if it reaches this computer: the same pay / fail buttons are offered here.
        const sandbox = simulated()
          ? `<section class="sandbox" id="sandbox"><h2>沙盒：模拟扫码后的结果</h2><p>这是演示支付，不会真的扣款。手机扫码会打开 kequn 的模拟支付页（手机要能访问这台电脑）；也可以直接在这里选择：</p>${sandboxPayForm(outTradeNo)}</section>`
          : '';
        return html(
          c,
          page(
            '微信扫码支付',
            `<h1>微信扫码支付</h1><p>请用手机微信「扫一扫」扫描二维码（在微信里长按二维码无法支付）。</p><img class="qr" alt="支付二维码" src="${img}"><p class="total">${esc(formatAmount(order.amount, order.currency))}</p><p class="status" data-poll="/pay/${esc(order.token)}/status" data-done="/pay/${esc(order.token)}">等待支付…</p>${sandbox}`,
          ),
        );
      }
      return html(
        c,
        page('微信支付', `<h1>微信支付</h1><p class="status" data-jsapi="${esc(JSON.stringify(action.params))}" data-done="/pay/${esc(order.token)}" data-fail="/pay/${esc(order.token)}?e=pay">正在打开微信支付…</p>`),
      );
    } catch (e) {
      if (e instanceof CheckoutError) return notice(c, '无法支付', e.message, e.status);
      throw e;
    }
  });

  web.get('/pay/:token/status', (c) => {
    const order = orderOr404(c);
    c.header('cache-control', 'no-store');
    if (!order) return c.json({ error: 'no such order' }, 404);
    return c.json({ state: order.state === 'created' && now() >= order.expires_at ? 'expired' : order.state });
  });

  /** The official account's OAuth (snsapi_base) comes back here with a code for the payer's openid. */
  web.get('/pay/:token/oauth', async (c) => {
    const order = orderOr404(c);
    if (!order) return notice(c, '找不到订单', '链接无效。', 404);
    const wp = config().catalog.payments.wechatpay;
    const secret = ctx.env.WECHAT_MP_SECRET;
    const code = c.req.query('code');
    if (!wp?.official_account || !secret || !code || !/^[A-Za-z0-9_-]{1,128}$/.test(code) || c.req.query('state') !== order.id) {
      return notice(c, '无法获取微信身份', '请重新打开支付链接。', 409);
    }
    const url = `${wp.oauth_api_base.replace(/\/+$/, '')}/sns/oauth2/access_token?appid=${encodeURIComponent(wp.appid)}&secret=${encodeURIComponent(secret)}&code=${encodeURIComponent(code)}&grant_type=authorization_code`;
    try {
      const res = await (deps.fetchImpl ?? fetch)(url, { signal: AbortSignal.timeout(10_000) });
      const data = (await res.json()) as { openid?: string; errcode?: number; errmsg?: string };
      if (!data.openid || !/^[A-Za-z0-9_-]{6,64}$/.test(data.openid)) throw new Error(`errcode ${data.errcode ?? '?'}: ${data.errmsg ?? 'no openid'}`);
      setPayerOpenid(app.db, order.id, data.openid);
    } catch (e) {
      log.warn({ order: order.id, err: (e as Error).message }, 'checkout: official account OAuth failed');
      return notice(c, '无法获取微信身份', '请稍后重新打开支付链接。', 502);
    }
    return c.redirect(`/pay/${order.token}`, 302);
  });

  /** Provider notifications: the raw body is what the signature covers, so it is read as text. */
  web.post('/webhooks/:provider', async (c) => {
    const rawBody = await c.req.text();
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((v, k) => (headers[k.toLowerCase()] = v));
    const answer = await service().handleNotification(c.req.param('provider'), { headers, rawBody });
    if (answer.status === 204) return c.body(null, 204);
    return c.json(answer.body ?? { code: 'SUCCESS', message: '' }, answer.status);
  });

  return web;
}
