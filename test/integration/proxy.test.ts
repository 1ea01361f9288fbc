/**
 * X-Forwarded-For / X-Forwarded-Proto are believed only from configured proxies (issue 22,
 * item 11): the payer IP kequn sends to WeChat Pay (H5, scene_info.payer_client_ip; the fake v3
 * server records it) is the socket address unless the socket is a trusted proxy, and the session
 * cookie is Secure when the original request was HTTPS behind such a proxy.
 */
import { request as httpRequest } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { latestOrderOf } from '../../src/flows/orders/store/orders.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';
import { FakeWechatPay } from '../helpers/fake-wechatpay.js';
import { removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';
import { dm, pem, testKeys, wechatPayCatalog } from '../helpers/payments.js';
import { testStorePath } from '../helpers/store.js';

const ADMIN = 'proxy-admin-token-0123456789';
const MOBILE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36';
const keys = testKeys();
const fake = new FakeWechatPay(keys);
const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
let app: App;
let dir: string;
const servers: WebServer[] = [];
let users = 0;

beforeAll(async () => {
  await fake.start();
  dir = tempConfig({ 'catalog.yaml': (t) => replaceOnce(t, '  provider: sandbox', wechatPayCatalog(fake.url)) });
  writeFileSync(join(dir, 'wechatpay_pub_key.pem'), pem(keys.platform.publicKey));
  const env = { WECHATPAY_PRIVATE_KEY: keys.merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, WECHATPAY_APIV3_KEY: keys.apiV3Key };
  app = await createApp({ config: loadConfig(dir, { env: {} }), clock, log: silentLogger, live: false, dbPath: testStorePath(), env });
  await app.kernel.start();
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await app?.stop();
  await fake.stop();
  removeTempDirs();
});

async function web(env: NodeJS.ProcessEnv): Promise<WebServer> {
  const s = await startWebServer(createWebApp({ app, clock, log: silentLogger, env: { KEQUN_ADMIN_TOKEN: ADMIN, ...env } }), { host: '127.0.0.1', port: 0 });
  servers.push(s);
  return s;
}

function post(base: string, path: string, headers: Record<string, string>, body = ''): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(base + path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A new member's order, paid from a phone browser (H5) with these headers: the payer IP WeChat Pay got. */
async function payerIp(server: WebServer, headers: Record<string, string>): Promise<string> {
  const user = `buyer${++users}`;
  await app.kernel.handle(dm(user, '报名', clock.now()));
  const order = latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', user)!.id, ['created'])!;
  const before = fake.requests.length;
  const r = await post(server.url, `/pay/${order.token}/pay`, { 'user-agent': MOBILE_UA, ...headers });
  expect(r.status).toBe(303);
  const sent = fake.requests.slice(before).find((q) => q.path === '/v3/pay/transactions/h5');
  expect(sent, 'an H5 payment request').toBeDefined();
  return (JSON.parse(sent!.body) as { scene_info: { payer_client_ip: string } }).scene_info.payer_client_ip;
}

describe('forwarded headers', () => {
  it('without trust_proxy a forged X-Forwarded-For is ignored: WeChat Pay gets the socket address', async () => {
    const s = await web({});
    expect(await payerIp(s, { 'x-forwarded-for': '203.0.113.9' })).toBe('127.0.0.1');
    expect(await payerIp(s, {})).toBe('127.0.0.1');
  });

  it('from a trusted proxy (KEQUN_TRUST_PROXY) the client is the last hop the proxy appended', async () => {
    const s = await web({ KEQUN_TRUST_PROXY: '127.0.0.1' });
    expect(await payerIp(s, { 'x-forwarded-for': '203.0.113.9' })).toBe('203.0.113.9');
    // What the client wrote itself comes first; the proxy appended the address it saw.
    expect(await payerIp(s, { 'x-forwarded-for': '198.51.100.7, 203.0.113.9' })).toBe('203.0.113.9');
    // Garbage in the header: the proxy's own address is all that is known.
    expect(await payerIp(s, { 'x-forwarded-for': 'not-an-ip' })).toBe('127.0.0.1');
  });

  it('web.trust_proxy in kequn.yaml (a CIDR) works the same, and chains of trusted proxies are walked', async () => {
    const cdir = tempConfig({
      'kequn.yaml': (t) => replaceOnce(t, '  port: 8787\n', '  port: 8787\n  trust_proxy: [127.0.0.0/8, 10.0.0.0/8]\n'),
      'catalog.yaml': (t) => replaceOnce(t, '  provider: sandbox', wechatPayCatalog(fake.url)),
    });
    writeFileSync(join(cdir, 'wechatpay_pub_key.pem'), pem(keys.platform.publicKey));
    const cfg = loadConfig(cdir, { env: {} });
    expect(cfg.web.trust_proxy).toEqual(['127.0.0.0/8', '10.0.0.0/8']);
    // The web settings follow the config the kernel runs (a reload changes them).
    const before = app.kernel.currentConfig;
    app.kernel.setConfig(cfg);
    try {
      const s = await web({});
      expect(await payerIp(s, { 'x-forwarded-for': '203.0.113.9, 10.1.2.3' })).toBe('203.0.113.9');
      expect(await payerIp(s, { 'x-forwarded-for': '203.0.113.9, 192.0.2.1, 10.1.2.3' })).toBe('192.0.2.1');
    } finally {
      app.kernel.setConfig(before);
    }
  });

  it('the session cookie is Secure when the original request was HTTPS behind a trusted proxy, and only then', async () => {
    const login = async (s: WebServer, headers: Record<string, string>) => {
      const r = await post(s.url, '/dashboard/login', headers, `token=${ADMIN}`);
      expect(r.status).toBe(303);
      return String(r.headers['set-cookie']);
    };
    const untrusted = await web({});
    expect(await login(untrusted, { 'x-forwarded-proto': 'https' })).not.toMatch(/;\s*Secure/i);
    const trusted = await web({ KEQUN_TRUST_PROXY: '127.0.0.1' });
    expect(await login(trusted, { 'x-forwarded-proto': 'https' })).toMatch(/;\s*Secure/i);
    expect(await login(trusted, { 'x-forwarded-proto': 'http' })).not.toMatch(/;\s*Secure/i);
    expect(await login(trusted, {})).not.toMatch(/;\s*Secure/i);
  });
});
