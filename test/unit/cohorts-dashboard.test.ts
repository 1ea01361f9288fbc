import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { ChatEvent } from '../../src/bot/events.js';
import { loadConfig } from '../../src/app.js';
import { cohortsService } from '../../src/flows/cohorts/service.js';
import { dashboard, parseFilter, StatsFilterError } from '../../src/flows/dashboard/metrics.js';
import { dashboardTables } from '../../src/flows/dashboard/tables.js';
import { DAY } from '../helpers/fixtures.js';
import { attempt, buy, notification, payHarness, testKeys, transaction, wechatPayProvider, type PayHarness } from '../helpers/payments.js';

// Trial → paid per 期 on the dashboard, through the real engine and signed payments, against a
// count by hand. The cohort course: 第3期 (c3, trial group python-101) starts 2026-03-16, 第4期
// (c4, python-102) 2026-04-13; sales move to 第4期 when 第3期 starts.

const COURSE = fileURLToPath(new URL('../fixtures/cohort-course', import.meta.url));
const keys = testKeys();
const T = Date.parse('2026-03-10T09:00:00+08:00');

let n = 0;
function join(h: PayHarness, user: string, group: string): void {
  const e = { type: 'member.joined', platform: 'wechat', eventId: `cd:${++n}`, at: h.clock.now(), group: { id: `${group}@chatroom`, name: group }, user: { id: user, name: user }, channel: 'open' } as ChatEvent;
  h.engine.handleEvent(e, h.clock.now());
}
async function pay(h: PayHarness, user: string): Promise<void> {
  const order = buy(h, user);
  const r = await h.service.handleNotification('wechatpay', notification(keys, transaction(attempt(h, order), order.amount), { now: h.clock.now() }));
  expect(r.status).toBe(204);
}

async function course(): Promise<PayHarness> {
  const h = payHarness(() => wechatPayProvider(keys));
  h.config = loadConfig(COURSE, { env: {} });
  h.services.cohorts = cohortsService(h.config);
  h.clock.set(T);
  join(h, 'alice', 'python-101');
  await pay(h, 'alice'); // 第3期's seat
  join(h, 'bob', 'python-101'); // never pays
  join(h, 'carol', 'python-101');
  join(h, 'principal', 'python-101'); // the owner (staff): in no figure
  await pay(h, 'principal');
  h.clock.set(T + 7 * DAY); // 3月17日: 第3期 has started, sales are 第4期's
  await pay(h, 'carol'); // a 第3期 trial member who bought 第4期
  join(h, 'dave', 'python-102'); // never pays
  join(h, 'erin', 'python-102');
  await pay(h, 'erin');
  return h;
}

describe('dashboard: cohort conversion (trial → paid per 期)', () => {
  it('counts by hand: trial members, of them paid, seats sold, members now; staff left out', async () => {
    const h = await course();
    // The owner's paid order is in the store: the figures leave it out.
    expect(h.db.prepare("SELECT COUNT(*) AS n FROM orders WHERE cohort_id = 'c3' AND state = 'paid'").get()).toEqual({ n: 2 });
    const d = dashboard({ db: h.db, config: h.config, now: h.clock.now() });
    // 第3期: in its trial group alice, bob, carol (3); paid alice, carol (2: carol bought 第4期's seat);
    // sold: alice's order (the owner's is left out); members now: alice, bob (carol moved to 第4期 by paying).
    // 第4期: dave, erin (2); paid erin (1); sold carol, erin (2); members carol, dave, erin (3).
    expect(d.cohorts).toEqual([
      { cohort: 'c3', name: '第3期', start: '2026-03-16', trial: 3, paid: 2, rate: 2 / 3, sold: 1, seats: 200, members: 2 },
      { cohort: 'c4', name: '第4期', start: '2026-04-13', trial: 2, paid: 1, rate: 1 / 2, sold: 2, seats: 200, members: 3 },
    ]);
    const table = dashboardTables(d).find((t) => t.id === 'cohorts')!;
    expect(table.columns).toEqual(['期', '开营', '体验群人数', '其中付费', '转化率 %', '本期售出', '名额', '本期学员']);
    expect(table.rows).toEqual([
      ['第3期（c3）', '2026-03-16', 3, 2, 66.7, 1, 200, 2],
      ['第4期（c4）', '2026-04-13', 2, 1, 50, 2, 200, 3],
    ]);
  });

  it('the cohort filter shows one 期; an unknown one is refused', async () => {
    const h = await course();
    const f = parseFilter({ cohort: 'c4' }, h.config);
    expect(dashboard({ db: h.db, config: h.config, now: h.clock.now() }, f).cohorts.map((c) => c.cohort)).toEqual(['c4']);
    expect(() => parseFilter({ cohort: 'c9' }, h.config)).toThrow(StatsFilterError);
    expect(() => parseFilter({ cohort: 'c9' }, h.config)).toThrow('没有这一期 "c9"（已有的期：c3, c4）');
  });

  it('the 期 filter (`kequn stats --cohort`) narrows every figure to the cohort\'s members by membership, staff left out', async () => {
    const h = await course();
    const at = (cohort?: string) => dashboard({ db: h.db, config: h.config, now: h.clock.now() }, parseFilter({ cohort }, h.config));
    // By hand (membership, see above): 第3期 alice, bob and the owner (staff); 第4期 carol, dave, erin.
    const count = (cohort: string) =>
      (h.db.prepare("SELECT COUNT(*) AS n FROM cohort_members cm JOIN identities i ON i.member_id = cm.member_id WHERE cm.cohort_id = ? AND i.platform_id != 'principal'").get(cohort) as { n: number }).n;
    expect([count('c3'), count('c4')]).toEqual([2, 3]);
    const [all, c3, c4] = [at(), at('c3'), at('c4')];
    expect([all.funnel.cohort, c3.funnel.cohort, c4.funnel.cohort]).toEqual([5, 2, 3]);
    // Orders at ¥199: 第3期 alice's and the owner's (a staff test purchase, shown apart); 第4期 carol's and erin's.
    expect([c3.revenue.cny.orders, c3.revenue.cny.net, c3.revenue.staff.orders]).toEqual([2, 398, 1]);
    expect([c4.revenue.cny.orders, c4.revenue.cny.net, c4.revenue.staff.orders]).toEqual([2, 398, 0]);
    expect(all.revenue.cny.orders).toBe(4);
    // Trial → paid of the 期's members: 第3期 alice paid, bob did not; 第4期 carol and erin paid, dave did not.
    expect([c3.revenue.trialToPaid.trial, c3.revenue.trialToPaid.paid]).toEqual([2, 1]);
    expect([c4.revenue.trialToPaid.trial, c4.revenue.trialToPaid.paid]).toEqual([3, 2]);
  });

  it('a course without cohorts has no cohort table', () => {
    const h = payHarness(() => wechatPayProvider(keys));
    const d = dashboard({ db: h.db, config: h.config, now: h.clock.now() });
    expect(d.cohorts).toEqual([]);
    expect(dashboardTables(d).some((t) => t.id === 'cohorts')).toBe(false);
  });
});
