import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { checkins, dashboard, funnel, referrals, retention, revenue, type StatsContext } from '../../src/flows/dashboard/metrics.js';
import { dashboardTables } from '../../src/flows/dashboard/tables.js';
import { DAY, demoConfig, HOUR, T0 } from '../helpers/fixtures.js';
import { openTestStore } from '../helpers/store.js';

/**
 * Issue 24, "figures that are true": a first week like the seller's, where the principal and two
 * other staff tried the course beside three students. Every figure below is counted by hand in
 * the comments, and each is read both from the rollups and from the base tables (`direct`).
 *
 * T0 = Monday 2026-03-02 09:00 Shanghai; "now" is Thursday 03-05 20:00.
 */
const NOW = T0 + 3 * DAY + 11 * HOUR;
const day = (d: string, h = 10) => Date.parse(`${d}T${String(h).padStart(2, '0')}:00:00+08:00`);
let db: Db;
let ctx: StatsContext;

function member(id: string, createdAt: number, path: [string, number][], platformId = id, platform = 'wechat'): void {
  const stage = path.at(-1)?.[0] ?? 'prospect';
  db.prepare('INSERT INTO members (id, display_name, stage, stage_since, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)').run(id, id, stage, createdAt, createdAt, createdAt);
  db.prepare('INSERT INTO identities (platform, platform_id, member_id, display_name) VALUES (?, ?, ?, ?)').run(platform, platformId, id, id);
  let from: string | null = null;
  for (const [to, at] of [['prospect', createdAt] as [string, number], ...path]) {
    db.prepare('INSERT INTO stage_transitions (member_id, from_stage, to_stage, at) VALUES (?, ?, ?, ?)').run(id, from, to, at);
    from = to;
  }
}
const join = (id: string, group: string, at: number, leftAt: number | null = null) =>
  db.prepare('INSERT INTO memberships (member_id, group_id, joined_at, left_at) VALUES (?, ?, ?, ?)').run(id, group, at, leftAt);
const checkin = (id: string, d: string, at: number, kind = 'checkin', group = 'python-101') =>
  db.prepare('INSERT INTO checkins (member_id, day, kind, group_id, at) VALUES (?, ?, ?, ?, ?)').run(id, d, kind, group, at);
let ev = 0;
const say = (id: string, at: number) =>
  db.prepare("INSERT INTO events (type, platform, dedupe_key, member_id, group_id, payload, at) VALUES ('message', 'wechat', ?, ?, 'python-101', '{}', ?)").run(`e${++ev}`, id, at);
function order(id: string, memberId: string, fen: number, paidAt: number, discounts: unknown[] = []): void {
  db.prepare(
    `INSERT INTO orders (id, token, member_id, platform, platform_id, product_id, currency, list_amount, amount, discounts, state, paid_amount, refunded_amount, created_at, expires_at, paid_at)
     VALUES (?, ?, ?, 'wechat', ?, 'python-bootcamp', 'CNY', 19900, ?, ?, 'paid', ?, 0, ?, ?, ?)`,
  ).run(id, `t-${id}`, memberId, memberId, fen, JSON.stringify(discounts), fen, paidAt - HOUR, paidAt + DAY, paidAt);
}

beforeAll(() => {
  db = openTestStore();
  ctx = { db, config: demoConfig(), now: NOW };
  // Students. s1, s2, s3: prospect → trial → paid. s4 bought straight away (prospect → paid)
  // without joining a group. s5 came on Wednesday and is still a prospect.
  member('s1', T0, [['trial', T0 + HOUR], ['paid', day('2026-03-03')]]);
  member('s2', T0, [['trial', T0 + HOUR], ['paid', day('2026-03-03', 11)]]);
  member('s3', T0 - HOUR, [['trial', T0 + HOUR], ['paid', day('2026-03-03', 12)]], 'tg3', 'telegram');
  member('s4', T0 + 2 * HOUR, [['paid', T0 + 3 * HOUR]]);
  member('s5', day('2026-03-04', 9), []);
  // Staff: the principal and the teacher by config id (kequn.yaml staff), g1 by /grant. They tried
  // it too: the principal got to trial, g1 bought the course as a test.
  member('principal', T0, [['trial', T0 + HOUR]]);
  member('teacher', T0, []);
  member('g1', T0, [['trial', T0 + HOUR], ['paid', day('2026-03-03')]], 'w-g1');
  db.prepare("INSERT INTO staff_grants (member_id, role, granted_by, granted_at) VALUES ('g1', 'assistant', 'principal', ?)").run(T0);

  // Groups. s2 left python-101 on Wednesday 15:00 and is in python-vip since Tuesday; s3's first
  // group is python-vip (08:00), then python-101 (10:00); s5 joined python-101 on Wednesday.
  join('s1', 'python-101', T0);
  join('s2', 'python-101', T0, day('2026-03-04', 15));
  join('s2', 'python-vip', day('2026-03-03'));
  join('s3', 'python-vip', T0 - HOUR);
  join('s3', 'python-101', T0 + HOUR);
  join('s5', 'python-101', day('2026-03-04', 9));
  join('principal', 'python-101', T0);
  join('principal', 'python-vip', T0);
  join('teacher', 'python-101', T0);
  join('g1', 'python-101', T0);

  // Check-ins.
  checkin('s1', '2026-03-02', day('2026-03-02', 12));
  checkin('s1', '2026-03-03', day('2026-03-03', 12));
  checkin('s1', '2026-03-04', day('2026-03-04', 12), 'leave');
  checkin('s1', '2026-03-05', day('2026-03-05', 12));
  checkin('s2', '2026-03-04', day('2026-03-04', 10)); // before leaving python-101 at 15:00
  checkin('s2', '2026-03-05', day('2026-03-05', 10), 'checkin', 'python-vip'); // no longer in python-101
  checkin('s3', '2026-03-01', day('2026-03-02', 9, ) + 30 * 60_000, 'makeup', 'python-vip'); // a make-up for Sunday, before s3 joined anything
  checkin('s3', '2026-03-03', day('2026-03-03', 12));
  checkin('s5', '2026-03-03', day('2026-03-04', 10), 'makeup'); // for the day before s5 joined
  checkin('s5', '2026-03-04', day('2026-03-04', 11));
  checkin('principal', '2026-03-02', day('2026-03-02', 12));
  checkin('principal', '2026-03-03', day('2026-03-03', 12));
  checkin('g1', '2026-03-04', day('2026-03-04', 12));

  // Messages: s1 on Monday, the principal too (staff: not activity of a student).
  say('s1', T0 + 2 * HOUR);
  say('principal', T0 + 3 * HOUR);

  // Orders (CNY): s1 199 direct; s2 179 with a referral discount (s1 referred s2); s3 149 with a
  // coupon, whose Telegram channel opened from a t.me link start=src-xhs; s4 99, no group; g1
  // (staff) 199 as a test.
  order('o1', 's1', 19900, day('2026-03-03'));
  order('o2', 's2', 17900, day('2026-03-03', 11), [{ kind: 'referral', code: 'S1CODE', fen: 2000, referrerMemberId: 's1' }]);
  order('o3', 's3', 14900, day('2026-03-03', 12), [{ kind: 'coupon', code: 'EARLY', fen: 5000 }]);
  order('o4', 's4', 9900, T0 + 3 * HOUR);
  order('o5', 'g1', 19900, day('2026-03-03'));
  db.prepare("INSERT INTO referral_decisions (id, referred_id, referrer_id, source, accepted, reason, evidence, at) VALUES (1, 's2', 's1', 'code', 1, 'ok', '{}', ?)").run(T0 + HOUR);
  db.prepare("INSERT INTO referrals (referred_id, referrer_id, source, decision_id, at) VALUES ('s2', 's1', 'code', 1, ?)").run(T0 + HOUR);
  db.prepare(
    "INSERT INTO private_channels (platform, chat_id, member_id, state, how, opened_at, changed_at, announced_at, source) VALUES ('telegram', 'tg3', 's3', 'open', 'start', ?, ?, ?, 'xhs')",
  ).run(T0, T0, T0);

  // Homework (python-vip): s3 handed in week 1, the principal too (staff).
  for (const id of ['s3', 'principal']) {
    db.prepare("INSERT INTO homework_submissions (member_id, week, link, submitted_at, updated_at) VALUES (?, 1, 'https://x', ?, ?)").run(id, day('2026-03-04'), day('2026-03-04'));
  }
});

/** Both ways: the rollups and the base tables give the same figures. */
function both<T>(f: (c: StatsContext) => T): T {
  const fast = f(ctx);
  expect(f({ ...ctx, direct: true })).toEqual(fast);
  return fast;
}

describe('staff are not members', () => {
  it('the funnel counts the five students, not the principal, the teacher or g1', () => {
    const f = both((c) => funnel(c));
    // s1..s5 (staff would make it 8).
    expect(f.cohort).toBe(5);
    const by = Object.fromEntries(f.stages.map((s) => [s.stage, s]));
    // reached: prospect all 5; trial, nurture, paid: s1, s2, s3 and s4 (who passed them on the way to paid).
    expect([by.prospect!.reached, by.trial!.reached, by.nurture!.reached, by.paid!.reached]).toEqual([5, 4, 4, 4]);
    expect(by.trial!.entered).toBe(3);
    expect(by.trial!.conversion).toBe(4 / 5);
    expect(by.paid!.conversion).toBe(1);
    expect([by.prospect!.now, by.paid!.now]).toEqual([1, 4]);
  });

  it('trial → paid is 3 of 3 (with staff it would read 4 of 5: 80 %)', () => {
    expect(both((c) => revenue(c).trialToPaid)).toEqual({ trialStage: 'trial', trial: 3, paid: 3, rate: 1 });
  });

  it('retention: of the five, four were active in their first week (s4 never was); the principal\'s message is not a student\'s', () => {
    // Active in week 0: s1 (a message, check-ins), s2, s3 (check-ins, the make-up recorded on
    // Monday), s5 (check-ins).
    expect(both((c) => retention(c))).toEqual([{ week: '2026-03-02', members: 5, active: [4], rates: [0.8] }]);
  });

  it('homework: 1 of the 2 students in python-vip handed in (the principal is not counted either way)', () => {
    const hw = both((c) => checkins(c, { from: day('2026-03-01', 0) }).homework);
    expect(hw.map((h) => [h.week, h.submitted, h.members, h.rate])).toEqual([
      [1, 1, 2, 0.5],
      [2, 0, 2, 0],
    ]);
  });

  it('the status line says how many staff were left out', () => {
    expect(dashboard(ctx).staffExcluded).toBe(3);
  });
});

describe('check-ins: a day\'s check-ins are among that day\'s members', () => {
  it('per group and day, counted by hand', () => {
    const c = both((x) => checkins(x, { from: day('2026-03-01', 0) }));
    expect(c.days).toEqual(['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05']);
    const rows = (g: string) => c.groups.find((x) => x.group === g)!.days.map((d) => [d.day, d.checkins, d.members]);
    expect(rows('python-101')).toEqual([
      // Sunday: nobody was a member; s3's make-up for Sunday was before s3 joined (not "1 / 0").
      ['2026-03-01', 0, 0],
      // s1, s2, s3 are members (staff are not); s1 checked in (the principal too: staff).
      ['2026-03-02', 1, 3],
      // s1 and s3; s5's make-up for Tuesday is from before s5 joined.
      ['2026-03-03', 2, 3],
      // s1, s2 (left at 15:00, a member that day), s3, s5; s2 and s5 checked in (s1's leave day
      // does not count, g1 is staff).
      ['2026-03-04', 2, 4],
      // s1, s3, s5; s1 checked in. s2 checked in in python-vip, no longer a member here.
      ['2026-03-05', 1, 3],
    ]);
    expect(rows('python-vip')).toEqual([
      ['2026-03-01', 0, 0],
      ['2026-03-02', 0, 1], // s3 (the principal is staff)
      ['2026-03-03', 1, 2], // s3 and s2 (joined that morning); s3 checked in
      ['2026-03-04', 1, 2], // s2 checked in
      ['2026-03-05', 1, 2], // s2 checked in
    ]);
    for (const g of c.groups) for (const d of g.days) expect(d.checkins, `${g.group} ${d.day}`).toBeLessThanOrEqual(d.members);
    expect(c.groups[0]!.days[0]!.rate).toBeNull();
  });

  it('streaks leave the staff out: s1 3 days (a leave day keeps it going), s2 2, s5 2, s3 1', () => {
    const c = both((x) => checkins(x, { from: day('2026-03-01', 0) }));
    expect(c.streaks.filter((s) => s.members > 0)).toEqual([
      { bucket: '1', members: 1 },
      { bucket: '2-3', members: 3 },
    ]);
  });
});

describe('revenue breakdowns add up', () => {
  it('by source and by first group, apart, each order once; staff test purchases counted and shown', () => {
    const r = both((c) => revenue(c));
    // 199 + 179 + 149 + 99 + 199 (g1) = 825
    expect(r.cny).toMatchObject({ orders: 5, gross: 825, net: 825 });
    expect(r.staff).toEqual({ orders: 1, net: 199 });
    const x = both((c) => referrals(c));
    // direct: s1 199, s4 99, g1 199; referral: s2 179; channel xhs: s3 149 (also a coupon: where
    // the buyer came from is the channel, the coupon is a discount).
    expect(x.sources.map((s) => [s.source, s.orders, s.revenue])).toEqual([
      ['channel:xhs', 1, 149],
      ['direct', 3, 497],
      ['referral', 1, 179],
    ]);
    // first group: python-101 s1, s2, g1; python-vip s3 (08:00 before python-101); none: s4.
    expect(x.groups.map((s) => [s.source, s.orders, s.revenue])).toEqual([
      ['group:(none)', 1, 99],
      ['group:python-101', 3, 577],
      ['group:python-vip', 1, 149],
    ]);
    for (const rows of [x.sources, x.groups]) {
      expect(rows.reduce((a, s) => a + s.orders, 0)).toBe(r.cny.orders);
      expect(rows.reduce((a, s) => a + s.revenue, 0)).toBe(r.cny.net);
    }
  });

  it('the tables end with a total row equal to the revenue, in Chinese', () => {
    const tables = dashboardTables(dashboard(ctx));
    const sources = tables.find((t) => t.id === 'sources')!;
    const groups = tables.find((t) => t.id === 'groups')!;
    expect(sources.columns).toEqual(['来源', '订单数', '收入', '成本', 'ROI %']);
    expect(sources.rows).toEqual([
      ['渠道 xhs', 1, 149, null, null],
      ['直接', 3, 497, null, null],
      ['转介绍', 1, 179, null, null],
      ['合计', 5, 825, null, null],
    ]);
    expect(groups.rows).toEqual([
      ['（未入群）', 1, 99, null, null],
      ['Python 入门体验群（python-101）', 3, 577, null, null],
      ['Python 数据分析正式班（python-vip）', 1, 149, null, null],
      ['合计', 5, 825, null, null],
    ]);
    const rev = tables.find((t) => t.id === 'revenue')!.rows;
    expect(rev).toContainEqual(['收入（收款 − 退款）', 825]);
    expect(rev).toContainEqual(['其中员工下的订单', 1]);
    expect(rev).toContainEqual(['到达「试听（trial）」的学员', 3]);
  });
});
