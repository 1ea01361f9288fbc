import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { setCost } from '../../src/flows/dashboard/store/dashboard.js';
import { checkins, dashboard, funnel, parseFilter, qa, referrals, retention, revenue, StatsFilterError, type StatsContext } from '../../src/flows/dashboard/metrics.js';
import { dashboardTables, toCsv } from '../../src/flows/dashboard/tables.js';
import { DAY, demoConfig, HOUR, MINUTE, T0 } from '../helpers/fixtures.js';
import { openTestStore } from '../helpers/store.js';

// A small store whose figures are worked out by hand in the comments. T0 is Monday 2026-03-02
// 09:00 in Asia/Shanghai; "now" is Tuesday of the third week.
const NOW = T0 + 15 * DAY + HOUR;
let db: Db;
let ctx: StatsContext;

function member(id: string, createdAt: number, path: [string, number][], stage = path.at(-1)?.[0] ?? 'prospect'): void {
  db.prepare('INSERT INTO members (id, display_name, stage, stage_since, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)').run(id, id.toUpperCase(), stage, createdAt, createdAt, createdAt);
  let from: string | null = null;
  for (const [to, at] of [['prospect', createdAt] as [string, number], ...path]) {
    db.prepare('INSERT INTO stage_transitions (member_id, from_stage, to_stage, at) VALUES (?, ?, ?, ?)').run(id, from, to, at);
    from = to;
  }
}
function join(id: string, group: string, at: number, leftAt: number | null = null): void {
  db.prepare('INSERT INTO memberships (member_id, group_id, joined_at, left_at) VALUES (?, ?, ?, ?)').run(id, group, at, leftAt);
}
let ev = 0;
function say(id: string, at: number): void {
  db.prepare("INSERT INTO events (type, platform, dedupe_key, member_id, group_id, payload, at) VALUES ('message', 'wechat', ?, ?, 'python-101', '{}', ?)").run(`e${++ev}`, id, at);
}
function checkin(id: string, day: string, at: number, kind = 'checkin'): void {
  db.prepare("INSERT INTO checkins (member_id, day, kind, group_id, at) VALUES (?, ?, ?, 'python-101', ?)").run(id, day, kind, at);
}
function question(id: string, at: number, status: string, via: string | null, answeredAt: number | null = null): void {
  db.prepare("INSERT INTO questions (member_id, platform, asker_platform_id, group_id, chat_id, text, status, answered_via, created_at, answered_at) VALUES (?, 'wechat', ?, 'python-101', 'room', '?', ?, ?, ?, ?)").run(
    id,
    id,
    status,
    via,
    at,
    answeredAt,
  );
}
function order(id: string, memberId: string, amount: number, paidAt: number | null, refunded = 0, discounts: unknown[] = []): void {
  const state = paidAt === null ? 'created' : refunded === 0 ? 'paid' : refunded === amount ? 'refunded' : 'partially_refunded';
  db.prepare(
    `INSERT INTO orders (id, token, member_id, platform, platform_id, product_id, currency, list_amount, amount, discounts, state, paid_amount, refunded_amount, created_at, expires_at, paid_at)
     VALUES (?, ?, ?, 'wechat', ?, 'python-bootcamp', 'CNY', 19900, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(id, `t-${id}`, memberId, memberId, amount, JSON.stringify(discounts), state, paidAt === null ? null : amount, refunded, (paidAt ?? NOW) - MINUTE, NOW + DAY, paidAt);
}

beforeAll(() => {
  db = openTestStore();
  ctx = { db, config: demoConfig(), now: NOW };
  // a: prospect → trial → nurture → paid.  b: prospect → trial → paid (skips nurture).
  // c: prospect → trial → churned.  d: prospect.  e (second week): prospect → trial.
  member('a', T0, [['trial', T0 + HOUR], ['nurture', T0 + DAY + HOUR], ['paid', T0 + 3 * DAY + HOUR]]);
  member('b', T0, [['trial', T0 + 2 * HOUR], ['paid', T0 + 2 * DAY + 2 * HOUR]]);
  member('c', T0, [['trial', T0 + 3 * HOUR], ['churned', T0 + 10 * DAY]]);
  member('d', T0, []);
  member('e', T0 + 7 * DAY, [['trial', T0 + 7 * DAY + HOUR]]);
  for (const id of ['a', 'b', 'd']) join(id, 'python-101', T0);
  join('c', 'python-101', T0, T0 + 10 * DAY); // left on 03-12
  join('e', 'python-101', T0 + 7 * DAY);
  join('a', 'python-vip', T0 + 3 * DAY + HOUR);
  join('b', 'python-vip', T0 + 2 * DAY + 2 * HOUR);

  // Orders: a pays 199 in full; b pays 179 after a 20-yuan referral discount (a referred b), and
  // gets 50 back; d opens an order and never pays.
  order('o-a', 'a', 19900, T0 + 3 * DAY + HOUR);
  order('o-b', 'b', 17900, T0 + 2 * DAY + 2 * HOUR, 5000, [{ kind: 'referral', code: 'AMY888', fen: 2000, referrerMemberId: 'a' }]);
  order('o-d', 'd', 19900, null);
  db.prepare("INSERT INTO referral_decisions (id, referred_id, referrer_id, source, accepted, reason, evidence, at) VALUES (1, 'b', 'a', 'code', 1, 'ok', '{}', ?)").run(T0 + HOUR);
  db.prepare("INSERT INTO referrals (referred_id, referrer_id, source, decision_id, at) VALUES ('b', 'a', 'code', 1, ?)").run(T0 + HOUR);
  db.prepare("INSERT INTO referral_orders (order_id, member_id, paid_at) VALUES ('o-b', 'b', ?)").run(T0 + 2 * DAY + 2 * HOUR);
  db.prepare("INSERT INTO referral_ledger (referrer_id, referred_id, order_id, entry, kind, fen, created_at) VALUES ('a', 'b', 'o-b', 'reward', 'cashback', 2000, ?)").run(T0 + 2 * DAY + 2 * HOUR);
  setCost(db, { source: 'referral', costFen: 10000, now: T0 });
  setCost(db, { source: 'direct', costFen: 39800, now: T0 });

  // Activity. Cohort of week 03-02 (a, b, c, d): week 0 a (message), b and c (questions); week 1 a
  // (check-ins; d's leave day does not count); week 2 c (message). Cohort of 03-09 (e): week 0
  // message, week 1 check-in.
  say('a', T0 + HOUR);
  question('b', T0 + 2 * HOUR, 'answered', 'faq');
  question('a', T0 + DAY, 'resolved', 'staff', T0 + DAY + 30 * MINUTE);
  question('c', T0 + 3 * HOUR, 'escalated', null);
  question('e', T0 + 7 * DAY + 3 * HOUR, 'answered', 'llm');
  checkin('a', '2026-03-10', T0 + 8 * DAY);
  checkin('a', '2026-03-11', T0 + 9 * DAY);
  checkin('a', '2026-03-12', T0 + 10 * DAY, 'leave');
  checkin('a', '2026-03-13', T0 + 11 * DAY);
  checkin('d', '2026-03-10', T0 + 8 * DAY, 'leave');
  say('c', T0 + 14 * DAY + 2 * HOUR);
  say('e', T0 + 7 * DAY + 2 * HOUR);
  checkin('e', '2026-03-16', T0 + 14 * DAY + 3 * HOUR);
  db.prepare("INSERT INTO homework_submissions (member_id, week, link, submitted_at, updated_at) VALUES ('b', 1, 'https://x', ?, ?)").run(T0 + 14 * DAY, T0 + 14 * DAY);
});

describe('funnel', () => {
  it('counts members who got to each stage or beyond, and stage-to-stage conversion', () => {
    const f = funnel(ctx);
    expect(f.cohort).toBe(5);
    const by = Object.fromEntries(f.stages.map((s) => [s.stage, s]));
    expect([by.prospect!.reached, by.trial!.reached, by.nurture!.reached, by.paid!.reached, by.mature!.reached, by.loyal!.reached]).toEqual([5, 4, 2, 2, 0, 0]);
    expect(by.nurture!.entered).toBe(1); // b skipped it
    expect(by.prospect!.conversion).toBeNull();
    expect(by.trial!.conversion).toBe(4 / 5);
    expect(by.nurture!.conversion).toBe(2 / 4);
    expect(by.paid!.conversion).toBe(1);
    expect(by.mature!.conversion).toBe(0);
    expect(by.loyal!.conversion).toBeNull(); // 0 of 0
    // churned is an exit: share of everyone who entered the funnel
    expect(by.churned).toMatchObject({ exit: true, reached: 1, conversion: 1 / 5 });
    expect([by.prospect!.now, by.trial!.now, by.paid!.now, by.churned!.now]).toEqual([1, 1, 2, 1]);
  });

  it('median time in stage over finished stays', () => {
    const by = Object.fromEntries(funnel(ctx).stages.map((s) => [s.stage, s]));
    // prospect stays: a 1h, b 2h, c 3h, e 1h (d still there) → median of [1, 1, 2, 3] h = 1.5 h
    expect(by.prospect).toMatchObject({ medianMs: 1.5 * HOUR, stays: 4, open: 1 });
    // trial stays: a 1 d, b 2 d, c 10 d - 3 h (e still there) → 2 d
    expect(by.trial).toMatchObject({ medianMs: 2 * DAY, stays: 3, open: 1 });
  });

  it('filters the cohort by group', () => {
    const f = funnel(ctx, { group: 'python-vip' });
    expect(f.cohort).toBe(2);
    expect(f.stages.find((s) => s.stage === 'paid')!.reached).toBe(2);
  });
});

describe('revenue', () => {
  it('paid minus refunded in yuan, average order value, discounts, trial → paid', () => {
    const r = revenue(ctx);
    expect(r.trialToPaid).toEqual({ trialStage: 'trial', trial: 4, paid: 2, rate: 0.5 });
    // 199 + 179 = 378 gross, 50 refunded → 328; average order 189
    expect(r.cny).toEqual({ orders: 2, gross: 378, refunded: 50, refunds: 1, net: 328, averageOrder: 189 });
    expect(r.discounts).toEqual([{ kind: 'referral', orders: 1, yuan: 20 }]);
    expect(r.stars).toBeNull();
  });

  it('counts only orders paid in the range', () => {
    const r = revenue(ctx, { from: T0 + 3 * DAY });
    expect(r.cny).toMatchObject({ orders: 1, net: 199 });
  });
});

describe('retention', () => {
  it('weekly cohorts by join week, share active each week after', () => {
    expect(retention(ctx)).toEqual([
      { week: '2026-03-02', members: 4, active: [3, 1, 1], rates: [0.75, 0.25, 0.25] },
      { week: '2026-03-09', members: 1, active: [1, 1], rates: [1, 1] },
    ]);
  });
});

describe('check-ins', () => {
  it('daily rate per group, streaks, homework', () => {
    const c = checkins(ctx, { from: T0, to: NOW });
    expect(c.days[0]).toBe('2026-03-02');
    expect(c.days.at(-1)).toBe('2026-03-17');
    const g = c.groups.find((x) => x.group === 'python-101')!;
    const day = (d: string) => g.days.find((x) => x.day === d)!;
    expect(day('2026-03-02')).toEqual({ day: '2026-03-02', checkins: 0, members: 4, rate: 0 });
    expect(day('2026-03-10')).toEqual({ day: '2026-03-10', checkins: 1, members: 5, rate: 0.2 });
    expect(day('2026-03-12')).toMatchObject({ checkins: 0, members: 5 }); // a's leave day; c left that day (still a member on it)
    expect(day('2026-03-13')).toMatchObject({ checkins: 1, members: 4, rate: 0.25 });
    // a: 10, 11, (leave) 12, 13 → a run of 3 check-ins; e: 1; d's lone leave day is no streak
    expect(c.streaks.filter((s) => s.members > 0)).toEqual([
      { bucket: '1', members: 1 },
      { bucket: '2-3', members: 1 },
    ]);
    expect(c.homework.map((h) => [h.week, h.submitted, h.members, h.rate])).toEqual([
      [1, 1, 2, 0.5],
      [2, 0, 2, 0],
    ]);
  });
});

describe('referrals', () => {
  it('leaderboard and ROI per source', () => {
    const r = referrals(ctx);
    expect(r.leaderboard).toEqual([{ referrer: 'a', name: 'A', referred: 1, paid: 1, rewards: 20 }]);
    const by = Object.fromEntries(r.sources.map((s) => [s.source, s]));
    // referral: 179 - 50 = 129 against a cost of 100 → ROI 0.29; direct: 199 against 398 → -0.5
    expect(by.referral).toEqual({ source: 'referral', orders: 1, revenue: 129, cost: 100, roi: 0.29 });
    expect(by.direct).toEqual({ source: 'direct', orders: 1, revenue: 199, cost: 398, roi: -0.5 });
    // By first group, apart: the same two orders.
    expect(r.groups).toEqual([{ source: 'group:python-101', orders: 2, revenue: 328, cost: null, roi: null }]);
  });
});

describe('Q&A', () => {
  it('asked, answered by the bot, escalated, median time to an instructor', () => {
    expect(qa(ctx)).toEqual({ asked: 4, answeredByBot: 2, faq: 1, llm: 1, escalated: 2, resolved: 1, pending: 0, dropped: 0, medianInstructorMs: 30 * MINUTE });
  });
});

describe('filters and CSV', () => {
  it('parses dates in the course zone and rejects bad input', () => {
    expect(parseFilter({ from: '2026-03-02', to: '2026-03-02' }, ctx.config)).toEqual({ group: undefined, from: Date.parse('2026-03-02T00:00:00+08:00'), to: Date.parse('2026-03-03T00:00:00+08:00') });
    expect(() => parseFilter({ from: '2026-02-30' }, ctx.config)).toThrow(StatsFilterError);
    expect(() => parseFilter({ group: 'nope' }, ctx.config)).toThrow(/没有这个群 "nope"/);
    expect(() => parseFilter({ from: '2026-03-05', to: '2026-03-01' }, ctx.config)).toThrow(/--from 必须早于 --to/);
    expect(() => parseFilter({ group: 'nope' }, { ...ctx.config, course: { ...ctx.config.course, locale: 'en' } })).toThrow(/unknown group "nope"/);
  });

  it('every table exports as CSV; formula-looking cells are defused', () => {
    const tables = dashboardTables(dashboard(ctx));
    expect(tables.map((t) => t.id)).toEqual(['funnel', 'revenue', 'discounts', 'retention', 'checkins', 'streaks', 'homework', 'referrers', 'sources', 'groups', 'qa', 'channel-funnel', 'channel-platforms', 'channel-sources', 'channel-lessons', 'channel-held', 'join-channels']);
    const funnelCsv = toCsv(tables[0]!).split('\r\n');
    expect(funnelCsv[0]).toBe('阶段,时期,到达,进入过,当前,转化率 %,停留时长中位数（小时）,已结束的停留,仍在此阶段');
    expect(funnelCsv[2]).toBe('试听（trial）,引入期,4,4,1,80,48,3,1');
    const en = dashboardTables(dashboard({ ...ctx, config: { ...ctx.config, course: { ...ctx.config.course, locale: 'en' } } }));
    const enCsv = toCsv(en[0]!).split('\r\n');
    expect(enCsv[0]).toBe('stage,phase,reached,entered,now,conversion %,median hours in stage,finished stays,still in stage');
    expect(enCsv[2]).toBe('trial,引入期,4,4,1,80,48,3,1');
    const evil = toCsv({ id: 'x', title: 'x', columns: ['name', 'n'], rows: [['=HYPERLINK("http://x")', -3], ['+1', 1], ['@a', 2], ['-b', 3], ['a,"b"', null]] });
    expect(evil).toBe('name,n\r\n"\'=HYPERLINK(""http://x"")",-3\r\n\'+1,1\r\n\'@a,2\r\n\'-b,3\r\n"a,""b""",\r\n');
  });
});
