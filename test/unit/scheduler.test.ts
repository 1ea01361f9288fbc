import { describe, expect, it } from 'vitest';
import { buildRegistry } from '../../src/core/registry.js';
import { FEATURES as flows, registry } from '../../src/app.js';
import type { Feature } from '../../src/core/feature.js';
import { Kernel } from '../../src/core/kernel.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';

import { cancelJobs, jobsOf as allJobsOf, nextJobDueAt, planJob } from '../../src/store/jobs.js';
import { findMemberByIdentity, setStage, stageHistory, tagsOf } from '../../src/store/members.js';
import { DAY, FakeAdapter, HOUR, MINUTE, SECOND, T0, count, demoConfig, harness, joined, outboxRows, type Harness } from '../helpers/fixtures.js';

/** The demo's welcome also plans an inactivity watch (14d); these tests are about the other jobs. */
const jobsOf = (db: Parameters<typeof allJobsOf>[0], memberId: string) => allJobsOf(db, memberId).filter((j) => j.kind !== 'inactivity');
import { localMinuteOfDay } from '../../src/util/localtime.js';
import { openTestStore } from '../helpers/store.js';

function joinAlice(h: Harness, at = T0): string {
  h.engine.handleEvent(joined('alice', { at }), at);
  return findMemberByIdentity(h.db, 'wechat', 'alice')!.id;
}

describe('scheduler: drip lessons', () => {
  it('a step falls due: lesson 2 is queued privately as a proactive message, and the job is done', () => {
    const h = harness();
    const id = joinAlice(h);
    expect(h.engine.runDueJobs(T0 + DAY - 1)).toBe(0);
    expect(h.engine.runDueJobs(T0 + DAY)).toBe(1);
    const row = outboxRows(h.db).at(-1)!;
    expect(row).toMatchObject({ chat_kind: 'dm', chat_id: 'alice', priority: 'push', status: 'pending', rule_id: 'job:sequence.trial', not_before: T0 + DAY });
    expect(row.text).toMatch(/^📘 第2课 变量、列表与字典/);
    expect(jobsOf(h.db, id).map((j) => [j.status, j.note])).toEqual([
      ['done', 'lesson 2 sent'],
      ['pending', null],
    ]);
    expect(nextJobDueAt(h.db)).toBe(T0 + 2 * DAY);
  });

  it('a step is skipped when the member has moved out of the sequence stages', () => {
    const h = harness();
    const id = joinAlice(h);
    setStage(h.db, { memberId: id, to: 'paid', eventId: null, ruleId: null, actor: 'test', now: T0 + HOUR });
    h.engine.runDueJobs(T0 + DAY);
    expect(jobsOf(h.db, id)[0]).toMatchObject({ status: 'skipped', note: 'skipped: member is in stage paid, not trial' });
    expect(count(h.db, 'outbox')).toBe(3);
  });
});

describe('scheduler: jobs that fell due while kequn was down', () => {
  it('past the grace window (6h): skipped and recorded, nothing sent', () => {
    const h = harness();
    const id = joinAlice(h);
    const now = T0 + DAY + 7 * HOUR;
    expect(h.engine.runDueJobs(now)).toBe(1);
    const [first, second] = jobsOf(h.db, id);
    expect(first).toMatchObject({ status: 'skipped', finished_at: now, note: 'missed by 7h (grace 6h)' });
    expect(second!.status).toBe('pending'); // not due yet
    expect(count(h.db, 'outbox')).toBe(3);
  });

  it('within the grace window: runs once, late', () => {
    const h = harness();
    const id = joinAlice(h);
    const now = T0 + DAY + 5 * HOUR + 59 * MINUTE;
    expect(h.engine.runDueJobs(now)).toBe(1);
    expect(jobsOf(h.db, id)[0]).toMatchObject({ status: 'done', finished_at: now });
    expect(outboxRows(h.db).filter((o) => o.priority === 'push')).toHaveLength(1);
    expect(h.engine.runDueJobs(now + HOUR)).toBe(0);
    expect(outboxRows(h.db).filter((o) => o.priority === 'push')).toHaveLength(1);
  });

  it('exactly at the grace limit still runs', () => {
    const h = harness();
    const id = joinAlice(h);
    h.engine.runDueJobs(T0 + DAY + 6 * HOUR);
    expect(jobsOf(h.db, id)[0]!.status).toBe('done');
  });

  it('both steps overdue after a long outage: the stale one is skipped, the recent one runs', () => {
    const h = harness();
    const id = joinAlice(h);
    expect(h.engine.runDueJobs(T0 + 2 * DAY + HOUR)).toBe(2);
    expect(jobsOf(h.db, id).map((j) => j.status)).toEqual(['skipped', 'done']);
    expect(outboxRows(h.db).at(-1)!.text).toMatch(/第3课/);
  });
});

describe('scheduler: a job never runs twice', () => {
  it('running runDueJobs twice at the same time', () => {
    const h = harness();
    joinAlice(h);
    for (const t of [T0 + DAY, T0 + DAY, T0 + 2 * DAY, T0 + 2 * DAY, T0 + 3 * DAY]) h.engine.runDueJobs(t);
    expect(outboxRows(h.db).filter((o) => o.priority === 'push').map((o) => o.text.match(/第\d课/)![0])).toEqual(['第2课', '第3课']);
    expect(count(h.db, 'jobs', "status = 'done'")).toBe(2);
  });

  it('a job cancelled by an earlier job of the same run (a stale list) does not run', () => {
    // The stopper cancels the drip; the drip step was already listed as due in the same run. Its
    // handler writes the lesson, finishJob finds the job no longer pending, and the lesson is
    // rolled back rather than sent.
    const stopper: Feature = {
      name: 'stopper',
      jobs: [
        {
          kind: 'stopper',
          run(_payload, ctx) {
            return `cancelled ${cancelJobs(ctx.db, { memberId: ctx.member.id, kind: 'sequence.trial', now: ctx.now, note: 'stopped' })}`;
          },
        },
      ],
    };
    const h = harness({ registry: buildRegistry([...flows, stopper]) });
    const id = joinAlice(h);
    planJob(h.db, { kind: 'stopper.x', memberId: id, payload: { platform: 'wechat' }, dueAt: T0 + DAY - 1, now: T0 });
    h.engine.runDueJobs(T0 + DAY);
    expect(jobsOf(h.db, id).map((j) => [j.kind, j.status, j.note])).toEqual([
      ['stopper.x', 'done', 'cancelled 2'],
      ['sequence.trial', 'cancelled', 'stopped'],
      ['sequence.trial', 'cancelled', 'stopped'],
    ]);
    expect(outboxRows(h.db).filter((o) => o.priority === 'push')).toEqual([]);
  });
});

describe('scheduler: a failing job', () => {
  const boom: Feature = {
    name: 'boom',
    jobs: [
      {
        kind: 'boom',
        run(_payload, ctx) {
          // Effects first, then the failure: all of it must be rolled back.
          ctx.send({ to: 'dm', text: 'half-done', priority: 'push' });
          setStage(ctx.db, { memberId: ctx.member.id, to: 'nurture', eventId: null, ruleId: 'boom', actor: 'bot', now: ctx.now });
          ctx.db.prepare('INSERT INTO member_tags (member_id, tag, added_at) VALUES (?, ?, ?)').run(ctx.member.id, 'boomed', ctx.now);
          throw new Error('handler exploded');
        },
      },
    ],
  };

  it('is marked failed with its error, its effects are rolled back, and it is not retried', () => {
    const h = harness({ registry: buildRegistry([...flows, boom]) });
    const id = joinAlice(h);
    const jobId = planJob(h.db, { kind: 'boom.now', memberId: id, payload: { platform: 'wechat' }, dueAt: T0 + MINUTE, now: T0 })!;
    const outboxBefore = count(h.db, 'outbox');
    const historyBefore = stageHistory(h.db, id).length;

    expect(h.engine.runDueJobs(T0 + MINUTE)).toBe(1);
    const job = jobsOf(h.db, id).find((j) => j.id === jobId)!;
    expect(job).toMatchObject({ status: 'failed', note: 'handler exploded', finished_at: T0 + MINUTE });
    expect(count(h.db, 'outbox')).toBe(outboxBefore);
    expect(findMemberByIdentity(h.db, 'wechat', 'alice')!.stage).toBe('trial');
    expect(stageHistory(h.db, id)).toHaveLength(historyBefore);
    expect(tagsOf(h.db, id)).toEqual([]);
    expect(h.engine.runDueJobs(T0 + 2 * MINUTE)).toBe(0);
  });

  it('does not stop the other jobs due in the same run', () => {
    const h = harness({ registry: buildRegistry([...flows, boom]) });
    const id = joinAlice(h);
    planJob(h.db, { kind: 'boom.now', memberId: id, payload: { platform: 'wechat' }, dueAt: T0 + DAY - 1, now: T0 });
    expect(h.engine.runDueJobs(T0 + DAY)).toBe(2);
    expect(jobsOf(h.db, id).map((j) => [j.kind, j.status])).toEqual([
      ['boom.now', 'failed'],
      ['sequence.trial', 'done'],
      ['sequence.trial', 'pending'],
    ]);
  });

  it('a job with no handler, or for a member that is gone, fails with a reason', () => {
    const h = harness();
    const id = joinAlice(h);
    planJob(h.db, { kind: 'nosuch.thing', memberId: id, payload: {}, dueAt: T0, now: T0 });
    planJob(h.db, { kind: 'sequence.trial', memberId: 'm_gone', payload: { sequence: 'trial', step: 0 }, dueAt: T0, now: T0 });
    h.engine.runDueJobs(T0);
    const notes = h.db.prepare('SELECT kind, status, note FROM jobs WHERE due_at = ? ORDER BY id').all(T0) as { kind: string; status: string; note: string }[];
    expect(notes).toEqual([
      { kind: 'nosuch.thing', status: 'failed', note: 'no handler for job kind nosuch.thing' },
      { kind: 'sequence.trial', status: 'failed', note: 'member m_gone not found' },
    ]);
  });
});

describe('scheduler + outbox in virtual time (Kernel.runUntil, fake WeChat)', () => {
  async function kernelAt(start: number) {
    const db = openTestStore();
    const clock = new VirtualClock(start);
    const adapter = new FakeAdapter(clock);
    const kernel = new Kernel({ registry, config: { ...demoConfig(), digest: null }, db, clock, adapters: [adapter], log: silentLogger, live: false, random: () => 0 });
    await kernel.start();
    return { db, clock, adapter, kernel };
  }

  it('a join at 09:00 delivers welcome, DM and lesson 1 paced, then lessons 2 and 3 a day apart', async () => {
    const { clock, adapter, kernel } = await kernelAt(T0);
    await kernel.handle(joined('alice', { at: T0 }));
    await kernel.runUntil(T0 + 3 * DAY);
    expect(adapter.sent.map((s) => [s.chat.kind, s.at - T0])).toEqual([
      ['group', 0],
      ['dm', SECOND],
      ['dm', 3 * SECOND], // same chat as the DM before: the 2 s chat interval
      ['dm', DAY],
      ['dm', 2 * DAY],
    ]);
    expect(adapter.sent[3]!.text).toMatch(/第2课/);
    expect(adapter.sent[4]!.text).toMatch(/第3课/);
    expect(clock.now()).toBe(T0 + 3 * DAY);
    await kernel.stop();
  });

  it('a join at 23:00: replies go at once, the drip lesson due at 23:00 waits for the end of quiet hours', async () => {
    const late = Date.parse('2026-03-02T23:00:00+08:00');
    const { adapter, kernel } = await kernelAt(late);
    await kernel.handle(joined('alice', { at: late }));
    await kernel.runUntil(late + 2 * DAY - HOUR);
    expect(adapter.sent.slice(0, 3).every((s) => s.at - late < 10 * SECOND)).toBe(true);
    const lesson2 = adapter.sent[3]!;
    expect(lesson2.text).toMatch(/第2课/);
    expect(lesson2.at).toBe(Date.parse('2026-03-04T08:00:00+08:00'));
    expect(localMinuteOfDay(lesson2.at, 'Asia/Shanghai')).toBe(8 * 60);
    await kernel.stop();
  });

  it('on start, jobs missed while down run once if within grace, and the lesson goes out', async () => {
    const first = await kernelAt(T0);
    await first.kernel.handle(joined('alice', { at: T0 }));
    await first.kernel.runUntil(T0 + MINUTE);
    expect(first.adapter.sent).toHaveLength(3);
    await first.kernel.stop();

    // kequn was down from T0+1min until 3 hours after lesson 2 fell due.
    const restart = T0 + DAY + 3 * HOUR;
    const clock = new VirtualClock(restart);
    const adapter = new FakeAdapter(clock);
    const kernel = new Kernel({ registry, config: { ...demoConfig(), digest: null }, db: first.db, clock, adapters: [adapter], log: silentLogger, live: false, random: () => 0 });
    await kernel.start();
    expect(jobsOf(first.db, findMemberByIdentity(first.db, 'wechat', 'alice')!.id).map((j) => j.status)).toEqual(['done', 'pending']);
    await kernel.runUntil(restart + MINUTE);
    expect(adapter.sent.map((s) => [s.at, s.text.split('\n')[0]])).toEqual([[restart, '📘 第2课 变量、列表与字典']]);
    await kernel.stop();
  });
});
