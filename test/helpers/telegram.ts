/**
 * Telegram test rig: kequn (real kernel, engine, outbox, grammY adapter) on Telegram alone,
 * talking over real HTTP to the fake Bot API on 127.0.0.1, on a virtual clock.
 */
import { createApp, type App, type TelegramMode } from '../../src/app.js';
import type { ChatEvent } from '../../src/bot/events.js';
import { type CourseConfig } from '../../src/config/load.js';
import { loadConfig } from '../../src/app.js';
import type { HandleResult } from '../../src/core/engine.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { FakeBotApi } from '../../src/testing/fake-bot-api.js';
import { replaceOnce, T0, tempConfig } from './fixtures.js';
import { waitFor } from './grpc-port.js';
import { testStorePath } from './store.js';
import { setChannel } from '../../src/store/private-channels.js';
import { type StarsPayments } from '../../src/bot/payments.js';

export const GROUP = { id: -1001001, title: 'Python 入门体验群' };
export const OWNER_ID = 42;
export const TEACHER_ID = 43;

/** The demo course with Telegram chat ids for its groups and staff (and `more` edits on top). */
export function telegramConfig(more: Record<string, (text: string) => string> = {}): CourseConfig {
  const dir = tempConfig({
    ...more,
    'kequn.yaml': (t) => {
      let s = replaceOnce(t, '    wechat: python-101@chatroom\n', `    wechat: python-101@chatroom\n    telegram: ${GROUP.id}\n`);
      s = replaceOnce(s, '    wechat: python-vip@chatroom\n', '    wechat: python-vip@chatroom\n    telegram: -1001002\n');
      s = replaceOnce(s, '  - { name: 王老师, role: instructor, wechat: teacher }', `  - { name: 王老师, role: instructor, wechat: teacher, telegram: ${TEACHER_ID} }\n  - { name: 校长, role: owner, telegram: ${OWNER_ID} }`);
      return more['kequn.yaml'] ? more['kequn.yaml'](s) : s;
    },
  });
  return loadConfig(dir, { env: {} });
}

export interface TelegramRig {
  app: App;
  api: FakeBotApi;
  clock: VirtualClock;
  handled: { event: ChatEvent; result: HandleResult }[];
  /** Waits until `n` events in total reached the engine, then lets the outbox finish (virtual time). */
  settle(n: number): Promise<void>;
  sentTo(chatId: number | string): string[];
  /**
   * The person pressed Start some time before (no update now): Telegram lets the bot message them,
   * and the store knows their private channel is open, as it would from that /start.
   */
  startedBefore(userId: number): void;
}

export async function startRig(opts: {
  api: FakeBotApi;
  config: CourseConfig;
  dbPath?: string;
  delivery?: TelegramMode['delivery'];
  payments?: StarsPayments;
  retry?: { maxRetryAttempts: number; maxDelaySeconds: number };
  clock?: VirtualClock;
}): Promise<TelegramRig> {
  const clock = opts.clock ?? new VirtualClock(T0);
  const app = await createApp({
    config: opts.config,
    clock,
    log: silentLogger,
    live: false,
    dbPath: opts.dbPath ?? testStorePath(),
    wechat: { kind: 'off' },
    telegram: {
      token: opts.api.token,
      apiRoot: opts.api.url,
      // A short long-poll keeps stop() quick.
      delivery: opts.delivery ?? { kind: 'polling', timeoutSeconds: 1 },
      payments: opts.payments,
      retry: opts.retry,
    },
  });
  const handled: TelegramRig['handled'] = [];
  app.kernel.on('handled', (event, result) => handled.push({ event, result }));
  await app.kernel.start();
  return {
    app,
    api: opts.api,
    clock,
    handled,
    async settle(n) {
      await waitFor(() => handled.length >= n, `${n} handled event(s)`, 5000);
      await app.kernel.runUntil(clock.now() + 5 * 60_000, { settleOnly: true });
    },
    sentTo: (chatId) => opts.api.sent.filter((m) => m.chatId === String(chatId)).map((m) => m.text),
    startedBefore(userId) {
      opts.api.markStarted(userId);
      setChannel(app.db, { platform: 'telegram', chatId: String(userId), memberId: null, state: 'open', how: 'start', now: clock.now() });
    },
  };
}
