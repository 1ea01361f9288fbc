import { createApp, EnvError, telegramModeFromEnv, waitReady, wechatModeFromEnv, type TelegramMode } from '../app.js';
import { watchConfig } from '../config/watch.js';
import { createLogger } from '../log.js';
import { OffsetClock, systemClock } from '../schedule/clock.js';
import { createWebApp, startWebServer } from '../web/server.js';
import { acquireStoreLock, StoreLockedError } from '../store/backup.js';
import { describeStore } from '../store/db.js';
import { isPostgresUrl } from '../store/url.js';
import { ClusterEnvError, clusterFromEnv, type ClusterSettings } from '../bot/cluster.js';
import { loadConfigOrReport } from './check.js';

/**
 * `kequn start`: the bot, the outbox and scheduler, and the web server. On the embedded
 * default (no WeChat token) the platform is the simulated WeChat and the playground is on.
 */
export async function runStart(opts: { configDir: string }): Promise<number> {
  const t0 = performance.now();
  const write = (line: string) => process.stdout.write(line + '\n');
  const config = loadConfigOrReport(opts.configDir, write);
  if (!config) return 2;
  const log = createLogger();
  const wechat = wechatModeFromEnv(process.env);
  let telegram: TelegramMode | undefined;
  try {
    telegram = telegramModeFromEnv(process.env);
  } catch (e) {
    if (!(e instanceof EnvError)) throw e;
    write(e.message);
    return 2;
  }
  let cluster: ClusterSettings;
  try {
    cluster = clusterFromEnv(process.env);
  } catch (e) {
    if (!(e instanceof ClusterEnvError)) throw e;
    write(e.message);
    return 2;
  }
  // The playground may fast-forward time to show the drip; a real account runs on the system clock.
  const clock = wechat.kind === 'simulated' && !telegram ? new OffsetClock() : systemClock;
  // One bot per store (per instance name on PostgreSQL): a second one would answer every message twice.
  let releaseLock: () => void;
  try {
    releaseLock = acquireStoreLock(config.dataPath, { instance: cluster.instance });
  } catch (e) {
    if (!(e instanceof StoreLockedError)) throw e;
    write(`cannot start: ${e.message.replace('; stop it first (a restore replaces the file under it)', '')}`);
    return 2;
  }
  let app;
  try {
    app = await createApp({ config, clock, log, live: true, dbPath: config.dataPath, wechat, telegram, llmEnv: process.env, cluster });
  } catch (e) {
    // Payment secrets missing or malformed: the message names the variable, never its value.
    write(`cannot start: ${(e as Error).message}`);
    releaseLock();
    return 2;
  }
  await app.kernel.start();
  const stopWatching = watchConfig(opts.configDir, log, (c) => app.kernel.setConfig(c));
  const host = process.env.KEQUN_HOST ?? config.web.host;
  const port = process.env.KEQUN_PORT !== undefined ? Number(process.env.KEQUN_PORT) : config.web.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    write(`KEQUN_PORT must be a port number, got "${process.env.KEQUN_PORT}"`);
    return 2;
  }
  const server = await startWebServer(createWebApp({ app, clock, log }), { host, port });
  if (wechat.kind === 'simulated') await waitReady(() => app.kernel.isReady());
  const ms = Math.round(performance.now() - t0);
  write('');
  write(`kequn is running (${config.course.name}) — ready in ${ms} ms`);
  write(`  WeChat:     ${wechat.kind === 'simulated' ? 'simulated (no account needed)' : wechat.kind === 'off' ? 'off (Telegram only)' : 'puppet service' + (wechat.endpoint ? ` at ${wechat.endpoint}` : '')}`);
  if (app.telegram) {
    write(`  Telegram:   @${app.telegram.bot.botInfo.username}, ${telegram?.delivery.kind === 'webhook' ? `webhook at ${server.url}${app.telegram.webhookPath}` : 'long polling'}`);
  }
  if (app.sim) write(`  playground: ${server.url}/playground`);
  write(`  health:     ${server.url}/healthz`);
  const pay = config.catalog.payments;
  if (Object.keys(config.catalog.products).length > 0) {
    write(`  payments:   ${app.orders.sandbox ? 'sandbox (fake WeChat Pay, no money moves)' : `WeChat Pay (mchid ${pay.wechatpay?.mchid})`}; checkout links ${pay.publicUrl}/pay/…`);
  }
  write(`  data:       ${describeStore(config.dataPath)}`);
  if (isPostgresUrl(config.dataPath)) write(`  instance:   ${cluster.instance} (other instances may share this database: docs/deploy.md)`);
  write('  stop with Ctrl+C');
  write('');
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  stopWatching();
  await server.close();
  await app.stop();
  releaseLock();
  return 0;
}
