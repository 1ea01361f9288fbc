import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, waitReady, type App } from '../../src/app.js';
import { loadConfig } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { OffsetClock, VirtualClock } from '../../src/core/schedule/clock.js';
import { funnel } from '../../src/flows/dashboard/metrics.js';
import { createLoginToken } from '../../src/web/login.js';
import { parseScenario } from '../../src/testing/scenario-schema.js';
import { runScenario } from '../../src/testing/runner.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';

// The dashboard and the playground in a real browser: Debian's chromium driven by playwright-core.
// No browser is a failure, not a skip (.ci/run installs chromium).
const CHROMIUM = process.env.KEQUN_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';
const ADMIN_TOKEN = 'test-admin-token-0123456789';

let browser: Browser;
const dirs: string[] = [];

beforeAll(async () => {
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
  } catch (e) {
    throw new Error(`cannot launch the browser at ${CHROMIUM} (apt-get install -y --no-install-recommends chromium): ${(e as Error).message}`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
}, 15_000);

afterAll(async () => {
  await browser?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('dashboard in the browser', () => {
  let app: App;
  let server: WebServer;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-dash-'));
    dirs.push(dir);
    const dbPath = join(dir, 'kequn.db');
    const config = loadConfig('test/fixtures/course');
    // Seed the store by playing conversation tests into it: purchases, a referral, a refund.
    for (const file of ['test/scenarios/referral-purchase.yaml']) {
      const { scenario } = parseScenario(file);
      const outcome = await runScenario(scenario!, config, { dbPath });
      expect(outcome.ok, outcome.failure).toBe(true);
    }
    app = await createApp({ config, clock: new VirtualClock(Date.parse('2026-03-20T12:00:00+08:00')), log: silentLogger, live: false, dbPath });
    server = await startWebServer(createWebApp({ app, clock: app.kernel.clock, log: silentLogger, env: { KEQUN_ADMIN_TOKEN: ADMIN_TOKEN } }), { port: 0 });
  }, 30_000);

  afterAll(async () => {
    await server?.close();
    await app?.stop();
  });

  it('logs in with the admin token, shows the computed funnel, exports CSV', async () => {
    const expected = funnel({ db: app.db, config: app.config, now: app.kernel.clock.now() });
    expect(expected.cohort).toBeGreaterThan(1);
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(`${server.url}/dashboard`);
    await page.fill('#token', 'wrong-token-wrong-token');
    await page.click('#login');
    await expect.poll(() => page.textContent('#login-error')).toContain('wrong admin token');
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#login');
    await page.waitForSelector('#status[data-ready="1"]', { timeout: 5000 });

    const rows = await page.$$eval('table[data-table="funnel"] tbody tr', (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => [td.getAttribute('data-col'), td.textContent] as const)),
    );
    const shown = rows.map((r) => Object.fromEntries(r));
    expect(shown.map((r) => r.stage)).toEqual(expected.stages.map((s) => s.stage));
    expect(shown.map((r) => Number(r.reached))).toEqual(expected.stages.map((s) => s.reached));
    expect(shown.map((r) => Number(r.now))).toEqual(expected.stages.map((s) => s.now));
    expect(shown.map((r) => (r['conversion %'] === '–' ? null : Number(r['conversion %'])))).toEqual(
      expected.stages.map((s) => (s.conversion === null ? null : Math.round(s.conversion * 1000) / 10)),
    );
    expect(await page.$$eval('#chart-funnel canvas', (c) => c.length)).toBeGreaterThan(0);
    expect(await page.textContent('#status')).toContain(`Cohort: ${expected.cohort} members`);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv-funnel')]);
    const csv = readFileSync((await download.path())!, 'utf8').replace(/^\ufeff/, '').split('\r\n');
    expect(csv[0]).toBe('stage,phase,reached,entered,now,conversion %,median hours in stage,finished stays,still in stage');
    expect(csv.slice(1, -1).map((l) => Number(l.split(',')[2]))).toEqual(expected.stages.map((s) => s.reached));
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    await context.close();
  }, 15_000);

  it('a one-time login link from the bot opens a session once', async () => {
    const token = createLoginToken(app.db, { memberId: 'owner', now: app.kernel.clock.now() });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/dashboard?login=${token}`);
    await page.waitForSelector('#status[data-ready="1"]', { timeout: 5000 });
    const cookie = (await context.cookies()).find((c) => c.name === 'kequn_dash');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/', secure: false });
    const again = await (await browser.newContext()).newPage();
    const r = await again.goto(`${server.url}/dashboard?login=${token}`);
    expect(r?.status()).toBe(401);
    expect(await again.textContent('#login-error')).toContain('已用过');
    await context.close();
  }, 10_000);
});

describe('playground in the browser', () => {
  let app: App;
  let server: WebServer;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-pg-'));
    dirs.push(dir);
    const clock = new OffsetClock();
    // Daytime in the course's zone: quiet hours never hold the welcome back.
    clock.advance(Date.parse('2026-03-02T10:00:00+08:00') - Date.now());
    app = await createApp({ config: loadConfig('test/fixtures/course'), clock, log: silentLogger, live: true, dbPath: join(dir, 'kequn.db') });
    await app.kernel.start();
    await waitReady(() => app.kernel.isReady());
    server = await startWebServer(createWebApp({ app, clock, log: silentLogger }), { port: 0 });
  }, 15_000);

  afterAll(async () => {
    await server?.close();
    await app?.stop();
  });

  it('a member joins a group and the welcome appears', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/playground`);
    await page.waitForSelector('#ready.ok', { timeout: 5000 });
    await page.fill('#new-id', 'xiaoming');
    await page.fill('#new-name', '小明');
    await page.press('#new-name', 'Enter');
    await page.click('#users li:has-text("小明")');
    await page.click('#chats li:first-child');
    await page.click('#join');
    await page.waitForSelector('#messages :text("欢迎 小明 加入")', { timeout: 8000 });
    // The member's record beside the chat comes from the playground's own API (no login on loopback).
    await page.waitForSelector('#detail :text("成员号")', { timeout: 5000 });
    await page.screenshot({ path: join(ARTIFACTS, 'playground.png') });
    await page.close();
  }, 15_000);

  // The flow of docs/wechat.md's screenshots (KEQUN_DOC_SCREENSHOTS=1 writes them to docs/images).
  it('a stranger joins, is told how to get the lessons, has a message held, adds the bot, and receives it and lesson 1', async () => {
    const shot = async (name: string) => {
      await page.screenshot({ path: join(ARTIFACTS, `private-channel-${name}.png`) });
      if (process.env.KEQUN_DOC_SCREENSHOTS) await page.screenshot({ path: join('docs', 'images', `private-channel-${name}.png`) });
    };
    const page = await browser.newPage({ viewport: { width: 1360, height: 820 } });
    await page.goto(`${server.url}/playground`);
    await page.waitForSelector('#ready.ok', { timeout: 5000 });
    await page.fill('#new-id', 'xiaohong');
    await page.fill('#new-name', '小红');
    await page.press('#new-name', 'Enter');
    await page.waitForSelector('#users li:has-text("小红") .badge.stranger', { timeout: 5000 });
    await page.click('#users li:has-text("小红")');
    await page.click('#chats li:first-child');
    await page.click('#join');
    // The welcome tells the truth: how to get the lessons, not that they were sent.
    await page.waitForSelector('#messages :text("欢迎 小红 加入")', { timeout: 8000 });
    const welcome = (await page.textContent('#messages'))!;
    expect(welcome).toContain('点群公告里「小课」的名片加好友，验证消息写「试听」');
    expect(welcome).not.toContain('已经私信发给你');
    await shot('1-joined');

    // She asks to sign up in the group: the checkout link is for her privately, so it waits.
    await page.fill('#text', '我要报名');
    await page.press('#text', 'Enter');

    // The group hears where the link went (not the link: it is hers alone), and how to add the bot.
    await page.waitForSelector('#messages :text("@小红 报名链接会私信发给你")', { timeout: 8000 });
    await page.waitForSelector('#users li:has-text("小红") .badge.waiting', { timeout: 8000 });
    await page.click('#chats li:has-text("私聊")');
    await page.waitForSelector('#befriend:not([hidden])', { timeout: 5000 });
    await page.waitForSelector('#held li[data-state="held"]', { timeout: 5000 });
    expect(await page.isDisabled('#text')).toBe(true);
    expect(await page.textContent('#detail')).toContain('等私信渠道打开后开始');
    await shot('2-waiting');

    // She sends a friend request saying 试听; the bot accepts it after its random delay (the
    // playground's clock is fast-forwarded past it), and what waited arrives, then lesson 1.
    await page.fill('#greeting', '你好，我想试听');
    await page.click('#befriend-send');
    await page.waitForSelector('#messages :text("发送了好友申请")', { timeout: 5000 });
    await page.click('#ff-hour');
    await page.waitForSelector('#messages :text("通过了 小红 的好友申请")', { timeout: 8000 });
    await page.waitForSelector('#messages :text("第1课")', { timeout: 15000 });
    const dm = (await page.textContent('#messages'))!;
    expect(dm.indexOf('报名链接')).toBeGreaterThan(-1);
    expect(dm.indexOf('报名链接')).toBeLessThan(dm.indexOf('第1课'));
    expect(await page.isDisabled('#text')).toBe(false);
    await page.waitForSelector('#held li[data-state="delivered"]', { timeout: 5000 });
    // Links in messages are links (the checkout link, the lesson's), opened in a new tab.
    const links = await page.$$eval('#messages .bubble a', (as) => as.map((a) => ({ href: a.getAttribute('href'), target: a.getAttribute('target'), rel: a.getAttribute('rel') })));
    expect(links.find((l) => /\/pay\/[A-Za-z0-9_-]{20,}$/.test(l.href ?? ''))).toMatchObject({ target: '_blank', rel: 'noopener noreferrer' });
    expect(links.map((l) => l.href)).toContain('https://www.python.org/downloads/');
    // The member's record and the 为什么 panel in Chinese: rules by their description, the
    // private channel's opening in words, not the traces' English.
    const detail = await page.innerText('#detail');
    expect(detail).toContain('已打开 · 通过了 TA 的好友申请');
    expect(detail).toContain('私信渠道打开了（通过了 TA 的好友申请）');
    expect(detail).toContain('私信渠道打开（通过了好友申请 / 本来就是好友 / Telegram 点了 Start）：私信欢迎语和试听第 1 课');
    for (const english of ['private channel', 'not_friend', 'friend_request', 'never fired', 'sent privately', 'steps planned']) expect(detail).not.toContain(english);
    await shot('3-lesson');
    await page.close();
  }, 45_000);
});
