import { describe, expect, it } from 'vitest';
import { PermanentSendError } from '../../src/bot/outbox.js';
import { dropPendingForGroup } from '../../src/store/pauses.js';
import { forgetMember } from '../../src/store/privacy.js';
import { enqueueMessage } from '../../src/store/outbox.js';
import { compactDeltas, memberCount, statusCounts } from '../../src/store/status-counts.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import type { Db } from '../../src/store/db.js';
import { testBackend } from '../helpers/store.js';
import { DAY, HOUR, MINUTE, T0, drainOutbox, harness, joined, message, type Harness } from '../helpers/fixtures.js';

// /healthz reads status_counts (kept by triggers); these are the same figures counted by hand.
function byHand(db: Db, table: 'outbox' | 'jobs'): Record<string, number> {
  const rows = db.prepare(`SELECT status, COUNT(*) AS n FROM ${table} GROUP BY status ORDER BY status`).all() as { status: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

function expectCountsMatch(h: Harness): void {
  expect(statusCounts(h.db, 'outbox')).toEqual(byHand(h.db, 'outbox'));
  expect(statusCounts(h.db, 'jobs')).toEqual(byHand(h.db, 'jobs'));
  expect(memberCount(h.db)).toBe(Number((h.db.prepare('SELECT COUNT(*) AS n FROM members').get() as { n: number }).n));
}

function queue(h: Harness, chatId: string, text: string, opts: { dryRun?: boolean; groupId?: string; kind?: 'group' | 'dm' } = {}): number {
  return enqueueMessage(h.db, {
    platform: 'wechat',
    chatKind: opts.kind ?? 'dm',
    chatId,
    memberId: null,
    groupId: opts.groupId ?? null,
    text,
    priority: 'reply',
    notBefore: h.clock.now(),
    eventId: null,
    ruleId: null,
    dryRun: opts.dryRun ?? false,
    now: h.clock.now(),
    budget: null,
  });
}

describe('/healthz counts (status_counts)', () => {
  it('equal a count by hand after joins, sends, failures, retries, a pause, jobs run and a member forgotten', async () => {
    const h = harness();
    expectCountsMatch(h);
    expect(statusCounts(h.db, 'outbox')).toEqual({});

    // Three newcomers: their welcomes are queued and their drips planned as jobs.
    for (const u of ['alice', 'bob', 'carol']) h.engine.handleEvent(joined(u, { at: T0 }), T0);
    expect(memberCount(h.db)).toBe(3);
    expect(statusCounts(h.db, 'outbox').pending).toBeGreaterThanOrEqual(3);
    expect(statusCounts(h.db, 'jobs').pending).toBeGreaterThanOrEqual(3);
    expectCountsMatch(h);

    // The first two sends fail and are retried; everything then goes out.
    h.adapter.failNext(2);
    await drainOutbox(h, T0 + HOUR);
    expect(h.adapter.attempts.filter((a) => !a.ok)).toHaveLength(2);
    expect(statusCounts(h.db, 'outbox').pending).toBeUndefined();
    expect(statusCounts(h.db, 'outbox').sent).toBe(h.adapter.sent.length);
    expectCountsMatch(h);

    // A refusal for good, a message that fails until it runs out of attempts, a dry run.
    h.adapter.failNext(1, () => new PermanentSendError('blocked'));
    queue(h, 'dave', 'refused for good');
    await drainOutbox(h, h.clock.now() + HOUR);
    h.adapter.failWith = () => new Error('network down');
    queue(h, 'erin', 'never goes');
    await drainOutbox(h, h.clock.now() + DAY);
    h.adapter.failWith = undefined;
    queue(h, 'frank', 'rehearsal', { dryRun: true });
    const counts = statusCounts(h.db, 'outbox');
    expect([counts.failed, counts.dry_run]).toEqual([2, 1]);
    expectCountsMatch(h);

    // A paused group's queued messages are dropped in one UPDATE of many rows.
    for (let i = 0; i < 5; i++) queue(h, 'python-101@chatroom', `paused ${i}`, { kind: 'group', groupId: 'python-101' });
    expect(dropPendingForGroup(h.db, 'python-101', 'paused')).toBe(5);
    expectCountsMatch(h);

    // Jobs fall due and run (drips queue more messages); a message in the group from a member.
    h.clock.set(T0 + 3 * DAY);
    expect(h.engine.runDueJobs(h.clock.now())).toBeGreaterThan(0);
    h.engine.handleEvent(message('alice', '你好', { at: h.clock.now() }), h.clock.now());
    expectCountsMatch(h);
    await drainOutbox(h, h.clock.now() + HOUR);
    expectCountsMatch(h);

    // Forgetting a member cancels their jobs and fails their queued messages.
    h.engine.handleEvent(joined('gina', { at: h.clock.now() }), h.clock.now());
    const gina = findMemberByIdentity(h.db, 'wechat', 'gina')!;
    expect(forgetMember(h.db, gina.id, h.clock.now() + MINUTE)).toBeDefined();
    expectCountsMatch(h);

    // Rows deleted (a held send moves out of the outbox the same way) leave the counts too.
    h.db.prepare("DELETE FROM outbox WHERE status = 'dry_run'").run();
    expectCountsMatch(h);
    expect(statusCounts(h.db, 'outbox').dry_run).toBeUndefined();

    // PostgreSQL folds its deltas into the counts (every heartbeat); the figures stay the same.
    const folded = compactDeltas(h.db);
    expectCountsMatch(h);
    if (testBackend === 'postgres') {
      expect(folded).toBeGreaterThan(20);
      expect(Number((h.db.prepare('SELECT COUNT(*) AS n FROM status_deltas').get() as { n: number }).n)).toBe(0);
    } else expect(folded).toBe(0);
  });

  it('a rolled-back transaction leaves the counts as they were', () => {
    const h = harness();
    queue(h, 'alice', 'kept');
    expect(() =>
      h.db.transaction(() => {
        queue(h, 'bob', 'rolled back');
        throw new Error('abort');
      })(),
    ).toThrow('abort');
    expect(statusCounts(h.db, 'outbox')).toEqual({ pending: 1 });
    expectCountsMatch(h);
  });
});
