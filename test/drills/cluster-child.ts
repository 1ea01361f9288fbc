/**
 * One of the kequn processes of the cluster drill (test/drills/cluster.ts): the real app on a
 * shared PostgreSQL store, as instance DRILL_INSTANCE, on the system clock, with its web server
 * (payment notifications arrive over HTTP) and a fake WeChat account that writes every delivery
 * to its own SQLite file before returning: what the platform received survives a kill.
 * Events come from the parent over IPC, each acknowledged once kequn has handled it.
 *
 * env: DRILL_PG (store URL), DRILL_INSTANCE, DRILL_DELIVERIES, DRILL_CONFIG, DRILL_TAKEOVER_MS,
 * WECHATPAY_PRIVATE_KEY / WECHATPAY_APIV3_KEY (the merchant secrets, as `kequn start` reads them).
 */
import type { ChatEvent } from '../../src/bot/events.js';
import { CountingAccount } from './counting-account.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/app.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { systemClock } from '../../src/core/schedule/clock.js';
import { acquireStoreLock } from '../../src/store/backup.js';
import { createWebApp, startWebServer } from '../../src/web/server.js';

export type ClusterDrillAction = { kind: 'event'; event: ChatEvent } | { kind: 'exit' };
export type ClusterDrillReply = { ready: true; url: string } | { ack: number; status: string };

const env = process.env;
const url = env.DRILL_PG!;
const instance = env.DRILL_INSTANCE!;
const config = loadConfig(env.DRILL_CONFIG!, { env: { DATABASE_URL: url } });
acquireStoreLock(url, { instance });
const log = env.DRILL_LOG ? createLogger({ level: env.DRILL_LOG, destination: process.stderr }) : silentLogger;
const payEnv = { WECHATPAY_PRIVATE_KEY: env.WECHATPAY_PRIVATE_KEY, WECHATPAY_APIV3_KEY: env.WECHATPAY_APIV3_KEY };
const app = await createApp({
  config,
  clock: systemClock,
  log,
  live: true,
  dbPath: url,
  wechat: { kind: 'off' },
  adapters: [new CountingAccount(env.DRILL_DELIVERIES!, instance)],
  env: payEnv,
  cluster: { instance, takeoverAfterMs: Number(env.DRILL_TAKEOVER_MS) },
});
await app.kernel.start();
const server = await startWebServer(createWebApp({ app, clock: systemClock, log, env: payEnv }), { host: '127.0.0.1', port: 0 });

const send = (r: ClusterDrillReply) => process.send!(r);
let seq = 0;
process.on('message', (a: ClusterDrillAction) => {
  const id = seq++;
  void (async () => {
    try {
      if (a.kind === 'event') send({ ack: id, status: (await app.kernel.handle(a.event)).status });
      else {
        await server.close();
        await app.stop();
        process.exit(0);
      }
    } catch (e) {
      send({ ack: id, status: `error:${(e as Error).message}` });
    }
  })();
});
send({ ready: true, url: server.url });
