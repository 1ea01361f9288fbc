import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbox, RetryAfterError } from '../../src/bot/outbox.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';

import { enqueueMessage } from '../../src/store/outbox.js';
import { demoConfig, FakeAdapter, MINUTE, outboxRows, SECOND, T0, tempConfig, lineOf, loadProblems, replaceOnce } from '../helpers/fixtures.js';
import { openTestStore } from '../helpers/store.js';

// The outbox paces each platform by its own rules: WeChat's account-wide interval with jitter,
// Telegram's ~25/s per bot, 1/s per chat and 20/min per group, in one process.

function rig() {
  const db = openTestStore();
  const clock = new VirtualClock(T0);
  const wechat = new FakeAdapter(clock, 'wechat');
  const telegram = new FakeAdapter(clock, 'telegram');
  const config = demoConfig();
  const outbox = new Outbox({ db, config: () => config, clock, adapters: new Map([['wechat', wechat], ['telegram', telegram]]), log: silentLogger, random: () => 0 });
  const queue = (platform: 'wechat' | 'telegram', chatId: string, kind: 'group' | 'dm', text: string) =>
    enqueueMessage(db, { platform, chatKind: kind, chatId, memberId: null, groupId: null, text, priority: 'reply', notBefore: clock.now(), eventId: null, ruleId: null, dryRun: false, now: clock.now(), budget: null });
  const drain = async (until: number) => {
    for (;;) {
      await outbox.dispatch();
      const next = outbox.nextWakeAt();
      if (next === undefined || next > until) return;
      if (next > clock.now()) clock.set(next);
    }
  };
  return { db, clock, wechat, telegram, outbox, queue, drain };
}

describe('outbox: Telegram pacing', () => {
  it('many chats: about 25 messages/s for the bot, while WeChat keeps one a second', async () => {
    const r = rig();
    for (let i = 0; i < 100; i++) r.queue('telegram', String(1000 + i), 'dm', `t${i}`);
    for (let i = 0; i < 5; i++) r.queue('wechat', `w${i}`, 'dm', `w${i}`);
    await r.drain(T0 + 10 * MINUTE);
    expect(r.telegram.sent).toHaveLength(100);
    const tgGaps = r.telegram.sent.slice(1).map((s, i) => s.at - r.telegram.sent[i]!.at);
    expect(Math.min(...tgGaps)).toBeGreaterThanOrEqual(40);
    expect(r.telegram.sent.at(-1)!.at - T0).toBe(99 * 40);
    const wxGaps = r.wechat.sent.slice(1).map((s, i) => s.at - r.wechat.sent[i]!.at);
    expect(Math.min(...wxGaps)).toBeGreaterThanOrEqual(1000);
  });

  it('one chat: at most one a second; one group: at most 20 in any minute', async () => {
    const r = rig();
    for (let i = 0; i < 5; i++) r.queue('telegram', '1001', 'dm', `dm${i}`);
    for (let i = 0; i < 45; i++) r.queue('telegram', '-100', 'group', `g${i}`);
    await r.drain(T0 + 10 * MINUTE);
    const dm = r.telegram.sent.filter((s) => s.chat.id === '1001').map((s) => s.at);
    expect(dm.slice(1).map((t, i) => t - dm[i]!)).toEqual([1000, 1000, 1000, 1000]);
    const g = r.telegram.sent.filter((s) => s.chat.id === '-100').map((s) => s.at);
    expect(g).toHaveLength(45);
    for (let i = 20; i < g.length; i++) expect(g[i]! - g[i - 20]!).toBeGreaterThanOrEqual(MINUTE);
    // Not slower than it must be: 20 in the first 19 s, the 21st a minute after the first.
    expect(g[19]! - g[0]!).toBe(19 * SECOND);
    expect(g[20]! - g[0]!).toBe(MINUTE);
  });

  it('the per-group window survives a restart (read back from the store)', async () => {
    const r = rig();
    for (let i = 0; i < 20; i++) r.queue('telegram', '-100', 'group', `g${i}`);
    await r.drain(T0 + MINUTE);
    const first = r.telegram.sent[0]!.at;
    const again = new Outbox({ db: r.db, config: () => demoConfig(), clock: r.clock, adapters: new Map([['telegram', r.telegram]]), log: silentLogger });
    r.queue('telegram', '-100', 'group', 'after restart');
    await again.dispatch();
    expect(again.nextWakeAt()).toBe(first + MINUTE);
  });

  it('RetryAfterError holds that chat for retry_after, other chats keep going', async () => {
    const r = rig();
    r.telegram.failNext(1, () => new RetryAfterError('flood', 30 * SECOND));
    const a = r.queue('telegram', '1001', 'dm', 'a');
    r.queue('telegram', '1002', 'dm', 'b');
    await r.outbox.dispatch();
    expect(outboxRows(r.db).find((x) => x.id === a)).toMatchObject({ status: 'pending', not_before: T0 + 30 * SECOND });
    await r.drain(T0 + MINUTE);
    expect(r.telegram.sent.map((s) => [s.text, s.at - T0])).toEqual([
      ['b', 40],
      ['a', 30 * SECOND],
    ]);
  });
});

describe('config: outbox.telegram', () => {
  it('has Telegram defaults and rejects an unknown key with file and line', () => {
    expect(demoConfig().outbox.telegram).toEqual({ account_interval: 40, chat_interval: 1000, group_per_minute: 20, jitter: 0, daily_cap: 100_000, reserve: 1000 });
    const dir = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, '    group_per_minute: 20\n', '    group_per_minut: 10\n') });
    const problems = loadProblems(dir);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ keyPath: 'outbox.telegram.group_per_minut', message: expect.stringContaining('unknown key') });
    expect(problems[0]!.line).toBe(lineOf(readFileSync(join(dir, 'kequn.yaml'), 'utf8'), 'group_per_minut'));
  });
});
