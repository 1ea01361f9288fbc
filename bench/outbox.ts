/**
 * The outbox under a backlog: 5,000 messages queued on a SQLite file (1,000 escalations to two
 * instructors, 3,000 replies about 300 members in a group and privately, 1,000 proactive ones),
 * sent on the default WeChat pacing in virtual time through a wire that only records. Measures
 * the real time one send decision takes (the queues' heads are read from the store each time),
 * and how long, in virtual time, a newcomer's welcome queued behind the backlog waits.
 * Run: npx tsx bench/outbox.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatAdapter, OutgoingMessage } from '../src/bot/events.js';
import { Outbox } from '../src/bot/outbox.js';
import { loadConfig } from '../src/app.js';
import { silentLogger } from '../src/log.js';
import { VirtualClock } from '../src/core/schedule/clock.js';
import { openStore } from '../src/store/db.js';
import { enqueueMessage, type Priority } from '../src/store/outbox.js';
import { pct, report, type BenchResult } from './report.js';

const SENDS = 300;

export async function benchOutbox(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'kequn-bench-outbox-'));
  const db = openStore(join(dir, 'bench.db'));
  const config = loadConfig('test/fixtures/course');
  const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
  const sent: { text: string; at: number }[] = [];
  const wire: ChatAdapter = {
    platform: 'wechat',
    start: async () => {},
    stop: async () => {},
    isReady: () => true,
    send: async (m: OutgoingMessage) => void sent.push({ text: m.text, at: clock.now() }),
  };
  const outbox = new Outbox({ db, config: () => config, clock, adapters: new Map([['wechat', wire]]), log: silentLogger, random: () => 0.5 });
  const queue = (chatKind: 'group' | 'dm', chatId: string, memberId: string | null, priority: Priority, text: string) =>
    enqueueMessage(db, { platform: 'wechat', chatKind, chatId, memberId, groupId: null, text, priority, notBefore: clock.now(), eventId: null, ruleId: null, dryRun: false, now: clock.now(), budget: null });
  db.transaction(() => {
    for (let i = 0; i < 1000; i++) queue('dm', i % 2 ? 'teacher' : 'assistant-li', null, 'bulk', `escalation ${i}`);
    for (let i = 0; i < 3000; i++) queue(i % 3 ? 'dm' : 'group', i % 3 ? `u${i % 300}` : 'python-101@chatroom', `m_${i % 300}`, 'reply', `reply ${i}`);
    for (let i = 0; i < 1000; i++) queue('dm', `u${i % 300}`, `m_${i % 300}`, 'push', `lesson ${i}`);
  })();
  queue('group', 'python-101@chatroom', 'm_newbie', 'urgent', 'welcome');
  const queuedAt = clock.now();
  const decisions: number[] = [];
  while (sent.length < SENDS) {
    const t = performance.now();
    await outbox.dispatch();
    const next = outbox.nextWakeAt();
    decisions.push(performance.now() - t);
    if (next === undefined) break;
    if (next > clock.now()) clock.set(next);
  }
  db.close();
  rmSync(dir, { recursive: true, force: true });
  const welcome = sent.find((s) => s.text === 'welcome');
  decisions.sort((a, b) => a - b);
  return [
    // One decision a second on WeChat's pace: under 10 ms is under 1 % of a core.
    { name: 'outbox: a send decision with 5,000 queued, p50', value: pct(decisions, 50), unit: 'ms', target: '< 10 ms', met: pct(decisions, 50) < 10, note: 'dispatch + next wake-up, real time' },
    { name: 'outbox: a send decision with 5,000 queued, p99', value: pct(decisions, 99), unit: 'ms', target: '< 50 ms', met: pct(decisions, 99) < 50 },
    {
      name: 'outbox: a welcome queued behind 5,000, sent after',
      value: welcome ? (welcome.at - queuedAt) / 1000 : NaN,
      unit: 's (virtual)',
      target: '< 10 s',
      met: welcome !== undefined && welcome.at - queuedAt < 10_000,
      note: 'default WeChat pacing',
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchOutbox());
  process.exit(0);
}
