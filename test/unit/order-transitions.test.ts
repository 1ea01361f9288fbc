import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, type CourseConfig } from '../../src/config/load.js';
import { DEFAULT_TEMPLATES, paidStage } from '../../src/orders/service.js';
import { findMemberByIdentity, setStage, stageHistory } from '../../src/store/members.js';
import { getOrder, getRefund, refundsOf, updateRefund, type OrderRow } from '../../src/store/orders.js';
import { activeCodeOf } from '../../src/store/referrals.js';
import { count, outboxRows, removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';
import { MCHID, attempt, buy, notification, payHarness, snapshot, testKeys, transaction, wechatPayProvider, type PayHarness } from '../helpers/payments.js';

// The order service's money transitions, driven through signed WeChat Pay notifications (the
// real verification path): paid, refunded in part or in full, and every refusal with the answer
// WeChat Pay gets. test/unit/payment-notify.test.ts covers the signature and replay checks.

afterAll(removeTempDirs);
const keys = testKeys();

function setup(config?: CourseConfig): { h: PayHarness; order: OrderRow; no: string; wakes: () => number } {
  let wakes = 0;
  const h = payHarness(() => wechatPayProvider(keys), { wake: () => void wakes++ });
  if (config) h.config = config;
  const order = buy(h, 'alice');
  return { h, order, no: attempt(h, order), wakes: () => wakes };
}

const deliver = (h: PayHarness, resource: Record<string, unknown>, eventType = 'TRANSACTION.SUCCESS', id?: string) =>
  h.service.handleNotification('wechatpay', notification(keys, resource, { now: h.clock.now(), eventType, id }));

async function paid(s: ReturnType<typeof setup>, transactionId = '4200000000001'): Promise<void> {
  expect((await deliver(s.h, transaction(s.no, s.order.amount, { transaction_id: transactionId }))).status).toBe(204);
}

/** A refund of `amount` asked for by the staff, and WeChat Pay's notification that it went through. */
function refundResource(s: ReturnType<typeof setup>, amount: number, over: Record<string, unknown> = {}): { resource: Record<string, unknown>; outRefundNo: string } {
  const r = s.h.service.requestRefund(s.order.id, { amount, reason: '学员申请', by: 'api', now: s.h.clock.now() });
  if (!r.ok) throw new Error(r.error);
  return {
    outRefundNo: r.outRefundNo,
    resource: { mchid: MCHID, out_trade_no: s.no, transaction_id: '4200000000001', out_refund_no: r.outRefundNo, refund_id: `5030000${amount}`, refund_status: 'SUCCESS', amount: { total: 19900, refund: amount }, ...over },
  };
}

const stage = (h: PayHarness) => findMemberByIdentity(h.db, 'wechat', 'alice')!.stage;
const notes = (h: PayHarness, ruleId: string) =>
  (h.db.prepare('SELECT detail FROM rule_traces WHERE rule_id = ? ORDER BY id').all(ruleId) as { detail: string }[]).map((t) => JSON.parse(t.detail).actions);

describe('paid', () => {
  it('the receipt and the paid-group text go to the buyer; the trace says what happened; the outbox is woken once', async () => {
    const s = setup();
    await paid(s);
    const dms = outboxRows(s.h.db).filter((o) => o.chat_id === 'alice').map((o) => o.text);
    expect(dms.slice(-2)).toEqual([
      `✅ 支付成功，欢迎加入「Python 数据分析正式班（第 3 期）」！\n实付：¥199.00\n订单号：${s.order.id}（退款或开票时请提供）`,
      '🎓 你的正式班群是「Python 数据分析正式班」，助教会在 24 小时内邀请你进群，请留意好友申请。',
    ]);
    const code = activeCodeOf(s.h.db, findMemberByIdentity(s.h.db, 'wechat', 'alice')!.id)!.code;
    expect(notes(s.h, 'order.paid')).toEqual([[`stage prospect → paid; referral code ${code} issued`, `order ${s.order.id} paid (¥199.00 via wechatpay)`]]);
    expect(s.wakes()).toBe(1);
    expect(getOrder(s.h.db, s.order.id)).toMatchObject({ state: 'paid', paid_amount: 19900, transaction_id: '4200000000001', stage_before: 'prospect' });
  });

  it('without order templates in templates.yaml, the built-in texts are sent', async () => {
    const dir = tempConfig({ 'templates.yaml': (t) => t.replace(/^order_receipt: \|-\n(?: {2}.*\n)+/m, '').replace(/^order_invite: .*\n/m, '').replace(/^order_refunded: .*\n/m, '') });
    const s = setup(loadConfig(dir, { env: {} }));
    await paid(s);
    const { resource } = refundResource(s, 19900);
    await deliver(s.h, resource, 'REFUND.SUCCESS');
    expect(outboxRows(s.h.db).filter((o) => o.chat_id === 'alice').map((o) => o.text).slice(-3)).toEqual([
      `✅ 支付成功！\n课程：Python 数据分析正式班（第 3 期）\n实付：¥199.00\n订单号：${s.order.id}`,
      '🎓 欢迎加入「Python 数据分析正式班」，助教会尽快拉你进群。',
      `已为你办理退款 ¥199.00（订单 ${s.order.id}，Python 数据分析正式班（第 3 期）），款项会原路退回。`,
    ]);
    expect(DEFAULT_TEMPLATES.order_receipt).toBe('✅ 支付成功！\n课程：{product}\n实付：{amount}\n订单号：{order}');
  });

  it('a second attempt paid for an order already paid changes nothing (logged for a refund by hand)', async () => {
    const s = setup();
    const second = attempt(s.h, s.order);
    await paid(s);
    const before = snapshot(s.h.db);
    expect((await deliver(s.h, transaction(second, s.order.amount, { transaction_id: '4200000000002' }))).status).toBe(204);
    // Only the second attempt is marked paid (that money came in).
    const attempts = (before.attempts as { out_trade_no: string; state: string }[]).map((a) => (a.out_trade_no === second ? { ...a, state: 'paid' } : a));
    expect({ ...snapshot(s.h.db), notifications: 0 }).toEqual({ ...before, attempts, notifications: 0 });
    expect(getOrder(s.h.db, s.order.id)!.transaction_id).toBe('4200000000001');
    expect(s.h.hookCalls).toHaveLength(1);
    expect(s.wakes()).toBe(1);
  });

  it('the stage a payment moves to: lifecycle.on_paid, else the catalog paid_stage', () => {
    const withOnPaid = loadConfig(tempConfig(), { env: {} });
    expect(paidStage(withOnPaid)).toBe('paid');
    const c = loadConfig(tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, '  on_paid: paid\n', ''), 'catalog.yaml': (t) => replaceOnce(t, 'paid_stage: paid', 'paid_stage: mature') }), { env: {} });
    expect(paidStage(c)).toBe('mature');
    expect(paidStage({ ...c, lifecycle: { ...c.lifecycle, on_paid: 'loyal' } })).toBe('loyal');
  });
});

describe('paid notifications refused (400, with the reason), nothing changes', () => {
  const cases: [string, (s: ReturnType<typeof setup>) => Record<string, unknown>, string][] = [
    ['another merchant', (s) => transaction(s.no, 19900, { mchid: '1999999999' }), 'mchid/appid do not match'],
    ['another appid', (s) => transaction(s.no, 19900, { appid: 'wx0000000000000000' }), 'mchid/appid do not match'],
    ['not SUCCESS', (s) => transaction(s.no, 19900, { trade_state: 'REFUND' }), 'trade_state is not SUCCESS'],
    ['no out_trade_no', () => transaction(undefined as unknown as string, 19900), 'no out_trade_no/transaction_id'],
    ['a numeric transaction_id', (s) => transaction(s.no, 19900, { transaction_id: 4200000000001 }), 'no out_trade_no/transaction_id'],
    ['an unknown out_trade_no', () => transaction('K-NOT-OURS', 19900), 'unknown out_trade_no'],
    ['an amount as text', (s) => transaction(s.no, 19900, { amount: { total: '19900', currency: 'CNY' } }), 'amount does not match the order'],
    ['1 fen less', (s) => transaction(s.no, 19899), 'amount does not match the order'],
    ['no amount', (s) => transaction(s.no, 19900, { amount: undefined }), 'amount does not match the order'],
    ['another currency', (s) => transaction(s.no, 19900, { amount: { total: 19900, currency: 'HKD' } }), 'amount does not match the order'],
  ];
  for (const [name, resource, message] of cases) {
    it(name, async () => {
      const s = setup();
      const before = snapshot(s.h.db);
      expect(await deliver(s.h, resource(s))).toEqual({ status: 400, body: { code: 'FAIL', message } });
      expect(snapshot(s.h.db)).toEqual(before);
    });
  }

  it('an attempt made with another provider is unknown to this one', async () => {
    const s = setup();
    s.h.db.prepare("UPDATE payment_attempts SET provider = 'sandbox' WHERE out_trade_no = ?").run(s.no);
    expect(await deliver(s.h, transaction(s.no, 19900))).toEqual({ status: 400, body: { code: 'FAIL', message: 'unknown out_trade_no' } });
  });

  it('an amount without a currency is taken as CNY', async () => {
    const s = setup();
    expect((await deliver(s.h, transaction(s.no, 19900, { amount: { total: 19900 } }))).status).toBe(204);
    expect(getOrder(s.h.db, s.order.id)!.state).toBe('paid');
  });

  it('a notification for another provider name is 404; another event type is recorded and ignored', async () => {
    const s = setup();
    const n = notification(keys, transaction(s.no, 19900), { now: s.h.clock.now() });
    expect(await s.h.service.handleNotification('alipay', n)).toEqual({ status: 404, body: { code: 'FAIL', message: 'no such provider' } });
    expect(await deliver(s.h, transaction(s.no, 19900), 'TRANSACTION.CLOSED', 'EV-closed')).toEqual({ status: 204 });
    expect(s.h.db.prepare('SELECT notification_id, event_type, order_id, outcome FROM payment_notifications').all()).toEqual([{ notification_id: 'EV-closed', event_type: 'TRANSACTION.CLOSED', order_id: null, outcome: 'ignored' }]);
    expect(getOrder(s.h.db, s.order.id)!.state).toBe('created');
  });
});

describe('refunded', () => {
  it('in full: the order is refunded, the member goes to lifecycle.on_refunded, leaves the paid group, is told; the hook and rules run', async () => {
    const s = setup();
    await paid(s);
    const { resource, outRefundNo } = refundResource(s, 19900);
    expect(await deliver(s.h, resource, 'REFUND.SUCCESS')).toEqual({ status: 204 });
    expect(getOrder(s.h.db, s.order.id)).toMatchObject({ state: 'refunded', refunded_amount: 19900 });
    expect(getRefund(s.h.db, outRefundNo)).toMatchObject({ state: 'succeeded', refund_id: '503000019900' });
    expect(stage(s.h)).toBe('nurture');
    const m = findMemberByIdentity(s.h.db, 'wechat', 'alice')!;
    expect(stageHistory(s.h.db, m.id).at(-1)).toMatchObject({ from_stage: 'paid', to_stage: 'nurture', rule_id: 'order.refunded' });
    expect(outboxRows(s.h.db).at(-1)!.text).toBe(`已为你办理退款 ¥199.00（订单 ${s.order.id}，Python 数据分析正式班（第 3 期）），款项会在 1-3 个工作日原路退回。`);
    expect(s.h.db.prepare('SELECT platform, action, chat_id, user_id FROM platform_actions').all()).toEqual([{ platform: 'wechat', action: 'remove_member', chat_id: 'python-vip@chatroom', user_id: 'alice' }]);
    expect(notes(s.h, 'order.refunded')).toEqual([['stage paid → nurture', 'removal from 1 paid group(s) queued', `order ${s.order.id} refunded (¥199.00)`]]);
    expect(s.h.hookCalls).toEqual([
      { kind: 'paid', orderId: s.order.id, amount: 19900 },
      { kind: 'refunded', orderId: s.order.id, amount: 19900 },
    ]);
    // The demo's `on: order.refunded` rule took the vip tag off.
    expect(count(s.h.db, 'member_tags', "tag = 'vip'")).toBe(0);
    expect(s.wakes()).toBe(2);
  });

  it('in part: the member stays paid and in the group, and is told the refunded amount', async () => {
    const s = setup();
    await paid(s);
    const { resource } = refundResource(s, 5000);
    expect((await deliver(s.h, resource, 'REFUND.SUCCESS')).status).toBe(204);
    expect(getOrder(s.h.db, s.order.id)).toMatchObject({ state: 'partially_refunded', refunded_amount: 5000 });
    expect(stage(s.h)).toBe('paid');
    expect(count(s.h.db, 'platform_actions')).toBe(0);
    expect(outboxRows(s.h.db).at(-1)!.text).toBe(`已为你办理退款 ¥50.00（订单 ${s.order.id}，Python 数据分析正式班（第 3 期）），款项会在 1-3 个工作日原路退回。`);
    expect(notes(s.h, 'order.refunded')).toEqual([[`order ${s.order.id} partially_refunded (¥50.00)`]]);
    // The rest, later: now it is a full refund.
    const rest = refundResource(s, 14900);
    expect((await deliver(s.h, rest.resource, 'REFUND.SUCCESS')).status).toBe(204);
    expect(getOrder(s.h.db, s.order.id)).toMatchObject({ state: 'refunded', refunded_amount: 19900 });
    expect(stage(s.h)).toBe('nurture');
  });

  it('without lifecycle.on_refunded, back to the stage before paying (if the transitions allow it); a member who moved on from paid keeps their stage', async () => {
    const paidTo = '{ id: paid, phase: 购买, to: [mature, loyal, nurture, churned] }';
    const noOnRefunded = (t: string) => replaceOnce(t, '  on_refunded: nurture\n', '');
    const c = loadConfig(tempConfig({ 'kequn.yaml': (t) => replaceOnce(noOnRefunded(t), paidTo, paidTo.replace('churned]', 'churned, prospect]')) }), { env: {} });
    const s = setup(c);
    await paid(s);
    await deliver(s.h, refundResource(s, 19900).resource, 'REFUND.SUCCESS');
    expect(stage(s.h)).toBe('prospect');
    // The transitions do not allow paid → prospect: the refund goes through, the stage stays.
    const r = setup(loadConfig(tempConfig({ 'kequn.yaml': noOnRefunded }), { env: {} }));
    await paid(r);
    await deliver(r.h, refundResource(r, 19900).resource, 'REFUND.SUCCESS');
    expect(getOrder(r.h.db, r.order.id)!.state).toBe('refunded');
    expect(stage(r.h)).toBe('paid');
    expect(notes(r.h, 'order.refunded')[0][0]).toBe('refused: stage paid → prospect is not allowed by config (from paid: mature, loyal, nurture, churned)');

    const t = setup();
    await paid(t);
    const m = findMemberByIdentity(t.h.db, 'wechat', 'alice')!;
    setStage(t.h.db, { memberId: m.id, to: 'loyal', eventId: null, ruleId: null, actor: 'test', now: t.h.clock.now() });
    await deliver(t.h, refundResource(t, 19900).resource, 'REFUND.SUCCESS');
    expect(getOrder(t.h.db, t.order.id)!.state).toBe('refunded');
    expect(stage(t.h)).toBe('loyal');
  });

  it('a product that keeps refunded buyers in its groups queues no removal', async () => {
    const c = loadConfig(tempConfig({ 'catalog.yaml': (t) => replaceOnce(t, 'remove_on_refund: true', 'remove_on_refund: false') }), { env: {} });
    const s = setup(c);
    await paid(s);
    await deliver(s.h, refundResource(s, 19900).resource, 'REFUND.SUCCESS');
    expect(getOrder(s.h.db, s.order.id)!.state).toBe('refunded');
    expect(count(s.h.db, 'platform_actions')).toBe(0);
    expect(notes(s.h, 'order.refunded')).toEqual([['stage paid → nurture', `order ${s.order.id} refunded (¥199.00)`]]);
  });

  it('a refund the provider reports as not successful fails the request and changes the order in nothing', async () => {
    const s = setup();
    await paid(s);
    const { resource, outRefundNo } = refundResource(s, 19900, { refund_status: 'ABNORMAL' });
    const order = getOrder(s.h.db, s.order.id);
    expect(await deliver(s.h, resource, 'REFUND.ABNORMAL')).toEqual({ status: 204 });
    expect(getRefund(s.h.db, outRefundNo)).toMatchObject({ state: 'failed', last_error: 'REFUND.ABNORMAL ABNORMAL' });
    expect(getOrder(s.h.db, s.order.id)).toEqual(order);
    // REFUND.SUCCESS whose status says otherwise is not a success either.
    const other = refundResource(s, 19900, { refund_status: 'PROCESSING' });
    await deliver(s.h, other.resource, 'REFUND.SUCCESS');
    expect(getRefund(s.h.db, other.outRefundNo)).toMatchObject({ state: 'failed', last_error: 'REFUND.SUCCESS PROCESSING' });
    expect(getOrder(s.h.db, s.order.id)!.state).toBe('paid');
  });

  it('a refund notification delivered twice, or for a refund already done, is applied once', async () => {
    const s = setup();
    await paid(s);
    const { resource, outRefundNo } = refundResource(s, 5000);
    await deliver(s.h, resource, 'REFUND.SUCCESS', 'EV-r1');
    const after = snapshot(s.h.db);
    expect(await deliver(s.h, resource, 'REFUND.SUCCESS', 'EV-r1')).toEqual({ status: 204 });
    expect(await deliver(s.h, resource, 'REFUND.SUCCESS', 'EV-r2')).toEqual({ status: 204 });
    expect({ ...snapshot(s.h.db), notifications: 0 }).toEqual({ ...after, notifications: 0 });
    expect(getOrder(s.h.db, s.order.id)!.refunded_amount).toBe(5000);
    expect(getRefund(s.h.db, outRefundNo)!.state).toBe('succeeded');
    expect(s.h.hookCalls.filter((c) => c.kind === 'refunded')).toHaveLength(1);
    expect(s.wakes()).toBe(2);
  });

  it('a confirmed refund that no longer fits the order rolls back (500) and changes nothing', async () => {
    const s = setup();
    await paid(s);
    const { resource } = refundResource(s, 19900);
    // Refunded meanwhile by another path: the order has nothing left.
    s.h.db.prepare("UPDATE orders SET refunded_amount = 19900, state = 'refunded' WHERE id = ?").run(s.order.id);
    const before = snapshot(s.h.db);
    expect(await deliver(s.h, resource, 'REFUND.SUCCESS')).toEqual({ status: 500, body: { code: 'FAIL', message: 'internal error' } });
    expect(snapshot(s.h.db)).toEqual(before);
  });
});

describe('refund notifications refused (400, with the reason), nothing changes', () => {
  const cases: [string, (s: ReturnType<typeof setup>, r: { resource: Record<string, unknown>; outRefundNo: string }) => Record<string, unknown>, string][] = [
    ['another merchant', (_s, r) => ({ ...r.resource, mchid: '1999999999' }), 'mchid does not match'],
    ['no out_refund_no', (_s, r) => ({ ...r.resource, out_refund_no: undefined }), 'no out_refund_no/out_trade_no'],
    ['no out_trade_no', (_s, r) => ({ ...r.resource, out_trade_no: 12345 }), 'no out_refund_no/out_trade_no'],
    ['an unknown out_refund_no', (_s, r) => ({ ...r.resource, out_refund_no: 'R-NOT-OURS' }), 'unknown refund'],
    ['the out_trade_no of another payment', (_s, r) => ({ ...r.resource, out_trade_no: 'K-OTHER' }), 'unknown refund'],
    ['another amount', (_s, r) => ({ ...r.resource, amount: { total: 19900, refund: 19899 } }), 'refund amount does not match'],
    ['no amount', (_s, r) => ({ ...r.resource, amount: undefined }), 'refund amount does not match'],
  ];
  for (const [name, resource, message] of cases) {
    it(name, async () => {
      const s = setup();
      await paid(s);
      const r = refundResource(s, 19900);
      const before = snapshot(s.h.db);
      expect(await deliver(s.h, resource(s, r), 'REFUND.SUCCESS')).toEqual({ status: 400, body: { code: 'FAIL', message } });
      expect(snapshot(s.h.db)).toEqual(before);
      expect(refundsOf(s.h.db, s.order.id).map((x) => x.state)).toEqual(['requested']);
    });
  }

  it('a refund already marked failed is not applied by a late success', async () => {
    const s = setup();
    await paid(s);
    const { resource, outRefundNo } = refundResource(s, 19900);
    updateRefund(s.h.db, { outRefundNo, from: ['requested'], to: 'failed', error: 'closed by hand', now: s.h.clock.now() });
    expect(await deliver(s.h, resource, 'REFUND.SUCCESS')).toEqual({ status: 204 });
    expect(getOrder(s.h.db, s.order.id)!.state).toBe('paid');
    expect(getRefund(s.h.db, outRefundNo)!.state).toBe('failed');
  });
});
