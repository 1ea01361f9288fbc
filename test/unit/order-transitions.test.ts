import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import type { CourseConfig } from '../../src/core/types.js';
import type { Feature } from '../../src/core/feature.js';
import { DEFAULT_TEMPLATES } from '../../src/flows/orders/events.js';
import { findMemberByIdentity, setStage, stageHistory } from '../../src/store/members.js';
import { getOrder, getRefund, refundsOf, updateRefund, type OrderRow } from '../../src/flows/orders/store/orders.js';
import { activeCodeOf } from '../../src/flows/referral/store.js';
import { count, outboxRows, removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';
import { APPID, MCHID, attempt, buy, notification, payHarness, snapshot, testKeys, transaction, wechatPayProvider, type PayHarness } from '../helpers/payments.js';

// The order service's money transitions, driven through signed WeChat Pay notifications (the
// real verification path): paid, refunded in part or in full, and every refusal with the answer
// WeChat Pay gets. test/unit/payment-notify.test.ts covers the signature and replay checks.

afterAll(removeTempDirs);
const keys = testKeys();

/** What the order service logged, as pino's JSON lines. */
type LogLine = { level: number; msg: string } & Record<string, unknown>;

function setup(config?: CourseConfig, opts: { wake?: boolean; features?: Feature[]; user?: string } = {}): { h: PayHarness; order: OrderRow; no: string; wakes: () => number; logs: LogLine[] } {
  let wakes = 0;
  const logs: LogLine[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const h = payHarness(() => wechatPayProvider(keys), { wake: opts.wake === false ? undefined : () => void wakes++, log, features: opts.features });
  if (config) h.config = config;
  const order = buy(h, opts.user ?? 'alice');
  return { h, order, no: attempt(h, order), wakes: () => wakes, logs };
}

const logged = (s: { logs: LogLine[] }) => s.logs.map(({ level, msg, time: _t, pid: _p, hostname: _h, ...rest }) => ({ level, msg, ...rest }));

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
    expect(s.h.db.prepare('SELECT state, last_result FROM payment_attempts WHERE out_trade_no = ?').get(s.no)).toEqual({ state: 'paid', last_result: 'paid 4200000000001' });
  });

  it('on Telegram, a paid group with a chat gets a one-person invite link instead of the invite text', async () => {
    const c = loadConfig(tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, '    wechat: python-vip@chatroom\n', '    wechat: python-vip@chatroom\n    telegram: "-1001234567890"\n') }), { env: {} });
    const h = payHarness(() => wechatPayProvider(keys));
    h.config = c;
    const order = buy(h, '4242', 'telegram');
    h.service.stars.paid({ payload: order.id, currency: 'XTR', totalAmount: 1500, telegramUserId: '4242', telegramChargeId: 'tg-1', providerChargeId: 'p-1' });
    expect(h.db.prepare('SELECT platform, action, chat_id, user_id FROM platform_actions').all()).toEqual([{ platform: 'telegram', action: 'create_invite_link', chat_id: '-1001234567890', user_id: '4242' }]);
    // The order link, then the receipt; no invite text (the link follows once the Bot API made it).
    const texts = outboxRows(h.db).filter((o) => o.chat_id === '4242').map((o) => o.text);
    expect(texts).toHaveLength(2);
    expect(texts[1]).toMatch(/^✅ 支付成功/);
    expect(outboxRows(h.db).some((o) => o.text.includes('助教会在 24 小时内邀请你进群'))).toBe(false);
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

  it('the stage a payment moves to: lifecycle.on_paid, else the catalog paid_stage', async () => {
    const c = loadConfig(tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, '  on_paid: paid\n', ''), 'catalog.yaml': (t) => replaceOnce(t, 'paid_stage: paid', 'paid_stage: nurture') }), { env: {} });
    const s = setup(c);
    await paid(s);
    expect(stage(s.h)).toBe('nurture');
    const t = setup({ ...c, lifecycle: { ...c.lifecycle, on_paid: 'churned' } });
    await paid(t);
    expect(stage(t.h)).toBe('churned');
  });
});

describe('paid notifications refused (400, with the reason), nothing changes', () => {
  // [case, resource, answer, what the log says beside the message]
  const cases: [string, (s: ReturnType<typeof setup>) => Record<string, unknown>, string, (s: ReturnType<typeof setup>) => Record<string, unknown>][] = [
    ['another merchant', (s) => transaction(s.no, 19900, { mchid: '1999999999' }), 'mchid/appid do not match', () => ({ mchid: '1999999999', appid: APPID })],
    ['another appid', (s) => transaction(s.no, 19900, { appid: 'wx0000000000000000' }), 'mchid/appid do not match', () => ({ mchid: MCHID, appid: 'wx0000000000000000' })],
    ['not SUCCESS', (s) => transaction(s.no, 19900, { trade_state: 'REFUND' }), 'trade_state is not SUCCESS', () => ({ trade_state: 'REFUND' })],
    ['no out_trade_no', () => transaction(undefined as unknown as string, 19900), 'no out_trade_no/transaction_id', () => ({})],
    ['a numeric transaction_id', (s) => transaction(s.no, 19900, { transaction_id: 4200000000001 }), 'no out_trade_no/transaction_id', () => ({})],
    ['an unknown out_trade_no', () => transaction('K-NOT-OURS', 19900), 'unknown out_trade_no', () => ({ out_trade_no: 'K-NOT-OURS' })],
    ['an amount as text', (s) => transaction(s.no, 19900, { amount: { total: '19900', currency: 'CNY' } }), 'amount does not match the order', (s) => ({ out_trade_no: s.no, paid: '19900', expected: 19900 })],
    ['1 fen less', (s) => transaction(s.no, 19899), 'amount does not match the order', (s) => ({ out_trade_no: s.no, paid: 19899, expected: 19900 })],
    ['no amount', (s) => transaction(s.no, 19900, { amount: undefined }), 'amount does not match the order', (s) => ({ out_trade_no: s.no, expected: 19900 })],
    ['another currency', (s) => transaction(s.no, 19900, { amount: { total: 19900, currency: 'HKD' } }), 'amount does not match the order', (s) => ({ out_trade_no: s.no, paid: 19900, expected: 19900 })],
  ];
  for (const [name, resource, message, detail] of cases) {
    it(name, async () => {
      const s = setup();
      const before = snapshot(s.h.db);
      expect(await deliver(s.h, resource(s))).toEqual({ status: 400, body: { code: 'FAIL', message } });
      expect(snapshot(s.h.db)).toEqual(before);
      // The operator's log says what did not match.
      expect(logged(s)).toEqual([{ level: 50, msg: `payment notification rejected: ${message}`, ...detail(s) }]);
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
  type R = { resource: Record<string, unknown>; outRefundNo: string };
  const cases: [string, (r: R) => Record<string, unknown>, string, (r: R) => Record<string, unknown>][] = [
    ['another merchant', (r) => ({ ...r.resource, mchid: '1999999999' }), 'mchid does not match', () => ({ mchid: '1999999999' })],
    ['no out_refund_no', (r) => ({ ...r.resource, out_refund_no: undefined }), 'no out_refund_no/out_trade_no', () => ({})],
    ['no out_trade_no', (r) => ({ ...r.resource, out_trade_no: 12345 }), 'no out_refund_no/out_trade_no', () => ({})],
    ['an unknown out_refund_no', (r) => ({ ...r.resource, out_refund_no: 'R-NOT-OURS' }), 'unknown refund', () => ({ out_refund_no: 'R-NOT-OURS' })],
    ['the out_trade_no of another payment', (r) => ({ ...r.resource, out_trade_no: 'K-OTHER' }), 'unknown refund', (r) => ({ out_refund_no: r.outRefundNo, out_trade_no: 'K-OTHER' })],
    ['another amount', (r) => ({ ...r.resource, amount: { total: 19900, refund: 19899 } }), 'refund amount does not match', (r) => ({ out_refund_no: r.outRefundNo, refund: 19899, expected: 19900 })],
    ['no amount', (r) => ({ ...r.resource, amount: undefined }), 'refund amount does not match', (r) => ({ out_refund_no: r.outRefundNo, expected: 19900 })],
  ];
  for (const [name, resource, message, detail] of cases) {
    it(name, async () => {
      const s = setup();
      await paid(s);
      const r = refundResource(s, 19900);
      const before = snapshot(s.h.db);
      s.logs.length = 0;
      expect(await deliver(s.h, resource(r), 'REFUND.SUCCESS')).toEqual({ status: 400, body: { code: 'FAIL', message } });
      expect(snapshot(s.h.db)).toEqual(before);
      expect(refundsOf(s.h.db, s.order.id).map((x) => x.state)).toEqual(['requested']);
      expect(logged(s)).toEqual([{ level: 50, msg: `payment notification rejected: ${message}`, ...detail(r) }]);
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

describe('what only the operator sees, and what must not be mixed up', () => {
  it('paid and refunded are logged; a second payment for a paid order is logged as an error to refund by hand, a redelivery is not', async () => {
    const s = setup();
    const second = attempt(s.h, s.order);
    await paid(s);
    // The same payment again, under a new notification id: nothing to do, nothing to say.
    await deliver(s.h, transaction(s.no, 19900, { transaction_id: '4200000000001' }));
    // Another attempt reported with the first payment's transaction id: the same payment.
    await deliver(s.h, transaction(second, 19900, { transaction_id: '4200000000001' }));
    // The paid attempt reported again with another transaction id: still that one payment.
    await deliver(s.h, transaction(s.no, 19900, { transaction_id: '4200000000077' }));
    expect(logged(s)).toEqual([{ level: 30, msg: 'order paid', order: s.order.id, provider: 'wechatpay', amount: 19900 }]);
    // A real second payment: another attempt, another transaction.
    const third = attempt(s.h, s.order);
    await deliver(s.h, transaction(third, 19900, { transaction_id: '4200000000003' }));
    expect(logged(s).at(-1)).toEqual({ level: 50, msg: 'payment: a second payment for an order already paid; refund it by hand', order: s.order.id, outTradeNo: third, transactionId: '4200000000003' });
    const { resource, outRefundNo } = refundResource(s, 5000);
    await deliver(s.h, resource, 'REFUND.SUCCESS');
    expect(logged(s).at(-1)).toEqual({ level: 30, msg: 'order refunded', refund: outRefundNo });
  });

  it('a refund that no longer fits its order is logged with the reason when it rolls back', async () => {
    const s = setup();
    await paid(s);
    const { resource, outRefundNo } = refundResource(s, 19900);
    s.h.db.prepare("UPDATE orders SET refunded_amount = 19900, state = 'refunded' WHERE id = ?").run(s.order.id);
    await deliver(s.h, resource, 'REFUND.SUCCESS', 'EV-late');
    expect(logged(s).at(-1)).toEqual({ level: 50, msg: 'payment notification failed; nothing was changed', provider: 'wechatpay', notification: 'EV-late', err: `refund ${outRefundNo} does not fit order ${s.order.id}` });
  });

  it('a notification id seen before is not processed again, whatever it says', async () => {
    const s = setup();
    const second = attempt(s.h, s.order);
    expect((await deliver(s.h, transaction(s.no, 19900, { transaction_id: '4200000000001' }), 'TRANSACTION.SUCCESS', 'EV-1')).status).toBe(204);
    expect((await deliver(s.h, transaction(second, 19900, { transaction_id: '4200000000002' }), 'TRANSACTION.SUCCESS', 'EV-1')).status).toBe(204);
    expect(s.h.db.prepare('SELECT out_trade_no, state FROM payment_attempts ORDER BY created_at, out_trade_no').all()).toContainEqual({ out_trade_no: second, state: 'pending' });
    const a = refundResource(s, 5000);
    const b = refundResource(s, 3000);
    await deliver(s.h, a.resource, 'REFUND.SUCCESS', 'EV-r');
    await deliver(s.h, b.resource, 'REFUND.SUCCESS', 'EV-r');
    expect([getRefund(s.h.db, a.outRefundNo)!.state, getRefund(s.h.db, b.outRefundNo)!.state]).toEqual(['succeeded', 'requested']);
    expect(s.h.db.prepare('SELECT notification_id, event_type, order_id, outcome FROM payment_notifications ORDER BY received_at, notification_id').all()).toEqual([
      { notification_id: 'EV-1', event_type: 'TRANSACTION.SUCCESS', order_id: s.order.id, outcome: 'received' },
      { notification_id: 'EV-r', event_type: 'REFUND.SUCCESS', order_id: s.order.id, outcome: 'received' },
    ]);
  });

  it('two buyers paying: each gets their own receipt (one order event per order), and the event carries the order', async () => {
    const s = setup();
    await paid(s);
    const bob = buy(s.h, 'bob');
    const bobNo = attempt(s.h, bob);
    await deliver(s.h, transaction(bobNo, 19900, { transaction_id: '4200000000009' }));
    expect(outboxRows(s.h.db).filter((o) => o.text.startsWith('✅')).map((o) => o.chat_id)).toEqual(['alice', 'bob']);
    const { resource } = refundResource(s, 5000);
    await deliver(s.h, resource, 'REFUND.SUCCESS');
    const events = (s.h.db.prepare("SELECT type, dedupe_key, payload FROM events WHERE type LIKE 'order.%' ORDER BY id").all() as { type: string; dedupe_key: string; payload: string }[]).map((e) => [e.type, e.dedupe_key, JSON.parse(e.payload).order]);
    const refundNo = refundsOf(s.h.db, s.order.id)[0]!.out_refund_no;
    const of = (user: string) => findMemberByIdentity(s.h.db, 'wechat', user)!.id;
    const facts = { productId: 'python-vip', amountFen: 19900, discounts: [], currency: 'CNY', paidStage: 'paid', stageBefore: 'prospect' };
    expect(events).toEqual([
      ['order.paid', `order.paid:${s.order.id}`, { ...facts, id: s.order.id, memberId: of('alice'), amount: 19900, state: 'paid' }],
      ['order.paid', `order.paid:${bob.id}`, { ...facts, id: bob.id, memberId: of('bob'), amount: 19900, state: 'paid' }],
      ['order.refunded', `order.refunded:${refundNo}`, { ...facts, id: s.order.id, memberId: of('alice'), amount: 5000, state: 'partially_refunded' }],
    ]);
  });

  it('a product taken out of the catalog after the purchase: paid and refunded all the same, named by its id', async () => {
    const s = setup();
    // The seller renamed the product (and the rule that sells it) after Alice's order was opened.
    const without = loadConfig(tempConfig({ 'catalog.yaml': (t) => t.replace('  python-vip:\n', '  python-vip-4:\n').replace('products: [python-vip]', 'products: [python-vip-4]'), 'rules.yaml': (t) => t.replaceAll('product: python-vip }', 'product: python-vip-4 }'), 'faq.yaml': (t) => t.replaceAll('product.python-vip.', 'product.python-vip-4.') }), { env: {} });
    s.h.config = without;
    await paid(s);
    expect(outboxRows(s.h.db).filter((o) => o.chat_id === 'alice').at(-1)!.text).toBe(`✅ 支付成功，欢迎加入「python-vip」！\n实付：¥199.00\n订单号：${s.order.id}（退款或开票时请提供）`);
    await deliver(s.h, refundResource(s, 19900).resource, 'REFUND.SUCCESS');
    expect(getOrder(s.h.db, s.order.id)!.state).toBe('refunded');
    expect(count(s.h.db, 'platform_actions')).toBe(0);
  });

  it('a feature may handle only payments or only refunds', async () => {
    const seen: string[] = [];
    const s = setup(undefined, {
      features: [
        { name: 'test-paid-only', on: { 'order.paid': (ctx) => void seen.push(`paid ${ctx.trigger.order!.id}`) } },
        { name: 'test-refunded-only', on: { 'order.refunded': (ctx) => void seen.push(`refunded ${ctx.trigger.order!.id} ${ctx.trigger.order!.amount}`) } },
      ],
    });
    await paid(s);
    await deliver(s.h, refundResource(s, 19900).resource, 'REFUND.SUCCESS');
    expect(seen).toEqual([`paid ${s.order.id}`, `refunded ${s.order.id} 19900`]);
  });

  it('without an outbox to wake, payments and refunds still go through', async () => {
    const s = setup(undefined, { wake: false });
    await paid(s);
    await deliver(s.h, refundResource(s, 19900).resource, 'REFUND.SUCCESS');
    expect(getOrder(s.h.db, s.order.id)!.state).toBe('refunded');
  });

  it('only REFUND.SUCCESS with status SUCCESS is a success; a refund being processed can succeed or fail; a missing refund_id is stored empty', async () => {
    const s = setup();
    await paid(s);
    const odd = refundResource(s, 1000, { refund_status: 'SUCCESS', refund_id: undefined });
    await deliver(s.h, odd.resource, 'REFUND.ABNORMAL');
    expect(getRefund(s.h.db, odd.outRefundNo)).toMatchObject({ state: 'failed', last_error: 'REFUND.ABNORMAL SUCCESS' });
    const ok = refundResource(s, 2000, { refund_id: undefined });
    updateRefund(s.h.db, { outRefundNo: ok.outRefundNo, from: ['requested'], to: 'processing', now: s.h.clock.now() });
    await deliver(s.h, ok.resource, 'REFUND.SUCCESS');
    expect(getRefund(s.h.db, ok.outRefundNo)).toMatchObject({ state: 'succeeded', refund_id: '' });
    const bad = refundResource(s, 3000, { refund_status: 'CLOSED' });
    updateRefund(s.h.db, { outRefundNo: bad.outRefundNo, from: ['requested'], to: 'processing', now: s.h.clock.now() });
    await deliver(s.h, bad.resource, 'REFUND.CLOSED');
    expect(getRefund(s.h.db, bad.outRefundNo)).toMatchObject({ state: 'failed', last_error: 'REFUND.CLOSED CLOSED' });
    expect(getOrder(s.h.db, s.order.id)).toMatchObject({ state: 'partially_refunded', refunded_amount: 2000 });
  });

  it('a full refund on a platform where the paid group has no chat (Telegram, here) queues no removal and says none', async () => {
    const h = payHarness(() => wechatPayProvider(keys), { starsRefunder: { refundStarPayment: async () => 'refunded' } });
    const order = buy(h, '4242', 'telegram');
    h.service.stars.paid({ payload: order.id, currency: 'XTR', totalAmount: 1500, telegramUserId: '4242', telegramChargeId: 'tg-1', providerChargeId: 'p-1' });
    expect(h.service.requestRefund(order.id, { reason: '学员申请', by: 'api', now: h.clock.now() })).toMatchObject({ ok: true, amount: 1500 });
    expect(await h.service.processRefunds()).toBe(1);
    expect(getOrder(h.db, order.id)!.state).toBe('refunded');
    expect(count(h.db, 'platform_actions', "action = 'remove_member'")).toBe(0);
    expect(notes(h, 'order.refunded')).toEqual([['stage paid → nurture', `order ${order.id} refunded (1500 ⭐)`]]);
  });
});
