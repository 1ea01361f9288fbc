import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import type { App } from '../app.js';
import type { Clock } from '../schedule/clock.js';
import { jobCounts } from '../store/jobs.js';
import { countMembers } from '../store/members.js';
import { outboxCounts } from '../store/outbox.js';
import { createApi, HttpError } from './api.js';
import { createCheckoutRoutes } from './checkout.js';
import { createDashboardRoutes } from './dashboard.js';
import { createOrdersApi } from './orders-api.js';
import { PLAYGROUND_CSS, PLAYGROUND_HTML, PLAYGROUND_JS } from './playground-page.js';
import { MAX_UPDATE_BYTES, telegramWebhookHandler } from './telegram-webhook.js';

export interface WebDeps {
  app: App;
  clock: Clock;
  log: Logger;
  /**
   * Host names (without port) the pages and API answer to, besides localhost, 127.0.0.1 and
   * [::1]; '*' accepts any. A browser page on another site that rebinds its DNS name to
   * 127.0.0.1 then gets 403 instead of driving the playground. /healthz answers any host.
   */
  allowedHosts?: string[] | '*';
  /** Where the official account's AppSecret (WECHAT_MP_SECRET) is read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const PUBLIC_PREFIXES = ['/pay/', '/webhooks/', '/sandbox/'];
/** Largest request body accepted (the longest valid one is a 4000-character message). */
const MAX_BODY_BYTES = 64 * 1024;

/** Pages are self-contained: no CDN, no inline script, nothing framed. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/**
 * kequn's HTTP app: `/healthz`, the playground page (`/playground`) and its JSON API
 * (`/api/playground/*`, simulated WeChat only), and `/api/members/:id`.
 *
 * @example
 * const web = createWebApp({ app, clock, log });
 * const server = await startWebServer(web, { host: '127.0.0.1', port: 8787 });
 * console.log(`playground: ${server.url}/playground`);
 */
export function createWebApp(deps: WebDeps): Hono {
  const { app, log } = deps;
  const web = new Hono();
  const allowed = deps.allowedHosts === '*' ? undefined : new Set([...LOOPBACK_NAMES, ...(deps.allowedHosts ?? []).map((h) => h.toLowerCase())]);
  // Telegram posts to the public host name; the webhook is authenticated by its secret instead.
  const webhookPath = app.telegram?.webhookPath;

  web.use('*', async (c, next) => {
    c.header('x-content-type-options', 'nosniff');
    // Checkout links and provider webhooks are opened from phones and WeChat's servers under the
    // public host; their tokens and signatures, not the host name, are what protects them.
    if (allowed && c.req.path !== '/healthz' && c.req.path !== webhookPath && !PUBLIC_PREFIXES.some((p) => c.req.path.startsWith(p))) {
      const host = hostnameOf(c.req.header('host') ?? new URL(c.req.url).host);
      if (!host || !allowed.has(host)) {
        return c.json({ error: `this kequn answers only to ${[...allowed].join(', ')}; open it as http://127.0.0.1:<port>/ (or add the host name to allowedHosts)` }, 403);
      }
    }
    await next();
  });

  web.onError((err, c) => {
    if (err instanceof HttpError) return c.json({ error: err.message }, err.status);
    log.error({ err: err.message, method: c.req.method, path: c.req.path }, 'web: request failed');
    return c.json({ error: 'internal error' }, 500);
  });

  web.notFound((c) => {
    if (c.req.path.startsWith('/api/')) return c.json({ error: `no such API route: ${c.req.method} ${c.req.path}` }, 404);
    return c.text('404: not found. The playground is at /playground, the health check at /healthz.', 404);
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
        members: countMembers(app.db),
        outbox: outboxCounts(app.db),
        jobs: jobCounts(app.db),
      },
      ready ? 200 : 503,
    );
  });

  if (app.telegram && webhookPath) {
    web.use(webhookPath, bodyLimit({ maxSize: MAX_UPDATE_BYTES, onError: (c) => c.json({ error: 'update too large' }, 413) }));
    web.post(webhookPath, telegramWebhookHandler(app.telegram, log.child({ platform: 'telegram' })));
  }

  web.get('/', (c) => c.redirect('/playground', 302));

  web.get('/playground', (c) => {
    if (!app.sim) {
      return c.text(
        'The playground exists only on the simulated WeChat. This kequn is connected to a real WeChat account (WECHATY_PUPPET_SERVICE_TOKEN is set), so there is nothing to play with here.',
        404,
      );
    }
    for (const [k, v] of Object.entries(PAGE_HEADERS)) c.header(k, v);
    c.header('cache-control', 'no-store');
    return c.html(PLAYGROUND_HTML);
  });
  web.get('/playground/app.js', (c) => {
    c.header('cache-control', 'no-store');
    return c.body(PLAYGROUND_JS, 200, { 'content-type': 'text/javascript; charset=utf-8' });
  });
  web.get('/playground/app.css', (c) => {
    c.header('cache-control', 'no-store');
    return c.body(PLAYGROUND_CSS, 200, { 'content-type': 'text/css; charset=utf-8' });
  });

  for (const prefix of ['/pay/*', '/webhooks/*', '/sandbox/*']) {
    web.use(prefix, bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: `body larger than ${MAX_BODY_BYTES} bytes` }, 413) }));
  }
  web.route('/', createCheckoutRoutes({ app, log, env: deps.env }));

  web.use('/dashboard/*', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: `body larger than ${MAX_BODY_BYTES} bytes` }, 413) }));
  web.route('/', createDashboardRoutes({ app, env: deps.env }));

  web.use(
    '/api/*',
    bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: `body larger than ${MAX_BODY_BYTES} bytes` }, 413) }),
  );
  web.use('/api/*', async (c, next) => {
    await next();
    c.header('cache-control', 'no-store');
  });
  web.route('/api', createOrdersApi({ app, env: deps.env }));
  web.route('/api', createApi(deps));
  return web;
}

function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1) || undefined;
  return h.split(':')[0] || undefined;
}

export interface WebServer {
  /** Base URL with the real port (useful with port 0), e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * Listens on `host:port` (default 127.0.0.1; port 0 picks a free port) and resolves once the
 * socket is bound; a busy port rejects with the listen error.
 *
 * @example const { url, close } = await startWebServer(createWebApp(deps), { port: 0 });
 */
export async function startWebServer(web: Hono, opts: { host?: string; port?: number } = {}): Promise<WebServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8787;
  const server = createAdaptorServer({ fetch: web.fetch, hostname: host, port }) as Server;
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
