import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, waitReady, type App } from '../../src/app.js';
import { loadConfig } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { getOrder, latestOrderOf } from '../../src/flows/orders/store/orders.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';
import { FakeWechatPay } from '../helpers/fake-wechatpay.js';
import { removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';
import { APPID, MCHID, dm, notification, pem, testKeys, wechatPayCatalog } from '../helpers/payments.js';
import { testStorePath } from '../helpers/store.js';

// kequn as `kequn start` builds it with `provider: wechatpay` in catalog.yaml and the merchant
// secrets in the environment, against the fake v3 server and a fake official-account OAuth
// endpoint: inside WeChat the checkout page gets the payer's openid by OAuth, pays by JSAPI, and
// the notification over HTTP marks the order paid.

const keys = testKeys();
const fake = new FakeWechatPay(keys);
const WECHAT_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323a) NetType/WIFI Language/zh_CN';
let oauth: Server;
let oauthUrl = '';
const oauthCalls: URL[] = [];
let app: App;
let server: WebServer;
const clock = new VirtualClock(Date.now());

beforeAll(async () => {
  await fake.start();
  oauth = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    oauthCalls.push(url);
    const ok = url.pathname === '/sns/oauth2/access_token' && url.searchParams.get('secret') === 'mp-secret-for-tests' && url.searchParams.get('code') === 'CODE123';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { access_token: 'x', openid: 'oPayer0123456789abcdef', scope: 'snsapi_base' } : { errcode: 40029, errmsg: 'invalid code' }));
  });
  await new Promise<void>((r) => oauth.listen(0, '127.0.0.1', r));
  oauthUrl = `http://127.0.0.1:${(oauth.address() as AddressInfo).port}`;
  const dir = tempConfig({
    'catalog.yaml': (t) =>
      replaceOnce(t, '  provider: sandbox', wechatPayCatalog(fake.url, ['official_account: true', `oauth_api_base: ${oauthUrl}`])),
  });
  writeFileSync(join(dir, 'wechatpay_pub_key.pem'), pem(keys.platform.publicKey));
  const env = {
    WECHATPAY_PRIVATE_KEY: keys.merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    WECHATPAY_APIV3_KEY: keys.apiV3Key,
    WECHAT_MP_SECRET: 'mp-secret-for-tests',
  };
  app = await createApp({ config: loadConfig(dir, { env: {} }), clock, log: silentLogger, live: false, dbPath: testStorePath(), env });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  server = await startWebServer(createWebApp({ app, clock, log: silentLogger, env }), { host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await server?.close();
  await app?.stop();
  await fake.stop();
  oauth?.close();
  removeTempDirs();
});

const get = (path: string, ua = WECHAT_UA) => fetch(server.url + path, { redirect: 'manual', headers: { 'user-agent': ua } });

describe('WeChat Pay checkout inside WeChat', () => {
  it('OAuth for the openid, JSAPI with signed parameters, then the notification over HTTP marks it paid', async () => {
    await app.kernel.handle(dm('wang', '报名', clock.now()));
    const member = findMemberByIdentity(app.db, 'wechat', 'wang')!;
    const order = latestOrderOf(app.db, member.id, ['created'])!;
    // Inside WeChat without an openid: off to the official account's OAuth (snsapi_base).
    const first = await get(`/pay/${order.token}`);
    expect(first.status).toBe(302);
    const to = new URL(first.headers.get('location')!);
    expect(to.origin + to.pathname).toBe('https://open.weixin.qq.com/connect/oauth2/authorize');
    expect(to.searchParams.get('appid')).toBe(APPID);
    expect(to.searchParams.get('scope')).toBe('snsapi_base');
    expect(to.searchParams.get('redirect_uri')).toBe(`https://pay.example.com/pay/${order.token}/oauth`);
    // A wrong code is refused; the right one stores the openid.
    expect((await get(`/pay/${order.token}/oauth?code=BAD&state=${order.id}`)).status).toBe(502);
    const back = await get(`/pay/${order.token}/oauth?code=CODE123&state=${order.id}`);
    expect(back.status).toBe(302);
    expect(getOrder(app.db, order.id)!.payer_openid).toBe('oPayer0123456789abcdef');
    const pageHtml = await (await get(`/pay/${order.token}`)).text();
    expect(pageHtml).toContain('data-method="jsapi"');

    const pay = await fetch(`${server.url}/pay/${order.token}/pay`, { method: 'POST', redirect: 'manual', headers: { 'user-agent': WECHAT_UA, 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(pay.status).toBe(200);
    const html = await pay.text();
    const params = JSON.parse(/data-jsapi="([^"]+)"/.exec(html)![1]!.replaceAll('&quot;', '"'));
    expect(params).toMatchObject({ appId: APPID, signType: 'RSA', package: expect.stringMatching(/^prepay_id=/) });
    const sent = fake.requests.find((r) => r.path === '/v3/pay/transactions/jsapi')!;
    expect(JSON.parse(sent.body)).toMatchObject({ payer: { openid: 'oPayer0123456789abcdef' }, amount: { total: 19900 }, notify_url: 'https://pay.example.com/webhooks/wechatpay' });

    const outTradeNo = JSON.parse(sent.body).out_trade_no as string;
    const paid = fake.pay(outTradeNo);
    const n = notification(keys, { mchid: MCHID, appid: APPID, out_trade_no: outTradeNo, transaction_id: paid.transactionId, trade_state: 'SUCCESS', amount: { total: 19900, currency: 'CNY' } }, { now: clock.now() });
    const hook = await fetch(`${server.url}/webhooks/wechatpay`, { method: 'POST', headers: n.headers, body: n.rawBody });
    expect(hook.status).toBe(204);
    expect(getOrder(app.db, order.id)!.state).toBe('paid');
    expect(findMemberByIdentity(app.db, 'wechat', 'wang')!.stage).toBe('paid');
    // The sandbox does not exist in production.
    expect((await get('/sandbox/pay/anything')).status).toBe(404);
  });

  it('without an official account, a page inside WeChat tells the payer to open it in the browser', async () => {
    const cfg = app.kernel.currentConfig;
    const wp = cfg.catalog.payments.wechatpay!;
    app.kernel.setConfig({ ...cfg, catalog: { ...cfg.catalog, payments: { ...cfg.catalog.payments, wechatpay: { ...wp, official_account: false } } } });
    try {
      await app.kernel.handle(dm('li', '报名', clock.now()));
      const order = latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', 'li')!.id, ['created'])!;
      const r = await get(`/pay/${order.token}`);
      expect(r.status).toBe(200);
      const text = await r.text();
      expect(text).toContain('在浏览器打开');
      expect(text).not.toContain('/pay"');
    } finally {
      app.kernel.setConfig(cfg);
    }
  });
});
