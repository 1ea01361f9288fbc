import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, loadConfig, waitReady, type App } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { OffsetClock, systemClock } from '../../src/core/schedule/clock.js';
import { readClockOffset, recordClockOffset, resumeStoreClock, storeNow } from '../../src/core/schedule/store-clock.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { openStore } from '../../src/store/db.js';
import { latestOrderOf } from '../../src/flows/orders/store/orders.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';
import { DAY, DEMO_CONFIG_DIR, joined } from '../helpers/fixtures.js';
import { dm } from '../helpers/payments.js';

/**
 * Issue 24: after a playground fast-forward, `kequn stats` showed 1 member and ¥149 while the page
 * showed 5 and ¥328: the CLI read the system time, the page the playground's offset clock, so
 * everything written after the fast-forward lay "in the future" for the CLI. "Now" is the store's
 * time: the playground keeps its offset in the store, and the CLI reads it.
 */
const ADMIN = 'admin-token-for-tests-0123';
const VIP = { id: 'python-vip@chatroom', name: 'Python 数据分析正式班' };
let dir: string;
let dbPath: string;
let app: App;
let server: WebServer;
let clock: OffsetClock;

function kequnStats(): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('node', ['bin/kequn.mjs', 'stats', '--json', '--config', DEMO_CONFIG_DIR], { env: { ...process.env, KEQUN_DATA: dbPath }, maxBuffer: 8 << 20 }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout) });
    });
  });
}

async function buyAndPay(user: string): Promise<void> {
  await app.kernel.handle(dm(user, '我要报名', clock.now()));
  const order = latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', user)!.id, ['created'])!;
  const { outTradeNo } = await app.orders.service.startPayment(order.token, { method: 'native', clientIp: '127.0.0.1' });
  expect(await app.orders.sandbox!.pay(outTradeNo)).toBe(204);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kequn-stats-now-'));
  dbPath = join(dir, 'kequn.db');
  clock = new OffsetClock();
  app = await createApp({ config: loadConfig(DEMO_CONFIG_DIR, { env: {} }), clock, log: silentLogger, live: true, dbPath });
  // A fresh store: the playground starts at the system time (as `kequn start` resumes it).
  resumeStoreClock(app.db, clock);
  expect(clock.offsetMs).toBe(0);
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  server = await startWebServer(createWebApp({ app, clock, log: silentLogger, env: { KEQUN_ADMIN_TOKEN: ADMIN } }), { host: '127.0.0.1', port: 0 });
}, 20_000);

afterAll(async () => {
  await server?.close();
  await app?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('kequn stats and the dashboard', () => {
  it('show the same figures at the same moment after a playground fast-forward', async () => {
    // Today: alice joins and pays 199.
    await app.kernel.handle(joined('alice', { at: clock.now() }));
    await buyAndPay('alice');
    // The playground's "+1 day" button.
    const r = await fetch(`${server.url}/api/playground/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ms: DAY }) });
    expect(r.status).toBe(200);
    expect(readClockOffset(app.db)).toBe(clock.offsetMs);
    // Tomorrow (the store's time, ahead of the system's): bob and carol join, bob pays; the
    // principal (staff) looks in. Read with the system time, only alice and her 199 existed.
    for (const u of ['bob', 'carol', 'principal']) await app.kernel.handle(joined(u, { at: clock.now() }));
    await buyAndPay('bob');
    await app.kernel.handle(joined('bob', { at: clock.now(), group: VIP }));

    const page = (await (await fetch(`${server.url}/dashboard/api/stats`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as Record<string, unknown>;
    const cli = await kequnStats();
    expect(cli.code).toBe(0);
    const text = JSON.parse(cli.stdout) as Record<string, unknown>;
    // Counted by hand: alice, bob, carol (the principal is staff); 199 + 199.
    expect((page.funnel as { cohort: number }).cohort).toBe(3);
    expect((page.revenue as { cny: { net: number } }).cny.net).toBe(398);
    // Everything but the moment itself (a few ms apart) is the same.
    for (const key of ['funnel', 'revenue', 'retention', 'checkins', 'referrals', 'qa', 'channel', 'tables', 'staffExcluded']) {
      expect(text[key], key).toEqual(page[key]);
    }
    expect(Math.abs((text.generatedAt as number) - (page.generatedAt as number))).toBeLessThan(60_000);
  }, 30_000);
});

describe('the store\'s clock', () => {
  it('a restarted playground resumes at the offset the store kept; a real account resets it to the system clock', () => {
    const db = openStore(':memory:');
    expect(readClockOffset(db)).toBe(0);
    recordClockOffset(db, 3 * DAY);
    const restarted = new OffsetClock();
    resumeStoreClock(db, restarted);
    expect(restarted.offsetMs).toBe(3 * DAY);
    expect(storeNow(db, 1000)).toBe(1000 + 3 * DAY);
    resumeStoreClock(db, systemClock);
    expect(readClockOffset(db)).toBe(0);
    db.close();
  });
});
