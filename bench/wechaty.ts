/**
 * WeChat ingest over the wire: group messages from the simulated WeChat's mock puppet, served by a
 * wechaty-puppet-service PuppetServer on 127.0.0.1 (gRPC, no TLS), received by a Wechaty client
 * through PuppetService, then either
 *   - kequn: WechatyAdapter → engine (100 rules of the demo's kinds would be the pipeline bench;
 *     here the demo's own rules) → event log, member, outbox rows on a SQLite file, or
 *   - a bare Wechaty echo bot: `message.say(message.text())` for every message,
 * on the same server and puppet, one after the other. Throughput is a burst said at once;
 * latency is one message at a time, from the puppet emitting it to the handler finishing.
 * kequn does not reply to a plain message (no rule matches it), the echo bot sends one; the note
 * says so. Target: kequn/echo messages/s >= 0.8.
 * Run: npx tsx bench/wechaty.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PuppetServer } from 'wechaty-puppet-service';
import { buildServiceBot, waitReady, registry } from '../src/app.js';
import { SimulatedWeChat } from '../src/bot/simulator.js';
import { WechatyAdapter } from '../src/bot/wechaty-adapter.js';
import { loadConfig } from '../src/app.js';
import { Kernel } from '../src/core/kernel.js';
import { silentLogger } from '../src/log.js';
import { systemClock } from '../src/core/schedule/clock.js';
import { openStore } from '../src/store/db.js';
import { freePort } from '../test/helpers/grpc-port.js';
import { pct, report, type BenchResult } from './report.js';

const BURST = Number(process.env.BENCH_WECHATY_BURST ?? 1000);
const SEQUENTIAL = Number(process.env.BENCH_WECHATY_SEQ ?? 300);
const MEMBERS = 50;
const TOKEN = 'insecure_kequn-bench';
const ROOM = 'python-101@chatroom';

interface Target {
  /** Resolves when the message with this text has been handled. */
  handled(text: string): Promise<void>;
  stop(): Promise<void>;
}

function waiters() {
  const done = new Set<string>();
  const waiting = new Map<string, () => void>();
  return {
    mark(key: string) {
      done.add(key);
      waiting.get(key)?.();
    },
    wait(key: string): Promise<void> {
      if (done.has(key)) return Promise.resolve();
      return new Promise((resolve) => waiting.set(key, resolve));
    },
  };
}

async function measure(sim: SimulatedWeChat, t: Target, tag: string): Promise<{ perSecond: number; p50: number; p99: number }> {
  // Warm-up: payload caches on both sides.
  for (let i = 0; i < MEMBERS; i++) {
    const text = `${tag} 热身 ${i}`;
    sim.say(`m${i}`, { roomId: ROOM }, text);
    await t.handled(text);
  }
  const t0 = performance.now();
  let last = '';
  for (let i = 0; i < BURST; i++) {
    last = `${tag} 第${i}条消息，老师好`;
    sim.say(`m${i % MEMBERS}`, { roomId: ROOM }, last);
  }
  await t.handled(last);
  const perSecond = BURST / ((performance.now() - t0) / 1000);
  const lat: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const text = `${tag} 顺序消息 ${i}`;
    const start = performance.now();
    sim.say(`m${i % MEMBERS}`, { roomId: ROOM }, text);
    await t.handled(text);
    lat.push(performance.now() - start);
  }
  lat.sort((a, b) => a - b);
  return { perSecond, p50: pct(lat, 50), p99: pct(lat, 99) };
}

async function echoTarget(endpoint: string): Promise<Target> {
  const bot = await buildServiceBot({ kind: 'service', token: TOKEN, endpoint, noTls: true });
  const w = waiters();
  let ready = false;
  bot.on('login', () => {
    ready = true;
  });
  bot.on('message', async (m) => {
    if (m.self()) return;
    await m.say(m.text());
    w.mark(m.text());
  });
  await bot.start();
  await waitReady(() => ready, 15_000);
  return { handled: (t) => w.wait(t), stop: () => bot.stop() };
}

async function kequnTarget(endpoint: string, dbPath: string): Promise<Target> {
  const config = loadConfig('test/fixtures/course', { env: {} });
  const bot = await buildServiceBot({ kind: 'service', token: TOKEN, endpoint, noTls: true });
  const db = openStore(dbPath);
  const kernel = new Kernel({ registry, config, db, clock: systemClock, adapters: [new WechatyAdapter(bot, silentLogger)], log: silentLogger, live: false });
  const w = waiters();
  kernel.on('handled', (e) => {
    if (e.type === 'message') w.mark(e.text);
  });
  await kernel.start();
  await waitReady(() => kernel.isReady(), 15_000);
  return {
    handled: (t) => w.wait(t),
    stop: async () => {
      await kernel.stop();
      db.close();
    },
  };
}

export async function benchWechaty(): Promise<BenchResult[]> {
  const { PuppetServer } = await import('wechaty-puppet-service');
  const { log: wechatyLog } = await import('wechaty-puppet');
  wechatyLog.level('silent');
  const dir = mkdtempSync(join(tmpdir(), 'kequn-bench-wechaty-'));
  // PuppetService caches payloads under ~/.wechaty/: keep that out of the real home.
  const realHome = process.env.HOME;
  process.env.HOME = dir;
  const config = loadConfig('test/fixtures/course', { env: {} });
  const sim = new SimulatedWeChat({ botName: config.course.bot_name, now: () => Date.now() });
  for (const g of Object.values(config.groups)) if (g.wechat) sim.room(g.wechat, g.name);
  for (let i = 0; i < MEMBERS; i++) sim.user(`m${i}`, `学员${i}`);
  const endpoint = `127.0.0.1:${await freePort()}`;
  let server: PuppetServer | undefined;
  try {
    const results: Record<string, { perSecond: number; p50: number; p99: number }> = {};
    for (const [name, make] of [
      ['echo', () => echoTarget(endpoint)],
      ['kequn', () => kequnTarget(endpoint, join(dir, 'bench.db'))],
    ] as const) {
      // A fresh server per target: one client at a time, as in production.
      server = new PuppetServer({ puppet: sim.puppet, token: TOKEN, endpoint, tls: { disable: true } });
      await server.start();
      const target = await make();
      results[name] = await measure(sim, target, name);
      await target.stop();
      await server.stop();
      server = undefined;
    }
    const k = results.kequn!;
    const e = results.echo!;
    const ratio = k.perSecond / e.perSecond;
    return [
      {
        name: 'wechaty: kequn messages/s (gRPC puppet service → adapter → engine → file store)',
        value: k.perSecond,
        unit: 'msg/s',
        baseline: 'bare Wechaty echo bot, same server',
        baseline_value: e.perSecond,
        ratio,
        target: 'ratio >= 0.8',
        met: ratio >= 0.8,
        note: `burst of ${BURST} group messages; the echo bot also sends a reply per message, kequn sends none for plain chat`,
      },
      { name: 'wechaty: kequn p50', value: k.p50, unit: 'ms', baseline: 'echo bot p50', baseline_value: e.p50, ratio: e.p50 / k.p50, note: `one message at a time (${SEQUENTIAL}), puppet emits → handled` },
      { name: 'wechaty: kequn p99', value: k.p99, unit: 'ms', baseline: 'echo bot p99', baseline_value: e.p99, ratio: e.p99 / k.p99, note: 'ratio = echo/kequn: higher is better' },
    ];
  } finally {
    await server?.stop().catch(() => undefined);
    await sim.puppet.stop().catch(() => undefined);
    process.env.HOME = realHome;
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchWechaty());
  process.exit(0);
}
