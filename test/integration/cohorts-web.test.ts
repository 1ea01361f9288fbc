import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, loadConfig, type App } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { latestOrderOf } from '../../src/flows/orders/store/orders.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';
import { joined } from '../helpers/fixtures.js';
import { dm } from '../helpers/payments.js';

// The cohort course served for real (createApp, the sandbox provider, HTTP on 127.0.0.1): a
// cohort's seats are re-checked at the pay button through the running services, and the
// dashboard's 期 filter and cohort table over HTTP. 第3期 has one seat here.

const ADMIN = 'admin-token-for-tests-0123';
const COURSE = fileURLToPath(new URL('../fixtures/cohort-course', import.meta.url));
let dir: string;
let app: App;
let server: WebServer;
let clock: VirtualClock;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kequn-cohorts-web-'));
  const course = join(dir, 'course');
  cpSync(COURSE, course, { recursive: true });
  const yaml = join(course, 'kequn.yaml');
  writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('groups: [python-101, python-vip], seats: 200 }', 'groups: [python-101, python-vip], seats: 1 }'));
  clock = new VirtualClock(Date.parse('2026-03-10T09:00:00+08:00'));
  app = await createApp({ config: loadConfig(course, { env: {} }), clock, log: silentLogger, live: false, dbPath: join(dir, 'kequn.db') });
  server = await startWebServer(createWebApp({ app, clock, log: silentLogger, env: { KEQUN_ADMIN_TOKEN: ADMIN } }), { host: '127.0.0.1', port: 0 });
}, 20_000);

afterAll(async () => {
  await server?.close();
  await app?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const orderOf = (user: string) => latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', user)!.id, ['created'])!;
const get = (path: string) => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });

describe('cohorts, served', () => {
  it('the last seat of 第3期 goes to the first payer: an order opened before is refused at the pay button', async () => {
    for (const u of ['alice', 'bob']) {
      await app.kernel.handle(joined(u, { at: clock.now() }));
      await app.kernel.handle(dm(u, '我要报名', clock.now()));
    }
    const alice = orderOf('alice');
    const bob = orderOf('bob');
    expect([alice.cohort_id, bob.cohort_id]).toEqual(['c3', 'c3']);
    const paid = await app.orders.service.startPayment(alice.token, { method: 'native', clientIp: '127.0.0.1' });
    expect(await app.orders.sandbox!.pay(paid.outTradeNo)).toBe(204);
    // Bob presses pay on the checkout page: the seat is gone; no payment attempt is made.
    const r = await fetch(`${server.url}/pay/${bob.token}/pay`, { method: 'POST' });
    expect(r.status).toBe(409);
    expect(await r.text()).toContain('这一期名额已满');
    expect(app.db.prepare('SELECT COUNT(*) AS n FROM payment_attempts WHERE order_id = ?').get(bob.id)).toEqual({ n: 0 });
  });

  it('the dashboard shows trial → paid per 期 and filters by 期; an unknown 期 is a 400', async () => {
    const page = await (await get('/dashboard')).text();
    expect(page).toContain('<select name="cohort" id="f-cohort">');
    expect(page).toContain('分期转化（体验 → 付费）');
    const all = (await (await get('/dashboard/api/stats')).json()) as { cohorts: { cohort: string; trial: number; paid: number; sold: number }[] };
    // alice and bob joined 第3期's trial group; alice paid its one seat.
    expect(all.cohorts.map((c) => [c.cohort, c.trial, c.paid, c.sold])).toEqual([
      ['c3', 2, 1, 1],
      ['c4', 0, 0, 0],
    ]);
    const one = (await (await get('/dashboard/api/stats?cohort=c4')).json()) as { cohorts: { cohort: string }[] };
    expect(one.cohorts.map((c) => c.cohort)).toEqual(['c4']);
    const bad = await get('/dashboard/api/stats?cohort=c9');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('没有这一期 "c9"');
  });
});
