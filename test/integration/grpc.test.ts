/**
 * The production WeChat path over the wire: WechatyAdapter on a Wechaty bot with
 * wechaty-puppet-service (gRPC, 127.0.0.1, no TLS) talking to a PuppetServer whose puppet is the
 * simulated WeChat's PuppetMock. Nothing here needs the internet: the client is given an
 * endpoint, so it never asks the public discovery service.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PuppetServer } from 'wechaty-puppet-service';
import { buildServiceBot, waitReady, registry } from '../../src/app.js';
import type { ChatEvent } from '../../src/bot/events.js';
import { SimulatedWeChat } from '../../src/bot/simulator.js';
import { WechatyAdapter } from '../../src/bot/wechaty-adapter.js';
import { type CourseConfig } from '../../src/config/load.js';
import { loadConfig } from '../../src/app.js';
import type { HandleResult } from '../../src/core/engine.js';
import { Kernel } from '../../src/core/kernel.js';
import { systemClock } from '../../src/core/schedule/clock.js';
import type { Db } from '../../src/store/db.js';
import { freePort, waitFor } from '../helpers/grpc-port.js';
import { openTestStore } from '../helpers/store.js';

// The token must contain exactly one '_': the client takes the part before it as TLS server name.
const TOKEN = 'insecure_kequn-test';
const TRIAL_ROOM = 'python-101@chatroom';
const OTHER_ROOM = 'family-chat@chatroom';

// PuppetService caches payloads under ~/.wechaty/: point HOME at a fresh folder before any
// PuppetService exists (os.homedir() reads HOME when the cache is opened).
const realHome = process.env.HOME;
const home = mkdtempSync(join(tmpdir(), 'kequn-grpc-'));
process.env.HOME = home;

let config: CourseConfig;
let sim: SimulatedWeChat;
let server: PuppetServer;
let db: Db;
let kernel: Kernel;
const handled: { event: ChatEvent; result: HandleResult; at: number }[] = [];
const logLines: Record<string, unknown>[] = [];
const figures: Record<string, number | string> = {};

/** A pino logger whose lines land in `logLines` (and stay off the test output). */
function captureLogger() {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'debug', base: undefined }, sink);
}

function groupTexts(roomId: string): string[] {
  return sim.sent.filter((s) => s.chatKind === 'group' && s.chatId === roomId).map((s) => s.text);
}

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

beforeAll(async () => {
  const { PuppetServer } = await import('wechaty-puppet-service');
  // wechaty's own logger (brolog) prints warnings such as "TLS disabled: INSECURE!": keep it quiet.
  const { log: wechatyLog } = await import('wechaty-puppet');
  wechatyLog.level('silent');

  config = loadConfig('test/fixtures/course', { env: {} });
  sim = new SimulatedWeChat({ botName: config.course.bot_name, now: () => systemClock.now() });
  // The rooms exist before the server starts, as createApp does for the simulated WeChat.
  for (const g of Object.values(config.groups)) if (g.wechat) sim.room(g.wechat, g.name);
  sim.room(OTHER_ROOM, '相亲相爱一家人');
  sim.user('alice', 'Alice');

  const port = await freePort();
  const endpoint = `127.0.0.1:${port}`;
  server = new PuppetServer({ puppet: sim.puppet, token: TOKEN, endpoint, tls: { disable: true } });
  await server.start();

  const bot = await buildServiceBot({ kind: 'service', token: TOKEN, endpoint, noTls: true });
  const log = captureLogger();
  db = openTestStore();
  kernel = new Kernel({ registry, config, db, clock: systemClock, adapters: [new WechatyAdapter(bot, log)], log, live: true, random: () => 0.5 });
  kernel.on('handled', (event, result) => handled.push({ event, result, at: Date.now() }));

  const t0 = performance.now();
  await kernel.start();
  await waitReady(() => kernel.isReady(), 10_000);
  figures.loginMs = Math.round(performance.now() - t0);
});

afterAll(async () => {
  await kernel?.stop();
  await server?.stop();
  await sim?.puppet.stop().catch(() => undefined);
  db?.close();
  process.env.HOME = realHome;
  rmSync(home, { recursive: true, force: true });
  console.log(`grpc figures: ${JSON.stringify(figures)}`);
});

describe('WechatyAdapter over wechaty-puppet-service gRPC', () => {
  it('logs in through the PuppetServer', () => {
    expect(kernel.isReady()).toBe(true);
    expect(logLines.some((l) => l.msg === 'wechat: logged in' && l.user === 'kequn-bot')).toBe(true);
    expect(figures.loginMs).toBeLessThan(5_000);
  });

  it('a member joining the trial group is welcomed in the group and sent lesson 1 by DM', async () => {
    const t0 = performance.now();
    sim.join('alice', TRIAL_ROOM);

    const joined = await waitFor(
      () => handled.find((h) => h.event.type === 'member.joined' && h.event.user.id === 'alice'),
      'the kernel to handle member.joined',
    );
    figures.joinToHandledMs = Math.round(performance.now() - t0);
    expect(joined.event).toMatchObject({ type: 'member.joined', platform: 'wechat', group: { id: TRIAL_ROOM, name: 'Python 入门体验群' }, user: { id: 'alice', name: 'Alice' } });
    expect(joined.result.status).toBe('handled');
    expect(joined.result.fired).toContain('welcome-newcomer');

    // The first message of the burst goes out at once; the outbox paces the rest (1 s per
    // account, 2 s per chat, with jitter), as it would on a real account.
    await waitFor(() => groupTexts(TRIAL_ROOM).find((t) => t.includes('Alice')), 'the group welcome');
    figures.joinToGroupWelcomeMs = Math.round(performance.now() - t0);

    const lesson1 = config.lessons.find((l) => l.n === 1)!;
    await waitFor(
      () => sim.sent.find((s) => s.chatKind === 'dm' && s.chatId === 'alice' && s.text.includes(lesson1.title)),
      'lesson 1 by DM',
    );
    figures.joinToLesson1DmMs = Math.round(performance.now() - t0);

    const dms = sim.sent.filter((s) => s.chatKind === 'dm' && s.chatId === 'alice');
    expect(dms.some((s) => s.text.includes('Alice 你好'))).toBe(true);
    expect(dms.some((s) => s.text.includes(lesson1.body.split('\n')[0]!))).toBe(true);
    expect(groupTexts(TRIAL_ROOM).filter((t) => t.includes('Alice'))).toHaveLength(1);
  });

  it('a group message reaches the kernel as a message event with its text', async () => {
    const rtts: number[] = [];
    for (let i = 0; i < 15; i++) {
      const text = `第 ${i} 题怎么做？ pandas read_csv`;
      const t0 = performance.now();
      sim.say('alice', { roomId: TRIAL_ROOM }, text);
      const got = await waitFor(
        () => handled.find((h) => h.event.type === 'message' && h.event.text === text),
        `message ${i} to reach the kernel`,
      );
      rtts.push(performance.now() - t0);
      expect(got.event).toMatchObject({
        type: 'message',
        platform: 'wechat',
        chat: { kind: 'group', group: { id: TRIAL_ROOM, name: 'Python 入门体验群' } },
        user: { id: 'alice', name: 'Alice' },
        text,
        contentKind: 'text',
        mentionsBot: false,
      });
      expect(got.result.status).not.toBe('ignored');
    }
    figures.messageRoundTripP50Ms = Number(p50(rtts).toFixed(2));
    figures.messageRoundTripMaxMs = Number(Math.max(...rtts).toFixed(2));
    // The bot's own messages come back over the wire too; the adapter drops them.
    expect(handled.filter((h) => h.event.type === 'message' && h.event.user.id === 'kequn-bot')).toHaveLength(0);
  });

  it('a message in a group that is not in config is ignored, and the log names the room id', async () => {
    const room = sim.mocker.RoomMock.load(OTHER_ROOM);
    room.add(sim.mocker.ContactMock.load('alice')).by(sim.mocker.ContactMock.load('alice'));
    sim.say('alice', { roomId: OTHER_ROOM }, '周末聚餐');
    const got = await waitFor(() => handled.find((h) => h.event.type === 'message' && h.event.text === '周末聚餐'), 'the family-chat message');
    expect(got.result.status).toBe('ignored');
    expect(got.result.reason).toContain(OTHER_ROOM);
    expect(logLines.some((l) => l.msg === 'event' && String(l.reason).includes(OTHER_ROOM))).toBe(true);
  });
});
