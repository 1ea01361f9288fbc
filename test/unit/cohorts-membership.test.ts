import { afterAll, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../src/bot/events.js';
import { loadConfig } from '../../src/app.js';
import { featureForgets, memberExport } from '../../src/cli/member.js';
import { forgetMember } from '../../src/store/privacy.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { getOrder } from '../../src/flows/orders/store/orders.js';
import { cohortsService } from '../../src/flows/cohorts/service.js';
import { DAY, T0, outboxRows, removeTempDirs, replaceOnce, tempConfig, type Harness } from '../helpers/fixtures.js';
import { attempt, buy, notification, payHarness, testKeys, transaction, wechatPayProvider, type PayHarness } from '../helpers/payments.js';

// Cohort membership through the real engine: joins of a cohort's group, paid seats of a cohort
// (signed WeChat Pay notifications), 延期/转期 by staff and by request, /member and privacy.

afterAll(removeTempDirs);
const keys = testKeys();

const GROUPS = `  python-201:
    name: Python 入门体验群（第2期）
    kind: trial
    wechat: python-201@chatroom
  python-vip-2:
    name: Python 正式班（第2期）
    kind: paid
    wechat: python-vip-2@chatroom
`;
// T0 is 2026-03-02 09:00 (Shanghai): 第1期 starts a week later and is on sale until its start.
const COHORTS = `
cohorts:
  - { id: c1, name: 第1期, start: "2026-03-09", weeks: 4, groups: [python-101, python-vip], seats: 1 }
  - { id: c2, name: 第2期, start: "2026-04-13", weeks: 4, groups: [python-201, python-vip-2] }
`;
const T101 = { id: 'python-101@chatroom', name: 'Python 入门体验群' };
const T201 = { id: 'python-201@chatroom', name: 'Python 入门体验群（第2期）' };

function cohortConfig(catalog?: (t: string) => string) {
  return loadConfig(
    tempConfig({
      'kequn.yaml': (t) => replaceOnce(t, '\n# Staff, by platform id', `${GROUPS}\n# Staff, by platform id`) + COHORTS,
      ...(catalog ? { 'catalog.yaml': catalog } : {}),
    }),
    { env: {} },
  );
}

function setup(catalog?: (t: string) => string): PayHarness {
  const h = payHarness(() => wechatPayProvider(keys));
  h.config = cohortConfig(catalog);
  // The harness built its services from the demo course; the engine reads this same object.
  h.services.cohorts = cohortsService(h.config);
  return h;
}

let n = 0;
const ev = (e: Omit<ChatEvent, 'eventId' | 'platform' | 'at'> & Partial<ChatEvent>, h: Harness) =>
  h.engine.handleEvent({ platform: 'wechat', eventId: `co:${++n}`, at: h.clock.now(), ...e } as ChatEvent, h.clock.now());
const join = (h: Harness, user: string, group: { id: string; name: string }) => ev({ type: 'member.joined', group, user: { id: user, name: user }, channel: 'open' } as ChatEvent, h);
const dm = (h: Harness, user: string, text: string) => ev({ type: 'message', chat: { kind: 'dm' }, user: { id: user, name: user }, text, mentionsBot: false, contentKind: 'text' } as ChatEvent, h);
const memberId = (h: Harness, user: string) => findMemberByIdentity(h.db, 'wechat', user)!.id;
const cohortOf = (h: Harness, user: string) => (h.db.prepare('SELECT cohort_id, source FROM cohort_members WHERE member_id = ?').get(memberId(h, user)) as { cohort_id: string; source: string } | undefined);
const moves = (h: Harness, user: string) => h.db.prepare('SELECT from_cohort, to_cohort, reason, by_member FROM cohort_moves WHERE member_id = ? ORDER BY id').all(memberId(h, user));
const dmsTo = (h: Harness, user: string, after = 0) => outboxRows(h.db).filter((o) => o.chat_id === user && o.id > after).map((o) => o.text);
const lastId = (h: Harness) => outboxRows(h.db).at(-1)?.id ?? 0;

async function pay(h: PayHarness, user: string): Promise<string> {
  const order = buy(h, user);
  const no = attempt(h, order);
  const r = await h.service.handleNotification('wechatpay', notification(keys, transaction(no, order.amount), { now: h.clock.now() }));
  expect(r.status).toBe(204);
  return order.id;
}

describe('cohort membership', () => {
  it('joining a group of a cohort puts the member in it; a join of an earlier cohort\'s group does not move them back', () => {
    const h = setup();
    join(h, 'alice', T201);
    expect(cohortOf(h, 'alice')).toEqual({ cohort_id: 'c2', source: 'group' });
    join(h, 'alice', T101);
    expect(cohortOf(h, 'alice')).toEqual({ cohort_id: 'c2', source: 'group' });
    join(h, 'bob', T101);
    expect(cohortOf(h, 'bob')).toEqual({ cohort_id: 'c1', source: 'group' });
    join(h, 'bob', T201);
    expect(cohortOf(h, 'bob')).toEqual({ cohort_id: 'c2', source: 'group' });
    expect(moves(h, 'bob')).toEqual([
      { from_cohort: null, to_cohort: 'c1', reason: 'joined python-101', by_member: null },
      { from_cohort: 'c1', to_cohort: 'c2', reason: 'joined python-201', by_member: null },
    ]);
  });

  it('a course without cohorts records none', () => {
    const h = payHarness(() => wechatPayProvider(keys));
    join(h, 'alice', T101);
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM cohort_members').get()).toEqual({ n: 0 });
  });

  it('/member shows the cohort and the moves staff made', () => {
    const h = setup();
    join(h, 'alice', T101);
    const mark = lastId(h);
    dm(h, 'teacher', '/member alice');
    expect(dmsTo(h, 'teacher', mark).join('\n')).toContain('期：第1期（2026-03-09 开营）');
  });
});

describe('products sell seats of a cohort', () => {
  it('the order records the cohort open for sale; the paid member is in it and invited to its paid group', async () => {
    const h = setup();
    const id = await pay(h, 'alice');
    expect(getOrder(h.db, id)!.cohort_id).toBe('c1');
    expect(cohortOf(h, 'alice')).toEqual({ cohort_id: 'c1', source: 'order' });
    expect(dmsTo(h, 'alice').filter((t) => t.includes('正式班群是'))).toEqual(['🎓 你的正式班群是「Python 数据分析正式班」，助教会在 24 小时内邀请你进群，请留意好友申请。']);
  });

  it('after the first cohort starts, sales move to the next: its seat, its paid group (not the product\'s)', async () => {
    const h = setup();
    h.clock.set(T0 + 8 * DAY); // 2026-03-10: 第1期 started on the 9th
    const id = await pay(h, 'alice');
    expect(getOrder(h.db, id)!.cohort_id).toBe('c2');
    expect(cohortOf(h, 'alice')).toEqual({ cohort_id: 'c2', source: 'order' });
    const texts = dmsTo(h, 'alice');
    expect(texts.filter((t) => t.includes('正式班群是'))).toEqual(['🎓 你的正式班群是「Python 正式班（第2期）」，助教会在 24 小时内邀请你进群，请留意好友申请。']);
  });

  it('seats per cohort are counted on the server: the second buyer of 第1期 (1 seat) is refused and no order is opened', async () => {
    const h = setup();
    await pay(h, 'alice');
    const mark = lastId(h);
    const before = h.db.prepare('SELECT COUNT(*) AS n FROM orders').get();
    dm(h, 'bob', '/buy');
    expect(dmsTo(h, 'bob', mark).join('\n')).toContain('这一期名额已满');
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM orders').get()).toEqual(before);
  });

  it('an order opened before the seats ran out cannot be paid for once they did (checked again at the pay button)', async () => {
    const h = setup();
    const bobs = buy(h, 'bob');
    await pay(h, 'alice');
    await expect(h.service.startPayment(bobs.token, { method: 'native', clientIp: '127.0.0.1' })).rejects.toThrow('这一期名额已满');
  });

  it('a product may name its cohort', async () => {
    const h = setup((t) => replaceOnce(t, '    seats: 200\n', '    seats: 200\n    cohort: c2\n'));
    const id = await pay(h, 'alice');
    expect(getOrder(h.db, id)!.cohort_id).toBe('c2');
  });

  it('a product naming an unknown cohort is refused at load, at its key', () => {
    const dir = tempConfig({
      'kequn.yaml': (t) => t + COHORTS,
      'catalog.yaml': (t) => replaceOnce(t, '    seats: 200\n', '    seats: 200\n    cohort: c9\n'),
    });
    expect(() => loadConfig(dir, { env: {} })).toThrow(/catalog\.yaml:\d+.*products\.python-vip\.cohort.*unknown cohort "c9"/s);
  });
});

describe('延期/转期', () => {
  it('staff move a member to a later cohort with a reason; the member is told; the history is kept', () => {
    const h = setup();
    join(h, 'alice', T101);
    const mark = lastId(h);
    dm(h, 'teacher', '/defer alice next 出差两周');
    expect(cohortOf(h, 'alice')).toEqual({ cohort_id: 'c2', source: 'defer' });
    expect(moves(h, 'alice').at(-1)).toEqual({ from_cohort: 'c1', to_cohort: 'c2', reason: '出差两周', by_member: memberId(h, 'teacher') });
    expect(dmsTo(h, 'alice', mark)).toEqual([expect.stringContaining('你已从第1期转到第2期（2026-04-13 开营）。原因：出差两周')]);
    expect(dmsTo(h, 'teacher', mark)).toEqual([`已将 alice（${memberId(h, 'alice')}）转到第2期。原因：出差两周`]);
    const m2 = lastId(h);
    dm(h, 'teacher', '/member alice');
    expect(dmsTo(h, 'teacher', m2).join('\n')).toContain('转期：第1期 → 第2期，出差两周');
  });

  it('refuses a move back, to the same cohort or without a reason, changing nothing', () => {
    const h = setup();
    join(h, 'alice', T201);
    for (const args of ['alice c1 想早点开始', 'alice c2 同一期', 'alice c2', 'alice c9 不存在']) {
      dm(h, 'teacher', `/defer ${args}`);
    }
    expect(cohortOf(h, 'alice')).toEqual({ cohort_id: 'c2', source: 'group' });
    expect(moves(h, 'alice')).toHaveLength(1);
  });

  it('a member asks (「申请延期」 or /postpone), staff list and approve; one pending request at a time', () => {
    const h = setup();
    join(h, 'alice', T101);
    let mark = lastId(h);
    dm(h, 'alice', '/postpone 工作太忙');
    expect(dmsTo(h, 'alice', mark)).toEqual([expect.stringMatching(/^已收到你的延期申请（R1）：从第1期转到第2期/)]);
    mark = lastId(h);
    dm(h, 'alice', '/postpone 再来一次');
    expect(dmsTo(h, 'alice', mark)).toEqual(['你的延期申请（R1）正在处理中，请耐心等待老师回复。']);
    mark = lastId(h);
    dm(h, 'teacher', '/deferrals');
    expect(dmsTo(h, 'teacher', mark)).toEqual(['待处理的延期申请：\nR1 alice：第1期 → 第2期，工作太忙']);
    // Still in 第1期 until approved.
    expect(cohortOf(h, 'alice')!.cohort_id).toBe('c1');
    mark = lastId(h);
    dm(h, 'teacher', '/deferrals approve R1');
    expect(cohortOf(h, 'alice')).toEqual({ cohort_id: 'c2', source: 'defer' });
    expect(moves(h, 'alice').at(-1)).toMatchObject({ from_cohort: 'c1', to_cohort: 'c2', reason: '申请延期：工作太忙' });
    expect(dmsTo(h, 'teacher', mark)).toContain('已批准 R1，学员已转到第2期。');
    expect(dmsTo(h, 'alice', mark)).toEqual([expect.stringContaining('你已从第1期转到第2期')]);
    mark = lastId(h);
    dm(h, 'teacher', '/deferrals approve R1');
    expect(dmsTo(h, 'teacher', mark).join('')).toContain('R1 已经处理过了');
  });

  it('staff refuse a request: the member is told, nothing moves', () => {
    const h = setup();
    join(h, 'alice', T101);
    dm(h, 'alice', '/postpone');
    const mark = lastId(h);
    dm(h, 'teacher', '/deferrals refuse R1 本期还有补课');
    expect(cohortOf(h, 'alice')!.cohort_id).toBe('c1');
    expect(dmsTo(h, 'alice', mark)).toEqual(['你的延期申请（R1）没有通过：本期还有补课如有疑问请联系老师。']);
  });
});

describe('privacy', () => {
  it('export has the cohort, moves and requests; forget erases the reasons and requests, keeps the cohort', () => {
    const h = setup();
    join(h, 'alice', T101);
    dm(h, 'alice', '/postpone 家里有事');
    // The staff's move answers the pending request.
    dm(h, 'teacher', '/defer alice next 家里有事');
    const id = memberId(h, 'alice');
    const out = memberExport(h.db, id, h.clock.now())!.features as Record<string, Record<string, unknown[]>>;
    expect(out.cohorts!.cohort_members).toEqual([expect.objectContaining({ cohort_id: 'c2', source: 'defer' })]);
    expect(out.cohorts!.cohort_moves).toHaveLength(2);
    expect(out.cohorts!.cohort_requests).toEqual([expect.objectContaining({ from_cohort: 'c1', to_cohort: 'c2', reason: '家里有事', status: 'approved' })]);
    forgetMember(h.db, id, h.clock.now(), featureForgets(h.config));
    expect(h.db.prepare('SELECT reason FROM cohort_moves WHERE member_id = ?').all(id)).toEqual([{ reason: '' }, { reason: '' }]);
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM cohort_requests WHERE member_id = ?').get(id)).toEqual({ n: 0 });
    expect(h.db.prepare('SELECT cohort_id FROM cohort_members WHERE member_id = ?').get(id)).toEqual({ cohort_id: 'c2' });
  });
});
