import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { dialectOf, migrate, sqliteOf, type Db } from '../../src/store/db.js';
import { recordCheckinDay } from '../../src/flows/checkin/store.js';
import { appendEvent } from '../../src/store/events.js';
import { recordJoin, recordLeave, resolveMember, setStage } from '../../src/store/members.js';
import { forgetMember } from '../../src/store/privacy.js';
import { recordQuestion } from '../../src/flows/qa/store.js';
import { refreshDashboardRollups } from '../../src/flows/dashboard/store/rollups.js';
import { dashboard, foldDashboardRollups, type StatsContext, type StatsFilter } from '../../src/flows/dashboard/metrics.js';
import { localDate } from '../../src/util/localtime.js';
import { seededRandom } from '../../src/util/random.js';
import { DAY, demoConfig, HOUR, MINUTE, T0 } from '../helpers/fixtures.js';
import { openTestStore } from '../helpers/store.js';

/**
 * The rollups (src/flows/dashboard/store/rollups.ts) must give exactly the figures of the straightforward
 * computation from the base tables (`direct: true`), whatever the store holds and whenever the
 * dashboard was read before. A randomized store written through the store's own functions, with
 * dashboard reads in between; every read compares both ways over several filters.
 */

const config = demoConfig();
const TZ = config.course.timezone;
const PATH = ['trial', 'nurture', 'paid', 'mature', 'loyal'];

interface Sim {
  db: Db;
  now: number;
  members: string[];
  rnd: () => number;
  n: number;
}

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

/** One thing happening in the course at `sim.now`. */
function step(sim: Sim): void {
  const { db, rnd, now } = sim;
  const r = rnd();
  if (r < 0.08 || sim.members.length < 20) {
    // The first two are staff by config id (the principal, the teacher), the third by /grant:
    // they do everything members do, and no figure may count them.
    const platformId = ['principal', 'teacher'][sim.members.length] ?? `w${sim.n++}`;
    const { member } = resolveMember(db, { platform: 'wechat', platformId, displayName: `P${sim.n}`, initialStage: 'prospect', now });
    if (sim.members.length === 2) db.prepare("INSERT INTO staff_grants (member_id, role, granted_by, granted_at) VALUES (?, 'assistant', 'x', ?)").run(member.id, now);
    sim.members.push(member.id);
    recordJoin(db, { memberId: member.id, groupId: 'python-101', inviterId: null, now });
    return;
  }
  const id = pick(rnd, sim.members);
  const stage = (db.prepare('SELECT stage FROM members WHERE id = ?').get(id) as { stage: string }).stage;
  if (r < 0.2) {
    // Along the path (sometimes skipping a stage), churning, or coming back after churning
    // (a second stay in a stage: the member "repeats").
    const at = PATH.indexOf(stage);
    const to = stage === 'churned' ? pick(rnd, ['trial', 'nurture', 'paid']) : rnd() < 0.15 ? 'churned' : PATH[Math.min(PATH.length - 1, at + 1 + (rnd() < 0.2 ? 1 : 0))]!;
    setStage(db, { memberId: id, to, eventId: null, ruleId: null, actor: 'bot', now });
    if (to === 'paid') {
      recordJoin(db, { memberId: id, groupId: 'python-vip', inviterId: null, now });
      db.prepare(
        `INSERT INTO orders (id, token, member_id, platform, platform_id, product_id, currency, list_amount, amount, discounts, state, paid_amount, refunded_amount, created_at, expires_at, paid_at)
         VALUES (?, ?, ?, 'wechat', 'x', 'python-bootcamp', 'CNY', 19900, 19900, '[]', 'paid', 19900, 0, ?, ?, ?)`,
      ).run(`o${sim.n}`, `t${sim.n++}`, id, now, now + DAY, now);
    }
    if (to === 'churned') recordLeave(db, { memberId: id, groupId: 'python-101', now });
  } else if (r < 0.26) {
    // Leaving and rejoining (the membership row is updated in place).
    const group = pick(rnd, ['python-101', 'python-vip']);
    if (rnd() < 0.5) recordLeave(db, { memberId: id, groupId: group, now });
    else recordJoin(db, { memberId: id, groupId: group, inviterId: null, now });
  } else if (r < 0.55) {
    appendEvent(db, { type: 'message', platform: 'wechat', dedupeKey: `e${sim.n++}`, memberId: id, groupId: 'python-101', payload: {}, at: now });
  } else if (r < 0.6) {
    appendEvent(db, { type: 'member.joined', platform: 'wechat', dedupeKey: `e${sim.n++}`, memberId: id, groupId: 'python-101', payload: {}, at: now });
  } else if (r < 0.9) {
    // Check-ins, make-ups for a day before, leave days (and a leave day turned into a check-in).
    const kind = pick(rnd, ['checkin', 'checkin', 'checkin', 'makeup', 'leave'] as const);
    const day = localDate(kind === 'makeup' ? now - DAY : now, TZ);
    recordCheckinDay(db, { memberId: id, day, kind, groupId: 'python-101', note: '', eventId: null, now });
  } else {
    recordQuestion(db, {
      member_id: id,
      platform: 'wechat',
      asker_platform_id: 'x',
      group_id: rnd() < 0.5 ? 'python-101' : null,
      chat_id: 'room',
      text: 'q',
      status: pick(rnd, ['answered', 'escalated', 'resolved', 'pending'] as const),
      entry_id: null,
      confidence: null,
      answer: null,
      event_id: null,
      created_at: now,
      answered_at: now + HOUR,
      answered_via: 'faq',
    });
  }
}

function filters(now: number): StatsFilter[] {
  return [
    {},
    { group: 'python-vip' },
    { group: 'python-101', from: T0 + 14 * DAY, to: T0 + 60 * DAY },
    { to: T0 + 20 * DAY + 5 * HOUR },
    { from: now - 10 * DAY, to: now },
  ];
}

/** Reads the dashboard both ways and expects the same figures. */
function expectSameFigures(db: Db, now: number, cfg: StatsContext['config'] = config): void {
  for (const f of filters(now)) {
    const fast = dashboard({ db, config: cfg, now }, f);
    const direct = dashboard({ db, config: cfg, now, direct: true }, f);
    expect(fast, JSON.stringify(f)).toEqual(direct);
  }
}

function simulate(seed: number, db: Db, steps: number, from: number): Sim {
  const sim: Sim = { db, now: from, members: [], rnd: seededRandom(seed), n: 0 };
  advance(sim, steps);
  return sim;
}

function advance(sim: Sim, steps: number): void {
  for (let i = 0; i < steps; i++) {
    // Minutes to hours apart, now and then a few milliseconds (rows within one millisecond).
    sim.now += sim.rnd() < 0.05 ? 0 : Math.floor(sim.rnd() * 40 * MINUTE);
    step(sim);
  }
}

describe('dashboard rollups', () => {
  it('give exactly the figures of the base tables, with reads between the writes', () => {
    const db = openTestStore();
    // ~9 weeks of a course: a thousand members and 15,000 rows, stage moves, churn, rejoins, check-ins, messages.
    const sim = simulate(42, db, 9000, T0);
    expect(sim.members.length).toBeGreaterThan(700);
    // The first read builds the rollups.
    expect(foldDashboardRollups({ db, config, now: sim.now }).caughtUp).toBe(true);
    expectSameFigures(db, sim.now);
    // The three staff are not in the cohort.
    expect(dashboard({ db, config, now: sim.now }).funnel.cohort).toBe(sim.members.length - 3);
    // A grant revoked and another made: the next read counts the first as a member, not the second.
    db.prepare('DELETE FROM staff_grants WHERE member_id = ?').run(sim.members[2]);
    db.prepare("INSERT INTO staff_grants (member_id, role, granted_by, granted_at) VALUES (?, 'instructor', 'x', ?)").run(sim.members[30], sim.now);
    expectSameFigures(db, sim.now);
    expect(dashboard({ db, config, now: sim.now }).funnel.cohort).toBe(sim.members.length - 3);
    const moves = (db.prepare('SELECT COUNT(*) AS n FROM stage_transitions').get() as { n: number }).n;
    const repeats = (db.prepare('SELECT COUNT(*) AS n FROM dash_members WHERE repeats = 1').get() as { n: number }).n;
    expect(moves).toBeGreaterThan(1500);
    expect(repeats).toBeGreaterThan(10); // churned and came back: their stays are counted apart
    // More of everything after that read, read again; then weeks more.
    for (let round = 0; round < 2; round++) {
      advance(sim, 3000);
      expectSameFigures(db, sim.now);
    }
    // A check-in within the last millisecond already folded in is still seen.
    const last = db.prepare('SELECT member_id, at FROM checkins ORDER BY at DESC LIMIT 1').get() as { member_id: string; at: number };
    const other = sim.members.find((m) => m !== last.member_id)!;
    recordCheckinDay(db, { memberId: other, day: localDate(last.at, TZ), kind: 'checkin', groupId: 'python-101', note: '', eventId: null, now: last.at });
    expectSameFigures(db, sim.now);
  });

  it('catch up in bounded batches and agree after each', () => {
    const db = openTestStore();
    const sim = simulate(7, db, 6000, T0);
    // Batches of 300 rows per table, one per call (the kernel's background fold does one per tick).
    let calls = 0;
    while (!refreshDashboardRollups(db, { offsetMs: 8 * HOUR, batch: 300, maxBatches: 1 }).caughtUp) calls++;
    expect(calls).toBeGreaterThan(5);
    expectSameFigures(db, sim.now);
  });

  it('a forgotten member is recomputed; a restored snapshot is consistent with its own rollups', () => {
    const db = openTestStore();
    const sim = simulate(3, db, 5000, T0);
    expectSameFigures(db, sim.now);
    // `kequn restore` is SQLite's (PostgreSQL: pg_dump/pg_restore copy the rollups with the rows).
    const snapshot = dialectOf(db) === 'sqlite' ? sqliteOf(db).serialize() : undefined;
    const busiest = (db.prepare('SELECT member_id FROM stage_transitions GROUP BY member_id ORDER BY COUNT(*) DESC LIMIT 1').get() as { member_id: string }).member_id;
    expect(forgetMember(db, busiest, sim.now)).toBeDefined();
    expectSameFigures(db, sim.now);
    advance(sim, 2000);
    expectSameFigures(db, sim.now);
    // `kequn restore` puts back a file whose rollups and watermarks were written with its rows.
    if (!snapshot) return;
    const restored = new Database(snapshot);
    migrate(restored);
    expectSameFigures(restored, sim.now);
    restored.close();
  });

  it('rebuild the activity weeks when the zone offset changes (daylight saving)', () => {
    const db = openTestStore();
    const berlin = { ...config, course: { ...config.course, timezone: 'Europe/Berlin' } };
    const sim = simulate(5, db, 4000, T0);
    // Winter time (UTC+1), then summer time (UTC+2) after 2026-03-29.
    const winter = T0 + 20 * DAY;
    const summer = Date.parse('2026-04-20T12:00:00Z');
    expectSameFigures(db, winter, berlin);
    expectSameFigures(db, summer, berlin);
    expect(sim.members.length).toBeGreaterThan(100);
  });
});
