import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { VirtualClock } from '../../src/core/schedule/clock.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { getOrder, latestOrderOf, type OrderRow } from '../../src/flows/orders/store/orders.js';
import type { WebServer } from '../../src/web/server.js';
import { dm } from '../helpers/payments.js';
import { startLoyaltyServer, type LoyaltyServer } from '../helpers/loyalty.js';

// Loyalty prices through the real path: 「报名」 in a DM (the rule's `buy: next`), the DM with the
// reason, the checkout page over HTTP on 127.0.0.1, the sandbox payment, on the loyalty course.

let running: LoyaltyServer;
let app: App;
let server: WebServer;
let clock: VirtualClock;

beforeAll(async () => {
  ({ app, server, clock } = running = await startLoyaltyServer());
});
afterAll(() => running?.stop());

async function post(path: string, form: Record<string, string>) {
  const r = await fetch(server.url + path, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  return { status: r.status, location: r.headers.get('location'), text: await r.text() };
}

async function say(user: string, text: string): Promise<OrderRow> {
  await app.kernel.handle(dm(user, text, clock.now()));
  return latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', user)!.id, ['created'])!;
}

/** Pays an order through the checkout's pay button and the sandbox's pay page. */
async function payOrder(order: OrderRow): Promise<void> {
  expect((await post(`/pay/${order.token}/pay`, {})).status).toBe(200);
  const no = (app.db.prepare("SELECT out_trade_no FROM payment_attempts WHERE order_id = ? AND state = 'pending'").get(order.id) as { out_trade_no: string }).out_trade_no;
  expect((await post(`/sandbox/pay/${no}`, { result: 'pay' })).status).toBe(303);
  expect(getOrder(app.db, order.id)!.state).toBe('paid');
}

const dmsTo = (user: string) => (app.db.prepare('SELECT text FROM outbox WHERE chat_id = ? ORDER BY id').all(user) as { text: string }[]).map((r) => r.text);

describe('a returning member buys the next product at the loyalty price', () => {
  it('入门 bought: 「报名」 offers 数据分析 at the difference less 5%, with the reasons in the DM and on the page; a tampered amount changes nothing', async () => {
    const basic = await say('mia', '/buy python-basic');
    expect(basic).toMatchObject({ product_id: 'python-basic', amount: 9900 });
    await payOrder(basic);
    const order = await say('mia', '报名');
    // 19900 − 9900 (入门 paid) = 10000; 5% of it (returning) = 500: ¥95.00.
    expect(order).toMatchObject({ product_id: 'python-vip', list_amount: 19900, amount: 9500 });
    const text = dmsTo('mia').at(-1)!;
    expect(text).toContain('「Python 数据分析正式班（第 3 期）」报名链接');
    expect(text).toContain('原价 ¥199.00，你的价格 ¥95.00（已购《Python 入门（录播课）》，补差价升级 -¥99.00；老学员 95 折 -¥5.00）');
    const page = await (await fetch(`${server.url}/pay/${order.token}`)).text();
    expect(page).toContain('<tr class="discount" data-kind="upgrade"><td>已购《Python 入门（录播课）》，补差价升级</td><td>-¥99.00</td></tr>');
    expect(page).toContain('<tr class="discount" data-kind="loyalty"><td>老学员 95 折</td><td>-¥5.00</td></tr>');
    expect(page).toContain('<td id="amount">¥95.00</td>');
    // The client cannot name a price: fields it sends are not read, the attempt takes the order's amount.
    expect((await post(`/pay/${order.token}/pay`, { amount: '1', amount_fen: '1', total: '1', discounts: '[]' })).status).toBe(200);
    const attempt = app.db.prepare('SELECT amount FROM payment_attempts WHERE order_id = ?').get(order.id) as { amount: number };
    expect(attempt.amount).toBe(9500);
    expect(getOrder(app.db, order.id)!.amount).toBe(9500);
    const no = (app.db.prepare('SELECT out_trade_no FROM payment_attempts WHERE order_id = ?').get(order.id) as { out_trade_no: string }).out_trade_no;
    expect(await (await fetch(`${server.url}/sandbox/pay/${no}`)).text()).toContain('¥95.00');
    expect((await post(`/sandbox/pay/${no}`, { result: 'pay', amount: '1' })).status).toBe(303);
    expect(getOrder(app.db, order.id)).toMatchObject({ state: 'paid', paid_amount: 9500 });
    // The path goes on: 数据分析 bought, 「报名」 offers 机器学习进阶班 at 95 折 (39900 − 1995 = 37905).
    expect(await say('mia', '报名')).toMatchObject({ product_id: 'ml-advanced', amount: 37905 });
  });

  it('a bundle credits what was bought of it, unlocks every group of its products, and they are not sold again', async () => {
    await payOrder((await say('ned', '/buy python-vip'))!);
    const order = (await say('ned', '/buy data-path'))!;
    // 49900 − 19900 (数据分析 paid) = 30000; 95 折 −1500: ¥285.00.
    expect(order).toMatchObject({ product_id: 'data-path', list_amount: 49900, amount: 28500 });
    expect(dmsTo('ned').at(-1)).toContain('原价 ¥499.00，你的价格 ¥285.00（已购《Python 数据分析正式班（第 3 期）》，套餐补差价 -¥199.00；老学员 95 折 -¥15.00）');
    await payOrder(order);
    const texts = dmsTo('ned');
    expect(texts.filter((t) => t.includes('正式班群是「机器学习进阶班」'))).toHaveLength(1);
    await say('ned', '/buy ml-advanced');
    expect(dmsTo('ned').at(-1)).toContain('你已经购买过这门课程了');
    // Next on the path after both: 面试冲刺营.
    expect(await say('ned', '报名')).toMatchObject({ product_id: 'interview-camp' });
  });

  it('a newcomer is offered 数据分析 at the list price, with no reasons', async () => {
    const order = await say('neo', '报名');
    expect(order).toMatchObject({ product_id: 'python-vip', amount: 19900 });
    expect(dmsTo('neo').at(-1)).toContain('原价 ¥199.00，你的价格 ¥199.00。');
  });
});
