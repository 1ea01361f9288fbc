import { describe, expect, it } from 'vitest';
import { enqueueMessage, queuedForDay, type DailyBudget, type Priority } from '../../src/store/outbox.js';
import { DAY, HOUR, MINUTE, SECOND, T0, drainOutbox, harness, joined, message, outboxRows, type Harness } from '../helpers/fixtures.js';

function queue(
  h: Harness,
  chatId: string,
  text: string,
  opts: { priority?: Priority; kind?: 'group' | 'dm'; memberId?: string | null; budget?: DailyBudget | null; notBefore?: number; dryRun?: boolean } = {},
): number {
  return enqueueMessage(h.db, {
    platform: 'wechat',
    chatKind: opts.kind ?? 'dm',
    chatId,
    memberId: opts.memberId ?? null,
    groupId: null,
    text,
    priority: opts.priority ?? 'reply',
    notBefore: opts.notBefore ?? h.clock.now(),
    eventId: null,
    ruleId: null,
    dryRun: opts.dryRun ?? false,
    now: h.clock.now(),
    budget: opts.budget ?? null,
  });
}

const budget = (cap: number, reserve = 0): DailyBudget => ({ cap, reserve, timezone: 'Asia/Shanghai' });
const row = (h: Harness, id: number) => outboxRows(h.db).find((r) => r.id === id)!;

describe('outbox lanes: urgent, then reply, then bulk and push', () => {
  it('a newcomer\'s welcome (urgent) is sent before 100 queued escalations (bulk), a reply before them too', async () => {
    const h = harness();
    for (let i = 0; i < 100; i++) queue(h, i % 2 ? 'teacher' : 'assistant-li', `escalation ${i}`, { priority: 'bulk' });
    queue(h, 'alice', 'an answer', { priority: 'reply' });
    queue(h, 'newbie', 'welcome', { priority: 'urgent' });
    await drainOutbox(h, T0 + 3 * SECOND);
    expect(h.adapter.sent.slice(0, 3).map((s) => s.text)).toEqual(['welcome', 'an answer', 'escalation 0']);
  });

  it('one member\'s 60 queued replies (in the group and privately) do not stand before another member\'s reply: they take turns', async () => {
    const h = harness();
    // Two chats, so the flooder's replies alone could keep the account busy every second.
    for (let i = 0; i < 60; i++) queue(h, i % 2 ? 'flooder' : 'room@chatroom', `about flooder ${i}`, { kind: i % 2 ? 'dm' : 'group', memberId: 'm-flooder' });
    queue(h, 'bob', 'to bob', { memberId: 'm-bob' });
    await drainOutbox(h, T0 + 5 * SECOND);
    // The flooder's oldest went first, then bob's: not the flooder's other 59.
    expect(h.adapter.sent.slice(0, 2).map((s) => s.text)).toEqual(['about flooder 0', 'to bob']);
  });

  it('in one group, replies about different members are different queues; each member\'s stay in order', async () => {
    const h = harness();
    for (let i = 0; i < 20; i++) queue(h, 'room@chatroom', `about flooder ${i}`, { kind: 'group', memberId: 'm-flooder' });
    queue(h, 'room@chatroom', 'about carol', { kind: 'group', memberId: 'm-carol' });
    await drainOutbox(h, T0 + HOUR);
    const texts = h.adapter.sent.map((s) => s.text);
    expect(texts.indexOf('about carol')).toBe(1);
    expect(texts.filter((t) => t.startsWith('about flooder'))).toEqual(Array.from({ length: 20 }, (_, i) => `about flooder ${i}`));
    // The group's pace is the group's: 2 s between any two of its messages.
    const times = h.adapter.sent.map((s) => s.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(2 * SECOND);
  });
});

describe('which lane a message takes', () => {
  it('a newcomer\'s welcome and a staff command\'s answer (the /dashboard login link) are urgent; a member\'s command and answers are replies; escalations to the staff are bulk', () => {
    const h = harness();
    const lanes = (from: number) => outboxRows(h.db).filter((r) => r.id > from).map((r) => [r.chat_id, r.priority, r.text.slice(0, 8)]);
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    expect(lanes(0).map((l) => l[1])).toEqual(['urgent', 'urgent', 'urgent']);
    let last = outboxRows(h.db).length;
    h.engine.handleEvent(message('principal', '/dashboard', { at: T0, dm: true }), T0);
    expect(lanes(last)).toEqual([['principal', 'urgent', '数据看板登录链接']]);
    last = outboxRows(h.db).length;
    h.engine.handleEvent(message('alice', '/whoami', { at: T0, dm: true }), T0);
    expect(lanes(last).map((l) => l[1])).toEqual(['reply']);
    last = outboxRows(h.db).length;
    h.engine.handleEvent(message('alice', '量子退火的哈密顿量怎么选？', { at: T0, dm: true }), T0);
    expect(lanes(last).map((l) => [l[0], l[1]])).toEqual([
      ['alice', 'reply'],
      ['teacher', 'bulk'],
      ['assistant-li', 'bulk'],
    ]);
  });
});

describe('outbox: the daily cap counts what is already queued', () => {
  it('a reply that does not fit is dropped with a record; the urgent lane may use the reserve', () => {
    const h = harness();
    const b = budget(5, 2);
    const ids = [0, 1, 2].map((i) => queue(h, `c${i}`, `reply ${i}`, { budget: b }));
    expect(ids.map((id) => row(h, id).status)).toEqual(['pending', 'pending', 'pending']);
    const over = queue(h, 'c3', 'reply 3', { budget: b });
    expect(row(h, over)).toMatchObject({ status: 'dropped', last_error: 'daily cap: no room on 2026-03-02 (3 of 5 for the reply lane)' });
    const bulk = queue(h, 'teacher', 'escalation', { budget: b, priority: 'bulk' });
    expect(row(h, bulk).status).toBe('dropped');
    expect([queue(h, 'n1', 'welcome 1', { budget: b, priority: 'urgent' }), queue(h, 'n2', 'welcome 2', { budget: b, priority: 'urgent' })].map((id) => row(h, id).status)).toEqual(['pending', 'pending']);
    expect(row(h, queue(h, 'n3', 'welcome 3', { budget: b, priority: 'urgent' })).status).toBe('dropped');
    // Dry-run rows are not sends: they neither count nor are refused.
    expect(row(h, queue(h, 'x', 'rehearsal', { budget: b, dryRun: true })).status).toBe('dry_run');
  });

  it('counts what was sent today and what is still queued, overdue included, but not what is due another day', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) queue(h, `c${i}`, `m${i}`);
    await drainOutbox(h, T0 + 2 * SECOND);
    expect(h.adapter.sent).toHaveLength(3);
    queue(h, 'late', 'overdue', { notBefore: T0 - HOUR });
    queue(h, 'tomorrow', 'tomorrow', { notBefore: T0 + DAY });
    const dayStart = Date.parse('2026-03-02T00:00:00+08:00');
    expect(queuedForDay(h.db, 'wechat', 0, dayStart, dayStart + DAY)).toBe(4);
    const b = budget(4);
    expect(row(h, queue(h, 'c9', 'one more', { budget: b })).status).toBe('dropped');
  });

  it('a proactive (push) message that does not fit is dropped too, and the next day has room again', async () => {
    const h = harness();
    const b = budget(2);
    queue(h, 'a', 'today 1', { budget: b });
    queue(h, 'b', 'today 2', { budget: b });
    const lesson = queue(h, 'c', 'lesson', { budget: b, priority: 'push' });
    expect(row(h, lesson)).toMatchObject({ status: 'dropped', last_error: 'daily cap: no room on 2026-03-02 (2 of 2 for the push lane)' });
    await drainOutbox(h, T0 + HOUR);
    expect(h.adapter.sent.map((s) => s.text)).toEqual(['today 1', 'today 2']);
    h.clock.set(Date.parse('2026-03-03T09:00:00+08:00'));
    expect(row(h, queue(h, 'c', 'tomorrow', { budget: b, priority: 'push' })).status).toBe('pending');
  });

  it('a fan-out is counted as it grows, not the whole day again for every message', () => {
    const h = harness();
    const b = budget(1500, 100);
    // One job's transaction, as a fan-out runs; the rows read once (row() reads them all each time).
    const ids = h.db.transaction(() => Array.from({ length: 1450 }, (_, i) => queue(h, `m${i}`, `nudge ${i}`, { budget: b, priority: 'push' })))();
    const status = new Map(outboxRows(h.db).map((r) => [r.id, r.status]));
    expect(ids.filter((id) => status.get(id) === 'pending')).toHaveLength(1400);
    // A minute on, the day is counted afresh: the same answer.
    h.clock.set(T0 + MINUTE);
    expect(row(h, queue(h, 'x', 'one more', { budget: b })).status).toBe('dropped');
    expect(row(h, queue(h, 'y', 'welcome', { budget: b, priority: 'urgent' })).status).toBe('pending');
  });
});
