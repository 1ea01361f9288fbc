import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, waitReady, type App } from '../../src/app.js';
import { loadConfig } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { getOrder, latestOrderOf, type OrderRow } from '../../src/flows/orders/store/orders.js';
import { ensureCode } from '../../src/flows/referral/code.js';
import { ledgerTotalFen } from '../../src/flows/referral/store.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';
import { count, T0 } from '../helpers/fixtures.js';
import { dm, snapshot } from '../helpers/payments.js';
import { testStorePath } from '../helpers/store.js';

// The checkout page, the sandbox pay page and the webhook over real HTTP on 127.0.0.1, on the
// app as `kequn start` builds it (simulated WeChat, sandbox provider, SQLite).

const UA = {
  pc: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  phone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  wechat: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.49.2600(0x28003133) NetType/WIFI Language/zh_CN',
};

const ADMIN = 'admin-token-for-tests-0123';
let app: App;
let server: WebServer;
let clock: VirtualClock;

beforeAll(async () => {
  clock = new VirtualClock(T0);
  app = await createApp({ config: loadConfig('test/fixtures/course', { env: {} }), clock, log: silentLogger, live: false, dbPath: testStorePath() });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  server = await startWebServer(createWebApp({ app, clock, log: silentLogger, env: { KEQUN_ADMIN_TOKEN: ADMIN } }), { host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await server?.close();
  await app?.stop();
});

async function http(path: string, opts: { ua?: string; form?: Record<string, string>; body?: string; headers?: Record<string, string> } = {}) {
  const init: RequestInit = { redirect: 'manual', headers: { 'user-agent': opts.ua ?? UA.pc, ...(opts.headers ?? {}) } };
  if (opts.form) {
    init.method = 'POST';
    init.body = new URLSearchParams(opts.form).toString();
    (init.headers as Record<string, string>)['content-type'] = 'application/x-www-form-urlencoded';
  } else if (opts.body !== undefined) {
    init.method = 'POST';
    init.body = opts.body;
  }
  const r = await fetch(server.url + path, init);
  return { status: r.status, location: r.headers.get('location'), csp: r.headers.get('content-security-policy'), text: await r.text() };
}

async function buyAs(user: string): Promise<OrderRow> {
  await app.kernel.handle(dm(user, '我要报名', clock.now()));
  return latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', user)!.id, ['created'])!;
}

describe('checkout page', () => {
  it('shows the product and the server price, and picks the pay method by browser', async () => {
    const order = await buyAs('alice');
    const pc = await http(`/pay/${order.token}`);
    expect(pc.status).toBe(200);
    expect(pc.text).toContain('Python 数据分析正式班（第 3 期）');
    expect(pc.text).toContain('¥199.00');
    expect(pc.text).toContain('data-method="native"');
    expect(pc.csp).toContain("script-src 'self'");
    expect((await http(`/pay/${order.token}`, { ua: UA.phone })).text).toContain('data-method="h5"');
    expect((await http(`/pay/${order.token}`, { ua: UA.wechat })).text).toContain('data-method="jsapi"');
    // Guessing does not work: an unknown token is a 404 that names no order.
    const miss = await http('/pay/AAAAAAAAAAAAAAAAAAAAAAAA');
    expect(miss.status).toBe(404);
  });

  it('applies a coupon on the server, and refuses an unknown one without changing the price', async () => {
    const order = await buyAs('bob');
    const bad = await http(`/pay/${order.token}/code`, { form: { code: 'NOPE' } });
    expect(bad.status).toBe(303);
    expect(bad.location).toBe(`/pay/${order.token}?e=code`);
    expect(getOrder(app.db, order.id)!.amount).toBe(19900);
    const good = await http(`/pay/${order.token}/code`, { form: { code: 'EARLY50' } });
    expect(good.location).toBe(`/pay/${order.token}`);
    expect(getOrder(app.db, order.id)!.amount).toBe(14900);
    const page = await http(`/pay/${order.token}`);
    expect(page.text).toContain('EARLY50');
    expect(page.text).toContain('¥149.00');
  });

  it('records what was paid: a coupon removed after pressing pay still counts on the paid order', async () => {
    const order = await buyAs('hugo');
    await http(`/pay/${order.token}/code`, { form: { code: 'EARLY50' } });
    const { outTradeNo } = await app.orders.service.startPayment(order.token, { method: 'native', clientIp: '127.0.0.1' });
    await http(`/pay/${order.token}/code`, { form: { code: '' } });
    expect(getOrder(app.db, order.id)).toMatchObject({ amount: 19900, code: null });
    expect(await app.orders.sandbox!.pay(outTradeNo)).toBe(204);
    expect(getOrder(app.db, order.id)).toMatchObject({ state: 'paid', amount: 14900, paid_amount: 14900, code: 'EARLY50' });
  });

  it('pays on a PC: Native QR (served locally), the sandbox pay page, the signed notification, paid', async () => {
    const order = await buyAs('carol');
    const qr = await http(`/pay/${order.token}/pay`, { form: {} });
    expect(qr.status).toBe(200);
    expect(qr.text).toMatch(/<img class="qr" alt="支付二维码" src="data:image\/svg\+xml;base64,/);
    const no = (app.db.prepare('SELECT out_trade_no FROM payment_attempts WHERE order_id = ?').get(order.id) as { out_trade_no: string }).out_trade_no;
    const fakePage = await http(`/sandbox/pay/${no}`);
    expect(fakePage.text).toContain('¥199.00');
    const paid = await http(`/sandbox/pay/${no}`, { form: { result: 'pay' } });
    expect(paid.status).toBe(303);
    expect(getOrder(app.db, order.id)!.state).toBe('paid');
    expect(findMemberByIdentity(app.db, 'wechat', 'carol')!.stage).toBe('paid');
    expect((await http(`/pay/${order.token}`)).text).toContain('支付成功');
    expect(JSON.parse((await http(`/pay/${order.token}/status`)).text)).toEqual({ state: 'paid' });
    // Paying again is refused.
    expect((await http(`/pay/${order.token}/pay`, { form: {} })).status).toBe(409);
  });

  it('says the expiry in the course time zone and in Chinese, and names no WeChat Pay product on its buttons', async () => {
    // Bought at 09:00 on 2 March in Shanghai (T0); links live 2 hours (link_ttl): 11:00 local,
    // 03:00 UTC: the page says what the DM says.
    const order = await buyAs('ivy');
    expect(order.expires_at).toBe(Date.parse('2026-03-02T11:00:00+08:00'));
    for (const ua of [UA.pc, UA.phone, UA.wechat]) {
      const page = await http(`/pay/${order.token}`, { ua });
      expect(page.text).toContain('链接有效期至 <span id="expires">3月2日 11:00</span>');
      expect(page.text).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
      const button = /<button type="submit" class="pay">([^<]*)<\/button>/.exec(page.text)![1]!;
      expect(button).toMatch(/^微信(扫码)?支付 ¥199\.00$/);
      expect(page.text).not.toMatch(/JSAPI|Native|\bH5\b/);
    }
    const sent = app.db.prepare("SELECT text FROM outbox WHERE chat_id = 'ivy'").all() as { text: string }[];
    expect(sent.find((m) => m.text.includes(`/pay/${order.token}`))?.text).toContain('3月2日 11:00 前有效');
  });

  it('on a PC in sandbox mode, the QR page offers the same simulated pay and fail a phone gets: fail leaves the order open, pay pays it', async () => {
    const order = await buyAs('jack');
    const qr = await http(`/pay/${order.token}/pay`, { form: {} });
    expect(qr.status).toBe(200);
    const no = (app.db.prepare('SELECT out_trade_no FROM payment_attempts WHERE order_id = ?').get(order.id) as { out_trade_no: string }).out_trade_no;
    // The buttons post to the sandbox's own pay route, with its checks, as the phone's page does.
    expect(qr.text).toContain('id="sandbox"');
    expect(qr.text).toContain(`<form method="post" action="/sandbox/pay/${no}"><button name="result" value="pay" class="pay" id="sandbox-pay">支付</button> <button name="result" value="fail" class="fail" id="sandbox-fail">失败 / 取消</button></form>`);
    expect((await http(`/sandbox/pay/${no}`)).text).toContain('状态：<span id="sandbox-state">未支付</span>');

    const failed = await http(`/sandbox/pay/${no}`, { form: { result: 'fail' } });
    expect(failed.status).toBe(303);
    expect(failed.location).toBe(`/pay/${order.token}?e=pay`);
    expect(getOrder(app.db, order.id)!.state).toBe('created');
    expect((await http(`/sandbox/pay/${no}`)).text).toContain('状态：<span id="sandbox-state">支付失败</span>');
    expect((await http(failed.location!)).text).toContain('支付没有完成，可以再试一次。');

    // Again: a new attempt, paid this time.
    const again = await http(`/pay/${order.token}/pay`, { form: {} });
    const no2 = /action="\/sandbox\/pay\/([^"]+)"/.exec(again.text)![1]!;
    expect(no2).not.toBe(no);
    const paid = await http(`/sandbox/pay/${no2}`, { form: { result: 'pay' } });
    expect(paid.location).toBe(`/pay/${order.token}`);
    expect(getOrder(app.db, order.id)!.state).toBe('paid');
    expect((await http(`/pay/${order.token}`)).text).toContain('支付成功');
  });

  it('on a phone browser, H5 redirects to the provider', async () => {
    const order = await buyAs('dave');
    const r = await http(`/pay/${order.token}/pay`, { form: {}, ua: UA.phone });
    expect(r.status).toBe(303);
    expect(r.location).toMatch(/\/sandbox\/pay\/K/);
  });

  it('an expired link says so and cannot be paid', async () => {
    const order = await buyAs('erin');
    clock.set(order.expires_at + 1);
    expect((await http(`/pay/${order.token}`)).status).toBe(410);
    expect((await http(`/pay/${order.token}/pay`, { form: {} })).status).toBe(410);
  });
});

describe('webhook over HTTP', () => {
  it('refuses an unsigned or forged notification and changes nothing', async () => {
    const before = snapshot(app.db);
    const r = await http('/webhooks/sandbox', { body: JSON.stringify({ id: 'x', event_type: 'TRANSACTION.SUCCESS', resource: {} }), headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.text)).toEqual({ code: 'FAIL', message: 'verification failed' });
    expect((await http('/webhooks/nope', { body: '{}' })).status).toBe(404);
    expect(snapshot(app.db)).toEqual(before);
  });

  it('accepts the sandbox notification over HTTP, and its redelivery, with 204', async () => {
    const order = await buyAs('frank');
    const { outTradeNo } = await app.orders.service.startPayment(order.token, { method: 'native', clientIp: '127.0.0.1' });
    // The money is taken but the notification is not delivered; we send it over HTTP ourselves, twice.
    await app.orders.sandbox!.pay(outTradeNo, { deliver: false });
    const n = app.orders.sandbox!.paidNotification(outTradeNo)!;
    const first = await http('/webhooks/sandbox', { body: n.rawBody, headers: n.headers });
    expect(first.status).toBe(204);
    const after = snapshot(app.db);
    expect((await http('/webhooks/sandbox', { body: n.rawBody, headers: n.headers })).status).toBe(204);
    expect(snapshot(app.db)).toEqual(after);
    expect(getOrder(app.db, order.id)!.state).toBe('paid');
  });
});

describe('admin API', () => {
  it('lists orders and refunds one, only with the bearer token', async () => {
    const order = await buyAs('gina');
    const { outTradeNo } = await app.orders.service.startPayment(order.token, { method: 'native', clientIp: '127.0.0.1' });
    await app.orders.sandbox!.pay(outTradeNo);
    expect(getOrder(app.db, order.id)!.state).toBe('paid');
    const noAuth = await fetch(`${server.url}/api/orders/${order.id}/refund`, { method: 'POST', body: '{}' });
    expect(noAuth.status).toBe(401);
    const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const list = (await (await fetch(`${server.url}/api/orders?state=paid`, { headers: auth })).json()) as { orders: { id: string; token?: string }[] };
    expect(list.orders.map((o) => o.id)).toContain(order.id);
    expect(list.orders.every((o) => o.token === undefined)).toBe(true);
    const tooMuch = await fetch(`${server.url}/api/orders/${order.id}/refund`, { method: 'POST', headers: auth, body: JSON.stringify({ amount_fen: 99999 }) });
    expect(tooMuch.status).toBe(409);
    const r = await fetch(`${server.url}/api/orders/${order.id}/refund`, { method: 'POST', headers: auth, body: JSON.stringify({ amount_fen: 5000, reason: '部分退款' }) });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { refund: { state: string } }).refund.state).toBe('processing');
    await app.orders.sandbox!.flush();
    expect(getOrder(app.db, order.id)).toMatchObject({ state: 'partially_refunded', refunded_amount: 5000 });
    // A partial refund keeps access.
    expect(findMemberByIdentity(app.db, 'wechat', 'gina')!.stage).toBe('paid');
    expect(count(app.db, 'platform_actions', "action = 'remove_member'")).toBe(0);
    // The rest refunded: the buyer is to leave the paid group (remove_on_refund), on WeChat.
    const rest = await fetch(`${server.url}/api/orders/${order.id}/refund`, { method: 'POST', headers: auth, body: JSON.stringify({ reason: '退课' }) });
    expect(rest.status).toBe(200);
    await app.orders.sandbox!.flush();
    expect(getOrder(app.db, order.id)).toMatchObject({ state: 'refunded', refunded_amount: 19900 });
    expect(app.db.prepare("SELECT platform, chat_id, user_id FROM platform_actions WHERE action = 'remove_member'").all()).toEqual([{ platform: 'wechat', chat_id: 'python-vip@chatroom', user_id: 'gina' }]);
  });
});

describe('a referred buyer refunded in two parts', () => {
  it('the refund that completes the order reverses the referrer\'s reward (50 + the rest of it)', async () => {
    await app.kernel.handle(dm('rita', '你好', clock.now()));
    const rita = findMemberByIdentity(app.db, 'wechat', 'rita')!;
    const { code } = ensureCode(app.db, { memberId: rita.id, length: 6, now: clock.now() });
    await app.kernel.handle(dm('ravi', `推荐码 ${code.code}`, clock.now()));
    const order = await buyAs('ravi');
    const { outTradeNo } = await app.orders.service.startPayment(order.token, { method: 'native', clientIp: '127.0.0.1' });
    await app.orders.sandbox!.pay(outTradeNo);
    expect(ledgerTotalFen(app.db, rita.id)).toBe(3000);
    const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    await fetch(`${server.url}/api/orders/${order.id}/refund`, { method: 'POST', headers: auth, body: JSON.stringify({ amount_fen: 5000, reason: '部分退款' }) });
    await app.orders.sandbox!.flush();
    expect(getOrder(app.db, order.id)!.state).toBe('partially_refunded');
    expect(ledgerTotalFen(app.db, rita.id)).toBe(3000);
    await fetch(`${server.url}/api/orders/${order.id}/refund`, { method: 'POST', headers: auth, body: JSON.stringify({ reason: '退课' }) });
    await app.orders.sandbox!.flush();
    expect(getOrder(app.db, order.id)!.state).toBe('refunded');
    expect(ledgerTotalFen(app.db, rita.id)).toBe(0);
  });
});
