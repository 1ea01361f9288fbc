import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FakeBotApi } from '../../src/testing/fake-bot-api.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { removeTempDirs, replaceOnce } from '../helpers/fixtures.js';
import { GROUP, startRig, telegramConfig, type TelegramRig } from '../helpers/telegram.js';

let api: FakeBotApi | undefined;
let rig: TelegramRig | undefined;

afterEach(async () => {
  await rig?.app.stop();
  await api?.close();
  rig = undefined;
  api = undefined;
});
afterAll(() => removeTempDirs());

const group = () => api!.group(GROUP.id, GROUP.title);
/** The course as before the private channel: the welcome DM and lesson 1 at the join. */
const joinDm = {
  'rules.yaml': (t: string) => replaceOnce(t, '      - reply: welcome_group\n      - set_stage: trial\n', '      - reply: welcome_group\n      - dm: welcome_dm\n      - send_lesson: 1\n      - set_stage: trial\n'),
};

describe('the grammY adapter against the fake Bot API on loopback', () => {
  it('gets a 403 for a user who never started the bot, holds the messages, and delivers them after /start', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config: telegramConfig(joinDm) });
    const alice = api.person(1001, 'Alice');
    api.memberChange({ chat: group(), user: alice, joined: true });
    await rig.settle(1);

    // Telegram said no to the first private message: 403, as to every bot for a user who never
    // pressed Start. It was tried once; the rest were held without a try.
    const dmCalls = () => api!.calls.filter((c) => c.method === 'sendMessage' && c.params.chat_id === 1001);
    expect(dmCalls().map((c) => c.status)).toEqual([403]);
    const held = () => rig!.app.db.prepare("SELECT state, rule_id FROM held_messages WHERE chat_id = '1001' ORDER BY id").all() as { state: string; rule_id: string }[];
    expect(held()).toEqual([
      { state: 'held', rule_id: 'welcome-newcomer' },
      { state: 'held', rule_id: 'welcome-newcomer' },
    ]);
    expect(rig.app.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE chat_id = '1001'").get()).toEqual({ n: 0 });
    expect(rig.app.db.prepare("SELECT state, how FROM private_channels WHERE chat_id = '1001'").get()).toEqual({ state: 'closed', how: 'not_started' });
    expect(rig.sentTo(GROUP.id).some((t) => t.includes('https://t.me/kequn_test_bot?start=src-python-101'))).toBe(true);

    // She follows the link in the welcome: /start with the group's tag.
    api.start(alice, 'src-python-101');
    await rig.settle(2);
    const opened = rig.handled[1]!.event;
    expect(opened).toMatchObject({ type: 'channel.opened', platform: 'telegram', how: 'start', text: 'src-python-101', user: { id: '1001' } });
    expect(dmCalls().map((c) => c.status)).toEqual([403, 200, 200, 200, 200]);
    const texts = rig.sentTo(1001);
    // The held ones first, in order, then the opening's own (the welcome rule on channel.opened).
    expect(texts[0]).toMatch(/^Alice 你好！/);
    expect(texts[1]).toMatch(/^📘 第1课/);
    expect(held().map((h) => h.state)).toEqual(['delivered', 'delivered']);
    expect(rig.app.db.prepare("SELECT state, how, source FROM private_channels WHERE chat_id = '1001'").get()).toEqual({ state: 'open', how: 'start', source: 'python-101' });
    expect(findMemberByIdentity(rig.app.db, 'telegram', '1001')?.stage).toBe('trial');
  });

  it('a Start from a referral link counts as saying the code; blocking marks the channel blocked, unblocking opens it again', async () => {
    api = await FakeBotApi.start();
    rig = await startRig({ api, config: telegramConfig() });
    const teacher = api.person(43, '王老师');
    const amy = api.person(1002, 'Amy');
    // Amy is a paid member with the code AMY888.
    api.say({ user: amy, text: '你好' });
    await rig.settle(1);
    api.say({ user: teacher, text: '/stage Amy paid' });
    api.say({ user: teacher, text: '/refcode Amy AMY888' });
    await rig.settle(3);
    const bob = api.person(1003, 'Bob');
    api.start(bob, 'ref-AMY888');
    await rig.settle(4);
    expect(rig.sentTo(1003).some((t) => t.includes('你的推荐人是 Amy'))).toBe(true);
    expect(rig.app.db.prepare("SELECT source, accepted FROM referral_decisions ORDER BY id DESC LIMIT 1").get()).toEqual({ source: 'code', accepted: 1 });

    // Bob blocks the bot: the channel is blocked, nothing is tried or kept for him.
    api.block(bob, true);
    await rig.settle(5);
    expect(rig.app.db.prepare("SELECT state, how FROM private_channels WHERE chat_id = '1003'").get()).toEqual({ state: 'blocked', how: 'blocked' });
    api.block(bob, false);
    await rig.settle(6);
    expect(rig.app.db.prepare("SELECT state, how FROM private_channels WHERE chat_id = '1003'").get()).toEqual({ state: 'open', how: 'unblocked' });
  });
});
