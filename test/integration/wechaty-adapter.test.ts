import { FileBox } from 'file-box';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, waitReady, type App } from '../../src/app.js';
import type { ChatEvent } from '../../src/bot/events.js';
import { MAX_TEXT_CHARS } from '../../src/bot/events.js';
import { loadConfig } from '../../src/app.js';
import type { HandleResult } from '../../src/core/engine.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { countEvents } from '../../src/store/events.js';
import { countMembers, findMemberByIdentity } from '../../src/store/members.js';
import { testStorePath } from '../helpers/store.js';

const ROOM = 'python-101@chatroom';
let app: App;
let clock: VirtualClock;

function next(match: (e: ChatEvent) => boolean): Promise<{ event: ChatEvent; result: HandleResult }> {
  return new Promise((resolve) => {
    const l = (event: ChatEvent, result: HandleResult) => {
      if (!match(event)) return;
      app.kernel.off('handled', l);
      resolve({ event, result });
    };
    app.kernel.on('handled', l);
  });
}

beforeAll(async () => {
  clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
  app = await createApp({ config: loadConfig('test/fixtures/course'), clock, log: silentLogger, live: false, dbPath: testStorePath() });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  app.sim!.user('gina', 'Gina');
  const joined = next((e) => e.type === 'member.joined');
  app.sim!.join('gina', ROOM);
  await joined;
});

afterAll(async () => {
  await app.stop();
});

describe('the Wechaty adapter on the mock puppet', () => {
  it('reports the rooms the account is in once loaded: this instance can reach them and answers there', async () => {
    const owners = () => app.db.prepare("SELECT chat_id, instance FROM chat_owners WHERE platform = 'wechat' AND chat_id LIKE '%@chatroom' ORDER BY chat_id").all();
    for (let i = 0; i < 200 && owners().length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(owners()).toEqual([
      { chat_id: 'python-101@chatroom', instance: 'main' },
      { chat_id: 'python-vip@chatroom', instance: 'main' },
    ]);
    expect(app.db.prepare("SELECT COUNT(*) AS n FROM chat_reach WHERE instance = 'main' AND chat_id LIKE '%@chatroom'").get()).toEqual({ n: 2 });
  });

  it('normalises a group message with the room, the sender and the text', async () => {
    const got = next((e) => e.type === 'message');
    app.sim!.say('gina', { roomId: ROOM }, '老师好 @小课');
    const { event, result } = await got;
    expect(event).toMatchObject({
      type: 'message',
      platform: 'wechat',
      chat: { kind: 'group', group: { id: ROOM, name: 'Python 入门体验群' } },
      user: { id: 'gina', name: 'Gina' },
      text: '老师好 @小课',
      mentionsBot: true,
      contentKind: 'text',
    });
    expect(result.status).toBe('handled');
  });

  it('caps an enormous (1 MB) message and strips control characters without crashing', async () => {
    const got = next((e) => e.type === 'message');
    app.sim!.say('gina', 'bot', '试'.repeat(1_000_000) + '\u0000\u0007');
    const { event, result } = await got;
    expect(result.status).toBe('handled');
    expect(event.type === 'message' && event.text.length).toBe(MAX_TEXT_CHARS);
  });

  it('delivers binary and other non-text messages as contentKind "other" with empty text', async () => {
    const before = countEvents(app.db);
    const got = next((e) => e.type === 'message');
    const contact = app.sim!.mocker.ContactMock.load('gina');
    contact.say(FileBox.fromBase64(Buffer.from([0, 1, 2, 255, 254]).toString('base64'), 'qr.png')).to(app.sim!.mocker.RoomMock.load(ROOM));
    const { event, result } = await got;
    expect(event.type === 'message' && event.contentKind).toBe('other');
    expect(event.type === 'message' && event.text).toBe('');
    expect(result.status).toBe('handled');
    expect(countEvents(app.db)).toBe(before + 1);
  });

  it('ignores an empty message safely and never acts on the bot\'s own messages', async () => {
    const got = next((e) => e.type === 'message');
    app.sim!.say('gina', 'bot', '');
    const { result } = await got;
    expect(result.status).toBe('handled');
    // The bot's own welcome went through the puppet as a message too, but produced no event.
    const m = findMemberByIdentity(app.db, 'wechat', 'kequn-bot');
    expect(m).toBeUndefined();
  });

  it('ignores groups that are not in the course config, writing nothing', async () => {
    const members = countMembers(app.db);
    const events = countEvents(app.db);
    app.sim!.room('random-chat@chatroom', '闲聊群');
    app.sim!.user('harry', 'Harry');
    const got = next((e) => e.type === 'member.joined' && e.group.id === 'random-chat@chatroom');
    app.sim!.join('harry', 'random-chat@chatroom');
    const { result } = await got;
    expect(result.status).toBe('ignored');
    expect(countMembers(app.db)).toBe(members);
    expect(countEvents(app.db)).toBe(events);
  });

  it('reports who invited a member, and a QR-code join has no inviter', async () => {
    app.sim!.user('ivy', 'Ivy');
    const invited = next((e) => e.type === 'member.joined' && e.user.id === 'ivy');
    app.sim!.join('ivy', ROOM, 'gina');
    const { event } = await invited;
    expect(event.type === 'member.joined' && event.inviter).toEqual({ id: 'gina', name: 'Gina' });
    app.sim!.user('jack', 'Jack');
    const qr = next((e) => e.type === 'member.joined' && e.user.id === 'jack');
    app.sim!.join('jack', ROOM);
    const r = await qr;
    expect(r.event.type === 'member.joined' && r.event.inviter).toBeUndefined();
  });
});
