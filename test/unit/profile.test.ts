import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, registry } from '../../src/app.js';
import type { FactSpec } from '../../src/core/types.js';
import { openCheckout } from '../../src/flows/orders/orders.js';
import { markOrderPaid } from '../../src/flows/orders/store/orders.js';
import { attribute } from '../../src/flows/referral/attribution.js';
import { profileText } from '../../src/flows/profile/format.js';
import { inTransaction } from '../../src/store/db.js';
import { findMemberByIdentity, getMember } from '../../src/store/members.js';
import { harness, joined, message, outboxRows, removeTempDirs, tempConfig, type Harness } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

// A member's profile is computed from what the engine recorded; every figure below is counted by
// hand from the events this file sends (the course: test/fixtures/recommend-course, Asia/Shanghai).

const PATH_COURSE = 'test/fixtures/recommend-course';
const VIP = { id: 'python-vip@chatroom', name: 'Python 数据分析正式班' };
const at = (local: string) => Date.parse(`${local}+08:00`);

function send(h: Harness, when: string, event: (t: number) => Parameters<Harness['engine']['handleEvent']>[0]): void {
  const t = at(when);
  h.clock.set(Math.max(h.clock.now(), t));
  h.engine.handleEvent(event(t), t);
}

function paid(h: Harness, user: string, productId: string, when: string): void {
  const m = findMemberByIdentity(h.db, 'wechat', user)!;
  const r = openCheckout(h.db, h.config, [], { memberId: m.id, platform: 'wechat', platformId: user, productId, now: at(when) });
  if (!r.ok) throw new Error(r.reason);
  markOrderPaid(h.db, { id: r.order.id, provider: 'sandbox', outTradeNo: `T-${r.order.id}`, transactionId: `X-${r.order.id}`, amount: r.order.amount, stageBefore: m.stage, now: at(when) });
}

/** Alice's week, 16–23 March 2026 (see the counts in the test). */
function alicesWeek(config = loadConfig(PATH_COURSE, { env: {} })): { h: Harness; id: string } {
  const h = harness({ config, start: at('2026-03-16T08:00:00') });
  send(h, '2026-03-16T09:00:00', (t) => joined('alice', { at: t, name: 'Alice' }));
  send(h, '2026-03-16T09:05:00', (t) => joined('alice', { at: t, group: VIP, name: 'Alice' }));
  const id = findMemberByIdentity(h.db, 'wechat', 'alice')!.id;
  paid(h, 'alice', 'python-vip', '2026-03-16T09:03:00');
  // Check-ins: 16, 17, leave 18, 19, nothing 20, 21, 22; nothing yet on the 23rd.
  for (const [day, text] of [['16', '打卡 第一天'], ['17', '打卡 第二天'], ['18', '请假'], ['19', '打卡 第四天'], ['21', '打卡 第六天'], ['22', '打卡 第七天']] as const) {
    send(h, `2026-03-${day}T12:00:00`, (t) => message('alice', text, { at: t, group: VIP }));
  }
  // Questions: the pandas entry twice, the install entry once.
  send(h, '2026-03-17T13:00:00', (t) => message('alice', 'pandas 怎么读取 Excel 文件？', { at: t, group: VIP }));
  send(h, '2026-03-19T13:00:00', (t) => message('alice', '请问 pandas 怎么读 Excel 表格？', { at: t, group: VIP }));
  send(h, '2026-03-20T13:00:00', (t) => message('alice', 'Python 环境怎么安装？', { at: t, group: VIP }));
  // Homework: week 1 after its deadline (22 March 22:00), week 2 on time.
  send(h, '2026-03-23T09:00:00', (t) => message('alice', '作业 第1周 https://colab.example.com/a1', { at: t, dm: true }));
  send(h, '2026-03-23T10:30:00', (t) => message('alice', '作业 第2周 https://colab.example.com/a2', { at: t, dm: true }));
  // A second product, and two referrals: bob pays, carol does not.
  paid(h, 'alice', 'data-pro', '2026-03-23T11:00:00');
  for (const user of ['bob', 'carol']) {
    send(h, '2026-03-23T11:10:00', (t) => joined(user, { at: t, name: user }));
    attribute(h.db, h.config, { referredId: findMemberByIdentity(h.db, 'wechat', user)!.id, evidence: { source: 'inviter', referrerId: id }, eventId: null, now: at('2026-03-23T11:10:00') });
  }
  paid(h, 'bob', 'python-vip', '2026-03-23T11:20:00');
  h.clock.set(at('2026-03-23T12:00:00'));
  return { h, id };
}

describe('profile: computed from what kequn recorded', () => {
  it('counts check-ins, homework, topics, purchases and referrals as counted by hand', () => {
    const { h, id } = alicesWeek();
    const p = h.services.profile.of(h.db, id, h.clock.now(), h.services)!;
    // 5 counted days (16, 17, 19, 21, 22); 1 leave day (18); expected: 16..22 = 7 days − 1 leave = 6.
    expect(p.checkins).toEqual({ counted: 5, leave: 1, expected: 6, rate: 5 / 6, streak: 2 });
    expect(p.homework).toEqual({ done: 2, late: 1, weeks: 2 });
    expect(p.topics).toEqual([
      { entry: 'pandas-read-excel', count: 2 },
      { entry: 'install-python', count: 1 },
    ]);
    expect(p.purchases.map((o) => [o.productId, o.paid, o.state])).toEqual([
      ['python-vip', 19900, 'paid'],
      ['data-pro', 29900, 'paid'],
    ]);
    expect(p.bought).toEqual(['python-vip', 'data-pro']);
    expect(p.referrals).toEqual({ made: 2, paid: 1 });
    expect(p.groups.map((g) => g.id)).toEqual(['python-101', 'python-vip']);
    // First seen, the welcome rule, then the first question (the course's first-question rule).
    expect(p.stageHistory.map((t) => `${t.from}→${t.to}`)).toEqual(['null→prospect', 'prospect→trial', 'trial→nurture']);
    expect(p.firstJoinedAt).toBe(at('2026-03-16T09:00:00'));
  });

  it('says it in Chinese with local times', () => {
    const { h, id } = alicesWeek();
    const text = profileText(h.services.profile.of(h.db, id, h.clock.now(), h.services)!, h.config).join('\n');
    expect(text).toContain('打卡：5 天 / 应打卡 6 天（打卡率 83%），请假 1 天，当前连续 2 天');
    expect(text).toContain('作业：已交 2 次 / 共 2 周，其中迟交 1 次');
    expect(text).toContain('提问主题：pandas-read-excel ×2、install-python ×1');
    expect(text).toContain('2026-03-16 09:03 《Python 数据分析正式班（第 3 期）》 ¥199.00 已支付');
    expect(text).toContain('推荐成员：2 人，其中已付费 1 人');
    expect(text).toContain('首次进群：2026-03-16 09:00');
    expect(text).toContain('阶段：nurture（培养期），自 2026-03-17 13:00');
    expect(text).toContain('2026-03-16 09:00 prospect（引入期） → trial（引入期）（规则 welcome-newcomer）');
  });

  it('profile facts in rules read the same figures', () => {
    const { h, id } = alicesWeek();
    const facts = registry.facts;
    const c = { db: h.db, config: h.config, now: h.clock.now(), member: getMember(h.db, id)!, services: h.services, trigger: {} } as unknown as Parameters<FactSpec['get']>[0];
    expect(facts.get('profile.checkin_rate')!.get(c)).toBe(5 / 6);
    expect(facts.get('profile.streak')!.get(c)).toBe(2);
    expect(facts.get('profile.homework_done')!.get(c)).toBe(2);
    expect(facts.get('profile.homework_late')!.get(c)).toBe(1);
    expect(facts.get('profile.homework_complete')!.get(c)).toBe(true); // 2 of the course's 2 weeks
    expect(facts.get('profile.bought')!.get(c)).toEqual(['python-vip', 'data-pro']);
    expect(facts.get('profile.purchases')!.get(c)).toBe(2);
    expect(facts.get('profile.topics')!.get(c)).toEqual(['pandas-read-excel', 'install-python']);
    expect(facts.get('profile.referrals')!.get(c)).toBe(2);
  });

  it('a rule on profile facts fires through the engine only when they hold', () => {
    const rule = (gte: number) => `
  - id: profile-praise
    description: 打卡率高、买过进阶班的同学问「我的学习情况」：夸一句
    on: message
    when:
      text: { contains: 我的学习情况 }
      profile.checkin_rate: { gte: ${gte} }
      profile.bought: data-pro
    final: true
    do:
      - reply: { text: "你是学习标兵！" }
`;
    for (const [gte, fires] of [[0.8, true], [0.9, false]] as const) {
      const dir = tempConfig({ 'rules.yaml': (t) => t.replace('rules:\n', `rules:\n${rule(gte)}`) }, PATH_COURSE);
      const { h } = alicesWeek(loadConfig(dir, { env: {} }));
      send(h, '2026-03-23T12:30:00', (t) => message('alice', '我的学习情况怎么样', { at: t, group: VIP }));
      expect(outboxRows(h.db).some((r) => r.text === '你是学习标兵！'), `checkin_rate ≥ ${gte} (5/6)`).toBe(fires);
    }
  });

  it("the profile's 期 is the member's cohort by membership: a member deferred to 第4期 who still sits in 第3期's group reads 第4期", () => {
    const COHORTS = `
cohorts:
  - { id: c3, name: 第3期, start: "2026-03-16", weeks: 2, groups: [python-101, python-vip] }
  - { id: c4, name: 第4期, start: "2026-04-13", weeks: 2, groups: [ml-camp] }
`;
    const { h, id } = alicesWeek(loadConfig(tempConfig({ 'kequn.yaml': (t) => t + COHORTS }, PATH_COURSE), { env: {} }));
    const c = () => ({ db: h.db, config: h.config, now: h.clock.now(), member: getMember(h.db, id)!, services: h.services, trigger: {} }) as unknown as Parameters<FactSpec['get']>[0];
    const profile = () => h.services.profile.of(h.db, id, h.clock.now(), h.services)!;
    // Joined 第3期's groups: in 第3期.
    expect(profile().cohorts).toEqual([{ id: 'c3', name: '第3期' }]);
    // Staff move her to 第4期 (/defer); she is still in python-101 and python-vip.
    inTransaction(h.db, () => h.services.cohorts!.assign(h.db, { memberId: id, cohortId: 'c4', source: 'defer', reason: '出差', by: null, now: h.clock.now() }));
    expect(profile().groups.map((g) => g.cohort)).toEqual(['c3', 'c3']);
    expect(profile().cohorts).toEqual([{ id: 'c4', name: '第4期' }]);
    expect(profileText(profile(), h.config).join('\n')).toContain('期次：第4期');
    expect(registry.facts.get('profile.cohorts')!.get(c())).toEqual(['c4']);
  });

  it('a product or 期 id that is not in the course, or an unknown profile fact, is a load error at file:line with the known names', () => {
    const rule = (when: string) => `
  - id: profile-typo
    on: message
    when:
      text: { contains: 我的学习情况 }
      ${when}
    do:
      - reply: { text: "你好" }
`;
    const load = (when: string, files: Record<string, (t: string) => string> = {}) => () =>
      loadConfig(tempConfig({ 'rules.yaml': (t) => t.replace('rules:\n', `rules:\n${rule(when)}`), ...files }, PATH_COURSE), { env: {} });
    expect(load('profile.bought: data-pro')).not.toThrow();
    expect(load('profile.bought: pyhton-vip')).toThrow(/rules\.yaml:\d+ rules\[0\]\.when\.profile\.bought: "pyhton-vip" is not a product id of catalog\.yaml; did you mean "python-vip"\? \(known: python-vip, data-pro, ml-camp, interview\)/);
    expect(load('profile.bought: { has_any: [data-pro, ml-camps] }')).toThrow(/rules\.yaml:\d+.*"ml-camps" is not a product id/s);
    expect(load('profile.boguht: data-pro')).toThrow(/rules\.yaml:\d+.*unknown fact "profile\.boguht".*did you mean "profile\.bought".*known: .*profile\.bought/s);
    expect(load('profile.cohorts: c3')).toThrow(/"c3" is not a cohort id of kequn\.yaml `cohorts:` \(known: none\)/);
    // A segment in kequn.yaml is checked the same way.
    expect(load('profile.stage: paid', { 'kequn.yaml': (t) => t + '\nprofile:\n  segments:\n    typo: { profile.bought: data_pro }\n' })).toThrow(/kequn\.yaml:\d+.*"data_pro" is not a product id/s);
  });

  it('a member who never joined a group expects no check-ins (rate 0, not a division by zero)', () => {
    const h = harness({ config: loadConfig(PATH_COURSE, { env: {} }), start: at('2026-03-16T08:00:00') });
    send(h, '2026-03-16T09:00:00', (t) => message('dave', '你好', { at: t, dm: true }));
    const id = findMemberByIdentity(h.db, 'wechat', 'dave')!.id;
    expect(h.services.profile.of(h.db, id, h.clock.now(), h.services)!.checkins).toEqual({ counted: 0, leave: 0, expected: 0, rate: 0, streak: 0 });
  });
});
