import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { registry, type App } from '../app.js';
import type { Clock } from '../core/schedule/clock.js';
import { memberCount, statusCounts } from '../store/status-counts.js';
import type { CourseConfig } from '../core/types.js';
import { adminAuth } from './admin-auth.js';
import { createApi, HttpError } from './api.js';
import { clientMiddleware, clientOf } from './client.js';
import type { WebContext } from './context.js';
import { browserScript, browserStyle, SCRIPT_TYPE, STYLE_TYPE } from './browser-assets.js';
import { PLAYGROUND_HTML } from './playground/page.js';
import { LOOPBACK_NAMES, webEnvFromEnv, webPolicy, type WebEnv, type WebPolicy } from './settings.js';
import { MAX_UPDATE_BYTES, telegramWebhookHandler } from './telegram-webhook.js';

export interface WebDeps {
  app: App;
  clock: Clock;
  log: Logger;
  /**
   * Host names (without port) the pages and admin API answer to, besides loopback, web.allowed_hosts
   * (or KEQUN_ALLOWED_HOSTS) and the host of the public URL. A browser page on another site that
   * rebinds its DNS name to 127.0.0.1 then gets 403. /healthz, /pay/ and /webhooks/ answer any host.
   */
  allowedHosts?: string[];
  /**
   * The environment: KEQUN_ADMIN_TOKEN, WECHAT_MP_SECRET, KEQUN_ALLOWED_HOSTS, KEQUN_TRUST_PROXY
   * (default process.env). A bad value throws an EnvError (`kequn start` checks it first).
   */
  env?: NodeJS.ProcessEnv;
}

/**
 * Opened from phones, by WeChat's servers and by external shops under the public host: their
 * tokens and signatures protect them; the join page (群活码) and its stylesheet are public by
 * design, limited per client (src/flows/join). /join-admin is not among them.
 */
const PUBLIC_PREFIXES = ['/pay/', '/webhooks/', '/go/', '/shop/', '/join/', '/join-assets/'];
/** Largest request body accepted (the longest valid one is a 4000-character message). */
const MAX_BODY_BYTES = 64 * 1024;

/** The playground's browser module (bundled by esbuild, see browser-assets.ts). */
const PLAYGROUND_SCRIPT = new URL('./playground/browser/index.ts', import.meta.url);
const PLAYGROUND_STYLE = new URL('./playground/browser/style.css', import.meta.url);

/** Pages are self-contained: no CDN, no inline script, nothing framed. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/**
 * kequn's HTTP app. Which routes exist, and who may call them, depends on the app's exposure
 * (docs/operations.md, "Exposure"): the playground (`/playground`, `/api/playground/*`) only
 * when every platform is simulated, and then only under loopback host names; the sandbox's pay
 * page only where the sandbox takes payments (embedded, or staging behind the admin login);
 * `/api/members/:id`, the dashboard and `/api/orders` behind the admin login everywhere.
 *
 * @example
 * const web = createWebApp({ app, clock, log });
 * const server = await startWebServer(web, { host: '127.0.0.1', port: 8787 });
 * console.log(`playground: ${server.url}/playground`);
 */
export function createWebApp(deps: WebDeps): Hono {
  const { app, log } = deps;
  const env = deps.env ?? process.env;
  const web = new Hono();
  const policy = policyCache(() => app.kernel.currentConfig, webEnvFromEnv(env), deps.allowedHosts ?? []);
  const admin = adminAuth({ db: app.db, now: () => app.kernel.clock.now(), env });
  // The playground drives simulated people, staff included: only when nothing real is connected.
  const playground = app.exposure === 'embedded' && app.sim !== undefined && app.telegram === undefined;
  // Telegram posts to the public host name; the webhook is authenticated by its secret instead.
  const webhookPath = app.telegram?.webhookPath;

  web.use('*', clientMiddleware(() => policy().trustProxy));
  web.use('*', async (c, next) => {
    c.header('x-content-type-options', 'nosniff');
    const path = c.req.path;
    if (path === '/healthz' || path === webhookPath || PUBLIC_PREFIXES.some((p) => path.startsWith(p))) return next();
    const host = hostnameOf(c.req.header('host') ?? new URL(c.req.url).host);
    if (isPlaygroundPath(path)) {
      // Simulated people, no login: the machine itself only (an SSH tunnel from elsewhere).
      if (!host || !(LOOPBACK_NAMES as readonly string[]).includes(host)) {
        return c.json({ error: `the playground answers only to ${LOOPBACK_NAMES.join(', ')}: open it as http://127.0.0.1:<port>/playground (through an SSH tunnel from another machine)` }, 403);
      }
      return next();
    }
    const allowed = policy().allowedHosts;
    if (!host || !allowed.has(host)) {
      return c.json({ error: `this kequn answers only to ${[...allowed].join(', ')}; open it as http://127.0.0.1:<port>/, or add the host name to web.allowed_hosts in kequn.yaml (or KEQUN_ALLOWED_HOSTS)` }, 403);
    }
    await next();
  });

  web.onError((err, c) => {
    if (err instanceof HttpError) return c.json({ error: err.message }, err.status);
    log.error({ err: err.message, method: c.req.method, path: c.req.path }, 'web: request failed');
    return c.json({ error: 'internal error' }, 500);
  });

  web.notFound((c) => {
    if (!playground && isPlaygroundPath(c.req.path)) {
      const why = noPlayground(app);
      return c.req.path.startsWith('/api/') ? c.json({ error: why.en }, 404) : c.text(`${why.zh}\n\n${why.en}`, 404);
    }
    if (c.req.path.startsWith('/api/')) return c.json({ error: `no such API route: ${c.req.method} ${c.req.path}` }, 404);
    return c.text(`404: not found. ${playground ? 'The playground is at /playground' : 'The dashboard is at /dashboard'}, the health check at /healthz.`, 404);
  });

  web.get('/healthz', (c) => {
    const ready = app.kernel.isReady();
    c.header('cache-control', 'no-store');
    return c.json(
      {
        status: ready ? 'ok' : 'starting',
        ready,
        uptimeMs: Math.round(process.uptime() * 1000),
        // Which kequn process answered (several may share a PostgreSQL store behind one URL).
        instance: app.kernel.cluster.instance,
        wechat: app.sim ? 'simulated' : app.kernel.hasPlatform('wechat') ? 'service' : 'off',
        telegram: app.telegram ? (app.telegram.webhookPath ? 'webhook' : 'polling') : 'off',
        // Kept by triggers in the writing transactions (src/store/status-counts.ts): a few rows
        // read, however long the outbox and jobs tables have grown.
        members: memberCount(app.db),
        outbox: statusCounts(app.db, 'outbox'),
        jobs: statusCounts(app.db, 'jobs'),
      },
      ready ? 200 : 503,
    );
  });

  if (app.telegram && webhookPath) {
    web.use(webhookPath, bodyLimit({ maxSize: MAX_UPDATE_BYTES, onError: (c) => c.json({ error: 'update too large' }, 413) }));
    web.post(webhookPath, telegramWebhookHandler(app.telegram, log.child({ platform: 'telegram' })));
  }

  web.get('/', (c) => c.redirect(playground ? '/playground' : '/dashboard', 302));

  if (playground) {
    web.get('/playground', (c) => {
      for (const [k, v] of Object.entries(PAGE_HEADERS)) c.header(k, v);
      c.header('cache-control', 'no-store');
      return c.html(PLAYGROUND_HTML);
    });
    web.get('/playground/app.js', async (c) => {
      c.header('cache-control', 'no-store');
      return c.body(await browserScript(PLAYGROUND_SCRIPT), 200, { 'content-type': SCRIPT_TYPE });
    });
    web.get('/playground/app.css', async (c) => {
      c.header('cache-control', 'no-store');
      return c.body(await browserStyle(PLAYGROUND_STYLE), 200, { 'content-type': STYLE_TYPE });
    });
  }

  web.use(
    '/api/*',
    bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: `body larger than ${MAX_BODY_BYTES} bytes` }, 413) }),
  );
  web.use('/api/*', async (c, next) => {
    await next();
    c.header('cache-control', 'no-store');
  });

  // Each feature's routes (the checkout and webhooks, the dashboard), with what they may use.
  const ctx: WebContext = {
    db: app.db,
    config: () => app.kernel.currentConfig,
    now: () => app.kernel.clock.now(),
    log,
    env,
    admin,
    exposure: app.exposure,
    services: () => app.kernel.currentServices,
    runtime: app.runtime,
    clientIp: (c) => clientOf(c).ip,
  };
  for (const f of registry.features) f.routes?.(web, ctx);
  web.route('/api', createApi({ ...deps, playground, admin }));
  return web;
}

function isPlaygroundPath(path: string): boolean {
  return path === '/playground' || path.startsWith('/playground/') || path === '/api/playground' || path.startsWith('/api/playground/');
}

/** Why there is no playground here, naming what is real (in Chinese for the page, English for the API). */
function noPlayground(app: App): { zh: string; en: string } {
  const real = [
    app.kernel.hasPlatform('wechat') && !app.sim ? 'a real WeChat account' : undefined,
    app.telegram ? 'a Telegram bot (TELEGRAM_BOT_TOKEN)' : undefined,
  ].filter((x): x is string => x !== undefined);
  const what = real.length > 0 ? real.join(' and ') : 'a platform that is not simulated';
  return {
    zh: `404：这里没有演练场（playground）。演练场只在所有平台都是模拟的时候存在；这个 kequn 连着${real.length > 0 ? real.map((r) => (r.startsWith('a real') ? '真实的微信账号' : 'Telegram 机器人')).join('和') : '非模拟的平台'}。要在真实账号旁边做演示，请另外运行一个使用自己数据文件的 kequn。`,
    en: `The playground exists only when every platform is simulated. This kequn runs ${what}, so there is nothing to play with here; for a demo beside real accounts, run a second kequn with its own store (docs/telegram.md).`,
  };
}

/** The web policy of the running config, recomputed only when the config object changes (a reload). */
function policyCache(config: () => CourseConfig, webEnv: WebEnv, extraHosts: readonly string[]): () => WebPolicy {
  let seen: CourseConfig | undefined;
  let policy: WebPolicy | undefined;
  return () => {
    const c = config();
    if (c !== seen || !policy) {
      policy = webPolicy(c, webEnv, extraHosts);
      seen = c;
    }
    return policy;
  };
}

/** The host name of a Host header without its port; undefined unless it is `name` or `name:port`. */
function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  const h = hostHeader.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/.exec(h);
  return m?.[1];
}

export interface WebServer {
  /** Base URL with the real port (useful with port 0), e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** A web server whose socket is bound before the app that answers on it exists (`kequn start`). */
export interface ListeningServer extends WebServer {
  /** Starts answering with `web`; until then every request gets 503 "starting". */
  serve(web: Hono): void;
}

/**
 * Binds `host:port` (default 127.0.0.1; port 0 picks a free port) and resolves once the socket
 * is bound; a busy port rejects with the listen error (EADDRINUSE) before anything else has
 * started. Requests get 503 until `serve` hands over the app.
 *
 * @example const server = await listenWebServer({ port: 8787 }); …; server.serve(createWebApp(deps));
 */
export async function listenWebServer(opts: { host?: string; port?: number } = {}): Promise<ListeningServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8787;
  let current: Hono | undefined;
  const fetch = (req: Request, env: unknown) => (current ? current.fetch(req, env) : Response.json({ status: 'starting' }, { status: 503 }));
  const server = createAdaptorServer({ fetch, hostname: host, port }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address === '::' ? '::1' : addr.address;
  const url = `http://${addr.family === 'IPv6' || shown.includes(':') ? `[${shown}]` : shown}:${addr.port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    port: addr.port,
    server,
    serve(web) {
      current = web;
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive connections (browsers, fetch) would otherwise hold close() open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/**
 * Listens on `host:port` with `web` answering (see listenWebServer).
 *
 * @example const { url, close } = await startWebServer(createWebApp(deps), { port: 0 });
 */
export async function startWebServer(web: Hono, opts: { host?: string; port?: number } = {}): Promise<WebServer> {
  const server = await listenWebServer(opts);
  server.serve(web);
  return server;
}
