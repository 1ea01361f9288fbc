/**
 * Exposure (issue 22, items 1, 4, 6, 10, 11): an outsider with nothing but the web port. Each
 * target is a real kequn (createApp + the web server on 127.0.0.1, a store file):
 * - `real`: a Telegram bot (the fake Bot API on loopback, webhook mode) and a WeChat account
 *   faked at the wire, `provider: sandbox`, no staging: the playground, the sandbox, the admin
 *   routes and the webhook are attacked;
 * - `staging`: the same with KEQUN_STAGING: the sandbox pages without (or with a forged) login,
 *   under a wrong Host, and an expired link with the right login;
 * - `payer IP`: real WeChat Pay (the fake v3 server): forged X-Forwarded-For must not reach it;
 * - `embedded`: the simulated WeChat alone: what is still closed there.
 * Every request counts in `tried`; every one that gets what it asked for is a problem.
 */
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, type App } from '../../../src/app.js';
import { loadConfig } from '../../../src/app.js';
import { silentLogger } from '../../../src/log.js';
import { VirtualClock } from '../../../src/core/schedule/clock.js';
import { FakeBotApi } from '../../../src/testing/fake-bot-api.js';
import { findMemberByIdentity } from '../../../src/store/members.js';
import { getOrder, latestOrderOf } from '../../../src/flows/orders/store/orders.js';
import { createWebApp, startWebServer, type WebServer } from '../../../src/web/server.js';
import { FakeWechatPay } from '../../helpers/fake-wechatpay.js';
import { FakeAdapter, replaceOnce, tempConfig, removeTempDirs } from '../../helpers/fixtures.js';
import { dm, pem, testKeys, wechatPayCatalog } from '../../helpers/payments.js';
import type { AttackReport, AttackSuite } from './suite.js';

const COURSE = fileURLToPath(new URL('../../fixtures/course', import.meta.url));
const ADMIN = 'drill-admin-token-0123456789abcdef';
const SECRET = 'drill-webhook-secret-0123456789';
const T0 = Date.parse('2026-03-02T10:00:00+08:00');
const MOBILE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36';

interface Res {
  status: number;
  location?: string;
  text: string;
}

function http(base: string, path: string, opts: { method?: string; host?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(base + path, { method: opts.method ?? 'GET', headers: { ...(opts.host ? { host: opts.host } : {}), ...(opts.headers ?? {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, text }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const form = (body: string, headers: Record<string, string> = {}) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
const BAD_LOGINS: [string, Record<string, string>][] = [
  ['no login', {}],
  ['a wrong bearer', { authorization: 'Bearer wrong-token-wrong-token-wrong' }],
  ['an empty bearer', { authorization: 'Bearer ' }],
  ['basic auth with the token', { authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}` }],
  ['a forged session cookie', { cookie: 'kequn_dash=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
  ['X-Forwarded-For 127.0.0.1', { 'x-forwarded-for': '127.0.0.1' }],
];

/** Runs attacks against one target; `expect` lists the statuses that mean "refused". */
class Attacker {
  constructor(
    private readonly report: AttackReport,
    private readonly base: string,
    private readonly target: string,
  ) {}

  async expect(what: string, path: string, refused: number[], opts: Parameters<typeof http>[2] = {}): Promise<Res> {
    this.report.tried++;
    const r = await http(this.base, path, opts);
    if (!refused.includes(r.status)) this.report.problems.push(`${this.target}: ${what} (${opts.method ?? 'GET'} ${path}) answered ${r.status}, expected ${refused.join('/')}`);
    return r;
  }
}

async function serve(app: App, env: NodeJS.ProcessEnv = { KEQUN_ADMIN_TOKEN: ADMIN }): Promise<WebServer> {
  return startWebServer(createWebApp({ app, clock: app.kernel.clock, log: silentLogger, env }), { host: '127.0.0.1', port: 0 });
}

/** A WeChat order opened through the engine (a member says 报名 in private); its checkout token. */
async function openOrder(app: App, user: string): Promise<{ id: string; token: string; expiresAt: number }> {
  await app.kernel.handle(dm(user, '报名', app.kernel.clock.now()));
  const o = latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', user)!.id, ['created'])!;
  return { id: o.id, token: o.token, expiresAt: o.expires_at };
}

async function realTarget(report: AttackReport, dir: string, staging: boolean): Promise<void> {
  const name = staging ? 'staging' : 'real';
  const api = await FakeBotApi.start();
  const clock = new VirtualClock(T0);
  const app = await createApp({
    config: loadConfig(COURSE, { env: {} }),
    clock,
    log: silentLogger,
    live: false,
    dbPath: join(dir, `${name}.db`),
    wechat: { kind: 'off' },
    adapters: [new FakeAdapter(clock, 'wechat')],
    telegram: { token: api.token, apiRoot: api.url, delivery: { kind: 'webhook', url: 'http://127.0.0.1/telegram/webhook', secret: SECRET } },
    staging,
    env: {},
  });
  await app.kernel.start();
  const server = await serve(app);
  const a = new Attacker(report, server.url, name);
  try {
    await app.kernel.handle(dm('5001', '你好', clock.now(), 'telegram'));
    const tgMember = findMemberByIdentity(app.db, 'telegram', '5001')!.id;
    const order = await openOrder(app, 'wang');

    if (!staging) {
      // The playground and its API do not exist beside real platforms (item 1).
      for (const [path, opts] of [
        ['/playground', {}],
        ['/playground/app.js', {}],
        ['/api/playground/state', {}],
        ['/api/playground/users', json({ id: 'principal', name: '张校长' })],
        ['/api/playground/join', json({ user: 'principal', group: 'python-101' })],
        ['/api/playground/say', json({ user: 'principal', dm: true, text: '/pause python-101' })],
        ['/api/playground/say', json({ user: 'principal', dm: true, text: `/grant 5001 instructor` })],
        ['/api/playground/advance', json({ ms: 86_400_000 })],
        ['/api/playground/members/wang', {}],
      ] as const) {
        await a.expect('the playground beside a real platform', path, [404], opts);
        await a.expect('the playground beside a real platform, as localhost', path, [404], { ...opts, host: 'localhost' });
      }
      // No sandbox payment beside a real account without staging (item 4).
      const pay = await a.expect('starting a sandbox payment beside a real account', `/pay/${order.token}/pay`, [502], form('', { 'user-agent': MOBILE_UA }));
      if (pay.location?.includes('/sandbox/')) report.problems.push(`real: the checkout sent the payer to the sandbox (${pay.location})`);
      for (const path of ['/sandbox/pay/anything', `/sandbox/pay/${order.id}`]) {
        await a.expect('the sandbox page beside a real account', path, [404]);
        await a.expect('paying in the sandbox beside a real account', path, [404], form('result=pay'));
      }
    }

    // A member's record, the dashboard and the orders API without a login (item 6).
    for (const [how, headers] of BAD_LOGINS) {
      await a.expect(`a Telegram member's record with ${how}`, `/api/members/${tgMember}`, [401], { headers });
      await a.expect(`a WeChat member's record with ${how}`, '/api/members/wang', [401], { headers });
      await a.expect(`the dashboard figures with ${how}`, '/dashboard/api/stats', [401], { headers });
      await a.expect(`the dashboard CSV with ${how}`, '/dashboard/api/export/funnel.csv', [401], { headers });
      await a.expect(`an acquisition cost with ${how}`, '/dashboard/api/costs', [401], { ...json({ source: 'direct', yuan: 1 }), headers: { 'content-type': 'application/json', ...headers } });
      await a.expect(`the orders with ${how}`, '/api/orders', [401], { headers });
      await a.expect(`a refund with ${how}`, `/api/orders/${order.id}/refund`, [401], { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
    }
    await a.expect('the dashboard login with a wrong token', '/dashboard/login', [401], form('token=wrong-token-wrong-token'));

    // A wrong Host (DNS rebinding: a page elsewhere pointing its name at 127.0.0.1), even with the token (item 10).
    for (const host of ['evil.example', `evil.example:${server.port}`, '127.0.0.1.evil.example', 'localhost.evil.example', '[::1].evil.example', '[::1]:80:evil', 'localhost:evil']) {
      await a.expect(`Host "${host}" with the admin token`, '/api/members/wang', [403, 400], { host, headers: { authorization: `Bearer ${ADMIN}` } });
      await a.expect(`Host "${host}" on the dashboard`, '/dashboard', [403, 400], { host });
    }

    // The Telegram webhook without its secret.
    for (const [how, headers] of [
      ['no secret', {}],
      ['a wrong secret', { 'x-telegram-bot-api-secret-token': 'wrong-secret-wrong-secret-00' }],
      ['the secret with one character changed', { 'x-telegram-bot-api-secret-token': SECRET.slice(0, -1) + 'X' }],
    ] as const) {
      await a.expect(`a Telegram update with ${how}`, '/telegram/webhook', [401], { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ update_id: 99, message: { message_id: 1, date: 1, chat: { id: 5001, type: 'private' }, from: { id: 5001, is_bot: false, first_name: 'x' }, text: '/refund' } }) });
    }

    if (staging) {
      // The sandbox takes payments, but only with the admin login, on allowed host names (item 4).
      const pay = await a.expect('starting a sandbox payment in staging (allowed)', `/pay/${order.token}/pay`, [303], form('', { 'user-agent': MOBILE_UA }));
      const path = pay.location ? new URL(pay.location).pathname : '/sandbox/pay/none';
      for (const [how, headers] of BAD_LOGINS) {
        await a.expect(`the staging sandbox page with ${how}`, path, [401], { headers });
        await a.expect(`paying in the staging sandbox with ${how}`, path, [401], form('result=pay', headers));
      }
      await a.expect('the staging sandbox under a wrong Host, with the token', path, [403], { host: 'evil.example', headers: { authorization: `Bearer ${ADMIN}` } });
      await a.expect('paying in the staging sandbox under a wrong Host, with the token', path, [403], form('result=pay', { host: 'evil.example', authorization: `Bearer ${ADMIN}` }));
      if (getOrder(app.db, order.id)!.state !== 'created') report.problems.push(`staging: order ${order.id} is ${getOrder(app.db, order.id)!.state} after refused sandbox payments`);
      // The link expires; the right login does not make an expired link payable.
      clock.set(order.expiresAt + 1);
      await a.expect('an expired sandbox link, with the token', path, [410], { headers: { authorization: `Bearer ${ADMIN}` } });
      await a.expect('paying an expired sandbox link, with the token', path, [410], form('result=pay', { authorization: `Bearer ${ADMIN}` }));
      if (getOrder(app.db, order.id)!.state !== 'created') report.problems.push(`staging: the expired order ${order.id} was paid`);
    }
    report.lines.push(`${name}: Telegram (fake Bot API, webhook) + a WeChat account at the wire, provider sandbox${staging ? ', KEQUN_STAGING' : ''}: playground, sandbox, admin routes, Host, webhook secret`);
  } finally {
    await server.close();
    await app.stop();
    await api.close();
  }
}

async function payerIpTarget(report: AttackReport, dir: string): Promise<void> {
  const keys = testKeys();
  const fake = new FakeWechatPay(keys);
  await fake.start();
  const cdir = tempConfig({ 'catalog.yaml': (t) => replaceOnce(t, '  provider: sandbox', wechatPayCatalog(fake.url)) });
  writeFileSync(join(cdir, 'wechatpay_pub_key.pem'), pem(keys.platform.publicKey));
  const clock = new VirtualClock(T0);
  const app = await createApp({
    config: loadConfig(cdir, { env: {} }),
    clock,
    log: silentLogger,
    live: false,
    dbPath: join(dir, 'payer-ip.db'),
    wechat: { kind: 'off' },
    adapters: [new FakeAdapter(clock, 'wechat')],
    env: { WECHATPAY_PRIVATE_KEY: keys.merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, WECHATPAY_APIV3_KEY: keys.apiV3Key },
  });
  await app.kernel.start();
  const server = await serve(app);
  const a = new Attacker(report, server.url, 'payer IP');
  try {
    const forged = ['203.0.113.9', '203.0.113.9, 198.51.100.1', ' 8.8.8.8 ', '::1', '2001:db8::9', 'unknown', '10.0.0.1,10.0.0.2,10.0.0.3'];
    let n = 0;
    for (const xff of forged) {
      const order = await openOrder(app, `buyer${++n}`);
      const before = fake.requests.length;
      await a.expect(`an H5 payment with X-Forwarded-For "${xff}" (allowed, but the header ignored)`, `/pay/${order.token}/pay`, [303], form('', { 'user-agent': MOBILE_UA, 'x-forwarded-for': xff, 'x-real-ip': '203.0.113.7', forwarded: 'for=203.0.113.8' }));
      const sent = fake.requests.slice(before).find((q) => q.path === '/v3/pay/transactions/h5');
      const ip = sent ? (JSON.parse(sent.body) as { scene_info?: { payer_client_ip?: string } }).scene_info?.payer_client_ip : undefined;
      if (ip !== '127.0.0.1') report.problems.push(`payer IP: with X-Forwarded-For "${xff}" from an untrusted socket WeChat Pay was told ${ip ?? 'nothing'}, not the socket's 127.0.0.1`);
    }
    report.lines.push(`payer IP: ${forged.length} H5 payments with forged X-Forwarded-For (no trust_proxy): WeChat Pay got the socket address each time`);
  } finally {
    await server.close();
    await app.stop();
    await fake.stop();
  }
}

async function embeddedTarget(report: AttackReport, dir: string): Promise<void> {
  const clock = new VirtualClock(T0);
  const app = await createApp({ config: loadConfig(COURSE, { env: {} }), clock, log: silentLogger, live: false, dbPath: join(dir, 'embedded.db'), env: {} });
  await app.kernel.start();
  const server = await serve(app);
  const a = new Attacker(report, server.url, 'embedded');
  try {
    await app.kernel.handle(dm('zhao', '你好', clock.now()));
    for (const [how, headers] of BAD_LOGINS) await a.expect(`a member's record with ${how}`, '/api/members/zhao', [401], { headers });
    for (const host of ['evil.example', 'kequn.example.com', `evil.example:${server.port}`]) {
      await a.expect(`the playground API under Host "${host}"`, '/api/playground/state', [403], { host });
      await a.expect(`a playground message under Host "${host}"`, '/api/playground/say', [403], { ...json({ user: 'principal', dm: true, text: '/pause python-101' }), host });
      await a.expect(`the playground's member view under Host "${host}"`, '/api/playground/members/zhao', [403], { host });
    }
    const order = await openOrder(app, 'qian');
    const pay = await http(server.url, `/pay/${order.token}/pay`, form('', { 'user-agent': MOBILE_UA }));
    const path = pay.location ? new URL(pay.location).pathname : '/sandbox/pay/none';
    await a.expect('the sandbox page under a wrong Host', path, [403], { host: 'evil.example' });
    clock.set(order.expiresAt + 1);
    await a.expect('paying an expired sandbox link', path, [410], form('result=pay'));
    if (getOrder(app.db, order.id)!.state !== 'created') report.problems.push(`embedded: the expired order ${order.id} was paid`);
    report.lines.push('embedded: /api/members without a login, the playground under foreign Host names, the sandbox under a wrong Host, an expired sandbox link');
  } finally {
    await server.close();
    await app.stop();
  }
}

/** The simulated WeChat beside a real Telegram bot must not even start (item 1). */
async function simulatorBesideTelegram(report: AttackReport, dir: string): Promise<void> {
  const api = await FakeBotApi.start();
  report.tried++;
  try {
    const app = await createApp({
      config: loadConfig(COURSE, { env: {} }),
      clock: new VirtualClock(T0),
      log: silentLogger,
      live: false,
      dbPath: join(dir, 'mixed.db'),
      wechat: { kind: 'simulated' },
      telegram: { token: api.token, apiRoot: api.url, delivery: { kind: 'polling', timeoutSeconds: 1 } },
      env: {},
    });
    report.problems.push('mixed: the simulated WeChat started beside a real Telegram bot (its playground would hand out the WeChat staff\'s powers)');
    await app.stop();
  } catch {
    report.lines.push('mixed: the simulated WeChat beside a Telegram bot is refused before it starts');
  } finally {
    await api.close();
  }
}

export const exposureSuite: AttackSuite = {
  name: 'exposure',
  title: 'an outsider at the web port: playground beside real platforms, member records, sandbox, Host, forwarded headers, expired links',
  async run() {
    const report: AttackReport = { tried: 0, lines: [], problems: [] };
    const dir = mkdtempSync(join(tmpdir(), 'kequn-exposure-drill-'));
    try {
      await simulatorBesideTelegram(report, dir);
      await realTarget(report, dir, false);
      await realTarget(report, dir, true);
      await payerIpTarget(report, dir);
      await embeddedTarget(report, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      removeTempDirs();
    }
    return report;
  },
};
