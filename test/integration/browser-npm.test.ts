import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, loadConfig, waitReady, type App } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { OffsetClock } from '../../src/core/schedule/clock.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';
import { DEMO_CONFIG_DIR } from '../helpers/fixtures.js';
import { chooseChromium, launchBrowser, NPM_CHROMIUM_RUNS_HERE, SYSTEM_CHROMIUM } from '../helpers/browser.js';

// `npm ci && npm test` on a machine with only Node: the browser tests then drive the Chromium
// that comes through npm (test/helpers/browser.ts). Here the system has one, so this file asks
// for the npm one explicitly (KEQUN_CHROMIUM=npm), as such a machine would get it.

const ADMIN_TOKEN = 'test-admin-token-0123456789';
const dirs: string[] = [];
let app: App | undefined;
let server: WebServer | undefined;

afterAll(async () => {
  await server?.close();
  await app?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('which Chromium the browser tests use', () => {
  it('KEQUN_CHROMIUM names one; otherwise the system one first, then npm', async () => {
    expect(await chooseChromium({ KEQUN_CHROMIUM: '/opt/chrome/chrome' })).toEqual({ source: 'env', executablePath: '/opt/chrome/chrome' });
    expect(await chooseChromium({}, process.execPath)).toEqual({ source: 'system', executablePath: process.execPath });
    const without = await chooseChromium({}, '/nonexistent/chromium');
    expect(without.source).toBe(NPM_CHROMIUM_RUNS_HERE ? 'npm' : 'installed');
    // `npm` wins over the system's even where it exists.
    if (NPM_CHROMIUM_RUNS_HERE) expect((await chooseChromium({ KEQUN_CHROMIUM: 'npm' }, SYSTEM_CHROMIUM)).source).toBe('npm');
  }, 60_000);
});

describe.runIf(NPM_CHROMIUM_RUNS_HERE)('the Chromium from npm (Linux x64)', () => {
  it('starts, opens the playground and the dashboard kequn serves, reads their Chinese, and runs the dashboard script without an error', async () => {
    const { browser, choice } = await launchBrowser({ ...process.env, KEQUN_CHROMIUM: 'npm' });
    try {
      expect(choice.source).toBe('npm');
      expect(choice.executablePath).toMatch(/kequn-chromium-[\d.]+\/chromium$/);
      expect(choice.executablePath).not.toBe(SYSTEM_CHROMIUM);

      const dir = mkdtempSync(join(tmpdir(), 'kequn-npm-browser-'));
      dirs.push(dir);
      const clock = new OffsetClock();
      app = await createApp({ config: loadConfig(DEMO_CONFIG_DIR), clock, log: silentLogger, live: true, dbPath: join(dir, 'kequn.db') });
      await app.kernel.start();
      await waitReady(() => app!.kernel.isReady());
      server = await startWebServer(createWebApp({ app, clock, log: silentLogger, env: { KEQUN_ADMIN_TOKEN: ADMIN_TOKEN } }), { port: 0 });

      const page = await browser.newPage();
      await page.goto(`${server.url}/playground`);
      await page.waitForSelector('#ready.ok', { timeout: 10_000 });
      expect(await page.textContent('#chats')).toContain('Python 入门体验群');
      const png = await page.screenshot();
      expect(png.subarray(1, 4).toString()).toBe('PNG');

      // The dashboard's script runs (it once stopped at navigator.language "en-US@posix").
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.url}/dashboard`);
      await page.fill('#token', ADMIN_TOKEN);
      await page.click('#login');
      await page.waitForSelector('#status[data-ready="1"]', { timeout: 10_000 });
      expect(errors).toEqual([]);
      expect(await page.evaluate(() => navigator.language)).toBe('en-US');
    } finally {
      await browser.close();
    }
  }, 60_000);
});
