import { fileURLToPath } from 'node:url';
import { createApp, loadConfig, waitReady, type App } from '../../src/app.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { silentLogger } from '../../src/log.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';
import { T0 } from './fixtures.js';
import { testStorePath } from './store.js';

/** The loyalty course: the fixture course with a path catalog, loyalty prices and a 小鹅通 product. */
export const LOYALTY_DIR = fileURLToPath(new URL('../fixtures/loyalty-course', import.meta.url));

export interface LoyaltyServer {
  app: App;
  server: WebServer;
  clock: VirtualClock;
  stop(): Promise<void>;
}

/**
 * kequn on the loyalty course, started, with its web server on 127.0.0.1 (a test store, virtual
 * time from T0): what the loyalty checkout and the shop callback tests run against. `env`: the
 * web's environment besides the admin token (a shop's callback secret).
 */
export async function startLoyaltyServer(env: Record<string, string> = {}): Promise<LoyaltyServer> {
  const clock = new VirtualClock(T0);
  const app = await createApp({ config: loadConfig(LOYALTY_DIR, { env: {} }), clock, log: silentLogger, live: false, dbPath: testStorePath() });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  const server = await startWebServer(createWebApp({ app, clock, log: silentLogger, env: { KEQUN_ADMIN_TOKEN: 'admin-token-for-tests-0123', ...env } }), { host: '127.0.0.1', port: 0 });
  return {
    app,
    server,
    clock,
    async stop() {
      await server.close();
      await app.stop();
    },
  };
}
