import { afterEach, describe, expect, it } from 'vitest';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';
import { FakeBotApi } from '../../src/testing/fake-bot-api.js';
import { dashboard } from '../../src/flows/dashboard/metrics.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { silentLogger } from '../../src/log.js';
import { GROUP, startRig, telegramConfig, type TelegramRig } from '../helpers/telegram.js';

let api: FakeBotApi | undefined;
let rig: TelegramRig | undefined;
let web: WebServer | undefined;
afterEach(async () => {
  await web?.close();
  await rig?.app.stop();
  await api?.close();
  web = rig = api = undefined;
});

describe('the join page on Telegram: kequn makes an invite link per group and channel', () => {
  it('hands out the channel\'s own link (made once, through the Bot API), and a join through it is that channel\'s exactly', async () => {
    api = await FakeBotApi.start();
    const config = telegramConfig({
      'kequn.yaml': (t) => `${t}\njoin:\n  pools:\n    tg-trial: { groups: [python-101], platform: telegram, capacity: 2 }\n  channels:\n    xhs: 小红书\n    bili: B站\n`,
    });
    rig = await startRig({ api, config });
    // The owner and the instructor pressed Start long ago: kequn may write to them privately.
    rig.startedBefore(42);
    rig.startedBefore(43);
    web = await startWebServer(createWebApp({ app: rig.app, clock: rig.clock, log: silentLogger, env: {} }), { host: '127.0.0.1', port: 0 });
    const get = async (path: string) => {
      const r = await fetch(`${web!.url}${path}`);
      return { status: r.status, html: await r.text() };
    };

    // The first view queues the link; the page refreshes itself until it exists.
    let p = await get('/join/tg-trial?c=xhs');
    expect(p.status).toBe(503);
    expect(p.html).toContain('入群链接正在生成');
    await get('/join/tg-trial?c=xhs');
    await rig.app.kernel.runUntil(rig.clock.now() + 1000, { settleOnly: true });
    const made = api.calls.filter((c) => c.method === 'createChatInviteLink');
    expect(made).toHaveLength(1);
    expect(made[0]!.params).toMatchObject({ chat_id: GROUP.id, name: 'join xhs' });
    p = await get('/join/tg-trial?c=xhs');
    expect(p.status).toBe(200);
    const xhsLink = /href="(https:\/\/t\.me\/\+[^"]+)"/.exec(p.html)![1]!;
    expect(p.html).toContain('打开 Telegram 加入群组');

    // B站 gets a link of its own.
    await get('/join/tg-trial?c=bili');
    await rig.app.kernel.runUntil(rig.clock.now() + 1000, { settleOnly: true });
    const biliLink = /href="(https:\/\/t\.me\/\+[^"]+)"/.exec((await get('/join/tg-trial?c=bili')).html)![1]!;
    expect(biliLink).not.toBe(xhsLink);

    // Alice joins through 小红书's link, Bob through B站's, Carol through a link kequn did not make.
    const group = api.group(GROUP.id, GROUP.title);
    api.memberChange({ chat: group, user: api.person(1001, 'Alice'), joined: true, inviteLink: { invite_link: xhsLink, name: 'join xhs' } });
    api.memberChange({ chat: group, user: api.person(1002, 'Bob'), joined: true, inviteLink: { invite_link: biliLink, name: 'join bili' } });
    api.memberChange({ chat: group, user: api.person(1003, 'Carol'), joined: true, inviteLink: { invite_link: 'https://t.me/+someoneelse', name: 'x' } });
    await rig.settle(3);
    const credit = (id: string) => rig!.app.db.prepare('SELECT channel, how FROM join_attributions WHERE member_id = ?').get(findMemberByIdentity(rig!.app.db, 'telegram', id)!.id);
    expect(credit('1001')).toEqual({ channel: 'xhs', how: 'invite_link' });
    expect(credit('1002')).toEqual({ channel: 'bili', how: 'invite_link' });
    expect(credit('1003')).toBeUndefined();
    const rows = dashboard({ db: rig.app.db, config: rig.app.config, now: rig.clock.now() + 1 }).joinChannels;
    expect(rows.map((r) => [r.channel, r.views, r.joined, r.paid])).toEqual([
      ['bili', 1, 1, 0],
      ['xhs', 1, 1, 0],
    ]);

    // Three members in a group of capacity 2: the pool is full, and the page says so.
    p = await get('/join/tg-trial?c=xhs');
    expect(p.status).toBe(503);
    expect(p.html).toContain('群已满');
    await rig.app.kernel.runUntil(rig.clock.now() + 1000, { settleOnly: true });
    for (const staff of [42, 43]) expect(rig.sentTo(staff).filter((t) => t.includes('【群活码】') && t.includes('都满了'))).toHaveLength(1);
  });

  it('a link Telegram refuses (the bot is no admin) is asked for again only after 10 minutes, not on every view', async () => {
    api = await FakeBotApi.start();
    const config = telegramConfig({
      'kequn.yaml': (t) => `${t}\njoin:\n  pools:\n    tg-trial: { groups: [python-101], platform: telegram }\n  channels:\n    xhs: 小红书\n`,
    });
    rig = await startRig({ api, config });
    web = await startWebServer(createWebApp({ app: rig.app, clock: rig.clock, log: silentLogger, env: {} }), { host: '127.0.0.1', port: 0 });
    const get = async (path: string) => {
      const r = await fetch(`${web!.url}${path}`);
      return { status: r.status, html: await r.text() };
    };
    api.fail('createChatInviteLink', { error_code: 400, description: 'Bad Request: not enough rights to manage chat invite links' }, { times: 1 });
    await get('/join/tg-trial?c=xhs');
    await rig.app.kernel.runUntil(rig.clock.now() + 1000, { settleOnly: true });
    for (let i = 0; i < 5; i++) {
      const p = await get('/join/tg-trial?c=xhs');
      expect(p.status).toBe(503);
      expect(p.html).toContain('入群链接暂时无法生成');
      await rig.app.kernel.runUntil(rig.clock.now() + 1000, { settleOnly: true });
    }
    expect(api.calls.filter((c) => c.method === 'createChatInviteLink')).toHaveLength(1);
    // 10 minutes later it is asked again, and works.
    rig.clock.set(rig.clock.now() + 10 * 60_000);
    expect((await get('/join/tg-trial?c=xhs')).html).toContain('入群链接正在生成');
    await rig.app.kernel.runUntil(rig.clock.now() + 1000, { settleOnly: true });
    expect((await get('/join/tg-trial?c=xhs')).status).toBe(200);
    expect(api.calls.filter((c) => c.method === 'createChatInviteLink')).toHaveLength(2);
  });
});
