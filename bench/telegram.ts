/**
 * Telegram: updates fetched by long polling from a fake Bot API on 127.0.0.1, through the grammY
 * adapter (dedupe, normalisation) into the engine (event log, member, rules, outbox rows) on a
 * SQLite file, and each one answered by a rule through the outbox with a sendMessage; against a
 * bare grammY bot on the same kind of server that echoes each message back (a sendMessage per
 * update). Both sides do the same work on the wire: receive an update, send one reply. What is
 * timed is the replies arriving at the server.
 *
 * - Throughput: bursts of updates queued at once, each until the server has every reply (or,
 *   not answering, every update is handled); each target takes its bursts in turn with bursts of
 *   the echo bot, which runs throughout, and is compared with those.
 * - Latency: one update at a time, from being queued on the server to its reply arriving there.
 *
 * The bench lifts kequn's Telegram pace (40 ms between sends, 1 s per chat, 20 a minute per
 * group): at Telegram's own limits the figure would measure the pace, not the code. The echo bot
 * has none. Also printed, for the record: kequn taking the updates in without answering them (no
 * rule matches; what this bench measured before issue 20, against the echo bot that does answer),
 * and a bare grammY bot that does nothing with an update.
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
import { TelegramAdapter } from '../src/bot/telegram-adapter.js';
import { telegramStateIn } from '../src/bot/telegram-state.js';
import { openStore } from '../src/store/db.js';
import { report, type BenchResult } from './report.js';

const BURST = 3000;
const SEQUENTIAL = 300;
const MEMBERS = 500;
/** What kequn's target is: the replying kequn ≥ 0.8 × the echo bot (issue 20). */
const GOAL = 0.8;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Target {
  api: FakeBotApi;
  /** Resolves when `n` things were done since the start: replies received by the server, or updates handled. */
  done(n: number): Promise<void>;
  stop(): Promise<void>;
}

/** Rounds the burst is cut into; every target takes its share of a round in turn (see benchTelegram). */
const ROUNDS = 3;

interface Running {
  t: Target;
  people: ReturnType<FakeBotApi['person']>[];
  text: (i: number) => string;
  /** Updates pushed so far. */
  pushed: number;
  /** Time the bursts took, summed over the rounds. */
  burstMs: number;
}

/** Pushes `n` updates at once to `r` and waits until every one is answered (or handled). */
async function burst(r: Running, chat: { id: number; type: string; title: string }, n: number): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++, r.pushed++) r.t.api.say({ user: r.people[r.pushed % MEMBERS]!, chat, text: r.text(r.pushed) });
  await r.t.done(r.pushed);
  r.burstMs += performance.now() - t0;
}

/** One update at a time, from being queued to its answer (or handling): p50 and p99. */
async function latency(r: Running, chat: { id: number; type: string; title: string }): Promise<{ p50: number; p99: number }> {
  const lat: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++, r.pushed++) {
    const start = performance.now();
    r.t.api.say({ user: r.people[r.pushed % MEMBERS]!, chat, text: r.text(r.pushed) });
    await r.t.done(r.pushed + 1);
    lat.push(performance.now() - start);
  }
  lat.sort((a, b) => a - b);
  return { p50: pct(lat, 50), p99: pct(lat, 99) };
}

/** A count with waiters: `wait(n)` resolves once the count reaches n. */
function counter() {
  let count = 0;
  const waiting: { n: number; resolve: () => void }[] = [];
  return {
    add() {
      count++;
      for (let i = waiting.length - 1; i >= 0; i--) if (waiting[i]!.n <= count) waiting.splice(i, 1)[0]!.resolve();
    },
    wait(n: number): Promise<void> {
      if (count >= n) return Promise.resolve();
      return new Promise((resolve) => waiting.push({ n, resolve }));
    },
  };
}

/**
 * kequn on the tests' course with its trial group on Telegram. `replying`: live, the outbox
 * sending at once (pace lifted), done when the server has the reply; otherwise not live (nothing
 * sent), done when the update has been handled.
 */
async function kequnTarget(dbPath: string, replying: boolean): Promise<Target> {
  const api = await FakeBotApi.start();
  const loaded = loadConfig('test/fixtures/course');
  const groupId = String(-1_000_000_000_001);
  const config = {
    ...loaded,
    groupOf: (p: string, id: string) => (p === 'telegram' && id === groupId ? 'python-101' : loaded.groupOf(p as 'wechat', id)),
    outbox: { ...loaded.outbox, telegram: { ...loaded.outbox.telegram, account_interval: 0, chat_interval: 0, jitter: 0, group_per_minute: 1e9 } },
  };
  const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
  const app = await createApp({
    config,
    clock,
    log: silentLogger,
    live: replying,
    dbPath,
    wechat: { kind: 'off' },
    telegram: { token: api.token, apiRoot: api.url, delivery: { kind: 'polling', timeoutSeconds: 1 } },
  });
  const c = counter();
  if (replying) api.onSend = () => c.add();
  else app.kernel.on('handled', () => c.add());
  await app.kernel.start();
  return {
    api,
    done: (n) => c.wait(n),
    stop: async () => {
      await app.stop();
      await api.close();
    },
  };
}

/**
 * kequn's Telegram adapter alone, answering like the echo bot: its store (handled updates, the
 * offset, unreachable chats) on a SQLite file, each message's event answered with the adapter's
 * own send, awaited; no engine, no outbox. What the adapter itself costs on top of grammY.
 */
async function adapterTarget(dbPath: string): Promise<Target> {
  const api = await FakeBotApi.start();
  const db = openStore(dbPath);
  const adapter = new TelegramAdapter({
    token: api.token,
    apiRoot: api.url,
    delivery: { kind: 'polling', timeoutSeconds: 1 },
    state: telegramStateIn(db),
    course: { groupOf: () => 'python-101', isOwner: () => false },
    log: silentLogger,
    clock: { now: () => Date.now() },
  });
  const c = counter();
  api.onSend = () => c.add();
  await adapter.start(async (event) => {
    if (event.type !== 'message') return;
    await adapter.send({ chat: event.chat.kind === 'group' ? { kind: 'group', id: event.chat.group.id } : { kind: 'dm', id: event.user.id }, text: event.text });
  });
  return {
    api,
    done: (n) => c.wait(n),
    stop: async () => {
      await adapter.stop();
      db.close();
      await api.close();
    },
  };
}

async function grammyTarget(echo: boolean): Promise<Target> {
  const api = await FakeBotApi.start();
  const bot = new Bot(api.token, { client: { apiRoot: api.url } });
  const c = counter();
  if (echo) api.onSend = () => c.add();
  bot.on('message', async (ctx) => {
    if (echo) await ctx.reply(ctx.message.text ?? '');
    else c.add();
  });
  await bot.init();
  void bot.start({ timeout: 1 });
  return { api, done: (n) => c.wait(n), stop: async () => (await bot.stop(), await api.close()) };
}

export async function benchTelegram(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-bench-tg-'));
  const chat = { id: -1_000_000_000_001, type: 'supergroup', title: 'Python 入门体验群' };
  // The course's `live-replay` rule answers every message that asks for the replay (回放).
  const asks = (i: number) => `第${i}条消息：老师好，直播回放在哪里看？`;
  const says = (i: number) => `第${i}条消息，老师好`;
  const runs: { key: string; name: string; target: () => Promise<Target>; text: (i: number) => string; note: string }[] = [
    { key: 'echo', name: 'bare grammY echo bot (sendMessage per update)', target: () => grammyTarget(true), text: asks, note: 'queued → reply at the server' },
    { key: 'adapter', name: 'kequn\'s grammY adapter alone, echoing (its store on a file; no engine, no outbox)', target: () => adapterTarget(join(dir, 'adapter.db')), text: asks, note: 'queued → reply at the server' },
    { key: 'kequn', name: 'kequn (grammY adapter → engine → outbox → sendMessage, file store)', target: () => kequnTarget(join(dir, 'reply.db'), true), text: asks, note: 'queued → reply at the server' },
    { key: 'ingest', name: 'kequn taking updates in, no reply (no rule matches)', target: () => kequnTarget(join(dir, 'ingest.db'), false), text: says, note: 'queued → handled' },
    { key: 'noop', name: 'bare grammY bot, no-op handler', target: () => grammyTarget(false), text: says, note: 'queued → handled' },
  ];
  const out: BenchResult[] = [];
  const running = new Map<string, Running>();
  const start = async (run: (typeof runs)[number]): Promise<Running> => {
    const t = await run.target();
    const r = { t, people: Array.from({ length: MEMBERS }, (_, i) => t.api.person(10_000 + i, `学员${i}`)), text: run.text, pushed: 0, burstMs: 0 };
    running.set(run.key, r);
    return r;
  };
  try {
    // The echo bot runs throughout; each other target runs alone beside it, its bursts taken in
    // turn with bursts of the echo bot (the ratio is against those): on a shared machine the
    // load moves during a run, and two figures taken a minute apart measured the load as much
    // as the code.
    const echo = await start(runs[0]!);
    for (const run of runs.slice(1)) {
      const r = await start(run);
      const echoBefore = { ms: echo.burstMs };
      for (let round = 0; round < ROUNDS; round++) {
        const pair = round % 2 === 0 ? [echo, r] : [r, echo];
        for (const x of pair) await burst(x, chat, BURST / ROUNDS);
      }
      const perSecond = BURST / (r.burstMs / 1000);
      const echoRate = BURST / ((echo.burstMs - echoBefore.ms) / 1000);
      const lat = await latency(r, chat);
      await r.t.stop();
      running.delete(run.key);
      const vsEcho = run.key === 'kequn' || run.key === 'adapter' ? { target: `ratio >= ${GOAL}`, met: perSecond / echoRate >= GOAL } : {};
      out.push(
        { name: `telegram: ${run.name} updates/s`, value: perSecond, unit: 'updates/s', baseline: 'grammY echo bot, bursts in turn', baseline_value: echoRate, ratio: perSecond / echoRate, ...vsEcho, note: `${BURST} updates in ${ROUNDS} bursts via getUpdates, ${run.note}` },
        { name: `telegram: ${run.name} p50`, value: lat.p50, unit: 'ms', note: `one update at a time, ${run.note}` },
        { name: `telegram: ${run.name} p99`, value: lat.p99, unit: 'ms' },
      );
    }
    const lat = await latency(echo, chat);
    out.unshift(
      { name: `telegram: ${runs[0]!.name} updates/s`, value: (echo.pushed - SEQUENTIAL) / (echo.burstMs / 1000), unit: 'updates/s', note: `all its bursts, ${runs[0]!.note}` },
      { name: `telegram: ${runs[0]!.name} p50`, value: lat.p50, unit: 'ms', note: `one update at a time, ${runs[0]!.note}` },
      { name: `telegram: ${runs[0]!.name} p99`, value: lat.p99, unit: 'ms' },
    );
  } finally {
    for (const r of running.values()) await r.t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchTelegram());
  process.exit(0);
}
