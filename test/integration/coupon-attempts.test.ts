import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, waitReady, type App } from '../../src/app.js';
import { loadConfig } from '../../src/app.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { CODE_ATTEMPT_DEFAULTS } from '../../src/flows/orders/catalog-schema.js';
import { enterCode } from '../../src/flows/orders/code-attempts.js';
import { couponSource } from '../../src/flows/orders/pricing.js';
import { referralDiscount } from '../../src/flows/referral/discount.js';

/** Every discount source of the course: coupons, then the referral service's. */
const discountSources = [couponSource, referralDiscount];
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { getOrder, latestOrderOf, type OrderRow } from '../../src/flows/orders/store/orders.js';
import { createWebApp, startWebServer, type WebServer } from '../../src/web/server.js';
import { HOUR, MINUTE, T0 } from '../helpers/fixtures.js';
import { dm } from '../helpers/payments.js';
import { testStorePath } from '../helpers/store.js';

// Guessing coupon codes at the checkout page, over real HTTP on 127.0.0.1, on the app as
// `kequn start` builds it (simulated WeChat, sandbox provider, SQLite). The course's coupons are
// EARLY50 and VIP10 (test/fixtures/course/catalog.yaml).

let app: App;
let server: WebServer;
let clock: VirtualClock;
const logLines: { msg: string; code?: string; limit?: string }[] = [];

beforeAll(async () => {
  clock = new VirtualClock(T0);
  app = await createApp({ config: loadConfig('test/fixtures/course', { env: {} }), clock, log: silentLogger, live: false, dbPath: testStorePath() });
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logLines.push(JSON.parse(line));
      done();
    },
  });
  server = await startWebServer(createWebApp({ app, clock, log: createLogger({ level: 'info', destination: sink }) }), { host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await server?.close();
  await app?.stop();
});

async function buyAs(user: string): Promise<OrderRow> {
  await app.kernel.handle(dm(user, '我要报名', clock.now()));
  return latestOrderOf(app.db, findMemberByIdentity(app.db, 'wechat', user)!.id, ['created'])!;
}

async function tryCode(order: OrderRow, code: string): Promise<string> {
  const r = await fetch(`${server.url}/pay/${order.token}/code`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ code }).toString(),
  });
  return r.headers.get('location') ?? `status ${r.status}`;
}

/** A dictionary attack: 700 plausible codes, the two real ones far down the list. */
function guesses(): string[] {
  const words = ['SALE', 'VIP', 'EARLY', 'NEW', 'SPRING', 'PY', 'CODE', 'GIFT', 'FREE', 'OFF'];
  const list: string[] = [];
  for (let i = 0; list.length < 700; i++) list.push(`${words[i % words.length]}${(i * 7) % 100}`);
  list[400] = 'EARLY50';
  list[650] = 'VIP10';
  return [...new Set(list)].length === 700 ? list : list.map((c, i) => (i === 400 || i === 650 ? c : `${c}X${i}`));
}

describe('coupon codes cannot be guessed', () => {
  it('700 guesses at one checkout page: 5 are looked at, the rest are refused unread; EARLY50 and VIP10 are never found', async () => {
    const order = await buyAs('guesser');
    const list = guesses();
    const answers: string[] = [];
    for (const code of list) answers.push(await tryCode(order, code));
    const limited = `/pay/${order.token}?e=limit`;
    expect(answers.slice(0, CODE_ATTEMPT_DEFAULTS.order)).toEqual(Array(CODE_ATTEMPT_DEFAULTS.order).fill(`/pay/${order.token}?e=code`));
    expect(answers.slice(CODE_ATTEMPT_DEFAULTS.order)).toEqual(Array(700 - CODE_ATTEMPT_DEFAULTS.order).fill(limited));
    // The real codes got exactly the answer every other limited guess got; the price never moved.
    expect(answers[400]).toBe(limited);
    expect(answers[650]).toBe(limited);
    const after = getOrder(app.db, order.id)!;
    expect([after.amount, after.code, after.discounts]).toEqual([order.list_amount, null, '[]']);
    // Every attempt is recorded (the refusals past the limit as one row with its count, so the
    // store does not grow a row per request), and every refusal logged.
    const rows = app.db.prepare('SELECT outcome, COUNT(*) AS n, SUM(repeats) AS attempts FROM code_attempts WHERE order_id = ? GROUP BY outcome ORDER BY outcome').all(order.id);
    expect(rows.map((r) => ({ ...(r as object) }))).toEqual([
      { outcome: 'limited', n: 1, attempts: 700 - CODE_ATTEMPT_DEFAULTS.order },
      { outcome: 'refused', n: CODE_ATTEMPT_DEFAULTS.order, attempts: CODE_ATTEMPT_DEFAULTS.order },
    ]);
    const logged = logLines.filter((l) => l.msg.startsWith('checkout: code refused'));
    expect(logged).toHaveLength(700);
    expect(logged.filter((l) => l.limit === 'order')).toHaveLength(700 - CODE_ATTEMPT_DEFAULTS.order);
    // The page says why, in Chinese, and how long to wait.
    const page = await (await fetch(`${server.url}${limited}`)).text();
    expect(page).toContain('优惠码尝试次数太多了，请 60 分钟后再试。');
    // An hour later the window has moved on: the buyer's right code works.
    clock.set(clock.now() + HOUR + MINUTE);
    const fresh = await buyAs('guesser');
    expect(await tryCode(fresh, 'EARLY50')).toBe(`/pay/${fresh.token}`);
    expect(getOrder(app.db, fresh.id)!.amount).toBe(fresh.list_amount - 5000);
  });

  it('per client address: members guessing from one address share its limit (30 refused codes an hour)', async () => {
    clock.set(clock.now() + 2 * HOUR);
    const outcomes: string[] = [];
    // Seven members, five wrong codes each: the address runs out on the 31st.
    for (let m = 0; m < 7; m++) {
      const order = await buyAs(`sybil${m}`);
      for (let k = 0; k < CODE_ATTEMPT_DEFAULTS.order; k++) outcomes.push((await tryCode(order, `WRONG${m}${k}`)).replace(/^\/pay\/[^?]+/, ''));
    }
    expect(outcomes.filter((o) => o === '?e=code')).toHaveLength(CODE_ATTEMPT_DEFAULTS.client);
    expect(outcomes.slice(CODE_ATTEMPT_DEFAULTS.client)).toEqual(Array(35 - CODE_ATTEMPT_DEFAULTS.client).fill('?e=limit'));
    expect(logLines.filter((l) => l.limit === 'client')).toHaveLength(35 - CODE_ATTEMPT_DEFAULTS.client);
  });

  it('per member: a member with several orders (new links) shares one limit; clearing a code is no attempt', () => {
    const db = app.db;
    const config = app.kernel.currentConfig;
    const now0 = clock.now() + 4 * HOUR;
    // Fresh orders of one member on the store (the same product's link renewed, another address each time).
    const member = findMemberByIdentity(db, 'wechat', 'guesser')!.id;
    const orders = Array.from({ length: 3 }, (_, i) => {
      const o = { ...getOrder(db, latestOrderOf(db, member, ['created'])!.id)!, id: `o_membertest${i}`, token: `tok-member-test-${i}` };
      db.prepare('INSERT INTO orders (id, token, member_id, platform, platform_id, product_id, currency, list_amount, amount, discounts, code, state, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        o.id, o.token, o.member_id, o.platform, o.platform_id, o.product_id, o.currency, o.list_amount, o.list_amount, '[]', null, 'created', now0, now0 + HOUR,
      );
      return getOrder(db, o.id)!;
    });
    const at = (i: number) => now0 + i * 1000;
    const seen: string[] = [];
    let i = 0;
    for (const o of orders) {
      for (let k = 0; k < 4; k++) seen.push(enterCode(db, config, discountSources, o, { code: `NOPE${i}`, client: `198.51.100.${i}`, now: at(i++) }).outcome);
      // Taking the code off again is free.
      expect(enterCode(db, config, discountSources, o, { code: '', client: '198.51.100.250', now: at(i++) }).outcome).toBe('accepted');
    }
    // 4 + 4 + 2 refused reach the member's 10; the rest are limited, even a real code.
    expect(seen).toEqual([...Array(CODE_ATTEMPT_DEFAULTS.member).fill('refused'), ...Array(12 - CODE_ATTEMPT_DEFAULTS.member).fill('limited')]);
    const right = enterCode(db, config, discountSources, orders[2]!, { code: 'VIP10', client: '198.51.100.99', now: at(i++) });
    expect(right).toMatchObject({ outcome: 'limited', by: 'member', retryAt: at(0) + HOUR });
    expect(getOrder(db, orders[2]!.id)!.amount).toBe(orders[2]!.list_amount);
    // Once the first refusal leaves the window, one more code is looked at.
    expect(enterCode(db, config, discountSources, orders[2]!, { code: 'VIP10', client: '198.51.100.99', now: at(0) + HOUR }).outcome).toBe('accepted');
    // 10 refused, then the last order's limited ones run together (2 + the VIP10) in one row, then the accepted VIP10.
    expect(db.prepare(`SELECT outcome, repeats FROM code_attempts WHERE member_id = ? AND at >= ? ORDER BY id`).all(member, now0).map((r) => Object.values(r as object).join(':'))).toEqual([
      ...Array(10).fill('refused:1'),
      'limited:3',
      'accepted:1',
    ]);
  });

  it('the limits are the seller\'s: payments.code_attempts in catalog.yaml', () => {
    expect(app.kernel.currentConfig.catalog.payments.code_attempts).toEqual({ order: 5, member: 10, client: 30, per: HOUR });
  });
});
