import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
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
import { findMemberByIdentity } from '../../src/store/members.js';
import { latestOrderOf } from '../../src/flows/orders/store/orders.js';
import { joined, message } from '../helpers/fixtures.js';
import { dm } from '../helpers/payments.js';
import { launchBrowser } from '../helpers/browser.js';

// The dashboard and the playground in a real browser driven by playwright-core: the system's
// chromium, else the one from npm (test/helpers/browser.ts). No browser is a failure, not a skip.
const ARTIFACTS = 'test-artifacts';
const ADMIN_TOKEN = 'test-admin-token-0123456789';

let browser: Browser;
const dirs: string[] = [];

beforeAll(async () => {
  browser = (await launchBrowser()).browser;
  mkdirSync(ARTIFACTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('dashboard in the browser', () => {
  let app: App;
  let server: WebServer;
  const NOW = Date.parse('2026-03-20T12:00:00+08:00');

  /** A member asks for the link privately and pays it in the sandbox (a coupon first, if given). */
  async function buyAndPay(user: string, coupon?: string): Promise<void> {
    // /buy works for staff too (「我要报名」 is a members' rule).
    await app.kernel.handle(dm(user, '/buy', NOW));
    const order = latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', user)!.id, ['created'])!;
    if (coupon) await fetch(`${server.url}/pay/${order.token}/code`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `code=${coupon}` });
    const { outTradeNo } = await app.orders.service.startPayment(order.token, { method: 'native', clientIp: '127.0.0.1' });
    expect(await app.orders.sandbox!.pay(outTradeNo)).toBe(204);
  }

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-dash-'));
    dirs.push(dir);
    const dbPath = join(dir, 'kequn.db');
    const config = loadConfig('test/fixtures/course');
    // Seed the store by playing a conversation test into it: Alice pays 199, Bob (Alice's
    // referral) pays 179 and gets it refunded; the teacher (staff) sets Alice's code.
    for (const file of ['test/scenarios/referral-purchase.yaml']) {
      const { scenario } = parseScenario(file);
      const outcome = await runScenario(scenario!, config, { dbPath });
      expect(outcome.ok, outcome.failure).toBe(true);
    }
    app = await createApp({ config, clock: new VirtualClock(NOW), log: silentLogger, live: false, dbPath });
    await app.kernel.start();
    await waitReady(() => app.kernel.isReady());
    server = await startWebServer(createWebApp({ app, clock: app.kernel.clock, log: silentLogger, env: { KEQUN_ADMIN_TOKEN: ADMIN_TOKEN } }), { port: 0 });
    // The seller's first week: Carol joins and pays 149 with the EARLY50 coupon; the principal
    // and the teacher join the group to see what members see, and the principal buys as a test.
    for (const u of ['carol', 'principal', 'teacher']) await app.kernel.handle(joined(u, { at: NOW }));
    await buyAndPay('carol', 'EARLY50');
    await buyAndPay('principal');
    // Friday's check-ins in python-101: Alice and Carol, and the principal (staff: not counted).
    for (const u of ['alice', 'carol', 'principal']) await app.kernel.handle(message(u, '打卡 今天学完了第1课', { at: NOW }));
  }, 30_000);

  afterAll(async () => {
    await server?.close();
    await app?.stop();
  });

  async function logIn(context: BrowserContext, path = '/dashboard') {
    const page = await context.newPage();
    await page.goto(`${server.url}/dashboard`);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#login');
    await page.waitForSelector('#status[data-ready="1"]', { timeout: 5000 });
    if (path !== '/dashboard') {
      await page.goto(`${server.url}${path}`);
      await page.waitForSelector('#status[data-ready="1"]', { timeout: 5000 });
    }
    return page;
  }

  const tableRows = (page: Page, id: string) =>
    page.$$eval(`table[data-table="${id}"] tbody tr`, (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? '')));

  it('in Chinese: logs in with the admin token, shows the computed funnel, exports CSV', async () => {
    const expected = funnel({ db: app.db, config: app.config, now: app.kernel.clock.now() });
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/dashboard`);
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    expect(await page.textContent('main.login')).toContain('管理员令牌（KEQUN_ADMIN_TOKEN）');
    await page.fill('#token', 'wrong-token-wrong-token');
    await page.click('#login');
    await expect.poll(() => page.textContent('#login-error')).toContain('管理员令牌不对');
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#login');
    await page.waitForSelector('#status[data-ready="1"]', { timeout: 5000 });

    // The words: title, filters (群 / 从 / 到), buttons, sections, CSV links, the empty state.
    expect(await page.textContent('header h1')).toBe('Python 数据分析训练营 · 数据看板');
    expect(await page.$$eval('#filter label', (ls) => ls.map((l) => l.firstChild!.textContent!.trim()))).toEqual(['群', '从', '到']);
    expect(await page.textContent('#f-apply')).toBe('筛选');
    expect(await page.textContent('#logout button')).toBe('退出登录');
    expect(await page.textContent('#s-funnel h2')).toContain('生命周期漏斗');
    expect(await page.textContent('#csv-funnel')).toBe('下载 CSV');
    expect(await page.textContent('table[data-table="referrers"] td.empty, table[data-table="discounts"] td')).toBeTruthy();
    const legend = await page.$$eval('#chart-funnel .u-legend .u-label', (ls) => ls.map((l) => l.textContent));
    expect(legend).toEqual(['阶段', '到达', '当前']);

    const rows = await page.$$eval('table[data-table="funnel"] tbody tr', (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => [td.getAttribute('data-col'), td.textContent] as const)),
    );
    const shown = rows.map((r) => Object.fromEntries(r));
    expect(shown.map((r) => r['阶段'])).toEqual(['潜在学员（prospect）', '试听（trial）', '培养（nurture）', '已付费（paid）', '成熟（mature）', '忠诚（loyal）', '流失（churned）']);
    expect(shown.map((r) => Number(r['到达']))).toEqual(expected.stages.map((s) => s.reached));
    expect(shown.map((r) => Number(r['当前']))).toEqual(expected.stages.map((s) => s.now));
    expect(shown.map((r) => (r['转化率 %'] === '–' ? null : Number(r['转化率 %'])))).toEqual(
      expected.stages.map((s) => (s.conversion === null ? null : Math.round(s.conversion * 1000) / 10)),
    );
    expect(await page.$$eval('#chart-funnel canvas', (c) => c.length)).toBeGreaterThan(0);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv-funnel')]);
    const csv = readFileSync((await download.path())!, 'utf8').replace(/^\ufeff/, '').split('\r\n');
    expect(csv[0]).toBe('阶段,时期,到达,进入过,当前,转化率 %,停留时长中位数（小时）,已结束的停留,仍在此阶段');
    expect(csv.slice(1, -1).map((l) => Number(l.split(',')[2]))).toEqual(expected.stages.map((s) => s.reached));
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    await context.close();
  }, 20_000);

  it('staff are not members and the revenue breakdowns add up (counted by hand), desktop and phone screenshots', async () => {
    // A Chinese seller's browser (the date fields read 年/月/日).
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
    const page = await logIn(context);
    // Students: Alice, Bob, Carol. Staff: the principal and the teacher (config staff by WeChat id).
    expect(await page.textContent('#status')).toMatch(/^学员队列：3 人，不含员工 2 人。更新于 2026-03-20 12:00（Asia\/Shanghai）。$/);
    expect((await tableRows(page, 'funnel'))[0]!.slice(0, 3)).toEqual(['潜在学员（prospect）', '引入期', '3']);
    // Orders: Alice 199, Bob 179 refunded, Carol 149 (EARLY50), the principal 199 (a test purchase).
    const revenue = Object.fromEntries((await tableRows(page, 'revenue')).map(([k, v]) => [k, v]));
    expect(revenue).toMatchObject({ 已支付订单: '4', 收款: '726', 退款: '179', '收入（收款 − 退款）': '547', 其中员工下的订单: '1', 其中员工订单收入: '199' });
    // By source: Bob came by referral (0 after his refund); Alice, Carol and the principal direct.
    expect(await tableRows(page, 'sources')).toEqual([
      ['直接', '3', '547', '–', '–'],
      ['转介绍', '1', '0', '–', '–'],
      ['合计', '4', '547', '–', '–'],
    ]);
    // By first group, apart: everyone came through python-101.
    expect(await tableRows(page, 'groups')).toEqual([
      ['Python 入门体验群（python-101）', '4', '547', '–', '–'],
      ['合计', '4', '547', '–', '–'],
    ]);
    // Check-ins on Friday in python-101: Alice and Carol of its 3 students (Alice, Bob, Carol).
    const friday = (await tableRows(page, 'checkins')).find((r) => r[0] === '2026-03-20')!;
    expect(friday.slice(0, 4)).toEqual(['2026-03-20', '2', '3', '66.7']);
    // Count axes from 0 with whole numbers; rates on 0–100 %.
    const ranges = await page.$$eval('.uplot[data-chart]', (us) => us.map((u) => [u.getAttribute('data-chart'), u.getAttribute('data-y-range'), u.getAttribute('data-kind')]));
    for (const [id, range] of ranges) {
      const [lo, hi] = range!.split(',').map(Number);
      expect(lo, id!).toBe(0);
      expect(Number.isInteger(hi), id!).toBe(true);
      if (id === 'checkins' || id === 'retention') expect(hi, id!).toBe(100);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-desktop.png'), fullPage: true });
    // docs/dashboard.md shows these (KEQUN_DOC_SCREENSHOTS=1 writes them): the top of the page.
    if (process.env.KEQUN_DOC_SCREENSHOTS) await page.screenshot({ path: join('docs', 'images', 'dashboard-desktop.png') });
    await context.close();

    // A phone: 390 px wide. Nothing wider than the screen; tables scroll inside their box.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN' });
    const p = await logIn(phone);
    expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const widest = await p.$$eval('.uplot', (us) => Math.max(...us.map((u) => u.getBoundingClientRect().right)));
    expect(widest).toBeLessThanOrEqual(390);
    await p.screenshot({ path: join(ARTIFACTS, 'dashboard-phone-top.png') });
    if (process.env.KEQUN_DOC_SCREENSHOTS) await p.screenshot({ path: join('docs', 'images', 'dashboard-phone.png') });
    await p.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
    for (const id of ['funnel', 'sources', 'groups', 'channel-funnel', 'retention', 'checkins', 'streaks']) await p.locator(`#s-${id}`).screenshot({ path: join(ARTIFACTS, `dashboard-phone-${id}.png`) });
    if (process.env.KEQUN_DOC_SCREENSHOTS) await p.locator('#s-checkins .chart').screenshot({ path: join('docs', 'images', 'dashboard-phone-checkins.png') });
    await phone.close();
  }, 30_000);

  it('one day: a single point is a bar on 0–100 %, not a lone dot', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await logIn(context, '/dashboard?from=2026-03-20&to=2026-03-20');
    expect(await page.getAttribute('.uplot[data-chart="checkins"]', 'data-kind')).toBe('bars');
    expect(await page.getAttribute('.uplot[data-chart="checkins"]', 'data-y-range')).toBe('0,100');
    expect(await page.inputValue('#f-from')).toBe('2026-03-20');
    await context.close();
  }, 15_000);

  it('the page script (browser/index.ts): CSV links keep the filter, an empty chart says so, the cost form saves and redraws, charts follow the window', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // Two days before anyone joined: the check-in chart has no rate to draw.
    const page = await logIn(context, '/dashboard?from=2026-01-01&to=2026-01-02');
    expect(await page.getAttribute('#csv-funnel', 'href')).toBe('/dashboard/api/export/funnel.csv?from=2026-01-01&to=2026-01-02');
    expect(await page.getAttribute('#csv-funnel', 'download')).toBe('kequn-funnel.csv');
    expect(await page.textContent('#chart-checkins p.empty')).toBe('暂无数据');
    expect(await page.$$eval('#chart-checkins canvas', (c) => c.length)).toBe(0);

    // The cost of referrals: 50 yuan, saved through the form, drawn in the (unfiltered) sources table.
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-ready="1"]', { timeout: 5000 });
    expect(await page.$$eval('#cost-source option', (os) => os.map((o) => [(o as HTMLOptionElement).value, o.textContent]))).toEqual(
      expect.arrayContaining([
        ['referral', '转介绍'],
        ['direct', '直接'],
      ]),
    );
    await page.selectOption('#cost-source', 'referral');
    await page.fill('#cost-yuan', '50');
    await page.click('#cost-save');
    await expect.poll(() => page.textContent('#cost-msg')).toBe('已保存');
    await expect.poll(async () => (await tableRows(page, 'sources')).find((r) => r[0] === '转介绍')?.[3]).toBe('50');
    // Redrawn with the source the seller had picked still chosen.
    expect(await page.inputValue('#cost-source')).toBe('referral');
    // Empty removes it again (the other tests read the sources without costs).
    await page.fill('#cost-yuan', '');
    await page.click('#cost-save');
    await expect.poll(async () => (await tableRows(page, 'sources')).find((r) => r[0] === '转介绍')?.[3]).toBe('–');

    // Charts are redrawn to their box when the window narrows to a phone's 390 px.
    const chartWidth = () => page.$eval('.uplot[data-chart="funnel"]', (u) => u.getBoundingClientRect().width);
    expect(await chartWidth()).toBeGreaterThan(600);
    await page.setViewportSize({ width: 390, height: 844 });
    await expect.poll(chartWidth).toBeLessThanOrEqual(390 - 16);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await context.close();
  }, 20_000);

  it('English when the course says locale: en', async () => {
    const en = { ...app.config, course: { ...app.config.course, locale: 'en' as const } };
    app.kernel.setConfig(en);
    try {
      const context = await browser.newContext();
      const page = await logIn(context);
      expect(await page.getAttribute('html', 'lang')).toBe('en');
      expect(await page.textContent('#s-funnel h2')).toContain('Funnel by lifecycle stage');
      expect(await page.textContent('#status')).toMatch(/^Cohort: 3 members, staff left out \(2\)\./);
      await context.close();
    } finally {
      app.kernel.setConfig(app.config);
    }
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
