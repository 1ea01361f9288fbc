import { describe, expect, it } from 'vitest';
import { Outbox, PermanentSendError } from '../../src/bot/outbox.js';
import type { CourseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { claimMessage, enqueueMessage, type Priority } from '../../src/store/outbox.js';
import { DAY, HOUR, MINUTE, SECOND, T0, advance, demoConfig, drainOutbox, harness, joined, outboxRows, type Harness } from '../helpers/fixtures.js';

function queue(h: Harness, chatId: string, text: string, opts: { priority?: Priority; kind?: 'group' | 'dm'; dryRun?: boolean; notBefore?: number } = {}): number {
  return enqueueMessage(h.db, {
    platform: 'wechat',
    chatKind: opts.kind ?? 'dm',
    chatId,
    memberId: null,
    groupId: null,
    text,
    priority: opts.priority ?? 'reply',
    notBefore: opts.notBefore ?? h.clock.now(),
    eventId: null,
    ruleId: null,
    dryRun: opts.dryRun ?? false,
    now: h.clock.now(),
    budget: null,
  });
}

function withOutbox(config: CourseConfig, patch: Partial<CourseConfig['outbox']>): CourseConfig {
  return { ...config, outbox: { ...config.outbox, ...patch } };
}

function status(h: Harness, id: number) {
  return outboxRows(h.db).find((r) => r.id === id)!;
}

/** Gaps between consecutive sends, overall and per chat. */
function gaps(sent: { chat: { id: string }; at: number }[]): { account: number[]; perChat: number[] } {
  const account = sent.slice(1).map((s, i) => s.at - sent[i]!.at);
  const perChat: number[] = [];
  const last = new Map<string, number>();
  for (const s of sent) {
    const prev = last.get(s.chat.id);
    if (prev !== undefined) perChat.push(s.at - prev);
    last.set(s.chat.id, s.at);
  }
  return { account, perChat };
}

describe('outbox: pacing', () => {
  it('no two sends closer than the account interval (1 s), none to one chat closer than the chat interval (2 s)', async () => {
    const h = harness();
    for (let i = 0; i < 4; i++) queue(h, 'chat-a', `a${i}`);
    for (let i = 0; i < 4; i++) queue(h, 'chat-b', `b${i}`);
    queue(h, 'chat-c', 'c0');
    await drainOutbox(h, T0 + HOUR);
    expect(h.adapter.sent).toHaveLength(9);
    const g = gaps(h.adapter.sent);
    expect(Math.min(...g.account)).toBeGreaterThanOrEqual(1000);
    expect(Math.min(...g.perChat)).toBeGreaterThanOrEqual(2000);
    // It is not slower than it must be: alternating chats, one a second.
    expect(h.adapter.sent.at(-1)!.at - T0).toBe(8 * SECOND);
    // Each chat gets its messages in order.
    expect(h.adapter.sent.filter((s) => s.chat.id === 'chat-a').map((s) => s.text)).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(outboxRows(h.db).every((r) => r.status === 'sent' && r.attempts === 1)).toBe(true);
  });

  it('jitter only ever adds to the interval', async () => {
    const h = harness({ random: () => 0.999 });
    for (let i = 0; i < 6; i++) queue(h, `chat-${i}`, `m${i}`);
    await drainOutbox(h, T0 + HOUR);
    const g = gaps(h.adapter.sent);
    for (const gap of g.account) {
      expect(gap).toBeGreaterThanOrEqual(1000);
      expect(gap).toBeLessThan(1500);
    }
  });

  it('one dispatch sends at most one message per interval, however many are due', async () => {
    const h = harness();
    for (let i = 0; i < 20; i++) queue(h, `chat-${i}`, `m${i}`);
    expect(await h.outbox.dispatch()).toBe(1);
    expect(await h.outbox.dispatch()).toBe(0);
    advance(h.clock, 999);
    expect(await h.outbox.dispatch()).toBe(0);
    advance(h.clock, 1);
    expect(await h.outbox.dispatch()).toBe(1);
    expect(h.outbox.nextWakeAt()).toBe(T0 + 2 * SECOND);
  });

  it('pacing survives a restart: a new Outbox reads the last send times from the store', async () => {
    const h = harness();
    queue(h, 'chat-a', 'before restart');
    await h.outbox.dispatch();
    const restarted = new Outbox({ db: h.db, config: () => h.config, clock: h.clock, adapters: new Map([['wechat', h.adapter]]), log: silentLogger, random: () => 0 });
    advance(h.clock, 500);
    queue(h, 'chat-a', 'after restart');
    expect(await restarted.dispatch()).toBe(0);
    expect(restarted.nextWakeAt()).toBe(T0 + 2 * SECOND); // the chat interval, from the store
    h.clock.set(T0 + 2 * SECOND);
    expect(await restarted.dispatch()).toBe(1);
  });

  it('a message with a future not_before waits for it', async () => {
    const h = harness();
    queue(h, 'chat-a', 'later', { notBefore: T0 + 10 * MINUTE });
    expect(await h.outbox.dispatch()).toBe(0);
    expect(h.outbox.nextWakeAt()).toBe(T0 + 10 * MINUTE);
  });

  it('nothing goes out while the adapter is not ready; everything does once it is', async () => {
    const h = harness();
    h.adapter.ready = false;
    queue(h, 'chat-a', 'held');
    expect(await h.outbox.dispatch()).toBe(0);
    expect(h.outbox.nextWakeAt()).toBeUndefined();
    h.adapter.ready = true;
    expect(await h.outbox.dispatch()).toBe(1);
  });
});

describe('outbox: quiet hours (22:00–08:00 Asia/Shanghai)', () => {
  const night = Date.parse('2026-03-02T23:00:00+08:00');
  const morning = Date.parse('2026-03-03T08:00:00+08:00');

  it('proactive (push) messages wait for the end of quiet hours; replies go at once', async () => {
    const h = harness({ start: night });
    const push = queue(h, 'alice', 'lesson 2', { priority: 'push' });
    const reply = queue(h, 'bob', 'welcome', { priority: 'reply' });
    expect(await h.outbox.dispatch()).toBe(1);
    expect(status(h, reply).status).toBe('sent');
    expect(status(h, push).status).toBe('pending');
    expect(h.outbox.nextWakeAt()).toBe(morning);
    h.clock.set(morning - 1);
    expect(await h.outbox.dispatch()).toBe(0);
    h.clock.set(morning);
    expect(await h.outbox.dispatch()).toBe(1);
    expect(h.adapter.sent.map((s) => [s.text, s.at])).toEqual([
      ['welcome', night],
      ['lesson 2', morning],
    ]);
  });

  it('a push message due just before quiet hours but paced into them waits until morning', async () => {
    const start = Date.parse('2026-03-02T21:59:59+08:00');
    const h = harness({ start });
    queue(h, 'a', 'first', { priority: 'push' });
    queue(h, 'b', 'second', { priority: 'push' });
    await drainOutbox(h, start + DAY);
    expect(h.adapter.sent.map((s) => s.at)).toEqual([start, morning]);
  });

  it('a night of held drip lessons does not hold up a reply', async () => {
    const h = harness({ start: Date.parse('2026-03-02T22:30:00+08:00') });
    for (let i = 0; i < 150; i++) queue(h, `member-${i}`, `lesson for ${i}`, { priority: 'push' });
    h.clock.set(night);
    const reply = queue(h, 'asker', 'here is your answer', { priority: 'reply' });
    expect(await h.outbox.dispatch()).toBe(1);
    expect(status(h, reply).status).toBe('sent');
    expect(h.outbox.nextWakeAt()).toBe(morning);
  });

  it('with replies: defer, replies wait too', async () => {
    const h = harness({ start: night });
    h.config = { ...demoConfig(), quietHours: { ...demoConfig().quietHours!, replies: 'defer' } };
    queue(h, 'bob', 'welcome', { priority: 'reply' });
    expect(await h.outbox.dispatch()).toBe(0);
    expect(h.outbox.nextWakeAt()).toBe(morning);
  });

  it('without quiet hours, push messages go at night', async () => {
    const h = harness({ start: night });
    h.config = { ...demoConfig(), quietHours: null };
    queue(h, 'alice', 'lesson 2', { priority: 'push' });
    expect(await h.outbox.dispatch()).toBe(1);
  });
});

describe('outbox: daily cap', () => {
  it('holds messages past the cap until the next local day', async () => {
    const h = harness();
    h.config = withOutbox(demoConfig(), { daily_cap: 3 });
    for (let i = 0; i < 5; i++) queue(h, `chat-${i}`, `m${i}`);
    await drainOutbox(h, T0 + 12 * HOUR);
    expect(h.adapter.sent).toHaveLength(3);
    const midnight = Date.parse('2026-03-03T00:00:00+08:00');
    expect(h.outbox.nextWakeAt()).toBe(midnight);
    await drainOutbox(h, midnight + HOUR);
    expect(h.adapter.sent.map((s) => s.at)).toEqual([T0, T0 + SECOND, T0 + 2 * SECOND, midnight, midnight + SECOND]);
    expect(outboxRows(h.db).every((r) => r.status === 'sent')).toBe(true);
  });

  it('a restart counts what this instance sent earlier today; a burst within one minute is counted send by send', async () => {
    const h = harness();
    h.config = withOutbox(demoConfig(), { daily_cap: 4, account_interval: 0, chat_interval: 0, jitter: 0 });
    queue(h, 'a', 'before the restart 1');
    queue(h, 'b', 'before the restart 2');
    await h.outbox.dispatch();
    // A new process on the same store (the count is kept in memory once read).
    const restarted = new Outbox({ db: h.db, config: () => h.config, clock: h.clock, adapters: new Map([['wechat', h.adapter]]), log: silentLogger, random: () => 0 });
    for (let i = 0; i < 5; i++) queue(h, `chat-${i}`, `after ${i}`);
    // All at the same instant: only the count kept by the sends can stop the third.
    expect(await restarted.dispatch()).toBe(2);
    expect(h.adapter.sent.map((s) => s.text)).toEqual(['before the restart 1', 'before the restart 2', 'after 0', 'after 1']);
    expect(h.adapter.sent.every((s) => s.at === T0)).toBe(true);
  });

  it('counts only messages actually sent today', async () => {
    const h = harness();
    h.config = withOutbox(demoConfig(), { daily_cap: 2 });
    const failed = queue(h, 'x', 'fails for good');
    h.adapter.failNext(1, () => new PermanentSendError('kicked'));
    await h.outbox.dispatch();
    expect(status(h, failed).status).toBe('failed');
    queue(h, 'a', 'one');
    queue(h, 'b', 'two');
    await drainOutbox(h, T0 + HOUR);
    expect(h.adapter.sent.map((s) => s.text)).toEqual(['one', 'two']);
  });
});

describe('outbox: failures', () => {
  it('a failing send is retried with exponential backoff, never in a tight loop, then marked failed', async () => {
    const h = harness();
    h.adapter.failWith = () => new Error('network down');
    const id = queue(h, 'alice', 'hello');
    expect(await h.outbox.dispatch()).toBe(0);
    expect(h.adapter.attempts).toHaveLength(1); // one try per dispatch, not a loop
    expect(status(h, id)).toMatchObject({ status: 'pending', attempts: 1, last_error: 'network down', not_before: T0 + 30 * SECOND });
    await drainOutbox(h, T0 + DAY);
    // 5 attempts (max_attempts), 30 s, 60 s, 120 s, 240 s apart.
    expect(h.adapter.attempts.map((a) => (a.at - T0) / SECOND)).toEqual([0, 30, 90, 210, 450]);
    expect(status(h, id)).toMatchObject({ status: 'failed', attempts: 5, last_error: 'network down', sent_at: null });
    expect(h.outbox.nextWakeAt()).toBeUndefined();
    h.clock.set(T0 + 2 * DAY);
    await h.outbox.dispatch();
    expect(h.adapter.attempts).toHaveLength(5);
  });

  it('a failure does not make other messages burst: the account still waits its interval', async () => {
    const h = harness();
    h.adapter.failNext(1);
    queue(h, 'a', 'fails once');
    queue(h, 'b', 'fine');
    queue(h, 'c', 'fine too');
    expect(await h.outbox.dispatch()).toBe(0);
    expect(h.adapter.attempts).toHaveLength(1);
    await drainOutbox(h, T0 + HOUR);
    const times = h.adapter.attempts.map((a) => a.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000);
    expect(h.adapter.sent.map((s) => s.text).sort()).toEqual(['fails once', 'fine', 'fine too']);
  });

  it('a send that fails once then succeeds is sent, once', async () => {
    const h = harness();
    h.adapter.failNext(1);
    const id = queue(h, 'alice', 'hello');
    await drainOutbox(h, T0 + HOUR);
    expect(h.adapter.sent.map((s) => s.at)).toEqual([T0 + 30 * SECOND]);
    expect(status(h, id)).toMatchObject({ status: 'sent', attempts: 2, last_error: null, sent_at: T0 + 30 * SECOND });
  });

  it('PermanentSendError fails at once, without retrying', async () => {
    const h = harness();
    h.adapter.failWith = () => new PermanentSendError('bot was removed from the group');
    const id = queue(h, 'room@chatroom', 'hi all', { kind: 'group' });
    await drainOutbox(h, T0 + DAY);
    expect(h.adapter.attempts).toHaveLength(1);
    expect(status(h, id)).toMatchObject({ status: 'failed', attempts: 1, last_error: 'bot was removed from the group' });
  });

  it('max_attempts: 1 means one try', async () => {
    const h = harness();
    h.config = withOutbox(demoConfig(), { max_attempts: 1 });
    h.adapter.failWith = () => new Error('nope');
    const id = queue(h, 'alice', 'hello');
    await drainOutbox(h, T0 + DAY);
    expect(h.adapter.attempts).toHaveLength(1);
    expect(status(h, id).status).toBe('failed');
  });
});

describe('outbox: crash recovery and dry runs', () => {
  it('a message left in "sending" by a crash is marked uncertain by recover() and never sent', async () => {
    const h = harness();
    const interrupted = queue(h, 'alice', 'maybe delivered');
    const untouched = queue(h, 'bob', 'not yet tried');
    expect(claimMessage(h.db, interrupted, 'main')).toBe(true); // the process died during adapter.send
    const outbox = new Outbox({ db: h.db, config: () => h.config, clock: h.clock, adapters: new Map([['wechat', h.adapter]]), log: silentLogger, random: () => 0 });
    expect(outbox.recover()).toBe(1);
    expect(status(h, interrupted)).toMatchObject({ status: 'uncertain', last_error: 'process stopped during send', attempts: 1 });
    await outbox.dispatch();
    h.clock.set(T0 + DAY);
    await outbox.dispatch();
    expect(h.adapter.sent.map((s) => s.text)).toEqual(['not yet tried']);
    expect(status(h, interrupted).status).toBe('uncertain');
    expect(status(h, untouched).status).toBe('sent');
    expect(outbox.recover()).toBe(0);
  });

  it('dry_run rows are recorded but never sent', async () => {
    const h = harness();
    const id = queue(h, 'alice', 'rehearsal', { dryRun: true });
    expect(status(h, id).status).toBe('dry_run');
    await drainOutbox(h, T0 + DAY);
    expect(h.adapter.attempts).toEqual([]);
    expect(h.outbox.nextWakeAt()).toBeUndefined();
  });

  it('a dry-run group: its welcome is written as dry_run rows and nothing is sent', async () => {
    const h = harness();
    const demo = demoConfig();
    h.config = { ...demo, groups: { ...demo.groups, 'python-101': { ...demo.groups['python-101']!, dry_run: true } } };
    expect(h.engine.handleEvent(joined('alice', { at: T0 }), T0).messages).toBe(3);
    expect(outboxRows(h.db).map((r) => r.status)).toEqual(['dry_run', 'dry_run', 'dry_run']);
    await drainOutbox(h, T0 + HOUR);
    expect(h.adapter.attempts).toEqual([]);
  });

  it('dry_run for the whole bot', async () => {
    const h = harness();
    h.config = { ...demoConfig(), dryRun: true };
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    h.engine.runDueJobs(T0 + DAY);
    expect(outboxRows(h.db).map((r) => r.status)).toEqual(['dry_run', 'dry_run', 'dry_run', 'dry_run']);
    await drainOutbox(h, T0 + 2 * DAY);
    expect(h.adapter.attempts).toEqual([]);
  });
});

describe('outbox: concurrent dispatch calls', () => {
  it('coalesce into one loop: a message is never sent twice', async () => {
    const h = harness();
    queue(h, 'alice', 'once');
    const [a, b, c] = await Promise.all([h.outbox.dispatch(), h.outbox.dispatch(), h.outbox.dispatch()]);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(h.adapter.sent).toHaveLength(1);
  });
});
