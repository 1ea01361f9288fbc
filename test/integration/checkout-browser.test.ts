import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, loadConfig, waitReady, type App } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { OffsetClock } from '../../src/core/schedule/clock.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { getOrder, latestOrderOf, type OrderRow } from '../../src/flows/orders/store/orders.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';
import { launchBrowser } from '../helpers/browser.js';
import { DEMO_CONFIG_DIR } from '../helpers/fixtures.js';
import { dm } from '../helpers/payments.js';

// The checkout on a PC in a real browser (chromium through playwright-core), on the app as
// `npm start` builds it (simulated WeChat, sandbox provider): the desktop page leads to a QR code
// no phone can open on 127.0.0.1, so the sandbox's pay / fail are offered there too.
// KEQUN_DOC_SCREENSHOTS=1 also writes the screenshots docs/payments.md shows (docs/images).
// The system's chromium, else the one from npm (test/helpers/browser.ts): no browser is a failure.
const ARTIFACTS = 'test-artifacts';
const DESKTOP = { width: 1280, height: 800 };

let browser: Browser;
let app: App;
let server: WebServer;
let dir: string;

beforeAll(async () => {
  browser = (await launchBrowser()).browser;
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'kequn-checkout-'));
  const clock = new OffsetClock();
  // 2 March 2026, 10:00 in Shanghai: the link (2 hours) is valid until 12:00 there.
  clock.advance(Date.parse('2026-03-02T10:00:00+08:00') - Date.now());
  app = await createApp({ config: loadConfig(DEMO_CONFIG_DIR, { env: {} }), clock, log: silentLogger, live: false, dbPath: join(dir, 'kequn.db') });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  server = await startWebServer(createWebApp({ app, clock, log: silentLogger }), { port: 0 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await app?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function buyAs(user: string): Promise<OrderRow> {
  await app.kernel.handle(dm(user, '我要报名', app.kernel.clock.now()));
  return latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', user)!.id, ['created'])!;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `checkout-desktop-${name}.png`), fullPage: true });
  if (process.env.KEQUN_DOC_SCREENSHOTS) await page.screenshot({ path: join('docs', 'images', `checkout-desktop-${name}.png`), fullPage: true });
}

describe('the sandbox checkout on a PC', () => {
  it('offers the simulated pay and fail beside the QR code: fail comes back to the order, pay pays it', async () => {
    const order = await buyAs('xiaoming');
    const page = await browser.newPage({ viewport: DESKTOP });
    await page.goto(`${server.url}/pay/${order.token}`);
    // In Chinese, local time, the buyer's words on the button; it says this is the sandbox.
    expect(await page.textContent('h1')).toBe('Python 数据分析正式班（第 3 期）');
    expect(await page.textContent('#expires')).toBe('3月2日 12:00');
    expect(await page.textContent('button.pay')).toBe('微信扫码支付 ¥199.00');
    expect(await page.textContent('#sandbox-note')).toContain('不会真的扣款');
    await shot(page, '1-order');

    await page.click('button.pay');
    await page.waitForSelector('img.qr');
    expect(await page.isVisible('#sandbox-pay')).toBe(true);
    expect(await page.textContent('#sandbox')).toContain('手机扫码会打开 kequn 的模拟支付页');
    await shot(page, '2-qr');

    // Fail: back to the order, which is still open and can be paid again.
    await page.click('#sandbox-fail');
    await page.waitForSelector('p.error');
    expect(await page.textContent('p.error')).toBe('支付没有完成，可以再试一次。');
    expect(getOrder(app.db, order.id)!.state).toBe('created');

    await page.click('button.pay');
    await page.click('#sandbox-pay');
    await page.waitForSelector('h1:text("支付成功")');
    expect(await page.textContent('main')).toContain('「Python 数据分析正式班（第 3 期）」已支付 ¥199.00');
    expect(getOrder(app.db, order.id)!.state).toBe('paid');
    expect(findMemberByIdentity(app.db, 'wechat', 'xiaoming')!.stage).toBe('paid');
    await shot(page, '3-paid');
    await page.close();
  }, 30_000);

  it('the QR page notices a payment made elsewhere (a phone that reached the sandbox page) and shows it paid', async () => {
    const order = await buyAs('xiaohong');
    const page = await browser.newPage({ viewport: DESKTOP });
    await page.goto(`${server.url}/pay/${order.token}`);
    await page.click('button.pay');
    await page.waitForSelector('img.qr');
    const no = (await page.getAttribute('#sandbox form', 'action'))!.split('/').pop()!;
    // The phone's side: the sandbox pays, the signed notification marks the order paid.
    expect(await app.orders.sandbox!.pay(no)).toBe(204);
    // The page's script (checkout.js) polls the status and opens the paid page by itself.
    await page.waitForSelector('h1:text("支付成功")', { timeout: 8000 });
    await page.close();
  }, 20_000);
});
