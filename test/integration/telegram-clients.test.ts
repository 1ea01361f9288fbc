import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CourseConfig } from '../../src/core/types.js';
import { getOrder } from '../../src/flows/orders/store/orders.js';
import { findMemberByIdentity, getMembership } from '../../src/store/members.js';
import { platformActions } from '../../src/store/platform-actions.js';
import { tracesOfEvent } from '../../src/store/traces.js';
import { FakeBotApi } from '../../src/testing/fake-bot-api.js';
import { removeTempDirs } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/grpc-port.js';
import { GROUP, startRig, telegramConfig, type TelegramRig } from '../helpers/telegram.js';

// Telegram as real clients and servers behave (issue 24): what a moderator needs deleted, an
// invoice that did not go out, a Bot API server that does not hold its long polls, members who
// were in a group before the bot. The grammY adapter over real HTTP against the fake Bot API on
// 127.0.0.1, the real kernel, engine, flows, outbox and SQLite, on a virtual clock.

let config: CourseConfig;
let api: FakeBotApi;
let rig: TelegramRig | undefined;

beforeAll(() => {
  config = telegramConfig();
});

afterEach(async () => {
  await rig?.app.stop();
  rig = undefined;
  await api?.close();
});

afterAll(() => removeTempDirs());

const group = () => api.group(GROUP.id, GROUP.title);
/** Not live: platform actions and the outbox run when virtual time is settled. */
const flush = () => rig!.app.kernel.runUntil(rig!.clock.now() + 60_000, { settleOnly: true });

describe('moderation on Telegram', () => {
  it('deletes each ad with deleteMessage and removes its poster with ban + unban at the third', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    const spammer = api.person(2001, 'Spammer');
    api.memberChange({ chat: group(), user: spammer, joined: true });
    await rig.settle(1);
    const ads = ['QQ群：123456789 免费领课', '兼职日结，私聊', '低价课 cheap.top'].map((text) => api.say({ user: spammer, chat: group(), text }));
    await rig.settle(4);
    await flush();
    await waitFor(() => api.deleted.length === 3 && api.count('unbanChatMember') === 1, 'three deletions and the removal');

    const ids = ads.map((u) => (u.message as { message_id: number }).message_id);
    expect(api.deleted).toEqual(ids.map((messageId) => ({ chatId: String(GROUP.id), messageId })));
    expect(api.calls.find((c) => c.method === 'banChatMember')!.params).toMatchObject({ chat_id: GROUP.id, user_id: 2001 });
    const actions = platformActions(rig.app.db);
    expect(actions.map((a) => [a.action, a.status, a.message_id])).toEqual([
      ['delete_message', 'done', String(ids[0])],
      ['delete_message', 'done', String(ids[1])],
      ['delete_message', 'done', String(ids[2])],
      ['remove_member', 'done', String(ids[2])],
    ]);
    expect(rig.sentTo(GROUP.id).some((t) => t.includes('已被移出本群'))).toBe(true);
  });

  it('without the admin rights, the deletion and the removal fail with what Telegram said; a message already gone counts as deleted', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config: telegramConfig({ 'kequn.yaml': (t) => t.replace('  warnings: 2\n', '  warnings: 0\n') }) });
    api.setRights(GROUP.id, { can_delete_messages: false, can_restrict_members: false });
    const spammer = api.person(2002, 'Spammer');
    api.memberChange({ chat: group(), user: spammer, joined: true });
    await rig.settle(1);
    api.say({ user: spammer, chat: group(), text: '兼职日结，私聊' });
    await rig.settle(2);
    await flush();
    await waitFor(() => platformActions(rig!.app.db).every((a) => a.status !== 'pending' && a.status !== 'doing'), 'the actions to finish');
    const [del, remove] = platformActions(rig.app.db);
    expect(del).toMatchObject({ action: 'delete_message', status: 'failed', error: expect.stringContaining("message can't be deleted") });
    expect(remove).toMatchObject({ action: 'remove_member', status: 'failed', error: expect.stringContaining('not enough rights to restrict/unrestrict chat member') });
    expect(api.deleted).toEqual([]);

    // An admin deleted the ad by hand before the bot got to it: nothing is left to do.
    api.setRights(GROUP.id, { can_delete_messages: true, can_restrict_members: true });
    await expect(rig.app.telegram!.deleteMessage(String(GROUP.id), '999999')).resolves.toBeUndefined();
  });
});

describe('Stars invoices that fail', () => {
  async function buyer(): Promise<void> {
    const alice = api.person(1001, 'Alice');
    rig!.startedBefore(1001);
    api.memberChange({ chat: group(), user: alice, joined: true });
    await rig!.settle(1);
  }

  it('a /buy after a failed sendInvoice sends a fresh invoice for the same order', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    await buyer();
    api.fail('sendInvoice', { error_code: 500, description: 'Internal Server Error' });
    api.say({ user: api.person(1001, 'Alice'), text: '/buy' });
    await rig.settle(2);
    await waitFor(() => api.count('sendInvoice') === 1, 'the first invoice attempt');
    const memberId = findMemberByIdentity(rig.app.db, 'telegram', '1001')!.id;
    const order = rig.app.orders.service.latestOpenOrder(memberId)!;
    await waitFor(() => getOrder(rig!.app.db, order.id)!.invoice_error !== null, 'the failure to be recorded');
    expect(getOrder(rig.app.db, order.id)!.invoice_error).toContain('500 Internal Server Error');

    // Nothing retries by itself: other updates do not call sendInvoice again.
    api.say({ user: api.person(1001, 'Alice'), text: '你好' });
    await rig.settle(3);
    expect(api.count('sendInvoice')).toBe(1);

    api.say({ user: api.person(1001, 'Alice'), text: '/buy' });
    await rig.settle(4);
    await waitFor(() => api.calls.filter((c) => c.method === 'sendInvoice' && c.status === 200).length === 1, 'the fresh invoice');
    const sent = api.calls.filter((c) => c.method === 'sendInvoice');
    expect(sent).toHaveLength(2);
    expect(sent[1]!.params).toMatchObject({ chat_id: 1001, currency: 'XTR', payload: order.id });
    expect(getOrder(rig.app.db, order.id)).toMatchObject({ invoice_error: null, state: 'created' });
    // The same open order: one order, its invoice sent once it worked.
    expect(rig.app.orders.service.latestOpenOrder(memberId)!.id).toBe(order.id);
    // `kequn why` says so: the second /buy's trace names the failure and the fresh invoice.
    const notes = tracesOfEvent(rig.app.db, rig.handled.at(-1)!.result.eventRowId!).flatMap((t) => (JSON.parse(t.detail) as { actions: string[] }).actions);
    expect(notes.some((n) => n.includes('its invoice failed before') && n.includes('500 Internal Server Error') && n.includes('a fresh one is sent'))).toBe(true);

    // A third /buy after a success reuses the order and sends no new invoice.
    api.say({ user: api.person(1001, 'Alice'), text: '/buy' });
    await rig.settle(5);
    expect(api.count('sendInvoice')).toBe(2);
  });

  it('keeps the reason of an error that is not a Bot API error: an HTML page, or { ok: false } without a description', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    await buyer();
    const memberId = () => findMemberByIdentity(rig!.app.db, 'telegram', '1001')!.id;
    // A proxy's or an emulator's page where the Bot API answers JSON.
    api.fault = (method) => (method === 'sendInvoice' ? { raw: { status: 404, body: '<html><body>Cannot POST /sendInvoice</body></html>' } } : undefined);
    api.say({ user: api.person(1001, 'Alice'), text: '/buy' });
    await rig.settle(2);
    const order = rig.app.orders.service.latestOpenOrder(memberId())!;
    await waitFor(() => getOrder(rig!.app.db, order.id)!.invoice_error !== null, 'the first failure');
    const html = getOrder(rig.app.db, order.id)!.invoice_error!;
    expect(html).toMatch(/sendInvoice/);
    expect(html).toMatch(/json|Unexpected token/i);
    expect(html).not.toContain(api.token);

    // An answer { ok: false } with fields of its own: grammY alone said "(undefined: undefined)".
    api.fault = (method) => (method === 'sendInvoice' ? { raw: { status: 200, body: JSON.stringify({ ok: false, error: 'method sendInvoice is not supported' }), contentType: 'application/json' } } : undefined);
    api.say({ user: api.person(1001, 'Alice'), text: '/buy' });
    await rig.settle(3);
    await waitFor(() => api.count('sendInvoice') === 2 && getOrder(rig!.app.db, order.id)!.invoice_error !== null, 'the second failure');
    const odd = getOrder(rig.app.db, order.id)!.invoice_error!;
    expect(odd).toContain('method sendInvoice is not supported');
    expect(odd).not.toContain('undefined');
  });
});

describe('long polling against a server that answers at once', () => {
  it('waits a moment after an empty getUpdates that came back at once instead of asking again in a tight loop', async () => {
    api = await FakeBotApi.start();
    api.answersPollAtOnce = true;
    rig = await startRig({ api, config });
    const before = api.count('getUpdates');
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 2500));
    const polls = api.count('getUpdates') - before;
    const seconds = (performance.now() - t0) / 1000;
    // One poll a second at most (MIN_EMPTY_POLL_MS), where the loop without the wait made hundreds.
    expect(polls).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    expect(polls).toBeGreaterThanOrEqual(2);

    // Updates still arrive: the next poll fetches what was queued meanwhile.
    api.memberChange({ chat: group(), user: api.person(1001, 'Alice'), joined: true });
    await rig.settle(1);
    expect(rig.sentTo(GROUP.id).some((t) => t.includes('欢迎 Alice'))).toBe(true);
  });
});

describe('members who were in the group before the bot', () => {
  it('become members of the group when they speak, without a join rule running for them', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    const dora = api.person(3001, 'Dora');
    api.say({ user: dora, chat: group(), text: '大家好' });
    await rig.settle(1);
    const member = findMemberByIdentity(rig.app.db, 'telegram', '3001')!;
    expect(getMembership(rig.app.db, member.id, 'python-101')).toMatchObject({ left_at: null, join_count: 0, joined_at: member.created_at });
    // No group welcome: her join was never seen.
    expect(rig.sentTo(GROUP.id).some((t) => t.includes('欢迎 Dora'))).toBe(false);
    // Speaking again changes nothing; a later leave is recorded as for anyone.
    const first = getMembership(rig.app.db, member.id, 'python-101');
    api.say({ user: dora, chat: group(), text: '今天学了 pandas' });
    await rig.settle(2);
    expect(getMembership(rig.app.db, member.id, 'python-101')).toEqual(first);
    api.memberChange({ chat: group(), user: dora, joined: false });
    await rig.settle(3);
    expect(getMembership(rig.app.db, member.id, 'python-101')!.left_at).not.toBeNull();
  });
});
