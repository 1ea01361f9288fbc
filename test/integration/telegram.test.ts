import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MemberJoined } from '../../src/bot/events.js';
import type { CourseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { FakeBotApi } from '../../src/testing/fake-bot-api.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';
import { count, outboxRows, removeTempDirs } from '../helpers/fixtures.js';
import { freePort, waitFor } from '../helpers/grpc-port.js';
import { GROUP, OWNER_ID, startRig, telegramConfig, TEACHER_ID, type TelegramRig } from '../helpers/telegram.js';
import { StarsRefundRefused, type StarsPayments } from '../../src/bot/payments.js';

// kequn on Telegram end to end: the grammY adapter over real HTTP against a fake Bot API on
// 127.0.0.1, the real kernel, engine, flows, outbox and SQLite, on a virtual clock.

let config: CourseConfig;
let api: FakeBotApi;
let rig: TelegramRig | undefined;
let web: WebServer | undefined;
const dirs: string[] = [];

beforeAll(() => {
  config = telegramConfig();
});

afterEach(async () => {
  await web?.close();
  web = undefined;
  await rig?.app.stop();
  rig = undefined;
  await api?.close();
});

afterAll(() => {
  removeTempDirs();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-tg-'));
  dirs.push(dir);
  return join(dir, 'kequn.db');
}

const group = () => api.group(GROUP.id, GROUP.title);

describe('long polling', () => {
  it('welcomes a newcomer who joined through an invite link, and the join carries the link', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    const alice = api.person(1001, 'Alice');
    // She pressed the bot's Start before (from an ad): lesson 1 reaches her privately at once.
    rig.startedBefore(1001);
    const link = await rig.app.telegram!.createInviteLink(String(GROUP.id), { name: 'ref:bob' });
    expect(link.url).toMatch(/^https:\/\/t\.me\/\+/);
    api.memberChange({ chat: group(), user: alice, joined: true, inviteLink: { invite_link: link.url, name: link.name } });
    await rig.settle(1);

    const joined = rig.handled[0]!.event as MemberJoined;
    expect(joined).toMatchObject({ type: 'member.joined', platform: 'telegram', user: { id: '1001', name: 'Alice' }, group: { id: String(GROUP.id) } });
    expect(joined.inviteLink).toEqual({ url: link.url, name: 'ref:bob', creatorId: String(api.me.id) });
    expect(rig.sentTo(GROUP.id).some((t) => t.includes('欢迎 Alice'))).toBe(true);
    expect(rig.sentTo(1001).some((t) => t.includes('第1课'))).toBe(true);
    expect(findMemberByIdentity(rig.app.db, 'telegram', '1001')?.stage).toBe('trial');
    // Getting updates asks for chat_member explicitly (Telegram leaves it out otherwise).
    const poll = api.calls.find((c) => c.method === 'getUpdates')!;
    expect(poll.params.allowed_updates).toContain('chat_member');
    // Plain text: no parse_mode, so nothing anyone wrote becomes markup.
    expect(api.calls.filter((c) => c.method === 'sendMessage').every((c) => c.params.parse_mode === undefined)).toBe(true);
  });

  it('answers a question in the group from the FAQ; small talk gets nothing', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    const alice = api.person(1001, 'Alice');
    api.memberChange({ chat: group(), user: alice, joined: true });
    await rig.settle(1);
    const before = rig.sentTo(GROUP.id).length;
    api.say({ user: alice, chat: group(), text: '请问 pip 装包特别慢，一直超时怎么办？' });
    await rig.settle(2);
    const answers = rig.sentTo(GROUP.id).slice(before);
    expect(answers.some((t) => t.includes('tuna'))).toBe(true);
    api.say({ user: alice, chat: group(), text: '好的谢谢' });
    await rig.settle(3);
    expect(rig.sentTo(GROUP.id).length).toBe(before + answers.length);
  });

  it("an instructor answers an escalated question by replying to the bot's message; other replies do not", async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    const alice = api.person(1001, 'Alice');
    const teacher = api.person(TEACHER_ID, '王老师');
    rig.startedBefore(TEACHER_ID);
    api.memberChange({ chat: group(), user: alice, joined: true });
    await rig.settle(1);
    api.say({ user: alice, chat: group(), text: '请问 Rust 的生命周期标注什么时候必须写？' });
    await rig.settle(2);
    const toStaff = rig.sentTo(TEACHER_ID).find((t) => t.startsWith('❓'))!;
    expect(toStaff).toMatch(/❓ Q\d+ /);
    const code = /Q\d+/.exec(toStaff)![0];
    const groupBefore = rig.sentTo(GROUP.id).length;

    // A reply to someone else's message that happens to carry the code is not an answer.
    api.say({ user: teacher, text: '函数返回引用时必须写', replyTo: { text: toStaff, from: alice } });
    await rig.settle(3);
    expect(rig.sentTo(GROUP.id).length).toBe(groupBefore);
    // A member replying to the bot's escalation notice is not an answer either (the role is
    // checked by platform id; a reply to the bot counts as addressing it, so it may be taken up
    // as a new question, but nothing is relayed or learned).
    api.say({ user: alice, text: '函数返回引用时必须写吧', replyTo: { text: toStaff } });
    await rig.settle(4);
    expect(rig.sentTo(GROUP.id).length).toBe(groupBefore);

    api.say({ user: teacher, text: '函数返回引用、编译器推断不出来时必须写', replyTo: { text: toStaff } });
    await rig.settle(5);
    const relayed = rig.sentTo(GROUP.id).slice(groupBefore);
    expect(relayed).toEqual([expect.stringContaining('王老师的回答：函数返回引用、编译器推断不出来时必须写')]);
    expect(rig.sentTo(TEACHER_ID).at(-1)).toContain(`已把 ${code} 的回答转给学员`);
    const answered = rig.app.db.prepare("SELECT id, answer, answered_via FROM questions WHERE status = 'resolved'").all();
    expect(answered).toEqual([{ id: Number(code.slice(1)), answer: '函数返回引用、编译器推断不出来时必须写', answered_via: 'staff' }]);

    // Learned: the next student asking the same is answered by the bot.
    const bob = api.person(1002, 'Bob');
    api.say({ user: bob, chat: group(), text: '请问 Rust 的生命周期标注什么时候必须写？' });
    await rig.settle(6);
    expect(rig.sentTo(GROUP.id).at(-1)).toContain('编译器推断不出来时必须写');
  });

  it('takes /command@thisbot, ignores /command@otherbot, and leaves come from chat_member', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    const alice = api.person(1001, 'Alice');
    rig.startedBefore(1001);
    api.memberChange({ chat: group(), user: alice, joined: true });
    await rig.settle(1);
    api.say({ user: alice, chat: group(), text: `/whoami@${api.me.username}` });
    await rig.settle(2);
    expect(rig.sentTo(1001).some((t) => t.includes('telegram:1001'))).toBe(true);
    const sends = api.count('sendMessage');
    const other = api.say({ user: alice, chat: group(), text: '/whoami@some_other_bot' });
    api.memberChange({ chat: group(), user: alice, joined: false });
    await rig.settle(3);
    expect(rig.handled.map((h) => h.event.type)).toEqual(['member.joined', 'message', 'member.left']);
    expect(rig.handled.some((h) => h.event.eventId.endsWith(`:${other.update_id as number}`))).toBe(false);
    // The goodbye DM of the leave rule, nothing for the other bot's command.
    expect(api.count('sendMessage')).toBe(sends + 1);
  });

  it('/chatid answers owners only, also in a group that is not in config yet', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    const newGroup = api.group(-1009999, 'Not configured yet');
    api.say({ user: api.person(1001, 'Alice'), chat: newGroup, text: '/chatid' });
    api.say({ user: api.person(TEACHER_ID, '王老师'), chat: newGroup, text: `/chatid@${api.me.username}` });
    const ownerAsk = api.say({ user: api.person(OWNER_ID, '校长'), chat: newGroup, text: `/chatid@${api.me.username}` });
    await waitFor(() => count(rig!.app.db, 'telegram_updates') === 3, 'the three updates to be handled');
    // The answer goes out on its own, after its update was handled (nothing waits for it).
    await waitFor(() => api.sent.length > 0 || undefined, 'the answer');
    await new Promise((r) => setTimeout(r, 100));
    expect(api.sent).toHaveLength(1);
    expect(api.sent[0]!.chatId).toBe('-1009999');
    expect(api.sent[0]!.text).toContain('-1009999');
    expect(api.sent[0]!.text).toContain(`your user id: ${OWNER_ID}`);
    // Setup commands do not reach the engine (the group is unknown to the course).
    expect(rig.handled).toHaveLength(0);
    expect(count(rig.app.db, 'telegram_updates', `update_id = ${ownerAsk.update_id as number}`)).toBe(1);
  });

  it('a redelivered update after a restart produces nothing twice, and polling resumes at the saved offset', async () => {
    api = await FakeBotApi.start();
    const dbPath = tempDb();
    rig = await startRig({ api, config, dbPath });
    const alice = api.person(1001, 'Alice');
    rig.startedBefore(1001);
    const join = api.memberChange({ chat: group(), user: alice, joined: true });
    const question = api.say({ user: alice, chat: group(), text: '请问 pip 装包特别慢，一直超时怎么办？' });
    await rig.settle(2);
    const sentBefore = api.sent.length;
    expect(sentBefore).toBeGreaterThanOrEqual(4);
    await rig.app.stop();

    // A new process on the same file; Telegram delivers both updates again.
    rig = await startRig({ api, config, dbPath, clock: rig.clock });
    api.redeliver(join);
    api.redeliver(question);
    const bob = api.person(1002, 'Bob');
    api.memberChange({ chat: group(), user: bob, joined: true });
    await rig.settle(1);
    expect(rig.handled.map((h) => h.event.user.id)).toEqual(['1002']);
    expect(api.sent.slice(sentBefore).every((m) => !m.text.includes('Alice') && !m.text.includes('tuna'))).toBe(true);
    expect(rig.sentTo(GROUP.id).filter((t) => t.includes('欢迎 Alice'))).toHaveLength(1);
    expect(count(rig.app.db, 'events')).toBe(3);
    const polls = api.calls.filter((c) => c.method === 'getUpdates');
    expect(polls.at(-1)!.params.offset).toBeGreaterThan(question.update_id as number);
  });
  it('a crash after the events of a batch and before its record: the batch comes again, and nothing of it happens twice', async () => {
    api = await FakeBotApi.start();
    const dbPath = tempDb();
    rig = await startRig({ api, config, dbPath });
    const offsetBefore = rig.app.db.prepare("SELECT value FROM kv WHERE key LIKE 'telegram:%:offset'").pluck().get();
    // The batch's one commit (its handled updates and the offset) fails, as if the process died
    // just before it: the engine's events are committed, the batch is not recorded.
    rig.app.db.exec("CREATE TRIGGER die BEFORE INSERT ON telegram_updates BEGIN SELECT RAISE(ABORT, 'process died'); END");
    const alice = api.person(1001, 'Alice');
    rig.startedBefore(1001);
    const batch = [api.memberChange({ chat: group(), user: alice, joined: true }), api.say({ user: alice, chat: group(), text: '请问 pip 装包特别慢，一直超时怎么办？' })];
    await rig.settle(2);
    const sentBefore = api.sent.length;
    expect(sentBefore).toBeGreaterThanOrEqual(4);
    expect(count(rig.app.db, 'telegram_updates')).toBe(0);
    expect(rig.app.db.prepare("SELECT value FROM kv WHERE key LIKE 'telegram:%:offset'").pluck().get()).toBe(offsetBefore);
    await rig.app.stop();

    // Restarted on the same file: Telegram hands the unconfirmed batch out again.
    rig = await startRig({ api, config, dbPath, clock: rig.clock });
    rig.app.db.exec('DROP TRIGGER die');
    for (const u of batch) api.redeliver(u);
    const bob = api.person(1002, 'Bob');
    api.memberChange({ chat: group(), user: bob, joined: true });
    await rig.settle(3);
    // The engine dropped both (its event log has them); Bob is the only news.
    expect(rig.handled.map((h) => h.result.status)).toEqual(['duplicate', 'duplicate', 'handled']);
    expect(count(rig.app.db, 'events')).toBe(3);
    expect(rig.sentTo(GROUP.id).filter((t) => t.includes('欢迎 Alice'))).toHaveLength(1);
    expect(api.sent.slice(sentBefore).every((m) => !m.text.includes('Alice') && !m.text.includes('tuna'))).toBe(true);
    // Recorded now, and the offset is past all three.
    await waitFor(() => count(rig!.app.db, 'telegram_updates') === 3 || undefined, 'the batch recorded');
    expect(Number(rig.app.db.prepare("SELECT value FROM kv WHERE key LIKE 'telegram:%:offset'").pluck().get())).toBeGreaterThan(batch[1]!.update_id as number);
  });
});

describe('sending limits and failures', () => {
  it('429: waits retry_after itself when short, reschedules the chat when long', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config, retry: { maxRetryAttempts: 2, maxDelaySeconds: 1 } });
    const alice = api.person(1001, 'Alice');
    api.fail('sendMessage', { error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } }, { chatId: String(GROUP.id) });
    const t = Date.now();
    api.memberChange({ chat: group(), user: alice, joined: true });
    await rig.settle(1);
    // grammY auto-retry waited the second and sent it: two calls for one message to the group.
    expect(Date.now() - t).toBeGreaterThanOrEqual(900);
    expect(api.calls.filter((c) => c.method === 'sendMessage' && c.params.chat_id === GROUP.id)).toHaveLength(2);
    expect(rig.sentTo(GROUP.id)).toHaveLength(1);

    // Longer than maxDelaySeconds: the outbox holds the chat for retry_after (virtual time).
    api.fail('sendMessage', { error_code: 429, description: 'Too Many Requests: retry after 30', parameters: { retry_after: 30 } }, { chatId: String(GROUP.id) });
    api.say({ user: alice, chat: group(), text: '请问 pip 装包特别慢，一直超时怎么办？' });
    await waitFor(() => rig!.handled.length >= 2, 'the question');
    const asked = rig.clock.now();
    await rig.app.kernel.runUntil(asked + 10_000);
    const row = outboxRows(rig.app.db).at(-1)!;
    expect(row).toMatchObject({ status: 'pending', attempts: 1 });
    expect(row.not_before).toBeGreaterThanOrEqual(asked + 30_000);
    await rig.app.kernel.runUntil(asked + 60_000);
    expect(outboxRows(rig.app.db).at(-1)!.status).toBe('sent');
    expect(rig.sentTo(GROUP.id).some((t) => t.includes('tuna'))).toBe(true);
  });

  it('403 blocked by the user: the private messages are dropped at once (not held, not retried), until the person writes again', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    const alice = api.person(1001, 'Alice');
    // She had pressed Start (kequn knows her channel is open), then blocked the bot.
    rig.startedBefore(1001);
    api.fail('sendMessage', { error_code: 403, description: 'Forbidden: bot was blocked by the user' }, { chatId: '1001', times: 100 });
    api.memberChange({ chat: group(), user: alice, joined: true });
    await rig.settle(1);
    // The welcome and lesson 1 were refused: blocked is not "not yet", they wait for nothing.
    const held = rig.app.db.prepare("SELECT state, reason FROM held_messages WHERE chat_id = '1001' ORDER BY id").all() as { state: string; reason: string }[];
    expect(held.map((h) => h.state)).toEqual(['dropped', 'dropped']);
    expect(held[0]!.reason).toContain('blocked');
    expect(outboxRows(rig.app.db).filter((r) => r.chat_id === '1001')).toEqual([]);
    expect(rig.app.db.prepare("SELECT state, how FROM private_channels WHERE chat_id = '1001'").get()).toEqual({ state: 'blocked', how: 'blocked' });
    // The first 403 marked the chat: the second message was dropped without another API call.
    expect(api.calls.filter((c) => c.method === 'sendMessage' && c.params.chat_id === 1001)).toHaveLength(1);
    expect(rig.sentTo(GROUP.id).some((t) => t.includes('欢迎 Alice'))).toBe(true);

    // Alice unblocks the bot and writes to it: reachable again.
    api.clearFailures();
    api.say({ user: alice, text: '我想试听' });
    await rig.settle(2);
    expect(rig.sentTo(1001).length).toBeGreaterThan(0);
    expect(rig.app.db.prepare("SELECT state, how FROM private_channels WHERE chat_id = '1001'").get()).toEqual({ state: 'open', how: 'wrote_privately' });
  });
});

describe('webhook mode over real HTTP', () => {
  it('handles updates Telegram posts with the secret; refuses forged and malformed ones without a trace', async () => {
    api = await FakeBotApi.start();
    const port = await freePort();
    const secret = 'test-secret-0123456789';
    rig = await startRig({ api, config, delivery: { kind: 'webhook', url: `http://127.0.0.1:${port}/telegram/webhook`, secret } });
    web = await startWebServer(createWebApp({ app: rig.app, clock: rig.clock, log: silentLogger }), { host: '127.0.0.1', port });
    expect(api.webhook).toEqual({ url: `http://127.0.0.1:${port}/telegram/webhook`, secret });
    expect(api.count('getUpdates')).toBe(0);

    const alice = api.person(1001, 'Alice');
    const join = api.memberChange({ chat: group(), user: alice, joined: true });
    expect(await api.deliverWebhook()).toEqual([200]);
    await rig.settle(1);
    expect(rig.sentTo(GROUP.id).some((t) => t.includes('欢迎 Alice'))).toBe(true);
    const state = () => ({ events: count(rig!.app.db, 'events'), updates: count(rig!.app.db, 'telegram_updates'), outbox: count(rig!.app.db, 'outbox') });
    const before = state();

    // Forged: no secret, a wrong one. Malformed: not JSON, not an update, a message without a chat.
    const bob = api.person(1002, 'Bob');
    api.memberChange({ chat: group(), user: bob, joined: true });
    expect(await api.deliverWebhook({ secret: 'wrong-secret-0123456789' })).toEqual([401]);
    const post = (body: string, headers: Record<string, string> = { 'x-telegram-bot-api-secret-token': secret }) =>
      fetch(`${web!.url}/telegram/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then((r) => r.status);
    expect(await post(JSON.stringify({ update_id: 99, chat_member: {} }), {})).toBe(401);
    expect(await post('{not json')).toBe(400);
    expect(await post(JSON.stringify({ hello: 1 }))).toBe(400);
    expect(await post(JSON.stringify({ update_id: -1, message: {} }))).toBe(400);
    expect(await post(JSON.stringify({ update_id: 98, message: { message_id: 1, date: 1, text: 'hi' } }))).toBe(400);
    // The same update again (Telegram retries when it thinks a delivery failed): 200, nothing new.
    api.redeliver(join);
    expect(await api.deliverWebhook()).toEqual([200]);
    await rig.app.kernel.runUntil(rig.clock.now() + 60_000);
    expect(state()).toEqual(before);
    expect(rig.handled).toHaveLength(1);
  });
});

describe('Stars payments', () => {
  it('sends an XTR invoice; the order service refuses a pre-checkout for an order it does not have', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    // A buyer has written to the bot privately (that is where the invoice goes).
    api.markStarted(1001);
    await rig.app.telegram!.sendInvoice({ chatId: '1001', title: 'Python 正式班', description: '12 周', payload: 'order-1', amount: 500 });
    const call = api.calls.find((c) => c.method === 'sendInvoice')!;
    expect(call.params).toMatchObject({ chat_id: 1001, currency: 'XTR', payload: 'order-1', prices: [{ label: 'Python 正式班', amount: 500 }] });
    await expect(rig.app.telegram!.sendInvoice({ chatId: '1001', title: 't', description: 'd', payload: 'p', amount: 0.5 })).rejects.toThrow(/whole number/);
    api.preCheckout({ user: api.person(1001, 'Alice'), payload: 'order-1', amount: 500 });
    await waitFor(() => api.calls.find((c) => c.method === 'answerPreCheckoutQuery'), 'the pre-checkout answer');
    expect(api.calls.find((c) => c.method === 'answerPreCheckoutQuery')!.params).toMatchObject({ ok: false, error_message: '订单不存在' });
  });

  it('asks the order service at pre-checkout and reports a successful payment once, even when redelivered', async () => {
    api = await FakeBotApi.start();
    const paid: string[] = [];
    const payments: StarsPayments = {
      preCheckout: (q) => (q.payload === 'order-1' && q.totalAmount === 500 && q.currency === 'XTR' ? { ok: true } : { ok: false, error: 'unknown order' }),
      paid: (p) => void paid.push(`${p.payload}:${p.telegramChargeId}:${p.telegramUserId}`),
    };
    rig = await startRig({ api, config, payments });
    const alice = api.person(1001, 'Alice');
    api.preCheckout({ user: alice, payload: 'order-1', amount: 500 });
    api.preCheckout({ user: alice, payload: 'order-1', amount: 1 });
    const payment = api.successfulPayment({ user: alice, payload: 'order-1', amount: 500, chargeId: 'ch_1' });
    await waitFor(() => paid.length === 1 && api.count('answerPreCheckoutQuery') === 2, 'the payment');
    const answers = api.calls.filter((c) => c.method === 'answerPreCheckoutQuery').map((c) => c.params);
    expect(answers[0]).toMatchObject({ ok: true });
    expect(answers[1]).toMatchObject({ ok: false, error_message: 'unknown order' });
    api.redeliver(payment);
    await api.drained();
    await waitFor(() => api.count('getUpdates') >= 3, 'another poll');
    expect(paid).toEqual(['order-1:ch_1:1001']);
  });

  it('a pre-checkout answer that hangs holds no one else: the next member joins and writes meanwhile, in order', async () => {
    api = await FakeBotApi.start();
    const payments: StarsPayments = { preCheckout: () => ({ ok: true }), paid: () => undefined };
    rig = await startRig({ api, config, payments });
    // Telegram does not answer this request (it hangs until the adapter's 20 s deadline).
    api.fault = (method) => (method === 'answerPreCheckoutQuery' ? 'hang' : undefined);
    api.preCheckout({ user: api.person(1001, 'Alice'), payload: 'order-1', amount: 500 });
    const bob = api.person(1002, 'Bob');
    api.memberChange({ chat: group(), user: bob, joined: true });
    api.say({ user: bob, chat: group(), text: '老师好' });
    const t = Date.now();
    await rig.settle(2);
    expect(Date.now() - t).toBeLessThan(5000);
    expect(rig.handled.map((h) => h.event.type)).toEqual(['member.joined', 'message']);
    expect(api.calls.filter((c) => c.method === 'answerPreCheckoutQuery' && c.status === undefined)).toHaveLength(1);
  });

  it('refundStarPayment: refunded once, a repeat counts as already refunded, a wrong charge is refused for good', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    const alice = api.person(1001, 'Alice');
    api.successfulPayment({ user: alice, payload: 'order-1', amount: 500, chargeId: 'ch_1' });
    await api.drained();
    const tg = rig.app.telegram!;
    await expect(tg.refundStarPayment('1001', 'ch_1')).resolves.toBe('refunded');
    await expect(tg.refundStarPayment('1001', 'ch_1')).resolves.toBe('already_refunded');
    await expect(tg.refundStarPayment('1002', 'ch_1')).rejects.toBeInstanceOf(StarsRefundRefused);
    await expect(tg.refundStarPayment('1001', 'ch_nope')).rejects.toThrow(/CHARGE_NOT_FOUND/);
    expect(api.starRefunds).toEqual([{ chargeId: 'ch_1', userId: 1001, amount: 500 }]);
    expect(api.calls.find((c) => c.method === 'refundStarPayment')!.params).toEqual({ user_id: 1001, telegram_payment_charge_id: 'ch_1' });
  });

  it('a paid Stars order lets the buyer into the paid group with a one-person link; a full refund removes them', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config });
    const vip = api.group(-1001002, 'Python 正式班');
    const alice = api.person(1001, 'Alice');
    api.memberChange({ chat: group(), user: alice, joined: true });
    await rig.settle(1);
    api.say({ user: alice, text: '/buy' });
    await rig.settle(2);
    await waitFor(() => api.calls.find((c) => c.method === 'sendInvoice'), 'the Stars invoice');
    const orderId = String(api.calls.find((c) => c.method === 'sendInvoice')!.params.payload);
    api.preCheckout({ user: alice, payload: orderId, amount: 1500 });
    api.successfulPayment({ user: alice, payload: orderId, amount: 1500, chargeId: 'ch_vip' });
    await waitFor(() => api.count('answerPreCheckoutQuery') === 1, 'the pre-checkout answer');
    await waitFor(() => rig!.app.orders.service.latestPaidOrder(findMemberByIdentity(rig!.app.db, 'telegram', '1001')!.id)?.id === orderId, 'the paid order');

    // Not live: platform actions and the outbox run when the rig settles virtual time.
    const flush = () => rig!.app.kernel.runUntil(rig!.clock.now() + 60_000, { settleOnly: true });
    await flush();
    await waitFor(() => api.calls.find((c) => c.method === 'createChatInviteLink'), 'the paid-group link');
    await flush();
    const made = api.calls.find((c) => c.method === 'createChatInviteLink')!.params;
    expect(made).toMatchObject({ chat_id: -1001002, member_limit: 1, name: `paid ${orderId}`.slice(0, 32) });
    await waitFor(() => rig!.sentTo(1001).some((t) => t.includes('入群链接')), 'the link in private');
    const linkText = rig.sentTo(1001).find((t) => t.includes('入群链接'))!;
    const url = /https:\/\/t\.me\/\+\S+/.exec(linkText)![0];
    expect(rig.sentTo(1001).some((t) => t.includes('助教会'))).toBe(false);

    // Joining through it is not a referral (the link is not a referrer's).
    const handled = rig.handled.length;
    api.memberChange({ chat: vip, user: alice, joined: true, inviteLink: { invite_link: url, name: made.name as string } });
    await rig.settle(handled + 1);
    expect(count(rig.app.db, 'referrals')).toBe(0);

    const r = rig.app.orders.service.requestRefund(orderId, { reason: '退课', by: 'owner', now: rig.clock.now() });
    expect(r).toMatchObject({ ok: true, amount: 1500 });
    await rig.app.orders.service.processRefunds();
    await flush();
    await waitFor(() => api.calls.find((c) => c.method === 'banChatMember'), 'the removal');
    expect(api.calls.find((c) => c.method === 'banChatMember')!.params).toMatchObject({ chat_id: -1001002, user_id: 1001 });
    expect(api.calls.filter((c) => c.method === 'unbanChatMember')).toHaveLength(1);
    expect(api.starRefunds).toEqual([{ chargeId: 'ch_vip', userId: 1001, amount: 1500 }]);
  });
});
