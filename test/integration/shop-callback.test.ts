import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { VirtualClock } from '../../src/core/schedule/clock.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { getOrder, latestOrderOf, type OrderRow } from '../../src/flows/orders/store/orders.js';
import { SHOP_CALLBACKS_PER_MINUTE, signShopCallback } from '../../src/flows/orders/shop.js';
import { ensureCode } from '../../src/flows/referral/code.js';
import { ledgerTotalFen } from '../../src/flows/referral/store.js';
import type { WebServer } from '../../src/web/server.js';
import { dashboard } from '../../src/flows/dashboard/metrics.js';
import { T0 } from '../helpers/fixtures.js';
import { dm, snapshot } from '../helpers/payments.js';
import { startLoyaltyServer, type LoyaltyServer } from '../helpers/loyalty.js';

// A product sold in the seller's 小鹅通 shop (interview-camp in test/fixtures/loyalty-course):
// the personal link, the signed callback and staff /paid, over real HTTP on 127.0.0.1.

const SECRET = 'xiaoe-shared-secret-for-tests-0123456789';
let running: LoyaltyServer;
let app: App;
let server: WebServer;
let clock: VirtualClock;

beforeAll(async () => {
  ({ app, server, clock } = running = await startLoyaltyServer({ KEQUN_SHOP_SECRET_XIAOE: SECRET }));
});
afterAll(() => running?.stop());

async function say(user: string, text: string): Promise<OrderRow | undefined> {
  await app.kernel.handle(dm(user, text, clock.now()));
  const m = findMemberByIdentity(app.db, 'wechat', user);
  return m ? latestOrderOf(app.db, m.id, ['created']) : undefined;
}

function callback(body: unknown, opts: { secret?: string; ts?: number; shop?: string; signature?: string } = {}) {
  const raw = JSON.stringify(body);
  const ts = String(Math.floor((opts.ts ?? clock.now()) / 1000));
  return fetch(`${server.url}/shop/callback/${opts.shop ?? 'xiaoe'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-kequn-timestamp': ts, 'x-kequn-signature': opts.signature ?? signShopCallback(opts.secret ?? SECRET, ts, raw) },
    body: raw,
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
}

const dmsTo = (user: string) => (app.db.prepare('SELECT text FROM outbox WHERE chat_id = ? ORDER BY id').all(user) as { text: string }[]).map((r) => r.text);

describe('external shop', () => {
  it('sends the personal link, records the click and redirects to the shop with the order ref', async () => {
    const order = (await say('olga', '/buy interview-camp'))!;
    expect(order).toMatchObject({ product_id: 'interview-camp', currency: 'CNY', amount: 29900 });
    expect(dmsTo('olga').at(-1)).toContain(`/go/${order.token}`);
    const r = await fetch(`${server.url}/go/${order.token}`, { redirect: 'manual' });
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe(`https://appdemo.h5.xiaoeknow.com/p/course/interview-camp?kequn_ref=${order.id}`);
    expect(app.db.prepare('SELECT shop_clicks, shop_clicked_at FROM orders WHERE id = ?').get(order.id)).toEqual({ shop_clicks: 1, shop_clicked_at: T0 });
    // The checkout page of this order leads to the shop too; kequn takes no payment for it.
    const page = await fetch(`${server.url}/pay/${order.token}`, { redirect: 'manual' });
    expect(page.headers.get('location')).toBe(`/go/${order.token}`);
    expect((await fetch(`${server.url}/pay/${order.token}/pay`, { method: 'POST', redirect: 'manual' })).status).toBe(409);
    expect((await fetch(`${server.url}/go/AAAAAAAAAAAAAAAAAAAAAAAA`, { redirect: 'manual' })).status).toBe(404);
    expect(getOrder(app.db, order.id)!.state).toBe('created');
  });

  it('a signed callback marks it paid as any payment (stage, receipt, invite); a replay, a bad signature, a stale or unknown one change nothing', async () => {
    const order = (await say('pete', '/buy interview-camp'))!;
    const body = { ref: order.id, shop_order_id: 'XE-20260302-0001', product: 'interview-camp', amount_fen: 26900 };
    const before = snapshot(app.db);
    // Refused, each with nothing changed:
    expect((await callback(body, { secret: 'not-the-secret-not-the-secret-00' })).status).toBe(401);
    expect((await callback(body, { signature: 'sha256=' + '0'.repeat(64) })).status).toBe(401);
    expect((await callback(body, { ts: clock.now() - 6 * 60_000 })).status).toBe(401);
    expect((await callback(body, { ts: clock.now() + 6 * 60_000 })).status).toBe(401);
    expect((await callback({ ...body, ref: 'o_AAAAAAAAAAAA' })).status).toBe(404);
    expect((await callback({ ...body, product: 'python-vip' })).status).toBe(400);
    expect((await callback({ ...body, amount_fen: -1 })).status).toBe(400);
    expect((await callback(body, { shop: 'youzan' })).status).toBe(404);
    expect((await callback(body, { shop: 'toString' })).status).toBe(404);
    expect(snapshot(app.db)).toEqual(before);
    // Accepted: paid at what the shop took, by the same order.paid event as a payment here.
    expect(await callback(body)).toEqual({ status: 200, body: { ok: true, order: order.id, state: 'paid' } });
    expect(getOrder(app.db, order.id)).toMatchObject({ state: 'paid', provider: 'shop:xiaoe', transaction_id: 'XE-20260302-0001', paid_amount: 26900 });
    expect(findMemberByIdentity(app.db, 'wechat', 'pete')!.stage).toBe('paid');
    const texts = dmsTo('pete');
    expect(texts.some((t) => t.includes('✅ 支付成功，欢迎加入「数据岗面试冲刺营」') && t.includes('实付：¥269.00'))).toBe(true);
    expect(texts.some((t) => t.includes('数据岗面试冲刺营') && t.includes('助教会在 24 小时内邀请你进群'))).toBe(true);
    expect(app.db.prepare("SELECT COUNT(*) AS n FROM events WHERE type = 'order.paid' AND dedupe_key = ?").get(`order.paid:${order.id}`)).toEqual({ n: 1 });
    // The same delivery again (a replay, or the shop retrying): refused, nothing changes.
    const after = snapshot(app.db);
    expect((await callback(body)).status).toBe(409);
    expect(snapshot(app.db)).toEqual(after);
    // A second shop order for the same kequn order: recorded, the order stays as it was.
    expect(await callback({ ...body, shop_order_id: 'XE-20260302-0002' })).toEqual({ status: 200, body: { ok: true, order: order.id, state: 'already_paid' } });
    expect(getOrder(app.db, order.id)).toMatchObject({ transaction_id: 'XE-20260302-0001', paid_amount: 26900 });
    // kequn cannot refund what the shop took: /refund says so and records nothing.
    await app.kernel.handle(dm('teacher', `/refund ${order.id}`, clock.now()));
    expect(dmsTo('teacher').at(-1)).toContain('paid outside kequn (shop:xiaoe); refund it in the shop');
    expect(app.db.prepare('SELECT COUNT(*) AS n FROM refunds WHERE order_id = ?').get(order.id)).toEqual({ n: 0 });
  });

  it('the referrer of a member who paid in the shop gets the referral reward, as for any payment', async () => {
    await app.kernel.handle(dm('vera', '你好', clock.now()));
    const vera = findMemberByIdentity(app.db, 'wechat', 'vera')!;
    const { code } = ensureCode(app.db, { memberId: vera.id, length: 6, now: clock.now() });
    await app.kernel.handle(dm('walt', `推荐码 ${code.code}`, clock.now()));
    const order = (await say('walt', '/buy interview-camp'))!;
    expect(ledgerTotalFen(app.db, vera.id)).toBe(0);
    expect((await callback({ ref: order.id, shop_order_id: 'XE-REF-1', product: 'interview-camp', amount_fen: 29900 })).status).toBe(200);
    // referral.reward in the course: ¥30 cashback.
    expect(ledgerTotalFen(app.db, vera.id)).toBe(3000);
  });

  it('a callback for an order whose link expired still marks it paid (the shop took the money)', async () => {
    const order = (await say('ruth', '/buy interview-camp'))!;
    clock.set(clock.now() + 3 * 3_600_000);
    await app.orders.tick();
    expect(getOrder(app.db, order.id)!.state).toBe('expired');
    expect((await fetch(`${server.url}/go/${order.token}`, { redirect: 'manual' })).status).toBe(410);
    expect(await callback({ ref: order.id, shop_order_id: 'XE-LATE-1', product: 'interview-camp', amount_fen: 29900 })).toEqual({ status: 200, body: { ok: true, order: order.id, state: 'paid' } });
    expect(getOrder(app.db, order.id)).toMatchObject({ state: 'paid', paid_amount: 29900 });
  });

  it('staff /paid marks it paid the same way; a member cannot', async () => {
    const order = (await say('quin', '/buy interview-camp'))!;
    await say('quin', '/paid quin interview-camp 小鹅通订单 XE-9');
    expect(getOrder(app.db, order.id)!.state).toBe('created');
    await app.kernel.handle(dm('teacher', '/paid quin interview-camp 小鹅通订单 XE-9', clock.now()));
    expect(getOrder(app.db, order.id)).toMatchObject({ state: 'paid', provider: 'staff', paid_amount: 29900 });
    expect(findMemberByIdentity(app.db, 'wechat', 'quin')!.stage).toBe('paid');
    expect(dmsTo('teacher').at(-1)).toBe(`已登记：quin 购买「数据岗面试冲刺营」¥299.00（订单 ${order.id}，备注：小鹅通订单 XE-9）。支付确认和入群信息会私信发给学员。`);
    expect(dmsTo('quin').some((t) => t.includes('✅ 支付成功，欢迎加入「数据岗面试冲刺营」'))).toBe(true);
    // Twice: refused, in Chinese.
    await app.kernel.handle(dm('teacher', '/paid quin interview-camp', clock.now()));
    expect(dmsTo('teacher').at(-1)).toContain('学员已经购买过这门课程');
    expect(app.db.prepare("SELECT COUNT(*) AS n FROM shop_payments WHERE provider = 'staff'").get()).toEqual({ n: 1 });
  });

  it('a refund made in the shop (signed callback, event refund) goes through the refund path: partial, then full (out of the paid group, stage back, revenue); a replay, a bad signature, another shop order change nothing', async () => {
    const order = (await say('rosa', '/buy interview-camp'))!;
    const paidBody = { ref: order.id, shop_order_id: 'XE-RF-0001', product: 'interview-camp', amount_fen: 29900 };
    expect((await callback(paidBody)).status).toBe(200);
    expect(findMemberByIdentity(app.db, 'wechat', 'rosa')!.stage).toBe('paid');
    const net = () => dashboard({ db: app.db, config: app.config, now: clock.now(), direct: true }).revenue.cny.net;
    const netPaid = net();
    const refund = (refund_id: string, amount_fen: number, extra: Record<string, unknown> = {}, opts = {}) =>
      callback({ event: 'refund', ref: order.id, shop_order_id: 'XE-RF-0001', refund_id, product: 'interview-camp', amount_fen, ...extra }, opts);
    // Refused, each with nothing changed:
    const before = snapshot(app.db);
    expect((await refund('XE-R-1', 10000, {}, { signature: 'sha256=' + 'f'.repeat(64) })).status).toBe(401);
    expect((await refund('XE-R-1', 10000, {}, { secret: 'not-the-secret-not-the-secret-00' })).status).toBe(401);
    expect((await refund('XE-R-1', 10000, { shop_order_id: 'XE-OTHER' })).status).toBe(400);
    expect((await refund('XE-R-1', 29901)).status).toBe(400);
    expect((await refund('', 100)).status).toBe(400);
    expect((await callback({ event: 'refund', ref: order.id, shop_order_id: 'XE-RF-0001', product: 'interview-camp', amount_fen: 100 })).status).toBe(400);
    expect(snapshot(app.db)).toEqual(before);
    // ¥100 back: partially refunded, still in the group.
    expect(await refund('XE-R-1', 10000)).toEqual({ status: 200, body: { ok: true, order: order.id, state: 'partially_refunded' } });
    expect(getOrder(app.db, order.id)).toMatchObject({ state: 'partially_refunded', refunded_amount: 10000 });
    expect(net()).toBe(netPaid - 100);
    // The same refund again (the shop retrying): 409, nothing changes.
    const after = snapshot(app.db);
    expect((await refund('XE-R-1', 10000)).status).toBe(409);
    expect(snapshot(app.db)).toEqual(after);
    expect(app.db.prepare("SELECT COUNT(*) AS n FROM platform_actions WHERE action = 'remove_member' AND user_id = 'rosa'").get()).toEqual({ n: 0 });
    // The rest back: refunded, the same order.refunded event as any refund: out of the paid group, stage back.
    expect(await refund('XE-R-2', 19900)).toEqual({ status: 200, body: { ok: true, order: order.id, state: 'refunded' } });
    expect(getOrder(app.db, order.id)).toMatchObject({ state: 'refunded', refunded_amount: 29900 });
    expect(app.db.prepare("SELECT COUNT(*) AS n FROM events WHERE type = 'order.refunded' AND dedupe_key LIKE ?").get(`order.refunded:shop:xiaoe:XE-R-%`)).toEqual({ n: 2 });
    expect(app.db.prepare("SELECT platform, chat_id, user_id FROM platform_actions WHERE action = 'remove_member' AND user_id = 'rosa'").all()).toEqual([
      { platform: 'wechat', chat_id: 'interview-camp@chatroom', user_id: 'rosa' },
    ]);
    expect(findMemberByIdentity(app.db, 'wechat', 'rosa')!.stage).toBe('nurture'); // lifecycle.on_refunded in the course
    expect(net()).toBe(netPaid - 299);
    // Nothing is left to refund.
    expect((await refund('XE-R-3', 1)).status).toBe(400);
  });

  it(`more than ${SHOP_CALLBACKS_PER_MINUTE} callbacks a minute from one client: 429 before anything is read, nothing changed; the next minute is served`, async () => {
    clock.set(clock.now() + 61_000); // a fresh window, whatever the tests above sent
    const order = (await say('quinn', '/buy interview-camp'))!;
    const body = { ref: order.id, shop_order_id: 'XE-FLOOD-1', product: 'interview-camp', amount_fen: 29900 };
    const before = snapshot(app.db);
    // A flood of forged callbacks: refused (401) until the limit, then 429.
    const statuses: number[] = [];
    for (let i = 0; i < SHOP_CALLBACKS_PER_MINUTE + 5; i++) statuses.push((await callback(body, { signature: 'sha256=' + '0'.repeat(64) })).status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(SHOP_CALLBACKS_PER_MINUTE);
    expect(statuses.slice(SHOP_CALLBACKS_PER_MINUTE)).toEqual([429, 429, 429, 429, 429]);
    // Over the limit even a good callback is refused, and changes nothing.
    expect(await callback(body)).toEqual({ status: 429, body: { ok: false, error: 'too many requests' } });
    expect(snapshot(app.db)).toEqual(before);
    expect(getOrder(app.db, order.id)!.state).toBe('created');
    // A minute later the shop's retry is served.
    clock.set(clock.now() + 60_000);
    expect((await callback(body)).status).toBe(200);
    expect(getOrder(app.db, order.id)!.state).toBe('paid');
  });
});

