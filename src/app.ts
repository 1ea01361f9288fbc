import type { Logger } from 'pino';
import type { WechatyInterface } from 'wechaty/impls';
import { WechatyAdapter } from './bot/wechaty-adapter.js';
import { SimulatedWeChat } from './bot/simulator.js';
import type { ChatAdapter } from './bot/events.js';
import type { CourseConfig } from './config/load.js';
import { Kernel } from './kernel.js';
import type { Clock } from './schedule/clock.js';
import { openStore, type Db } from './store/db.js';

/**
 * Which WeChat to connect to, from the environment: a real account through a Wechaty puppet
 * service when `WECHATY_PUPPET_SERVICE_TOKEN` is set, else the embedded simulated WeChat.
 */
export type WeChatMode = { kind: 'simulated' } | { kind: 'service'; token: string; endpoint?: string; noTls: boolean };

export function wechatModeFromEnv(env: NodeJS.ProcessEnv): WeChatMode {
  const token = env.WECHATY_PUPPET_SERVICE_TOKEN;
  if (!token) return { kind: 'simulated' };
  return {
    kind: 'service',
    token,
    endpoint: env.WECHATY_PUPPET_SERVICE_ENDPOINT || undefined,
    noTls: env.WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT === 'true',
  };
}

export async function buildServiceBot(mode: Extract<WeChatMode, { kind: 'service' }>): Promise<WechatyInterface> {
  const { WechatyBuilder } = await import('wechaty');
  const { PuppetService } = await import('wechaty-puppet-service');
  const puppet = new PuppetService({ token: mode.token, endpoint: mode.endpoint, tls: { disable: mode.noTls } });
  return WechatyBuilder.build({ name: 'kequn', puppet });
}

export interface App {
  kernel: Kernel;
  db: Db;
  /** The simulated WeChat, when running on the embedded default. */
  sim: SimulatedWeChat | undefined;
  config: CourseConfig;
  stop(): Promise<void>;
}

/**
 * Builds kequn: store, kernel, WeChat adapter (simulated or real). The caller starts it.
 *
 * @example const app = await createApp({ config, clock: systemClock, log, live: true, dbPath: config.dataPath });
 */
export async function createApp(opts: {
  config: CourseConfig;
  clock: Clock;
  log: Logger;
  live: boolean;
  dbPath: string;
  wechat?: WeChatMode;
  random?: () => number;
  /** Environment with OPENAI_API_KEY etc. for the LLM mode of Q&A (`kequn start` passes process.env). */
  llmEnv?: NodeJS.ProcessEnv;
}): Promise<App> {
  const db = openStore(opts.dbPath);
  const mode = opts.wechat ?? { kind: 'simulated' };
  let sim: SimulatedWeChat | undefined;
  let bot: WechatyInterface;
  if (mode.kind === 'simulated') {
    sim = new SimulatedWeChat({ botName: opts.config.course.bot_name, now: () => opts.clock.now() });
    for (const [handle, g] of Object.entries(opts.config.groups)) sim.room(g.wechat ?? simulatedRoomId(handle), g.name);
    for (const s of opts.config.staff) if (s.wechat) sim.user(s.wechat, s.name);
    bot = sim.buildBot();
  } else {
    bot = await buildServiceBot(mode);
  }
  const adapters: ChatAdapter[] = [new WechatyAdapter(bot, opts.log.child({ platform: 'wechat' }))];
  const kernel = new Kernel({ config: opts.config, db, clock: opts.clock, adapters, log: opts.log, live: opts.live, random: opts.random, llmEnv: opts.llmEnv });
  return {
    kernel,
    db,
    sim,
    config: opts.config,
    async stop() {
      await kernel.stop();
      db.close();
    },
  };
}

/** Room id the simulator uses for a group that has no WeChat id in config. */
export function simulatedRoomId(handle: string): string {
  return `${handle}@chatroom`;
}

/** Waits until the adapter reports ready (the simulated bot logs in within milliseconds). */
export async function waitReady(adapterReady: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!adapterReady()) {
    if (Date.now() - start > timeoutMs) throw new Error('WeChat did not log in in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
