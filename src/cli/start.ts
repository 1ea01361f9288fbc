import { createApp, loadConfig, waitReady, type App } from '../app.js';
import { watchConfig } from '../config/watch.js';
import { createLogger } from '../log.js';
import { OffsetClock, systemClock } from '../core/schedule/clock.js';
import { createWebApp, listenWebServer, type ListeningServer } from '../web/server.js';
import { acquireStoreLock, StoreLockedError } from '../store/backup.js';
import { describeStore } from '../store/db.js';
import { isPostgresUrl } from '../store/url.js';
import { loadConfigOrReport } from './check.js';
import { listenProblem, readStartEnv, sandboxRefusal, storePathProblem } from './start-checks.js';
import { resumeStoreClock } from '../core/schedule/store-clock.js';
import { createLoginToken, SESSION_TTL_MS } from '../web/login.js';
import { dashboardText } from '../flows/dashboard/i18n.js';

/**
 * `kequn start`: the bot, the outbox and scheduler, and the web server. On the embedded
 * default (no WeChat token) the platform is the simulated WeChat and the playground is on.
 *
 * Everything that can be wrong with what it was given is checked before the bot starts, in
 * this order, each as one line and exit code 2: the config, the environment, the payment
 * provider against the platforms, the port (bound, so nobody takes it meanwhile), the store.
 */
export async function runStart(opts: { configDir: string }): Promise<number> {
  const t0 = performance.now();
  const write = (line: string) => process.stdout.write(line + '\n');
  const config = loadConfigOrReport(opts.configDir, write, { stored: true });
  if (!config) return 2;
  const checked = readStartEnv(process.env);
  if (!checked.ok) {
    write(checked.problem);
    return 2;
  }
  const { wechat, telegram, cluster, web: webEnv } = checked.env;
  const refusal = sandboxRefusal(config, checked.env);
  if (refusal) {
    write(refusal);
    return 2;
  }
  const host = webEnv.host ?? config.web.host;
  const port = webEnv.port ?? config.web.port;
  let server: ListeningServer;
  try {
    server = await listenWebServer({ host, port });
  } catch (e) {
    write(listenProblem(e as NodeJS.ErrnoException, host, port));
    return 2;
  }
  const storeProblem = storePathProblem(config.dataPath);
  if (storeProblem) {
    write(storeProblem);
    await server.close();
    return 2;
  }
  const log = createLogger();
  // The playground may fast-forward time to show the drip; a real account runs on the system clock.
  const clock = wechat.kind === 'simulated' && !telegram ? new OffsetClock() : systemClock;
  // One bot per store (per instance name on PostgreSQL): a second one would answer every message twice.
  let releaseLock: () => void;
  try {
    releaseLock = acquireStoreLock(config.dataPath, { instance: cluster.instance });
  } catch (e) {
    await server.close();
    if (!(e instanceof StoreLockedError)) throw e;
    write(`cannot start: ${e.message.replace('; stop it first (a restore replaces the file under it)', '')}`);
    return 2;
  }
  let app: App;
  try {
    app = await createApp({ config, clock, log, live: true, dbPath: config.dataPath, wechat, telegram, llmEnv: process.env, cluster, staging: webEnv.staging });
  } catch (e) {
    // Payment secrets missing or malformed (the message names the variable, never its value), or
    // a store that cannot be opened (not a SQLite file, a newer schema, PostgreSQL refusing).
    const err = e as Error;
    write(`cannot start: ${err.name === 'SqliteError' ? `the store ${config.dataPath} cannot be opened: ${err.message}` : err.message}`);
    releaseLock();
    await server.close();
    return 2;
  }
  // The playground resumes at the store's time (its fast-forwards are kept there); a real account runs on the system clock.
  resumeStoreClock(app.db, clock);
  server.serve(createWebApp({ app, clock, log }));
  await app.kernel.start();
  const stopWatching = watchConfig(opts.configDir, log, (c) => app.kernel.setConfig(c), { load: (dir) => loadConfig(dir, { stored: true }) });
  if (wechat.kind === 'simulated') await waitReady(() => app.kernel.isReady());
  const ms = Math.round(performance.now() - t0);
  write('');
  write(`kequn is running (${config.course.name}) — ready in ${ms} ms`);
  write(`  WeChat:     ${wechat.kind === 'simulated' ? 'simulated (no account needed)' : wechat.kind === 'off' ? 'off (Telegram only)' : 'puppet service' + (wechat.endpoint ? ` at ${wechat.endpoint}` : '')}`);
  if (app.telegram) {
    write(`  Telegram:   @${app.telegram.bot.botInfo.username}, ${telegram?.delivery.kind === 'webhook' ? `webhook at ${server.url}${app.telegram.webhookPath}` : 'long polling'}`);
  }
  if (app.sim) write(`  playground: ${server.url}/playground`);
  for (const line of dashboardLines(app, server.url)) write(line);
  write(`  health:     ${server.url}/healthz`);
  const pay = config.catalog.payments;
  if (Object.keys(config.catalog.products).length > 0) {
    const sandbox =
      app.exposure === 'embedded'
        ? 'sandbox (fake WeChat Pay, no money moves)'
        : app.exposure === 'staging'
          ? 'sandbox, STAGING (KEQUN_STAGING=1: fake WeChat Pay beside a real account; its pages need the admin login)'
          : 'Telegram Stars only (the WeChat Pay sandbox takes no payments beside a real account)';
    write(`  payments:   ${app.orders.sandbox ? sandbox : `WeChat Pay (mchid ${pay.wechatpay?.mchid})`}; checkout links ${pay.publicUrl}/pay/…`);
    if (app.exposure === 'staging' && app.orders.sandbox && !process.env.KEQUN_ADMIN_TOKEN) write('              KEQUN_ADMIN_TOKEN is not set: only an owner\'s /dashboard link from the bot opens the sandbox pages');
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

/**
 * Where the dashboard is and how to get in. On the embedded default (everything simulated, the
 * playground open on loopback anyway) that is a one-time login link printed here, valid as long
 * as a session; elsewhere the admin token or an owner's /dashboard.
 */
function dashboardLines(app: App, url: string): string[] {
  const t = dashboardText(app.config.course.locale).start;
  const tokenOn = (process.env.KEQUN_ADMIN_TOKEN ?? '').length >= 16;
  // The label lines up with the others above and below it (playground:, health:).
  const lines = [`  dashboard:  ${url}/dashboard`];
  if (app.exposure === 'embedded') {
    const token = createLoginToken(app.db, { memberId: '(kequn start)', now: app.kernel.clock.now(), ttlMs: SESSION_TTL_MS });
    // The link on a line of its own: terminals make it clickable, and nothing after it sticks to it.
    lines.push(`              ${t.link(SESSION_TTL_MS / 3_600_000)}`, `              ${url}/dashboard?login=${token}`);
  }
  if (tokenOn) lines.push(`              ${t.token}`);
  if (app.exposure !== 'embedded') lines.push(`              ${t.owner}`);
  return lines;
}
