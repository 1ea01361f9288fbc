/**
 * Who may call which route, in which mode (issue 22, items 1, 4, 6, 10 and the Telegram-only
 * /playground answer), over real HTTP on 127.0.0.1:
 * - embedded: the simulated WeChat alone — the playground and its API, no login;
 * - real: a real-looking platform (Telegram against the fake Bot API on loopback, or a WeChat
 *   account faked at the wire) — no playground, no sandbox pages, /api/members behind the admin login;
 * - staging: a real platform with the sandbox allowed (`staging: true`, KEQUN_STAGING=1) — the
 *   sandbox pages need the admin login and answer only to allowed host names.
 */
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createApp, waitReady, type App } from '../../src/app.js';
import { loadConfig } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { OffsetClock, VirtualClock } from '../../src/core/schedule/clock.js';
import { createLoginToken } from '../../src/web/login.js';
import { FakeBotApi } from '../../src/testing/fake-bot-api.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { getOrder, latestOrderOf, pendingAttemptsOf } from '../../src/flows/orders/store/orders.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';
import { DEMO_CONFIG_DIR, FakeAdapter, removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';
import { dm } from '../helpers/payments.js';

const ADMIN = 'exposure-admin-token-0123456789';
const MOBILE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36';
/** Daytime in the course's zone: quiet hours never hold a reply back. */
const T0 = Date.parse('2026-03-02T10:00:00+08:00');

interface Rig {
  app: App;
  server: WebServer;
  stop(): Promise<void>;
}
const rigs: Rig[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const r of rigs.splice(0)) await r.stop();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  removeTempDirs();
});

function storePath(): string {
  const d = mkdtempSync(join(tmpdir(), 'kequn-exposure-'));
  dirs.push(d);
  return join(d, 'kequn.db');
}

async function serve(app: App, env: NodeJS.ProcessEnv, stopMore: () => Promise<void> = async () => undefined): Promise<Rig> {
  const server = await startWebServer(createWebApp({ app, clock: app.kernel.clock, log: silentLogger, env }), { host: '127.0.0.1', port: 0 });
  const rig = {
    app,
    server,
    async stop() {
      await server.close();
      await app.stop();
      await stopMore();
    },
  };
  rigs.push(rig);
  return rig;
}

/** The embedded default: the simulated WeChat alone, live, on an offset clock. */
async function embedded(env: NodeJS.ProcessEnv = { KEQUN_ADMIN_TOKEN: ADMIN }, configDir = DEMO_CONFIG_DIR): Promise<Rig> {
  const clock = new OffsetClock();
  clock.advance(T0 - Date.now());
  const app = await createApp({ config: loadConfig(configDir, { env: {} }), clock, log: silentLogger, live: true, dbPath: storePath(), env: {} });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  return serve(app, env);
}

/** Telegram alone, against the fake Bot API on loopback: a real platform as kequn sees it. */
async function telegramOnly(env: NodeJS.ProcessEnv = { KEQUN_ADMIN_TOKEN: ADMIN }): Promise<Rig> {
  const api = await FakeBotApi.start();
  const app = await createApp({
    config: loadConfig(DEMO_CONFIG_DIR, { env: {} }),
    clock: new VirtualClock(T0),
    log: silentLogger,
    live: false,
    dbPath: storePath(),
    wechat: { kind: 'off' },
    telegram: { token: api.token, apiRoot: api.url, delivery: { kind: 'polling', timeoutSeconds: 1 } },
    env: {},
  });
  await app.kernel.start();
  return serve(app, env, () => api.close());
}

/** A WeChat account faked at the wire (not the simulator): real as far as kequn can tell. */
async function realWeChat(opts: { staging?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Rig & { clock: VirtualClock }> {
  const clock = new VirtualClock(T0);
  const app = await createApp({
    config: loadConfig(DEMO_CONFIG_DIR, { env: {} }),
    clock,
    log: silentLogger,
    live: false,
    dbPath: storePath(),
    wechat: { kind: 'off' },
    adapters: [new FakeAdapter(clock, 'wechat')],
    staging: opts.staging,
    env: {},
  });
  await app.kernel.start();
  return { ...(await serve(app, opts.env ?? { KEQUN_ADMIN_TOKEN: ADMIN })), clock };
}

/** A raw HTTP request, so the Host header can be anything. */
function http(base: string, path: string, opts: { method?: string; host?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(base + path, { method: opts.method ?? 'GET', headers: { ...(opts.host ? { host: opts.host } : {}), ...(opts.headers ?? {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
const form = (body: string, more: Record<string, string> = {}) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...more }, body });
const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const bearer = { authorization: `Bearer ${ADMIN}` };

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('item 1: the playground exists only when every platform is simulated', () => {
  it('the simulated WeChat beside a real Telegram bot is refused: nobody can act as the WeChat owner next to real members', async () => {
    const api = await FakeBotApi.start();
    try {
      const attempt = createApp({
        config: loadConfig(DEMO_CONFIG_DIR, { env: {} }),
        clock: new VirtualClock(T0),
        log: silentLogger,
        live: false,
        dbPath: storePath(),
        wechat: { kind: 'simulated' },
        telegram: { token: api.token, apiRoot: api.url, delivery: { kind: 'polling', timeoutSeconds: 1 } },
        env: {},
      });
      let app: App | undefined;
      await expect(
        attempt.then((a) => {
          app = a;
          return a;
        }),
      ).rejects.toThrow(/simulated WeChat.*second kequn/s);
      await app?.stop();
    } finally {
      await api.close();
    }
  });

  it('Telegram alone: no playground page, no playground API, and the 404 says why without blaming a WeChat token', async () => {
    const { server } = await telegramOnly();
    const page = await http(server.url, '/playground');
    expect(page.status).toBe(404);
    expect(page.text).not.toMatch(/WECHATY_PUPPET_SERVICE_TOKEN is set/);
    expect(page.text).toMatch(/Telegram/);
    expect(page.text).toMatch(/every platform is simulated|所有平台都是模拟/);
    for (const [path, opts] of [
      ['/api/playground/state', {}],
      ['/api/playground/users', json({ id: 'principal2', name: 'x' })],
      ['/api/playground/say', json({ user: 'principal', dm: true, text: '/pause python-101' })],
      ['/api/playground/advance', json({ ms: 1000 })],
      ['/api/playground/members/principal', {}],
      ['/playground/app.js', {}],
    ] as const) {
      const r = await http(server.url, path, opts);
      expect({ path, status: r.status }).toEqual({ path, status: 404 });
    }
  });

  it('a WeChat account (not the simulator): no playground either', async () => {
    const { server } = await realWeChat();
    expect((await http(server.url, '/playground')).status).toBe(404);
    expect((await http(server.url, '/api/playground/state')).status).toBe(404);
    const root = await http(server.url, '/');
    expect(root.headers.location).not.toBe('/playground');
  });
});

describe('item 6: /api/members/:id needs the admin session or token', () => {
  it('embedded: the API needs a login; the playground reads members through its own loopback API', async () => {
    const { server, app } = await embedded();
    expect((await http(server.url, '/api/playground/users', json({ id: 'alice', name: 'Alice' }))).status).toBe(201);
    expect((await http(server.url, '/api/playground/join', json({ user: 'alice', group: 'python-101' }))).status).toBe(200);
    await until('alice is a member', () => findMemberByIdentity(app.db, 'wechat', 'alice') ?? undefined);

    const anonymous = await http(server.url, '/api/members/alice');
    expect(anonymous.status).toBe(401);
    expect(anonymous.text).not.toContain('Alice');
    expect((await http(server.url, '/api/members/alice', { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
    const withToken = await http(server.url, '/api/members/alice', { headers: bearer });
    expect(withToken.status).toBe(200);
    expect(JSON.parse(withToken.text).member.stage).toBe('trial');

    // A dashboard session (the login form) opens it too.
    const login = await http(server.url, '/dashboard/login', form(`token=${ADMIN}`));
    expect(login.status).toBe(303);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect((await http(server.url, '/api/members/alice', { headers: { cookie } })).status).toBe(200);

    // The playground's own route, loopback host names only.
    const own = await http(server.url, '/api/playground/members/alice');
    expect(own.status).toBe(200);
    expect(JSON.parse(own.text).member.stage).toBe('trial');
    expect((await http(server.url, '/api/playground/members/alice', { host: 'evil.example' })).status).toBe(403);
  });

  it('Telegram alone: /api/members/:id is closed without a login', async () => {
    const { server, app } = await telegramOnly();
    await app.kernel.handle(dm('4242', '你好', T0, 'telegram'));
    const m = findMemberByIdentity(app.db, 'telegram', '4242')!;
    expect((await http(server.url, `/api/members/${m.id}`)).status).toBe(401);
    expect((await http(server.url, `/api/members/${m.id}`, { headers: bearer })).status).toBe(200);
  });

  it('without KEQUN_ADMIN_TOKEN a bearer opens nothing; an owner\'s login-link session still does', async () => {
    const { server, app } = await embedded({});
    expect((await http(server.url, '/api/members/principal', { headers: { authorization: 'Bearer anything-anything-anything' } })).status).toBe(401);
    const token = createLoginToken(app.db, { memberId: 'owner', now: app.kernel.clock.now() });
    const login = await http(server.url, `/dashboard?login=${token}`);
    expect(login.status).toBe(303);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect((await http(server.url, '/api/members/principal', { headers: { cookie } })).status).toBe(404);
  });
});

describe('item 4: the sandbox beside a real account', () => {
  it('a real WeChat account without the staging switch: no sandbox pages, and no sandbox payment can be started', async () => {
    const { server, app } = await realWeChat();
    await app.kernel.handle(dm('wang', '报名', app.kernel.clock.now()));
    const order = latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', 'wang')!.id, ['created'])!;
    const pay = await http(server.url, `/pay/${order.token}/pay`, form('', { 'user-agent': MOBILE_UA }));
    expect(pay.headers.location ?? '').not.toContain('/sandbox/');
    expect(pay.status).toBe(502);
    expect((await http(server.url, '/sandbox/pay/anything')).status).toBe(404);
  });

  it('staging: the sandbox pages need the admin token and an allowed host; an expired link is refused like the real checkout', async () => {
    const rig = await realWeChat({ staging: true });
    const { server, app, clock } = rig;
    await app.kernel.handle(dm('wang', '报名', clock.now()));
    const order = latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', 'wang')!.id, ['created'])!;
    const pay = await http(server.url, `/pay/${order.token}/pay`, form('', { 'user-agent': MOBILE_UA }));
    expect(pay.status).toBe(303);
    const sandboxPath = new URL(String(pay.headers.location)).pathname;
    expect(sandboxPath).toMatch(/^\/sandbox\/pay\//);

    const anonymous = await http(server.url, sandboxPath);
    expect(anonymous.status).toBe(401);
    expect(anonymous.text).not.toContain('支付</button>');
    expect((await http(server.url, sandboxPath, form('result=pay'))).status).toBe(401);
    expect(getOrder(app.db, order.id)!.state).toBe('created');
    expect((await http(server.url, sandboxPath, { host: 'evil.example', headers: bearer })).status).toBe(403);
    expect((await http(server.url, sandboxPath, { headers: bearer })).status).toBe(200);

    // On a PC the QR page offers the sandbox's buttons too; they post to the same guarded route.
    const qr = await http(server.url, `/pay/${order.token}/pay`, form('', { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0' }));
    expect(qr.status).toBe(200);
    const desktopPath = /<form method="post" action="(\/sandbox\/pay\/[^"]+)">/.exec(qr.text)![1]!;
    expect((await http(server.url, desktopPath, form('result=pay'))).status).toBe(401);
    expect(getOrder(app.db, order.id)!.state).toBe('created');

    // The link expires (2 h); the fake pay page refuses it exactly as the checkout page does.
    clock.set(order.expires_at + 1);
    const page = await http(server.url, sandboxPath, { headers: bearer });
    expect(page.status).toBe(410);
    expect(page.text).toContain('链接已过期');
    const late = await http(server.url, sandboxPath, form('result=pay', bearer));
    expect(late.status).toBe(410);
    expect(getOrder(app.db, order.id)!.state).toBe('created');
    // The phone's attempt and the PC's, both unpaid: the late one added none.
    expect(pendingAttemptsOf(app.db, order.id).length).toBe(2);
    expect(app.orders.sandbox!.payment(sandboxPath.split('/').at(-1)!)!.state).not.toBe('SUCCESS');
  });

  it('embedded: the sandbox refuses an expired link too, and a valid one is still paid without a login', async () => {
    const clock = new VirtualClock(T0);
    const app = await createApp({ config: loadConfig(DEMO_CONFIG_DIR, { env: {} }), clock, log: silentLogger, live: false, dbPath: storePath(), env: {} });
    await app.kernel.start();
    const { server } = await serve(app, {});
    const open = async (user: string) => {
      await app.kernel.handle(dm(user, '报名', clock.now()));
      const order = latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', user)!.id, ['created'])!;
      const pay = await http(server.url, `/pay/${order.token}/pay`, form('', { 'user-agent': MOBILE_UA }));
      return { order, path: new URL(String(pay.headers.location)).pathname };
    };
    const late = await open('zhao');
    clock.set(late.order.expires_at + 1);
    const r = await http(server.url, late.path, form('result=pay'));
    expect(r.status).toBe(410);
    expect(getOrder(app.db, late.order.id)!.state).toBe('created');

    const fresh = await open('qian');
    expect((await http(server.url, fresh.path)).status).toBe(200);
    expect((await http(server.url, fresh.path, form('result=pay'))).status).toBe(303);
    expect(getOrder(app.db, fresh.order.id)!.state).toBe('paid');
    // The sandbox pages get the host check like every other page.
    expect((await http(server.url, fresh.path, { host: 'evil.example' })).status).toBe(403);
  });
});

describe('item 10: allowed hosts', () => {
  it('web.allowed_hosts in kequn.yaml lets the dashboard answer under that host name; others still get 403', async () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, '  port: 8787\n', '  port: 8787\n  allowed_hosts: [kequn.example.com]\n') });
    const { server } = await embedded({ KEQUN_ADMIN_TOKEN: ADMIN }, dir);
    expect((await http(server.url, '/dashboard', { host: 'kequn.example.com' })).status).toBe(401);
    expect((await http(server.url, '/dashboard', { host: 'KEQUN.example.com:443' })).status).toBe(401);
    expect((await http(server.url, '/dashboard', { host: 'other.example.com' })).status).toBe(403);
    // The playground stays on loopback names.
    expect((await http(server.url, '/api/playground/state', { host: 'kequn.example.com' })).status).toBe(403);
  });

  it('KEQUN_ALLOWED_HOSTS does the same from the environment', async () => {
    const { server } = await embedded({ KEQUN_ADMIN_TOKEN: ADMIN, KEQUN_ALLOWED_HOSTS: 'a.example.com, b.example.com' });
    expect((await http(server.url, '/dashboard', { host: 'b.example.com' })).status).toBe(401);
    expect((await http(server.url, '/dashboard', { host: 'c.example.com' })).status).toBe(403);
  });

  it('the host of KEQUN_PUBLIC_URL is allowed without saying so: the bot\'s login link works under it', async () => {
    const clock = new VirtualClock(T0);
    const config = loadConfig(DEMO_CONFIG_DIR, { env: { KEQUN_PUBLIC_URL: 'https://course.example.org' } });
    const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath: storePath(), env: {} });
    const { server } = await serve(app, {});
    const token = createLoginToken(app.db, { memberId: 'owner', now: clock.now() });
    const r = await http(server.url, `/dashboard?login=${token}`, { host: 'course.example.org' });
    expect(r.status).toBe(303);
    expect((await http(server.url, '/dashboard', { host: 'elsewhere.example.org' })).status).toBe(403);
  });
});
