import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Db } from '../../src/store/db.js';
import { recordCheckinDay } from '../../src/flows/checkin/store.js';
import { appendEvent } from '../../src/store/events.js';
import { recordJoin, resolveMember, setStage } from '../../src/store/members.js';
import { recordQuestion } from '../../src/flows/qa/store.js';
import { refreshDashboardRollups } from '../../src/flows/dashboard/store/rollups.js';
import { CLOCK_SLACK_MS } from '../../src/flows/dashboard/store/rollups-pg.js';
import { dashboard, type StatsFilter } from '../../src/flows/dashboard/metrics.js';
import { localDate } from '../../src/util/localtime.js';
import { seededRandom } from '../../src/util/random.js';
import { DAY, demoConfig, HOUR, MINUTE, T0 } from '../helpers/fixtures.js';
import { freshPgUrl, pgAdminUrl } from '../helpers/store.js';

/**
 * Several kequn processes writing to one PostgreSQL database (issue 11): rows do not become
 * visible in the order of their ids or times. A transaction that took a lower id (or wrote an
 * earlier time: another machine's clock, or a `now` read before a slow transaction) can commit
 * after a fold has moved past it. The rollups must still end up equal to the base tables.
 * Two connections to one scratch database play two processes; the test is synchronous, so
 * "A keeps its transaction open" is A's transaction callback running B's steps inside it.
 */

const config = demoConfig();
const TZ = config.course.timezone;

function filters(now: number): StatsFilter[] {
  return [{}, { group: 'python-vip' }, { group: 'python-101' }, { from: now - 10 * DAY, to: now }, { from: T0, to: T0 + 7 * DAY }];
}

/** The dashboard from the rollups equals the one from the base tables (as stats-rollups.test.ts). */
function expectSameFigures(db: Db, now: number): void {
  for (const f of filters(now)) {
    const fast = dashboard({ db, config, now }, f);
    const direct = dashboard({ db, config, now, direct: true }, f);
    expect(fast, JSON.stringify(f)).toEqual(direct);
  }
}

/** A small course written by `db`: members over two weeks, some moves, messages and check-ins. */
function seed(db: Db): { members: string[]; now: number } {
  const members: string[] = [];
  let now = T0;
  for (let i = 0; i < 12; i++) {
    now += 3 * HOUR;
    const { member } = resolveMember(db, { platform: 'wechat', platformId: `w${i}`, displayName: `P${i}`, initialStage: 'prospect', now });
    members.push(member.id);
    recordJoin(db, { memberId: member.id, groupId: 'python-101', inviterId: null, now });
    if (i % 3 === 0) setStage(db, { memberId: member.id, to: 'trial', eventId: null, ruleId: null, actor: 'bot', now: now + MINUTE });
    appendEvent(db, { type: 'message', platform: 'wechat', dedupeKey: `s${i}`, memberId: member.id, groupId: 'python-101', payload: {}, at: now + 2 * MINUTE });
    if (i % 2 === 0) recordCheckinDay(db, { memberId: member.id, day: localDate(now, TZ), kind: 'checkin', groupId: 'python-101', note: '', eventId: null, now });
  }
  return { members, now };
}

const message = (db: Db, key: string, memberId: string, at: number) =>
  appendEvent(db, { type: 'message', platform: 'wechat', dedupeKey: key, memberId, groupId: 'python-101', payload: {}, at });

const question = (db: Db, memberId: string, at: number) =>
  recordQuestion(db, {
    member_id: memberId,
    platform: 'wechat',
    asker_platform_id: 'x',
    group_id: 'python-101',
    chat_id: 'room',
    text: 'q',
    status: 'answered',
    entry_id: null,
    confidence: null,
    answer: null,
    event_id: null,
    created_at: at,
    answered_at: at + HOUR,
    answered_via: 'faq',
  });

/** Folds until a candidate has been promoted (no settling wait: the tests' folds are sequential). */
const settle = (db: Db) => {
  for (let i = 0; i < 3; i++) refreshDashboardRollups(db, { offsetMs: 8 * HOUR, settleMs: 0 });
};

const safeMark = (db: Db, table: string) => (db.prepare('SELECT value FROM dash_rollup_state WHERE name = ?').get(`safe_${table}`) as { value: number } | undefined)?.value ?? 0;

const ids = (db: Db, table: string) => (db.prepare(`SELECT id FROM ${table} ORDER BY id`).all() as { id: number }[]).map((r) => r.id);

describe.skipIf(!pgAdminUrl)('dashboard rollups with several writers on one PostgreSQL (KEQUN_TEST_PG_URL)', () => {
  const open: Db[] = [];
  const connect = (url: string) => {
    const db = openStore(url);
    open.push(db);
    return db;
  };
  afterEach(() => {
    for (const db of open.splice(0)) db.close();
  });

  it('a lower id committed after a fold moved past it is folded in by the next fold', () => {
    const url = freshPgUrl();
    const [a, b] = [connect(url), connect(url)];
    const { members, now } = seed(b);
    expectSameFigures(b, now);
    const [x, y] = [members[1]!, members[2]!];
    const later = now + 9 * DAY; // a week nobody was active in yet: a message there shows in retention
    const before = { t: ids(b, 'stage_transitions').at(-1)!, e: ids(b, 'events').at(-1)!, q: ids(b, 'questions').at(-1) ?? 0 };
    a.transaction(() => {
      // A takes the next ids and keeps its transaction open (a slow event in another process)...
      setStage(a, { memberId: x, to: 'paid', eventId: null, ruleId: null, actor: 'bot', now: later });
      message(a, 'late-a', x, later);
      question(a, x, later);
      // ...while B writes higher ids and commits, and a fold (a dashboard read) runs.
      setStage(b, { memberId: y, to: 'trial', eventId: null, ruleId: null, actor: 'bot', now: later });
      message(b, 'late-b', y, later);
      question(b, y, later);
      expectSameFigures(b, later);
    })();
    // A's rows have the lower ids and are visible only now.
    const [tA, tB] = ids(b, 'stage_transitions').filter((id) => id > before.t);
    expect(tA).toBeLessThan(tB!);
    expect(ids(b, 'events').filter((id) => id > before.e)).toHaveLength(2);
    expect(ids(b, 'questions').filter((id) => id > before.q)).toHaveLength(2);
    expectSameFigures(b, later);
    // A third connection's view agrees too (the rollups are in the database, not in B).
    expectSameFigures(connect(url), later);
  });

  it('a transaction open across several folds is still folded in when it commits (no wait for a time lag)', () => {
    const url = freshPgUrl();
    const [a, b] = [connect(url), connect(url)];
    const { members, now } = seed(b);
    const later = now + 9 * DAY;
    let idA = 0;
    a.transaction(() => {
      setStage(a, { memberId: members[4]!, to: 'paid', eventId: null, ruleId: null, actor: 'bot', now: later });
      message(a, 'long-a', members[4]!, later);
      idA = (a.prepare("SELECT id FROM events WHERE dedupe_key = 'long-a'").get() as { id: number }).id;
      // B keeps writing and folding, with no settling wait at all: the safe mark may only move
      // past A's ids once A's transaction has ended, however long it stays open.
      for (let i = 0; i < 4; i++) {
        message(b, `long-b${i}`, members[5 + i]!, later + i * MINUTE);
        refreshDashboardRollups(b, { offsetMs: 8 * HOUR, settleMs: 0 });
      }
      expect(safeMark(b, 'events')).toBeLessThan(idA);
      expectSameFigures(b, later);
    })();
    settle(b);
    // A has ended: the marks moved past its rows (the re-scanned window does not grow forever).
    expect(safeMark(b, 'events')).toBeGreaterThan(idA);
    expectSameFigures(b, later);
  });

  it('a transaction open in another database on the same server does not hold the folds back', () => {
    const url = freshPgUrl();
    const b = connect(url);
    // Another course's kequn (or another suite's tests) on the same PostgreSQL server: its
    // transaction ids are numbered with ours, but it can write no row in this database.
    const other = connect(freshPgUrl());
    const { members, now } = seed(b);
    const later = now + 9 * DAY;
    other.transaction(() => {
      resolveMember(other, { platform: 'wechat', platformId: 'elsewhere', displayName: 'X', initialStage: 'prospect', now: later });
      const lastB = message(b, 'while-other-open', members[6]!, later);
      settle(b);
      // Before, pg_snapshot_xmin (server-wide) stayed at the other transaction's id: no candidate
      // was ever promoted and the safe marks stood still until it ended.
      expect(safeMark(b, 'events')).toBeGreaterThanOrEqual(Number(lastB));
      expectSameFigures(b, later);
    })();
  });

  it('rows without ids written with an earlier time than the last fold saw are folded in', () => {
    const url = freshPgUrl();
    const [a, b] = [connect(url), connect(url)];
    const { members, now } = seed(b);
    const later = now + 9 * DAY;
    // B (clock right) writes a check-in, a join and a new member at `later`; folds (no settling
    // wait) move the safe time marks up to `later` less the clock slack.
    recordCheckinDay(b, { memberId: members[3]!, day: localDate(later, TZ), kind: 'checkin', groupId: 'python-101', note: '', eventId: null, now: later });
    recordJoin(b, { memberId: members[3]!, groupId: 'python-vip', inviterId: null, now: later });
    resolveMember(b, { platform: 'wechat', platformId: 'wb', displayName: 'B', initialStage: 'prospect', now: later });
    settle(b);
    expect(safeMark(b, 'checkins_at')).toBe(later - CLOCK_SLACK_MS);
    expect(safeMark(b, 'joined_at')).toBe(later - CLOCK_SLACK_MS);
    expect(safeMark(b, 'created_at')).toBe(later - CLOCK_SLACK_MS);
    expectSameFigures(b, later);
    // A's clock is 30 s behind: what it writes now carries times before the newest B wrote.
    const behind = later - 30_000;
    recordCheckinDay(a, { memberId: members[5]!, day: localDate(behind, TZ), kind: 'checkin', groupId: 'python-101', note: '', eventId: null, now: behind });
    recordJoin(a, { memberId: members[5]!, groupId: 'python-vip', inviterId: null, now: behind });
    const { member: newcomer } = resolveMember(a, { platform: 'wechat', platformId: 'wa', displayName: 'A', initialStage: 'prospect', now: behind });
    recordJoin(a, { memberId: newcomer.id, groupId: 'python-vip', inviterId: null, now: behind });
    settle(b);
    expectSameFigures(b, later);
    // A join and a check-in whose transaction stays open across folds (their time read before B's).
    a.transaction(() => {
      recordJoin(a, { memberId: members[7]!, groupId: 'python-vip', inviterId: null, now: later + MINUTE });
      recordCheckinDay(a, { memberId: members[7]!, day: localDate(later + MINUTE, TZ), kind: 'checkin', groupId: 'python-101', note: '', eventId: null, now: later + MINUTE });
      recordJoin(b, { memberId: members[8]!, groupId: 'python-vip', inviterId: null, now: later + 10 * MINUTE });
      settle(b);
      // The marks wait for A: they stay below A's rows however far B's times went.
      expect(safeMark(b, 'joined_at')).toBeLessThanOrEqual(later + MINUTE);
      expectSameFigures(b, later + 10 * MINUTE);
    })();
    settle(b);
    expect(safeMark(b, 'joined_at')).toBe(later + 10 * MINUTE - CLOCK_SLACK_MS);
    expectSameFigures(b, later + 10 * MINUTE);
  });

  it('a leave day turned into a check-in above the marks is folded in (same rows, changed in place)', () => {
    const url = freshPgUrl();
    const b = connect(url);
    const { members, now } = seed(b);
    const later = now + 9 * DAY;
    const day = localDate(later, TZ);
    recordCheckinDay(b, { memberId: members[3]!, day, kind: 'leave', groupId: 'python-101', note: '', eventId: null, now: later });
    expectSameFigures(b, later);
    // The same row, now a check-in: no row added above the marks, one leave day fewer.
    expect(recordCheckinDay(b, { memberId: members[3]!, day, kind: 'checkin', groupId: 'python-101', note: '', eventId: null, now: later + MINUTE })).toBe(true);
    expectSameFigures(b, later + MINUTE);
  });

  it('random interleavings: two writers, transactions open across folds, clocks 30 s apart', () => {
    const url = freshPgUrl();
    const [a, b] = [connect(url), connect(url)];
    const { members, now: start } = seed(b);
    const rnd = seededRandom(13);
    // Each writer has its own members (two processes never wait on each other's row locks here:
    // the test is synchronous, a wait would hang it).
    const own = { a: members.filter((_, i) => i % 2 === 0), b: members.filter((_, i) => i % 2 === 1) };
    let now = start;
    let n = 0;
    const PATH = ['trial', 'nurture', 'paid', 'churned', 'trial'];
    const write = (db: Db, who: 'a' | 'b') => {
      const at = who === 'a' ? now - Math.floor(rnd() * 30_000) : now; // A's clock is behind
      const id = own[who][Math.floor(rnd() * own[who].length)]!;
      const r = rnd();
      if (r < 0.1) {
        const { member } = resolveMember(db, { platform: 'wechat', platformId: `${who}${n++}`, displayName: 'N', initialStage: 'prospect', now: at });
        own[who].push(member.id);
        recordJoin(db, { memberId: member.id, groupId: 'python-101', inviterId: null, now: at });
      } else if (r < 0.3) {
        const stage = (db.prepare('SELECT stage FROM members WHERE id = ?').get(id) as { stage: string }).stage;
        setStage(db, { memberId: id, to: PATH[(PATH.indexOf(stage) + 1) % PATH.length]!, eventId: null, ruleId: null, actor: 'bot', now: at });
      } else if (r < 0.4) recordJoin(db, { memberId: id, groupId: rnd() < 0.5 ? 'python-vip' : 'python-101', inviterId: null, now: at });
      else if (r < 0.65) message(db, `r${n++}`, id, at);
      else if (r < 0.9) {
        const kind = rnd() < 0.3 ? 'leave' : 'checkin';
        recordCheckinDay(db, { memberId: id, day: localDate(at - (rnd() < 0.3 ? DAY : 0), TZ), kind, groupId: 'python-101', note: '', eventId: null, now: at });
      } else question(db, id, at);
    };
    const fold = () => refreshDashboardRollups(b, { offsetMs: 8 * HOUR, settleMs: 0 });
    for (let round = 0; round < 30; round++) {
      a.transaction(() => {
        for (let i = 0; i < 3; i++) write(a, 'a');
        for (let i = 0; i < 6; i++) {
          now += Math.floor(rnd() * 20 * MINUTE);
          write(b, 'b');
          if (rnd() < 0.4) fold();
        }
      })();
      if (round % 6 === 5) expectSameFigures(b, now);
    }
    fold();
    expectSameFigures(b, now);
    // The marks did move (the window does not grow without end): promotions happened.
    expect(safeMark(b, 'events')).toBeGreaterThan(0);
  });
});
