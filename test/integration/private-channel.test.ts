import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createApp, waitReady, type App } from '../../src/app.js';
import type { ChatEvent } from '../../src/bot/events.js';
import { runWhy } from '../../src/cli/why.js';
import { loadConfig } from '../../src/app.js';
import type { HandleResult } from '../../src/core/engine.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { DAY, HOUR, MINUTE, removeTempDirs, replaceOnce, T0, tempConfig } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/grpc-port.js';
import { testBackend, testStorePath } from '../helpers/store.js';

const ROOM = 'python-101@chatroom';
const dirs: string[] = [];
let app: App | undefined;

afterEach(async () => {
  await app?.stop();
  app = undefined;
});
afterAll(() => {
  removeTempDirs();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A store `kequn why` can open afterwards: a SQLite file (or the PostgreSQL test database). */
function storePath(): string {
  if (testBackend === 'postgres') return testStorePath();
  const dir = mkdtempSync(join(tmpdir(), 'kequn-privchan-'));
  dirs.push(dir);
  return join(dir, 'kequn.db');
}

async function start(configDir: string, dbPath = testStorePath()): Promise<{ app: App; clock: VirtualClock; handled: { event: ChatEvent; result: HandleResult }[] }> {
  const clock = new VirtualClock(T0);
  app = await createApp({ config: loadConfig(configDir, { env: {} }), clock, log: silentLogger, live: false, dbPath, random: () => 0.5 });
  const handled: { event: ChatEvent; result: HandleResult }[] = [];
  app.kernel.on('handled', (event, result) => handled.push({ event, result }));
  await app.kernel.start();
  await waitReady(() => app!.kernel.isReady());
  return { app, clock, handled };
}

/** Performs a member's action on the simulated WeChat and lets the bot finish (virtual time). */
async function act(a: App, clock: VirtualClock, handled: { event: ChatEvent }[], match: (e: ChatEvent) => boolean, action: () => void): Promise<void> {
  const before = handled.length;
  action();
  await waitFor(() => handled.slice(before).some((h) => match(h.event)), 'the event');
  await a.kernel.runUntil(clock.now() + 5 * MINUTE, { settleOnly: true });
}

const dmsTo = (a: App, user: string) => a.sim!.sent.filter((s) => s.chatKind === 'dm' && s.chatId === user);

/**
 * The demo course as it was before the private channel: the welcome DM and lesson 1 sent at the
 * join (held for a stranger), the drip counted from the join, no channel.opened rule.
 */
function joinDmCourse(): string {
  return tempConfig({
    'rules.yaml': (t) => {
      const s = replaceOnce(t, '      - reply: welcome_group\n      - set_stage: trial\n', '      - reply: welcome_group\n      - dm: welcome_dm\n      - send_lesson: 1\n      - set_stage: trial\n');
      // The opening's own rule goes: the old course had none.
      return s.replace(/ {2}# The private channel opened:[\s\S]*?(?= {2}- id: referral-code-in-greeting)/, '');
    },
    'kequn.yaml': (t) => replaceOnce(t, '    count_from: channel\n', '    count_from: start\n'),
  });
}

async function why(dbPath: string, configDir: string, who: string): Promise<string> {
  const out: string[] = [];
  const key = testBackend === 'postgres' ? 'DATABASE_URL' : 'KEQUN_DATA';
  const old = process.env[key];
  process.env[key] = dbPath;
  try {
    runWhy({ configDir, query: who, limit: 200, write: (l) => out.push(l) });
  } finally {
    if (old === undefined) delete process.env[key];
    else process.env[key] = old;
  }
  return out.join('\n');
}

describe('a newcomer who never adds the account', () => {
  it('gets nothing privately; the drip waits for the channel and expires after the window, recorded for kequn why', async () => {
    const dir = tempConfig();
    const dbPath = storePath();
    const { app: a, clock, handled } = await start(dir, dbPath);
    a.sim!.user('dan', 'Dan', { stranger: true });
    await act(a, clock, handled, (e) => e.type === 'member.joined', () => a.sim!.join('dan', ROOM));
    expect(a.sim!.sent.filter((s) => s.chatKind === 'group').at(-1)!.text).toContain('点群公告里「小课」的名片加好友');
    const dan = findMemberByIdentity(a.db, 'wechat', 'dan')!;
    expect(dan.stage).toBe('trial');
    expect(a.db.prepare("SELECT state, how FROM private_channels WHERE chat_id = 'dan'").get()).toEqual({ state: 'closed', how: 'not_friend' });
    expect(a.db.prepare('SELECT sequence, state FROM channel_waits WHERE member_id = ?').all(dan.id)).toEqual([{ sequence: 'trial', state: 'waiting' }]);
    // No drip lesson was planned: nothing can reach him.
    expect(a.db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE member_id = ? AND kind LIKE 'sequence.%'").get(dan.id)).toEqual({ n: 0 });

    await a.kernel.runUntil(T0 + 7 * DAY - MINUTE);
    expect(a.db.prepare('SELECT state FROM channel_waits WHERE member_id = ?').get(dan.id)).toEqual({ state: 'waiting' });
    await a.kernel.runUntil(T0 + 7 * DAY + HOUR);
    expect(dmsTo(a, 'dan')).toEqual([]);
    expect(a.db.prepare('SELECT state, note FROM channel_waits WHERE member_id = ?').get(dan.id)).toEqual({
      state: 'expired',
      note: 'not delivered within 7d: the private channel did not open',
    });
    const trace = a.db.prepare("SELECT detail FROM rule_traces WHERE member_id = ? AND rule_id = 'channel:expired'").get(dan.id) as { detail: string };
    expect(JSON.parse(trace.detail).actions).toEqual(['sequence trial never started (not delivered within 7d: the private channel did not open)']);
    await a.stop();
    app = undefined;

    const text = await why(dbPath, dir, 'dan');
    expect(text).toContain('private channel on wechat: not open (not_friend, since 2026-03-02 09:00:00)');
    expect(text).toContain('sequence trial (wechat, from 2026-03-02 09:00:00): expired 2026-03-09 09:00:00: not delivered within 7d: the private channel did not open');
    expect(text).toMatch(/✓ fired +channel:expired\n +→ sequence trial never started/);
  });

  it('with a course that writes at the join: the private messages are held, in order, and expire after the window with a record', async () => {
    const dir = joinDmCourse();
    const dbPath = storePath();
    const { app: a, clock, handled } = await start(dir, dbPath);
    a.sim!.user('dan', 'Dan', { stranger: true });
    await act(a, clock, handled, (e) => e.type === 'member.joined', () => a.sim!.join('dan', ROOM));
    // Held at enqueue: the outbox never saw them, so no send was tried.
    const held = () => a.db.prepare("SELECT rule_id, state, held_at FROM held_messages WHERE chat_id = 'dan' ORDER BY id").all() as { rule_id: string; state: string; held_at: number }[];
    expect(held()).toEqual([
      { rule_id: 'welcome-newcomer', state: 'held', held_at: T0 },
      { rule_id: 'welcome-newcomer', state: 'held', held_at: T0 },
    ]);
    expect(a.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE chat_id = 'dan'").get()).toEqual({ n: 0 });
    // The drip counts from the join here: its lessons are held as they fall due.
    await a.kernel.runUntil(T0 + 2 * DAY + HOUR);
    expect(held().map((h) => [h.rule_id, h.held_at])).toEqual([
      ['welcome-newcomer', T0],
      ['welcome-newcomer', T0],
      ['job:sequence.trial', T0 + DAY],
      ['job:sequence.trial', T0 + 2 * DAY],
    ]);
    // Each expires 7 days after it was held, not before.
    await a.kernel.runUntil(T0 + 7 * DAY - MINUTE);
    expect(held().map((h) => h.state)).toEqual(['held', 'held', 'held', 'held']);
    await a.kernel.runUntil(T0 + 8 * DAY + MINUTE);
    expect(held().map((h) => h.state)).toEqual(['expired', 'expired', 'expired', 'held']);
    await a.kernel.runUntil(T0 + 9 * DAY + MINUTE);
    expect(held().map((h) => h.state)).toEqual(['expired', 'expired', 'expired', 'expired']);
    expect(dmsTo(a, 'dan')).toEqual([]);
    const dan = findMemberByIdentity(a.db, 'wechat', 'dan')!;
    expect(a.db.prepare("SELECT COUNT(*) AS n FROM rule_traces WHERE member_id = ? AND rule_id = 'channel:expired'").get(dan.id)).toEqual({ n: 4 });
    await a.stop();
    app = undefined;

    const text = await why(dbPath, dir, 'dan');
    expect(text).toContain('held private messages: 0 waiting, 0 delivered when the channel opened, 4 expired, 0 dropped');
    expect(text).toMatch(/2026-03-02 09:00:00 welcome-newcomer: "Dan 你好！欢迎来到「Python 数据分析训练营」。.*" — expired 2026-03-09 09:00:\d\d: not delivered within 7d/);
  });
});

describe('a newcomer who adds the account on day 2', () => {
  it('gets the welcome and lesson 1 when the request is accepted, and the drip counts from then', async () => {
    const { app: a, clock, handled } = await start(tempConfig());
    a.sim!.user('alice', 'Alice', { stranger: true });
    await act(a, clock, handled, (e) => e.type === 'member.joined', () => a.sim!.join('alice', ROOM));
    await a.kernel.runUntil(T0 + DAY);
    expect(dmsTo(a, 'alice')).toEqual([]);

    await act(a, clock, handled, (e) => e.type === 'friend.requested', () => a.sim!.befriend('alice', '你好，想试听'));
    const request = a.sim!.friendRequests[0]!;
    // Accepted after the random delay (30 s to 3 min; the test's random is 0.5): 105 s.
    expect(request.acceptedAt).toBe(T0 + DAY + 105_000);
    const opened = request.acceptedAt!;
    expect(a.db.prepare("SELECT state, how, opened_at FROM private_channels WHERE chat_id = 'alice'").get()).toEqual({ state: 'open', how: 'friend_request', opened_at: opened });
    const first = dmsTo(a, 'alice');
    expect(first.map((s) => s.text.split(/[。\n]/)[0])).toEqual(['Alice 你好！欢迎来到「Python 数据分析训练营」', '📘 第1课 环境搭建与第一个程序']);
    expect(first.every((s) => s.at >= opened && s.at < opened + MINUTE)).toBe(true);

    const alice = findMemberByIdentity(a.db, 'wechat', 'alice')!;
    expect((a.db.prepare("SELECT due_at FROM jobs WHERE member_id = ? AND kind = 'sequence.trial' ORDER BY due_at").all(alice.id) as { due_at: number }[]).map((j) => j.due_at)).toEqual([
      opened + DAY,
      opened + 2 * DAY,
    ]);
    expect(a.db.prepare('SELECT state FROM channel_waits WHERE member_id = ?').get(alice.id)).toEqual({ state: 'started' });
    await a.kernel.runUntil(opened + 3 * DAY);
    // Lesson n arrives (n - 1) days after the opening (within the outbox's pace), not counted from the join.
    const lessons = dmsTo(a, 'alice')
      .filter((s) => s.text.startsWith('📘'))
      .map((s) => ({ n: Number(/第(\d)课/.exec(s.text)![1]), after: s.at - opened }));
    expect(lessons.map((l) => l.n)).toEqual([1, 2, 3]);
    for (const l of lessons) {
      expect(l.after).toBeGreaterThanOrEqual((l.n - 1) * DAY);
      expect(l.after).toBeLessThan((l.n - 1) * DAY + MINUTE);
    }
  });

  it('with a course that wrote at the join: the held messages go out in the order they were held, then what the opening sends', async () => {
    const { app: a, clock, handled } = await start(joinDmCourse());
    a.sim!.user('alice', 'Alice', { stranger: true });
    await act(a, clock, handled, (e) => e.type === 'member.joined', () => a.sim!.join('alice', ROOM));
    await a.kernel.runUntil(T0 + DAY + HOUR);
    expect(a.db.prepare("SELECT COUNT(*) AS n FROM held_messages WHERE chat_id = 'alice' AND state = 'held'").get()).toEqual({ n: 3 });
    await act(a, clock, handled, (e) => e.type === 'friend.requested', () => a.sim!.befriend('alice', '试听'));
    expect(dmsTo(a, 'alice').map((s) => s.text.split(/[。\n]/)[0])).toEqual(['Alice 你好！欢迎来到「Python 数据分析训练营」', '📘 第1课 环境搭建与第一个程序', '📘 第2课 变量、列表与字典']);
    expect(a.db.prepare("SELECT state, COUNT(*) AS n FROM held_messages WHERE chat_id = 'alice' GROUP BY state").all()).toEqual([{ state: 'delivered', n: 3 }]);
  });
});

describe('the Wechaty adapter on the mock puppet', () => {
  it('receives a friend request with its greeting, accepts it through the puppet, and the contact becomes a friend who gets private messages', async () => {
    const { app: a, clock, handled } = await start(tempConfig());
    a.sim!.user('gina', 'Gina', { stranger: true });
    await act(a, clock, handled, (e) => e.type === 'member.joined', () => a.sim!.join('gina', ROOM));
    const requestId = a.sim!.befriend('gina', '推荐我来的，想试听');
    await waitFor(() => handled.some((h) => h.event.type === 'friend.requested'), 'the friend request');
    const req = handled.find((h) => h.event.type === 'friend.requested')!;
    expect(req.event).toMatchObject({ type: 'friend.requested', platform: 'wechat', requestId, greeting: '推荐我来的，想试听', user: { id: 'gina', name: 'Gina' } });
    expect(req.result).toMatchObject({ status: 'handled', accept: true, reason: 'friend request to be accepted (keyword "试听" in the greeting)' });
    expect(a.sim!.isFriend('gina')).toBe(false);
    await a.kernel.runUntil(clock.now() + 5 * MINUTE, { settleOnly: true });
    expect(a.sim!.isFriend('gina')).toBe(true);
    expect(a.sim!.friendRequests[0]!.acceptedAt).not.toBeNull();
    expect(handled.find((h) => h.event.type === 'channel.opened')!.event).toMatchObject({ how: 'friend_request', text: '推荐我来的，想试听', user: { id: 'gina' } });
    expect(dmsTo(a, 'gina').length).toBe(2);
    expect(a.db.prepare("SELECT status, reason FROM friend_requests WHERE user_id = 'gina'").get()).toEqual({ status: 'accepted', reason: 'keyword "试听" in the greeting' });
  });

  it('refuses to message someone who is not a friend: the outbox holds the message (not failed, not retried) and records the channel', async () => {
    const { app: a, clock } = await start(tempConfig());
    a.sim!.user('hugo', 'Hugo', { stranger: true });
    // kequn knows nothing about Hugo's channel (no join said it), so the send is tried.
    const now = clock.now();
    a.db.prepare("INSERT INTO outbox (platform, chat_kind, chat_id, member_id, group_id, text, priority, status, not_before, created_at) VALUES ('wechat', 'dm', 'hugo', NULL, NULL, '你好 Hugo', 'push', 'pending', ?, ?)").run(now, now);
    await a.kernel.runUntil(now + MINUTE);
    expect(dmsTo(a, 'hugo')).toEqual([]);
    expect(a.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE chat_id = 'hugo'").get()).toEqual({ n: 0 });
    expect(a.db.prepare("SELECT text, state, reason, held_at FROM held_messages WHERE chat_id = 'hugo'").get()).toEqual({
      text: '你好 Hugo',
      state: 'held',
      reason: 'the platform refused it: wechat: hugo is not a friend of the bot account yet',
      held_at: now,
    });
    expect(a.db.prepare("SELECT state, how FROM private_channels WHERE chat_id = 'hugo'").get()).toEqual({ state: 'closed', how: 'not_friend' });
    // Once he is a friend, it goes out.
    a.sim!.befriend('hugo', '试听');
    await waitFor(() => a.sim!.friendRequests[0], 'the request');
    await a.kernel.runUntil(clock.now() + 5 * MINUTE, { settleOnly: true });
    await waitFor(() => dmsTo(a, 'hugo').some((d) => d.text === '你好 Hugo') || undefined, 'the held message');
    // The private welcome of the opening is urgent and may go first; the held message follows.
    expect(dmsTo(a, 'hugo').filter((d) => d.text === '你好 Hugo')).toHaveLength(1);
  });
});

describe('invitations of the account into groups', () => {
  it('are declined from a contact who is not staff, accepted from staff, who is told the room id and the config lines', async () => {
    const { app: a, handled } = await start(tempConfig());
    a.sim!.user('mallory', '张校长');
    a.sim!.inviteBot('mallory', '羊毛群');
    await waitFor(() => handled.some((h) => h.event.type === 'room.invited'), 'the invitation');
    expect(handled.at(-1)!.result).toMatchObject({ status: 'handled', accept: false, reason: 'group invitation declined: invited by mallory, who is not staff' });
    expect(a.sim!.invitations[0]!.accepted).toBe(false);
    expect(a.db.prepare('SELECT inviter_id, status FROM room_invites').all()).toEqual([{ inviter_id: 'mallory', status: 'declined' }]);

    a.sim!.inviteBot('principal', 'Python 三期体验群');
    await waitFor(() => a.db.prepare("SELECT 1 FROM room_invites WHERE status = 'accepted'").get(), 'the acceptance');
    expect(a.sim!.invitations[1]!.accepted).toBe(true);
    await a.kernel.runUntil(a.kernel.clock.now() + MINUTE, { settleOnly: true });
    const told = dmsTo(a, 'principal').at(-1)!.text;
    expect(told).toContain('群 ID：invited-2@chatroom');
    expect(told).toContain('    wechat: invited-2@chatroom');
    expect(a.db.prepare("SELECT COUNT(*) AS n FROM members WHERE display_name = '张校长'").get()).toEqual({ n: 0 });
  });
});
