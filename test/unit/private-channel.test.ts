import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ChannelClosedError, type ChatAdapter, type ChatEvent } from '../../src/bot/events.js';
import { FriendRequests } from '../../src/bot/friend-requests.js';
import { silentLogger } from '../../src/log.js';
import { decideFriendRequest } from '../../src/core/channel/requests.js';
import { sourceOfStartPayload } from '../../src/core/channel/start-payload.js';
import { codeOfStartPayload } from '../../src/flows/referral/channel.js';
import { registry } from '../../src/app.js';
import type { Db } from '../../src/store/db.js';
import { heldFor } from '../../src/store/held-messages.js';
import { migrations } from '../../src/store/migrations.js';
import { enqueueMessage } from '../../src/store/outbox.js';
import { getChannel, setChannel } from '../../src/store/private-channels.js';
import { sqliteDdlToPostgres } from '../../src/store/pg-ddl.js';
import { insertCode } from '../../src/flows/referral/store.js';
import { resolveMember } from '../../src/store/members.js';
import { DAY, HOUR, MINUTE, T0, count, demoConfig, drainOutbox, harness, joined, message, outboxRows, type Harness } from '../helpers/fixtures.js';

function dm(h: Harness, chatId: string, text: string, opts: { dryRun?: boolean; memberId?: string | null } = {}): number {
  return enqueueMessage(h.db, {
    platform: 'wechat',
    chatKind: 'dm',
    chatId,
    memberId: opts.memberId ?? null,
    groupId: null,
    text,
    priority: 'reply',
    notBefore: h.clock.now(),
    eventId: null,
    ruleId: 'test',
    dryRun: opts.dryRun ?? false,
    now: h.clock.now(),
    budget: null,
  });
}

const held = (db: Db, chatId: string) => db.prepare('SELECT text, state, reason FROM held_messages WHERE chat_id = ? ORDER BY id').all(chatId) as { text: string; state: string; reason: string }[];

function opened(user: string, at: number, how: 'friend_request' | 'friend_confirmed' | 'start' = 'friend_request', text = ''): ChatEvent {
  return { type: 'channel.opened', platform: 'wechat', eventId: `open:${user}:${at}`, at, user: { id: user, name: user }, how, text };
}

describe('holding at enqueue', () => {
  it('a private message to a channel known closed is held, to a blocked one dropped, to an open or unknown one queued; dry runs are recorded as usual', () => {
    const h = harness();
    setChannel(h.db, { platform: 'wechat', chatId: 'closed', memberId: null, state: 'closed', how: 'not_friend', now: T0 });
    setChannel(h.db, { platform: 'wechat', chatId: 'blocked', memberId: null, state: 'blocked', how: 'blocked', now: T0 });
    setChannel(h.db, { platform: 'wechat', chatId: 'open', memberId: null, state: 'open', how: 'start', now: T0 });
    expect(dm(h, 'closed', 'a')).toBe(0);
    expect(dm(h, 'blocked', 'b')).toBe(0);
    expect(dm(h, 'open', 'c')).toBeGreaterThan(0);
    expect(dm(h, 'unknown', 'd')).toBeGreaterThan(0);
    expect(dm(h, 'closed', 'e', { dryRun: true })).toBeGreaterThan(0);
    expect(held(h.db, 'closed')).toEqual([{ text: 'a', state: 'held', reason: 'private channel not open yet' }]);
    expect(held(h.db, 'blocked')).toEqual([{ text: 'b', state: 'dropped', reason: 'the person blocked the bot' }]);
    expect(outboxRows(h.db).map((r) => [r.chat_id, r.status])).toEqual([
      ['open', 'pending'],
      ['unknown', 'pending'],
      ['closed', 'dry_run'],
    ]);
    // Something held plans one expiry check, at the next full hour.
    expect(h.db.prepare("SELECT due_at FROM jobs WHERE kind = 'channel.expire'").all()).toEqual([{ due_at: T0 + HOUR }]);
  });

  it('a send the platform refuses (ChannelClosedError) is held with everything else queued for that chat, and the channel recorded closed; a block drops them', async () => {
    const h = harness();
    dm(h, 'bob', 'one');
    dm(h, 'bob', 'two');
    dm(h, 'carol', 'three');
    h.adapter.failNext(1, () => new ChannelClosedError('not a friend', 'not_open'));
    await drainOutbox(h, T0 + MINUTE);
    expect(h.adapter.attempts.filter((a) => a.chatId === 'bob').length).toBe(1);
    expect(held(h.db, 'bob').map((x) => [x.text, x.state])).toEqual([
      ['one', 'held'],
      ['two', 'held'],
    ]);
    expect(outboxRows(h.db).map((r) => [r.chat_id, r.status])).toEqual([['carol', 'sent']]);
    expect(getChannel(h.db, 'wechat', 'bob')).toMatchObject({ state: 'closed', how: 'not_friend' });
    expect(getChannel(h.db, 'wechat', 'carol')).toMatchObject({ state: 'open', how: 'delivered' });

    dm(h, 'dave', 'four');
    h.adapter.failNext(1, () => new ChannelClosedError('blocked', 'blocked'));
    await drainOutbox(h, h.clock.now() + MINUTE);
    expect(held(h.db, 'dave').map((x) => x.state)).toEqual(['dropped']);
    expect(getChannel(h.db, 'wechat', 'dave')).toMatchObject({ state: 'blocked', how: 'blocked' });
  });
});

describe('the channel opens', () => {
  it('held messages move into the outbox in the order they were held, in the event\'s transaction; those past the window expire instead', () => {
    const h = harness();
    h.engine.handleEvent(joined('erin', { at: T0, channel: 'closed' }), T0);
    dm(h, 'erin', 'first');
    h.clock.set(T0 + 7 * DAY + MINUTE);
    dm(h, 'erin', 'second');
    dm(h, 'erin', 'third');
    const r = h.engine.handleEvent(opened('erin', h.clock.now()), h.clock.now());
    expect(r.status).toBe('handled');
    expect(held(h.db, 'erin').map((x) => [x.text, x.state])).toEqual([
      ['first', 'expired'],
      ['second', 'delivered'],
      ['third', 'delivered'],
    ]);
    const dms = outboxRows(h.db).filter((o) => o.chat_id === 'erin');
    expect(dms.slice(0, 2).map((o) => o.text)).toEqual(['second', 'third']);
    expect(heldFor(h.db, 'wechat', 'erin')).toEqual([]);
    const trace = h.db.prepare("SELECT detail FROM rule_traces WHERE event_id = ? AND rule_id = 'channel'").get(r.eventRowId) as { detail: string };
    expect(JSON.parse(trace.detail).actions).toEqual(['private channel opened (friend_request)', '2 held message(s) released to the outbox', '1 held message(s) past the window expired']);
  });

  it('a private message from the member opens it (wrote_privately); a join saying "not a friend" closes a channel that was open', () => {
    const h = harness();
    h.engine.handleEvent(joined('fay', { at: T0, channel: 'closed' }), T0);
    expect(getChannel(h.db, 'wechat', 'fay')).toMatchObject({ state: 'closed', how: 'not_friend' });
    h.engine.handleEvent(message('fay', '你好', { at: T0 + MINUTE, dm: true }), T0 + MINUTE);
    expect(getChannel(h.db, 'wechat', 'fay')).toMatchObject({ state: 'open', how: 'wrote_privately', opened_at: T0 + MINUTE });
    h.engine.handleEvent(message('fay', '在吗', { at: T0 + HOUR, group: { id: 'python-101@chatroom', name: 'x' } }), T0 + HOUR);
    expect(getChannel(h.db, 'wechat', 'fay')!.state).toBe('open');
    // She deleted the account from her friends: the platform says so with her next join.
    h.engine.handleEvent(joined('fay', { at: T0 + 2 * HOUR, channel: 'closed', group: { id: 'python-vip@chatroom', name: 'vip' } }), T0 + 2 * HOUR);
    expect(getChannel(h.db, 'wechat', 'fay')).toMatchObject({ state: 'closed', how: 'not_friend', opened_at: T0 + MINUTE });
  });

  it('a blocked channel drops what is held; channel.opened rules run once per opening, and a repeated Start runs them with channel.again', () => {
    const h = harness();
    h.engine.handleEvent(joined('gus', { at: T0, channel: 'closed' }), T0);
    dm(h, 'gus', 'waiting');
    h.engine.handleEvent({ type: 'channel.closed', platform: 'wechat', eventId: 'block:gus', at: T0 + MINUTE, user: { id: 'gus', name: 'gus' }, how: 'blocked' }, T0 + MINUTE);
    expect(held(h.db, 'gus').map((x) => x.state)).toEqual(['dropped']);
    const first = h.engine.handleEvent(opened('gus', T0 + HOUR, 'start'), T0 + HOUR);
    expect(first.fired).toEqual(['welcome-private']);
    const again = h.engine.handleEvent(opened('gus', T0 + 2 * HOUR, 'start'), T0 + 2 * HOUR);
    expect(again.fired).toEqual(['start-again']);
    // A WeChat confirmation after kequn accepted the request itself says nothing new: no rule runs.
    const confirm = h.engine.handleEvent({ ...opened('gus', T0 + 3 * HOUR, 'friend_confirmed'), eventId: 'confirm:gus' }, T0 + 3 * HOUR);
    expect(confirm).toMatchObject({ status: 'handled', fired: [] });
  });
});

describe('sequences that count from the channel', () => {
  it('start_sequence waits while the channel is closed, is planned from the opening, and stop_sequence cancels the wait', () => {
    const h = harness();
    h.engine.handleEvent(joined('hal', { at: T0, channel: 'closed' }), T0);
    const m = h.db.prepare("SELECT member_id AS id FROM identities WHERE platform_id = 'hal'").get() as { id: string };
    expect(count(h.db, 'channel_waits', "state = 'waiting'")).toBe(1);
    expect(count(h.db, 'jobs', "kind = 'sequence.trial'")).toBe(0);
    const t = T0 + 2 * DAY;
    h.engine.handleEvent(opened('hal', t), t);
    expect((h.db.prepare("SELECT due_at FROM jobs WHERE member_id = ? AND kind = 'sequence.trial' ORDER BY due_at").all(m.id) as { due_at: number }[]).map((j) => j.due_at)).toEqual([t + DAY, t + 2 * DAY]);

    h.engine.handleEvent(joined('ivy', { at: T0, channel: 'closed' }), T0);
    // She leaves every group before adding the account: left-all-groups stops the trial sequence.
    h.engine.handleEvent({ type: 'member.left', platform: 'wechat', eventId: 'left:ivy', at: T0 + HOUR, group: { id: 'python-101@chatroom', name: 'x' }, user: { id: 'ivy', name: 'ivy' } }, T0 + HOUR);
    expect(h.db.prepare("SELECT w.state, w.note FROM channel_waits w JOIN identities i ON i.member_id = w.member_id WHERE i.platform_id = 'ivy'").get()).toEqual({
      state: 'cancelled',
      note: 'stopped by rule left-all-groups',
    });
  });
});

describe('the friend request policy', () => {
  const config = demoConfig();
  it('accepts staff, members of course groups and greetings with a keyword or a valid referral code; ignores the rest with the reason', () => {
    const h = harness();
    h.engine.handleEvent(joined('kim', { at: T0, channel: 'closed' }), T0);
    const amy = resolveMember(h.db, { platform: 'wechat', platformId: 'amy', displayName: 'Amy', initialStage: 'paid', now: T0 }).member;
    insertCode(h.db, { code: 'AMY888', memberId: amy.id, kind: 'custom', now: T0 });
    const decide = (userId: string, greeting: string) => decideFriendRequest(h.db, config, { platform: 'wechat', userId, greeting }, registry.channel);
    expect(decide('teacher', '')).toEqual({ accept: true, reason: 'staff (instructor)' });
    expect(decide('kim', 'hello')).toEqual({ accept: true, reason: 'member of course group python-101' });
    expect(decide('lee', '我想试听')).toEqual({ accept: true, reason: 'keyword "试听" in the greeting' });
    expect(decide('lee', '推荐码 amy888')).toEqual({ accept: true, reason: 'referral code AMY888 in the greeting' });
    expect(decide('lee', '推荐码 ZZZ999')).toEqual({ accept: false, reason: 'not accepted: needs a keyword (试听) or a referral code in the greeting or a member of a course group' });
    expect(decide('lee', 'hi')).toMatchObject({ accept: false });
    const everyone = { ...config, privateChannel: { ...config.privateChannel, wechat: { ...config.privateChannel.wechat, accept: 'everyone' as const } } };
    expect(decideFriendRequest(h.db, everyone, { platform: 'wechat', userId: 'lee', greeting: 'hi' }, registry.channel)).toEqual({ accept: true, reason: 'policy: everyone' });
    const none = { ...config, privateChannel: { ...config.privateChannel, wechat: { ...config.privateChannel.wechat, accept: 'none' as const } } };
    expect(decideFriendRequest(h.db, none, { platform: 'wechat', userId: 'kim', greeting: '试听' }, registry.channel)).toMatchObject({ accept: false });
  });

  it('a request is recorded once (a redelivery changes nothing), with a random delay within the configured one', () => {
    const h = harness();
    const e: ChatEvent = { type: 'friend.requested', platform: 'wechat', eventId: 'friendship:r1', at: T0, user: { id: 'lee', name: 'Lee' }, requestId: 'r1', greeting: '试听' };
    expect(h.engine.handleEvent(e, T0)).toMatchObject({ status: 'handled', accept: true });
    expect(h.engine.handleEvent(e, T0 + 1)).toMatchObject({ status: 'duplicate' });
    const row = h.db.prepare('SELECT status, accept_at FROM friend_requests').get() as { status: string; accept_at: number };
    expect(row.status).toBe('pending');
    expect(row.accept_at).toBeGreaterThanOrEqual(T0 + 30_000);
    expect(row.accept_at).toBeLessThanOrEqual(T0 + 180_000);
    // A stranger's request makes no member: only an accepted friend becomes one.
    expect(count(h.db, 'members')).toBe(0);
  });
});

describe('Telegram deep-link payloads', () => {
  it('read a referral code (the referral feature), a source tag, or fall back to a tag (the core)', () => {
    /** What a payload means: the code it carries, the source it records (src/core/channel/start-payload.ts). */
    const parse = (p: string) => ({ code: codeOfStartPayload(p), source: sourceOfStartPayload(p, registry.channel) });
    expect(parse('ref-K7M2XQ')).toEqual({ code: 'K7M2XQ', source: null });
    expect(parse('ref_k7m2xq')).toEqual({ code: 'K7M2XQ', source: null });
    expect(parse('src-xhs')).toEqual({ code: null, source: 'xhs' });
    expect(parse('K7M2XQ')).toEqual({ code: 'K7M2XQ', source: null });
    expect(parse('douyin_ad_3')).toEqual({ code: null, source: 'douyin_ad_3' });
    expect(parse('')).toEqual({ code: null, source: null });
    expect(parse('<script>')).toEqual({ code: null, source: 'script' });
    expect(registry.channel.startPayloadText('ref-K7M2XQ')).toBe('推荐码 K7M2XQ');
  });
});

describe('migration private_channel', () => {
  it('records an open channel for every chat a private message was sent to before it (already welcomed), and translates to PostgreSQL', () => {
    const db = new Database(':memory:');
    const version = migrations.find((x) => x.name === 'private_channel')!.version;
    for (const m of migrations.filter((x) => x.version < version)) db.exec(m.sql);
    const ins = db.prepare("INSERT INTO outbox (platform, chat_kind, chat_id, member_id, text, priority, status, not_before, created_at, sent_at) VALUES (?, ?, ?, ?, 'x', 'reply', ?, 0, 0, ?)");
    ins.run('wechat', 'dm', 'alice', 'm_a', 'sent', 100);
    ins.run('wechat', 'dm', 'alice', 'm_a', 'sent', 50);
    ins.run('wechat', 'dm', 'bob', 'm_b', 'failed', null);
    ins.run('telegram', 'dm', '42', null, 'sent', 70);
    ins.run('wechat', 'group', 'g@chatroom', null, 'sent', 60);
    db.exec(migrations.find((x) => x.version === version)!.sql);
    expect(db.prepare('SELECT platform, chat_id, member_id, state, how, opened_at, announced_at FROM private_channels ORDER BY platform, chat_id').all()).toEqual([
      { platform: 'telegram', chat_id: '42', member_id: null, state: 'open', how: 'delivered', opened_at: 70, announced_at: 70 },
      { platform: 'wechat', chat_id: 'alice', member_id: 'm_a', state: 'open', how: 'delivered', opened_at: 50, announced_at: 50 },
    ]);
    expect(() => sqliteDdlToPostgres(migrations.find((x) => x.name === 'private_channel')!.sql)).not.toThrow();
    db.close();
  });
});

describe('friend requests with several instances on one store', () => {
  it('only the account that got a request accepts it', async () => {
    const h = harness();
    const accepted: string[] = [];
    const adapter = (name: string) => ({ platform: 'wechat', isReady: () => true, acceptFriendRequest: async (id: string) => void accepted.push(`${name}:${id}`) }) as unknown as ChatAdapter;
    const make = (instance: string) =>
      new FriendRequests({ db: h.db, config: () => h.config, clock: h.clock, adapters: new Map([['wechat', adapter(instance)]]), log: silentLogger, deliver: async () => undefined, cluster: { instance } });
    const a = make('a');
    const b = make('b');
    for (const [id, by] of [['r1', 'a'], ['r2', 'b']] as const) {
      h.engine.handleEvent({ type: 'friend.requested', platform: 'wechat', eventId: `friendship:${id}`, at: T0, user: { id: `u-${id}`, name: id }, requestId: id, greeting: '试听' }, T0);
      (by === 'a' ? a : b).received('wechat', id);
    }
    h.clock.set(T0 + HOUR);
    await b.dispatch();
    await a.dispatch();
    expect(accepted.sort()).toEqual(['a:r1', 'b:r2']);
  });
});
