/**
 * One member cannot drown the others (issue 22, item 2): floods through a real kequn on the
 * fixture course's default pacing and virtual time (test/helpers/flood.ts). The full-size soak is
 * the hostile drill's `flood` suite; these are the same attacks, smaller.
 */
import { describe, expect, it } from 'vitest';
import { dmFlood, floodKequn, groupFlood, soak, welcomeBehind } from '../helpers/flood.js';

const MINUTE = 60_000;

describe('a flood does not drown the others', () => {
  it('300 private questions in 5 s: a newcomer who joins meanwhile is welcomed within 10 s, the instructors get a handful of merged messages, sent + queued stays within the daily cap', { timeout: 60_000 }, async () => {
    const f = await floodKequn();
    try {
      const r = await dmFlood(f, { questions: 300, seconds: 5, joinAfter: 2500, settle: 10 * MINUTE });
      expect(r.welcomeGroupMs).toBeLessThanOrEqual(10_000);
      expect(r.welcomeDmMs).toBeLessThanOrEqual(10_000);
      // qa.escalation.member (3) questions reach them: the first at once, the other two merged, for each of the two.
      expect(r.staffMessages).toBe(4);
      // Told once per window ("转给老师"), not once per question.
      expect(r.toFlooder).toBe(1);
      expect(r.peak.queued).toBeLessThanOrEqual(r.peak.cap);
      const merged = f.app.sim!.sent.filter((s) => s.chatId === 'teacher').map((s) => s.text);
      expect(merged).toHaveLength(2);
      expect(merged[0]).toMatch(/^❓ Q\d+ 刷屏者（.*）提问：第 1 个问题/);
      expect(merged[1]).toMatch(/^❓ 2 个新问题：Q\d+、Q\d+\nQ\d+ 刷屏者（私信）：第 2 个问题.*\nQ\d+ 刷屏者（私信）：第 3 个问题.*\n回复：\/answer/);
    } finally {
      await f.stop();
    }
  });

  it('with 1,000 escalations queued for the instructors, a newcomer is welcomed within 10 s on the default pacing', { timeout: 60_000 }, async () => {
    const f = await floodKequn();
    try {
      const r = await welcomeBehind(f, { n: 1000 });
      expect(r.welcomeGroupMs).toBeLessThanOrEqual(10_000);
      expect(r.welcomeDmMs).toBeLessThanOrEqual(10_000);
    } finally {
      await f.stop();
    }
  });

  it('200 messages in a group with moderation on: the flooder is removed per the settings (two warnings, then out), escalations stay bounded', { timeout: 60_000 }, async () => {
    const f = await floodKequn();
    try {
      const r = await groupFlood(f, { messages: 200, seconds: 20, settle: 5 * MINUTE });
      // flood: 8 messages a minute is one offence, 16 a second, 24 the third: warnings: 2 → removed.
      expect(r.moderation).toEqual([
        { action: 'warn', reason: 'flood' },
        { action: 'warn', reason: 'flood' },
        { action: 'remove', reason: 'flood' },
      ]);
      expect(r.removed).toBe(true);
      expect(r.escalated).toBeLessThanOrEqual(3);
      // To each of the two instructors: an escalation, the rest of them merged, the removal report.
      expect(r.staffMessages).toBeLessThanOrEqual(6);
      // To the group: the answer "转给老师" once, one warning (the second is not announced within the minute), the removal.
      expect(r.toGroup).toBeLessThanOrEqual(3);
    } finally {
      await f.stop();
    }
  });

  it('a soak of 12 members chatting repetitively for 2 minutes, the removed coming back: one warning per member per window, one notice per removal, merged per minute, no member keys, a returning spammer out at the first offence', { timeout: 60_000 }, async () => {
    const f = await floodKequn();
    try {
      const r = await soak(f, { members: 12, minutes: 2, perSecond: 6, rejoinAfter: 30_000, afterRemoval: true });
      expect(r.messages).toBe(720);
      for (const [member, times] of r.warningsAnnounced) {
        for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, `${member}'s warnings`).toBeGreaterThanOrEqual(MINUTE);
      }
      expect(r.removals).toBeGreaterThan(12);
      expect(Object.fromEntries(r.removalNotices)).toEqual(Object.fromEntries(r.removalsLogged));
      for (let i = 1; i < r.groupModerationAt.length; i++) expect(r.groupModerationAt[i]! - r.groupModerationAt[i - 1]!).toBeGreaterThanOrEqual(MINUTE);
      expect(r.withMemberKeys).toEqual([]);
      expect(r.returningRemovals.length).toBeGreaterThan(0);
      expect(r.returningRemovals.filter((x) => x.warningsBetween > 0)).toEqual([]);
      // The bot's answer to a flood is not a flood.
      expect(r.queued).toBeLessThan(r.messages / 10);
    } finally {
      await f.stop();
    }
  });

  it('the daily cap counts what is queued: welcomes past it are dropped with a record, and sent + queued never passes it', { timeout: 60_000 }, async () => {
    // Without the staff's daily digest: the counts below are the newcomers' messages.
    const f = await floodKequn({ edit: (y) => y.replace('daily_cap: 1500', 'daily_cap: 30\n  reserve: 6').replace(/\n# The staff's daily digest[\s\S]*$/, '\n') });
    try {
      for (let i = 0; i < 15; i++) await f.join(`n${i}`, `新人${i}`);
      const rows = () => f.app.db.prepare('SELECT priority, status, last_error FROM outbox ORDER BY id').all() as { priority: string; status: string; last_error: string | null }[];
      // 15 newcomers × 3 welcome messages = 45: 30 fit today, the other 15 are dropped and say why.
      expect(rows().filter((r) => r.status === 'pending')).toHaveLength(30);
      const dropped = rows().filter((r) => r.status === 'dropped');
      expect(dropped).toHaveLength(15);
      for (const d of dropped) expect(d.last_error).toBe('daily cap: no room on 2026-03-02 (30 of 30 for the urgent lane)');
      // The next day brings the drip lessons of all fifteen: within that day's cap too.
      await f.runTo(Date.parse('2026-03-03T12:00:00+08:00'));
      expect(rows().filter((r) => r.priority === 'push' && r.status === 'sent')).toHaveLength(15);
      expect(f.peak.queued).toBeLessThanOrEqual(30);
    } finally {
      await f.stop();
    }
  });
});
