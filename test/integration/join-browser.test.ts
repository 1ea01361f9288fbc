import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import QRCode from 'qrcode';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, loadConfig, waitReady, type App } from '../../src/app.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { silentLogger } from '../../src/log.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';
import { launchBrowser } from '../helpers/browser.js';
import { T0 } from '../helpers/fixtures.js';
import { joinCourse } from '../helpers/join.js';

// The join page on a phone in a real browser (chromium through playwright-core): 390 px wide, the
// QR code shown whole, nothing wider than the screen. KEQUN_DOC_SCREENSHOTS=1 also writes the
// screenshot docs/join.md shows (docs/images/join-phone.png).
const ARTIFACTS = 'test-artifacts';
const TOKEN = 'join-browser-admin-token-0123456789';

let browser: Browser;
let app: App;
let server: WebServer;
let dir: string;

beforeAll(async () => {
  browser = (await launchBrowser()).browser;
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'kequn-join-browser-'));
  const dbPath = join(dir, 'kequn.db');
  const clock = new VirtualClock(T0);
  app = await createApp({ config: loadConfig(joinCourse(), { env: { KEQUN_DATA: dbPath } }), clock, log: silentLogger, live: false, dbPath, env: {} });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  server = await startWebServer(createWebApp({ app, clock, log: silentLogger, env: { KEQUN_ADMIN_TOKEN: TOKEN } }), { port: 0 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await app?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the join page on a phone', () => {
  it('shows the group name, the whole QR code and how to use it, in Chinese, within 390 px', async () => {
    const form = new FormData();
    form.set('image', new Blob([Uint8Array.from(await QRCode.toBuffer('https://weixin.qq.com/g/AbCdEf-join-page-demo', { width: 360, margin: 2 }))], { type: 'image/png' }), 'qr.png');
    form.set('expires', '2026-03-09');
    expect((await fetch(`${server.url}/join-admin/qr/python-101`, { method: 'POST', body: form, headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);

    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN' });
    const p = await phone.newPage();
    const res = await p.goto(`${server.url}/join/python-trial?c=xhs`);
    expect(res?.status()).toBe(200);
    await expect.poll(() => p.locator('h1').textContent()).toBe('加入「Python 入门体验群」');
    expect(await p.locator('.hint').textContent()).toBe('长按二维码，识别后加入群聊');
    // The QR image loaded (a data: URL the CSP allows) and is shown whole on the screen.
    const img = await p.locator('img.qr').evaluate((el: HTMLImageElement) => ({ w: el.naturalWidth, box: el.getBoundingClientRect().toJSON() as DOMRect }));
    expect(img.w).toBeGreaterThan(0);
    expect(img.box.left).toBeGreaterThanOrEqual(0);
    expect(img.box.right).toBeLessThanOrEqual(390);
    expect(img.box.bottom).toBeLessThanOrEqual(844);
    expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await p.screenshot({ path: join(ARTIFACTS, 'join-phone.png') });
    if (process.env.KEQUN_DOC_SCREENSHOTS) await p.screenshot({ path: join('docs', 'images', 'join-phone.png') });

    // An unknown link reads as such on the phone too.
    await p.goto(`${server.url}/join/python-trial?c=tiktok`);
    expect(await p.locator('h1').textContent()).toBe('没有找到这个入群链接');
    await p.screenshot({ path: join(ARTIFACTS, 'join-phone-unknown.png') });
    await phone.close();
  }, 60_000);
});
