import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, loadConfig, type App } from '../../src/app.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { openCheckout } from '../../src/flows/orders/orders.js';
import { markOrderPaid } from '../../src/flows/orders/store/orders.js';
import { silentLogger } from '../../src/log.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';
import { joined, message } from '../helpers/fixtures.js';

// The member page and the loyalty page over real HTTP on 127.0.0.1: behind the dashboard's login,
// Chinese, the figures the store holds, member-typed text escaped.
const ADMIN_TOKEN = 'test-admin-token-0123456789';
const at = (local: string) => Date.parse(`${local}+08:00`);
let app: App;
let server: WebServer;
let aliceId: string;

beforeAll(async () => {
  const clock = new VirtualClock(at('2026-03-16T09:00:00'));
  app = await createApp({ config: loadConfig('test/fixtures/recommend-course', { env: {} }), clock, log: silentLogger, live: false, dbPath: ':memory:' });
  // A display name that tries to be markup.
  await app.kernel.handle(joined('alice', { at: clock.now(), name: '<b>Alice</b>' }));
  const said = (text: string) => ({ ...message('alice', text, { at: clock.now() }), user: { id: 'alice', name: '<b>Alice</b>' } });
  await app.kernel.handle(said('打卡 第一天'));
  await app.kernel.handle(said('pandas 怎么读取 Excel 文件？'));
  aliceId = findMemberByIdentity(app.db, 'wechat', 'alice')!.id;
  const r = openCheckout(app.db, app.config, [], { memberId: aliceId, platform: 'wechat', platformId: 'alice', productId: 'python-vip', now: clock.now() });
  if (!r.ok) throw new Error(r.reason);
  markOrderPaid(app.db, { id: r.order.id, provider: 'sandbox', outTradeNo: 'T1', transactionId: 'X1', amount: r.order.amount, stageBefore: 'trial', now: clock.now() });
  server = await startWebServer(createWebApp({ app, clock, log: silentLogger, env: { KEQUN_ADMIN_TOKEN: ADMIN_TOKEN } }), { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await server?.close();
  await app?.stop();
});

const get = (path: string, token?: string) => fetch(server.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('the member page', () => {
  it('is refused without the login, and with a wrong token', async () => {
    expect((await get(`/dashboard/members/${aliceId}`)).status).toBe(401);
    expect((await get(`/dashboard/members/${aliceId}`, 'wrong-token-0123456789abc')).status).toBe(401);
    expect((await get('/dashboard/loyalty')).status).toBe(401);
  });

  it('shows the profile and the ranking in Chinese, with the name escaped', async () => {
    const r = await get(`/dashboard/members/${aliceId}`, ADMIN_TOKEN);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await r.text();
    expect(html).toContain('成员画像：&lt;b&gt;Alice&lt;/b&gt;');
    expect(html).not.toContain('<b>Alice</b>');
    expect(html).toContain('打卡：1 天 / 应打卡 1 天（打卡率 100%）');
    expect(html).toContain('提问主题：pandas-read-excel ×1');
    expect(html).toContain('2026-03-16 09:00 《Python 数据分析正式班（第 3 期）》 ¥199.00 已支付');
    expect(html).toContain('1. 《数据分析进阶班》（data-pro）');
    expect(html).toContain('因为你学了《Python 数据分析正式班（第 3 期）》并问过 pandas 的问题');
  });

  it('an unknown or malformed member id is a 404 that echoes nothing unescaped', async () => {
    const r = await get('/dashboard/members/%3Cscript%3E', ADMIN_TOKEN);
    expect(r.status).toBe(404);
    expect(await r.text()).not.toContain('<script>');
    expect((await get('/dashboard/members/m_nobody', ADMIN_TOKEN)).status).toBe(404);
  });

  it('the loyalty page shows the figures', async () => {
    const r = await get('/dashboard/loyalty', ADMIN_TOKEN);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('购买过的学员 1 人，其中购买 2 次及以上 0 人，复购率 0.0%');
    const json = (await (await get('/dashboard/loyalty?format=json', ADMIN_TOKEN)).json()) as { buyers: number };
    expect(json.buyers).toBe(1);
  });
});
