/**
 * Telegram ingest: updates fetched by long polling from a fake Bot API on 127.0.0.1, through the
 * grammY adapter (dedupe log, normalisation) into the engine (event log, member, rules, outbox
 * rows) on a SQLite file, against a bare grammY bot on the same kind of server: one that does
 * nothing with an update, and one that echoes each message back (a sendMessage per update).
 * Throughput is a burst of updates queued at once; latency is one update at a time, from being
 * queued on the server to being handled.
 * Run: npx tsx bench/telegram.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bot } from 'grammy';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/app.js';
import { silentLogger } from '../src/log.js';
import { VirtualClock } from '../src/core/schedule/clock.js';
import { FakeBotApi } from '../src/testing/fake-bot-api.js';
import { report, type BenchResult } from './report.js';

const BURST = 3000;
const SEQUENTIAL = 300;
const MEMBERS = 500;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Target {
  api: FakeBotApi;
  /** Resolves when the update with this id has been handled. */
  handledUpdate(id: number): Promise<void>;
  stop(): Promise<void>;
}

/** Pushes updates to `t` and measures: burst throughput, then sequential latency. */
async function measure(t: Target, chat: { id: number; type: string; title: string }): Promise<{ perSecond: number; p50: number; p99: number }> {
  const people = Array.from({ length: MEMBERS }, (_, i) => t.api.person(10_000 + i, `学员${i}`));
  let last = 0;
  const t0 = performance.now();
  for (let i = 0; i < BURST; i++) last = t.api.say({ user: people[i % MEMBERS]!, chat, text: `第${i}条消息，老师好` }).update_id as number;
  await t.handledUpdate(last);
  const perSecond = BURST / ((performance.now() - t0) / 1000);
  const lat: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const start = performance.now();
    const id = t.api.say({ user: people[i % MEMBERS]!, chat, text: `顺序消息 ${i}` }).update_id as number;
    await t.handledUpdate(id);
    lat.push(performance.now() - start);
  }
  lat.sort((a, b) => a - b);
  return { perSecond, p50: pct(lat, 50), p99: pct(lat, 99) };
}

function waiterSet() {
  const done = new Set<number>();
  const waiting = new Map<number, () => void>();
  return {
    mark(id: number) {
      done.add(id);
      waiting.get(id)?.();
    },
    wait(id: number): Promise<void> {
      if (done.has(id)) return Promise.resolve();
      return new Promise((resolve) => waiting.set(id, resolve));
    },
  };
}

async function kequnTarget(dbPath: string): Promise<Target> {
  const api = await FakeBotApi.start();
  const config = loadConfig('test/fixtures/course');
  const groupId = String(-1_000_000_000_001);
  // The demo course with its trial group on Telegram.
  const tgConfig = { ...config, groupOf: (p: string, id: string) => (p === 'telegram' && id === groupId ? 'python-101' : config.groupOf(p as 'wechat', id)) };
  const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
  const app = await createApp({
    config: tgConfig,
    clock,
    log: silentLogger,
    live: false,
    dbPath,
    wechat: { kind: 'off' },
    telegram: { token: api.token, apiRoot: api.url, delivery: { kind: 'polling', timeoutSeconds: 1 } },
  });
  const w = waiterSet();
  app.kernel.on('handled', (e) => w.mark(Number(e.eventId.split(':').at(-1))));
  await app.kernel.start();
  return { api, handledUpdate: (id) => w.wait(id), stop: async () => (await app.stop(), await api.close()) };
}

async function grammyTarget(echo: boolean): Promise<Target> {
  const api = await FakeBotApi.start();
  const bot = new Bot(api.token, { client: { apiRoot: api.url } });
  const w = waiterSet();
  bot.on('message', async (ctx) => {
    if (echo) await ctx.reply(ctx.message.text ?? '');
    w.mark(ctx.update.update_id);
  });
  await bot.init();
  void bot.start({ timeout: 1 });
  return { api, handledUpdate: (id) => w.wait(id), stop: async () => (await bot.stop(), await api.close()) };
}

export async function benchTelegram(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-bench-tg-'));
  const chat = { id: -1_000_000_000_001, type: 'supergroup', title: 'Python 入门体验群' };
  const out: BenchResult[] = [];
  try {
    const rows: [string, Target][] = [
      ['kequn (grammY adapter → engine, file store)', await kequnTarget(join(dir, 'bench.db'))],
      ['bare grammY bot, no-op handler', await grammyTarget(false)],
      ['bare grammY echo bot (sendMessage per update)', await grammyTarget(true)],
    ];
    for (const [name, target] of rows) {
      const r = await measure(target, chat);
      await target.stop();
      out.push(
        { name: `telegram: ${name} updates/s`, value: r.perSecond, unit: 'updates/s', note: `burst of ${BURST} via getUpdates` },
        { name: `telegram: ${name} p50`, value: r.p50, unit: 'ms', note: 'one update at a time, queued → handled' },
        { name: `telegram: ${name} p99`, value: r.p99, unit: 'ms' },
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchTelegram());
  process.exit(0);
}
