/**
 * Pipeline throughput: events through the engine (event log, member, rules, outbox rows) on a
 * SQLite file, and end to end through the Wechaty adapter on the mock puppet.
 * Run: npx tsx bench/pipeline.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, waitReady } from '../src/app.js';
import type { ChatEvent } from '../src/bot/events.js';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/log.js';
import { VirtualClock } from '../src/schedule/clock.js';
import { report, type BenchResult } from './report.js';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function benchPipeline(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-bench-'));
  const config = loadConfig('config');
  const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
  const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath: join(dir, 'bench.db') });
  const t0 = performance.now();
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  const startMs = performance.now() - t0;

  // Engine: joins then messages, 1000 members in one group.
  const N = 10_000;
  const room = { id: 'python-101@chatroom', name: 'Python 入门体验群' };
  const lat: number[] = [];
  const tStart = performance.now();
  for (let i = 0; i < N; i++) {
    const user = { id: `u${i % 1000}`, name: `学员${i % 1000}` };
    const event: ChatEvent =
      i < 1000
        ? { type: 'member.joined', platform: 'wechat', eventId: `j${i}`, at: clock.now(), group: room, user }
        : { type: 'message', platform: 'wechat', eventId: `m${i}`, at: clock.now(), chat: { kind: 'group', group: room }, user, text: `第${i}条消息，老师好`, mentionsBot: false, contentKind: 'text' };
    const t = performance.now();
    app.kernel.engine.handleEvent(event, clock.now());
    lat.push(performance.now() - t);
  }
  const engineSecs = (performance.now() - tStart) / 1000;
  lat.sort((a, b) => a - b);

  // End to end through Wechaty on the mock puppet: a member speaks, the bot handles it.
  const sim = app.sim!;
  sim.user('speaker', 'Speaker');
  sim.join('speaker', room.id);
  await new Promise((r) => setTimeout(r, 50));
  const M = 1000;
  let handled = 0;
  const done = new Promise<void>((resolve) =>
    app.kernel.on('handled', (e) => {
      if (e.type === 'message' && ++handled === M) resolve();
    }),
  );
  const tE2e = performance.now();
  for (let i = 0; i < M; i++) sim.say('speaker', { roomId: room.id }, `hello ${i}`);
  await done;
  const e2eSecs = (performance.now() - tE2e) / 1000;
  await app.stop();

  return [
    { name: 'start to ready (simulated WeChat, file store)', value: startMs, unit: 'ms' },
    { name: 'engine events/s (10k events, 1000 members, file store)', value: N / engineSecs, unit: 'events/s' },
    { name: 'engine p50 latency', value: pct(lat, 50), unit: 'ms' },
    { name: 'engine p99 latency', value: pct(lat, 99), unit: 'ms' },
    { name: 'wechaty mock puppet → engine messages/s', value: M / e2eSecs, unit: 'events/s' },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchPipeline());
  process.exit(0);
}
