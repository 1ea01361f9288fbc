import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { WechatyInterface } from 'wechaty/impls';
import type { SimulatedWeChat } from './bot/simulator.js';
import type { TelegramAdapter, TelegramAdapterOptions, TelegramDelivery } from './bot/telegram-adapter.js';
import type { ChatAdapter } from './bot/events.js';
import { loadCourseConfig } from './config/load.js';
import type { CourseConfig } from './core/types.js';
import type { Feature } from './core/feature.js';
import { Kernel } from './core/kernel.js';
import { buildRegistry, type Registry } from './core/registry.js';
import type { Clock } from './core/schedule/clock.js';
import type { ClusterSettings } from './bot/cluster.js';
import { openStore, type Db } from './store/db.js';
import { createOrders, type Orders } from './flows/orders/wiring.js';
import { EnvError } from './config/env-error.js';
import { type StarsPayments } from './bot/payments.js';
import type { Exposure, Runtime } from './web/context.js';
import { lifecycleFeature } from './flows/lifecycle/index.js';
import { trialFeature } from './flows/trial/index.js';
import { qaFeature } from './flows/qa/index.js';
import { ordersFeature } from './flows/orders/index.js';
import { referralFeature } from './flows/referral/index.js';
import { checkinFeature } from './flows/checkin/index.js';
import { homeworkFeature } from './flows/homework/index.js';
import { staffFeature } from './flows/staff/index.js';
import { announceFeature } from './flows/announce/index.js';
import { moderationFeature } from './flows/moderation/index.js';
import { dashboardFeature } from './flows/dashboard/index.js';
import { libraryFeature } from './flows/library/index.js';
import { timelineFeature } from './flows/timeline/index.js';
import { cohortsFeature } from './flows/cohorts/index.js';
import { joinFeature } from './flows/join/index.js';
import { importFeature } from './flows/import/index.js';
import { digestFeature } from './flows/digest/index.js';
import { profileFeature } from './flows/profile/index.js';
import { recommendFeature } from './flows/recommend/index.js';
import { postersFeature } from './flows/posters/index.js';

/**
 * The features of kequn, in one list: each is a folder under src/flows/ whose index declares
 * everything it adds (src/core/feature.ts). Adding a feature is one folder and one line here
 * (plus its migration and docs). The order is the order their handlers run in (the lifecycle's
 * stage move on a payment before the receipt, the receipt before the referral reward) and the
 * order of their lines in staff reports.
 */
export const FEATURES: readonly Feature[] = [
  lifecycleFeature,
  trialFeature,
  qaFeature,
  ordersFeature,
  referralFeature,
  checkinFeature,
  homeworkFeature,
  staffFeature,
  announceFeature,
  moderationFeature,
  libraryFeature,
  cohortsFeature,
  joinFeature,
  timelineFeature,
  importFeature,
  profileFeature,
  recommendFeature,
  postersFeature,
  dashboardFeature,
  digestFeature,
];

/** The registry of FEATURES (and the core's built-ins): what rules, the loader and the engine look up. */
export const registry: Registry = buildRegistry(FEATURES);

/**
 * Loads a course folder for kequn's features, and throws a ConfigError listing every problem with
 * file:line and key path.
 *
 * @example const config = loadConfig('config');
 */
export function loadConfig(dir: string, opts: { env?: NodeJS.ProcessEnv; registry?: Registry; stored?: boolean } = {}): CourseConfig {
  return loadCourseConfig(dir, { registry: opts.registry ?? registry, env: opts.env, stored: opts.stored });
}

/**
 * Which WeChat to connect to, from the environment: a real account through a Wechaty puppet
 * service when `WECHATY_PUPPET_SERVICE_TOKEN` is set, else the embedded simulated WeChat.
 */
export type WeChatMode =
  | { kind: 'simulated' }
  | {
      kind: 'service';
      token: string;
      endpoint?: string;
      noTls: boolean;
      /** The CA that signed a self-hosted gateway's certificate (PEM); without it, the client trusts only Wechaty's own test CA. */
      caCert?: string;
    }
  | { kind: 'off' };

/**
 * With a Telegram bot token and no WeChat puppet token, kequn runs on Telegram alone. The
 * simulated WeChat runs only when no platform is real: beside a real one, anyone reaching the
 * web port could act as a configured staff member on the shared store (issue 22), so
 * `KEQUN_WECHAT=simulated` with a real token is an EnvError. A demo beside real accounts is a
 * second kequn with its own store.
 */
export function wechatModeFromEnv(env: NodeJS.ProcessEnv): WeChatMode {
  const token = env.WECHATY_PUPPET_SERVICE_TOKEN;
  const wanted = env.KEQUN_WECHAT?.trim();
  if (wanted && wanted !== 'simulated') throw new EnvError(`KEQUN_WECHAT may only be "simulated" (the default without WECHATY_PUPPET_SERVICE_TOKEN and TELEGRAM_BOT_TOKEN), got "${wanted}"`);
  if (wanted === 'simulated' && (token || env.TELEGRAM_BOT_TOKEN?.trim())) throw new EnvError(SIMULATOR_ALONE);
  if (!token) return env.TELEGRAM_BOT_TOKEN?.trim() ? { kind: 'off' } : { kind: 'simulated' };
  // The part before the last "_" is the TLS server name the client checks (docs/wechat.md).
  if (token.lastIndexOf('_') < 1) throw new EnvError('WECHATY_PUPPET_SERVICE_TOKEN must be <name>_<secret> (the part before the last "_" is the server name the client checks), e.g. insecure_… for a gateway without TLS');
  const noTls = env.WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT === 'true';
  return { kind: 'service', token, endpoint: env.WECHATY_PUPPET_SERVICE_ENDPOINT || undefined, noTls, caCert: noTls ? undefined : gatewayCaCert(env) };
}

/**
 * The CA certificate a self-hosted gateway's TLS certificate is checked against: PEM text in
 * WECHATY_PUPPET_SERVICE_TLS_CA_CERT (wechaty-puppet-service's own variable), or a file named by
 * WECHATY_PUPPET_SERVICE_TLS_CA_CERT_FILE (easier in env files and systemd).
 */
function gatewayCaCert(env: NodeJS.ProcessEnv): string | undefined {
  const pem = env.WECHATY_PUPPET_SERVICE_TLS_CA_CERT?.trim();
  const file = env.WECHATY_PUPPET_SERVICE_TLS_CA_CERT_FILE?.trim();
  if (pem && file) throw new EnvError('set WECHATY_PUPPET_SERVICE_TLS_CA_CERT or WECHATY_PUPPET_SERVICE_TLS_CA_CERT_FILE, not both');
  if (!file) return pem || undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new EnvError(`WECHATY_PUPPET_SERVICE_TLS_CA_CERT_FILE: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new EnvError(`WECHATY_PUPPET_SERVICE_TLS_CA_CERT_FILE: ${file} is not a PEM certificate`);
  return text;
}

const SIMULATOR_ALONE =
  'KEQUN_WECHAT=simulated cannot run beside a real WeChat account or Telegram bot (anyone reaching the playground could act as your staff there): for a demo, run a second kequn with its own store and port and no tokens (KEQUN_DATA=data/demo.db KEQUN_PORT=8788 npx kequn start)';

/** Telegram, from the environment: `TELEGRAM_BOT_TOKEN` enables it; a webhook URL switches from long polling. */
export interface TelegramMode {
  token: string;
  delivery: TelegramDelivery;
  /** `TELEGRAM_API_ROOT`: a local Bot API server instead of https://api.telegram.org */
  apiRoot?: string;
}

export { EnvError } from './config/env-error.js';

export function telegramModeFromEnv(env: NodeJS.ProcessEnv): TelegramMode | undefined {
  const token = env.TELEGRAM_BOT_TOKEN?.trim();
  if (!token) return undefined;
  if (!/^\d+:[\w-]{20,}$/.test(token)) throw new EnvError('TELEGRAM_BOT_TOKEN does not look like a bot token (123456:ABC…, from @BotFather)');
  const apiRoot = env.TELEGRAM_API_ROOT?.trim() || undefined;
  const url = env.TELEGRAM_WEBHOOK_URL?.trim();
  if (!url) return { token, apiRoot, delivery: { kind: 'polling' } };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new EnvError(`TELEGRAM_WEBHOOK_URL is not a URL: ${url}`);
  }
  if (parsed.protocol !== 'https:' && !/^(127\.0\.0\.1|localhost|\[::1\])$/.test(parsed.hostname)) {
    throw new EnvError('TELEGRAM_WEBHOOK_URL must be https:// (Telegram only posts to HTTPS)');
  }
  if (parsed.pathname === '/' || parsed.pathname === '') throw new EnvError('TELEGRAM_WEBHOOK_URL needs a path, e.g. https://bot.example.com/telegram/webhook');
  const secret = env.TELEGRAM_WEBHOOK_SECRET?.trim();
  if (!secret) throw new EnvError('TELEGRAM_WEBHOOK_SECRET is required with TELEGRAM_WEBHOOK_URL (Telegram sends it back on every update; requests without it are refused)');
  if (!/^[A-Za-z0-9_-]{16,256}$/.test(secret)) throw new EnvError('TELEGRAM_WEBHOOK_SECRET must be 16-256 characters of A-Z, a-z, 0-9, _ and -');
  return { token, apiRoot, delivery: { kind: 'webhook', url, secret } };
}

export async function buildServiceBot(mode: Extract<WeChatMode, { kind: 'service' }>): Promise<WechatyInterface> {
  const { WechatyBuilder } = await import('wechaty');
  const { PuppetService } = await import('wechaty-puppet-service');
  const puppet = new PuppetService({ token: mode.token, endpoint: mode.endpoint, tls: { disable: mode.noTls, caCert: mode.caCert } });
  return WechatyBuilder.build({ name: 'kequn', puppet });
}

export type { Exposure };

export interface App {
  kernel: Kernel;
  db: Db;
  /** The simulated WeChat, when running on the embedded default. */
  sim: SimulatedWeChat | undefined;
  exposure: Exposure;
  /** The Telegram adapter, when TELEGRAM_BOT_TOKEN is set (its webhook is served by the web server). */
  telegram: TelegramAdapter | undefined;
  config: CourseConfig;
  /** The order service and its provider (the sandbox unless catalog.yaml says wechatpay). */
  orders: Orders;
  /** The long-lived objects features' routes use (src/web/context.ts Runtime). */
  runtime: Runtime;
  /** Where createApp's time went, in ms (bench/qa-start.ts): opening the store, loading the platforms' modules, the kernel and its services (the Q&A index), the order service. */
  built: { storeMs: number; platformsMs: number; kernelMs: number; ordersMs: number };
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
  telegram?: TelegramMode & {
    /** The order service's Stars answers (default: every payment refused). */
    payments?: StarsPayments;
    retry?: { maxRetryAttempts: number; maxDelaySeconds: number };
    botInfo?: TelegramAdapterOptions['botInfo'];
    requestTimeoutMs?: number;
  };
  random?: () => number;
  /** Environment with OPENAI_API_KEY etc. for the LLM mode of Q&A (`kequn start` passes process.env). */
  llmEnv?: NodeJS.ProcessEnv;
  /** Where payment secrets come from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** More platforms, e.g. the reliability drills' counting fake (with `wechat: { kind: 'off' }`). */
  adapters?: ChatAdapter[];
  /** This process's instance when several share a PostgreSQL store (KEQUN_INSTANCE; default `main`). */
  cluster?: Partial<ClusterSettings>;
  /** KEQUN_STAGING=1: the payment sandbox takes payments beside a real platform (its pages then need the admin login). */
  staging?: boolean;
  /** WAL checkpoints on a worker thread (default on; bench/wal-pages.ts turns them off to count the WAL's frames). */
  backgroundCheckpoints?: boolean;
}): Promise<App> {
  const mode = opts.wechat ?? { kind: 'simulated' };
  // Staff ids become simulated users anyone at the playground can drive: never next to a real platform.
  if (mode.kind === 'simulated' && (opts.telegram || (opts.adapters ?? []).length > 0)) throw new EnvError(SIMULATOR_ALONE.replace('KEQUN_WECHAT=simulated', 'the simulated WeChat'));
  const exposure: Exposure = mode.kind === 'simulated' ? 'embedded' : opts.staging ? 'staging' : 'real';
  let lap = performance.now();
  const since = () => {
    const now = performance.now();
    const ms = now - lap;
    lap = now;
    return ms;
  };
  const db = openStore(opts.dbPath, { backgroundCheckpoints: opts.backgroundCheckpoints ?? true });
  const storeMs = since();
  let sim: SimulatedWeChat | undefined;
  const adapters: ChatAdapter[] = [];
  // Wechaty is loaded only when WeChat is on (it takes ~2 s to import; Telegram-only kequn skips it).
  const { WechatyAdapter } = mode.kind === 'off' ? { WechatyAdapter: undefined } : await import('./bot/wechaty-adapter.js');
  if (mode.kind === 'simulated') {
    (await import('./bot/mock-faker.js')).englishOnlyFaker();
    const { SimulatedWeChat } = await import('./bot/simulator.js');
    sim = new SimulatedWeChat({ botName: opts.config.course.bot_name, now: () => opts.clock.now() });
    for (const [handle, g] of Object.entries(opts.config.groups)) sim.room(g.wechat ?? simulatedRoomId(handle), g.name);
    for (const s of opts.config.staff) if (s.wechat) sim.user(s.wechat, s.name);
    adapters.push(new WechatyAdapter!(sim.buildBot(), opts.log.child({ platform: 'wechat' })));
  } else if (mode.kind === 'service') {
    adapters.push(new WechatyAdapter!(await buildServiceBot(mode), opts.log.child({ platform: 'wechat' })));
  }
  adapters.push(...(opts.adapters ?? []));
  let telegram: TelegramAdapter | undefined;
  // Stars payments go to the order service, which is built after the kernel (late-bound).
  // eslint-disable-next-line prefer-const -- assigned after the kernel, read later by the Stars closures
  let orders: Orders | undefined;
  const stars: StarsPayments = {
    preCheckout: (q) => (orders ? orders.service.stars.preCheckout(q) : { ok: false, error: 'payments are not available right now' }),
    paid: (p) => orders?.service.stars.paid(p),
  };
  if (opts.telegram) {
    // Loaded only when Telegram is on: grammY is not needed by a WeChat-only kequn.
    const { TelegramAdapter } = await import('./bot/telegram-adapter.js');
    const { telegramStateIn } = await import('./bot/telegram-state.js');
    telegram = new TelegramAdapter({
      ...opts.telegram,
      // Given explicitly (tests), or the order service's; an explicit undefined must not unwire it.
      payments: opts.telegram.payments ?? stars,
      state: telegramStateIn(db),
      // The configuration in force: it changes on reload.
      course: {
        groupOf: (chatId) => kernel.currentConfig.groupOf('telegram', chatId),
        isOwner: (userId) => kernel.currentConfig.roleOf('telegram', userId) === 'owner',
      },
      log: opts.log.child({ platform: 'telegram' }),
      clock: opts.clock,
    });
    adapters.push(telegram);
  }
  const platformsMs = since();
  const kernel = new Kernel({ config: opts.config, registry, db, clock: opts.clock, adapters, log: opts.log, live: opts.live, random: opts.random, llmEnv: opts.llmEnv, cluster: opts.cluster });
  const kernelMs = since();
  orders = await createOrders({ kernel, db, clock: opts.clock, log: opts.log.child({ part: 'orders' }), live: opts.live, env: opts.env ?? process.env, telegram, sandboxOpen: exposure !== 'real' });
  const built = { storeMs, platformsMs, kernelMs, ordersMs: since() };
  return {
    built,
    kernel,
    db,
    sim,
    exposure,
    telegram,
    config: opts.config,
    orders: orders!,
    runtime: { orders: orders! },
    async stop() {
      orders!.stop();
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
