import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChatEvent, Platform } from '../../src/bot/events.js';
import { PlatformActions } from '../../src/bot/platform-actions.js';
import { loadConfig } from '../../src/app.js';
import { Kernel } from '../../src/core/kernel.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { Engine } from '../../src/core/engine.js';
import { registry } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { openStore } from '../../src/store/db.js';
import { getAnnouncement } from '../../src/flows/announce/store.js';
import { isGroupPaused } from '../../src/store/pauses.js';
import { roleChanges } from '../../src/store/staff-roles.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { FakeAdapter, HOUR, MINUTE, SECOND, T0, count, demoConfig, drainOutbox, harness, joined, message, outboxRows, removeTempDirs, replaceOnce, tempConfig, type Harness } from '../helpers/fixtures.js';
import { openTestStore } from '../helpers/store.js';
import { platformActions } from '../../src/store/platform-actions.js';
import { buildServices } from '../../src/core/registry.js';

afterAll(removeTempDirs);

const VIP = { id: 'python-vip@chatroom', name: 'Python 数据分析正式班' };

let n = 0;
function say(h: Harness, user: string, text: string, opts: { group?: { id: string; name: string }; name?: string; platform?: Platform } = {}) {
  const e: ChatEvent = {
    type: 'message',
    platform: opts.platform ?? 'wechat',
    eventId: `t:${++n}`,
    at: h.clock.now(),
    chat: opts.group ? { kind: 'group', group: opts.group } : { kind: 'dm' },
    user: { id: user, name: opts.name ?? user },
    text,
    mentionsBot: false,
    contentKind: 'text',
  };
  return h.engine.handleEvent(e, h.clock.now());
}

/** Messages queued to one chat since `afterId`. */
function sentTo(h: Harness, chatId: string, afterId = 0): string[] {
  return outboxRows(h.db)
    .filter((o) => o.chat_id === chatId && o.id > afterId)
    .map((o) => o.text);
}

const lastOutboxId = (h: Harness) => outboxRows(h.db).at(-1)?.id ?? 0;

/** Everything a staff command could change. */
const STATE_TABLES = ['staff_grants', 'role_changes', 'announcements', 'paused_groups', 'moderation_log', 'platform_actions', 'jobs', 'questions', 'faq_learned', 'member_tags', 'memberships', 'stage_transitions', 'dashboard_logins', 'cohort_members', 'cohort_moves', 'cohort_requests'];
const state = (h: Harness) => Object.fromEntries(STATE_TABLES.map((t) => [t, count(h.db, t)]));

/** Each staff command with arguments that would change something if it ran. */
const ATTEMPTS: Record<string, string> = {
  grant: 'alice instructor',
  revoke: 'teacher',
  announce: 'all 加我微信领优惠',
  confirm: '',
  cancel: '',
  announcements: 'cancel A1',
  remind: 'python-101 加我微信 at 20:00',
  pause: 'python-101',
  resume: 'python-101',
  stats: '',
  member: 'alice',
  pardon: 'alice',
  answer: 'Q1 假答案',
  faq: 'remove L1',
  // Other flows' staff commands are held to the same rule.
  referrals: 'alice',
  refcode: 'alice ABC123',
  stage: 'alice paid',
  tag: 'alice vip',
  homework: 'review H1 好',
  refund: 'o_fake 10 test',
  dashboard: '',
  defer: 'alice next 生病',
  deferrals: 'approve R1',
};

describe('staff commands: members are refused, by platform id', () => {
  it('covers every command a member may not run', () => {
    const staffOnly = [...registry.commands.values()].filter((c) => !c.roles.includes('member')).map((c) => c.name);
    expect(staffOnly.sort()).toEqual(Object.keys(ATTEMPTS).sort());
  });

  const senders: { label: string; user: string; name: string; platform?: Platform; group?: { id: string; name: string } }[] = [
    { label: 'a member', user: 'mallory', name: 'Mallory' },
    { label: "a member whose display name is the instructor's", user: 'mallory', name: '王老师' },
    { label: "a member whose display name is the owner's", user: 'mallory', name: '张校长' },
    { label: 'the instructor\'s id on the other platform (staff only on WeChat)', user: 'teacher', name: '王老师', platform: 'telegram' },
    { label: 'a member in a group that accepts staff commands', user: 'mallory', name: '王老师', group: VIP },
  ];
  for (const s of senders) {
    it(`refuses ${s.label}, for every command, changing nothing`, () => {
      const h = harness();
      h.engine.handleEvent(joined('alice', { at: T0, name: 'Alice' }), T0);
      h.engine.handleEvent(joined('mallory', { at: T0, name: s.name, group: VIP }), T0);
      // A preview of the instructor's is waiting: nobody else's /confirm may send it.
      say(h, 'teacher', '/announce all 正式公告', { name: '王老师' });
      expect(getAnnouncement(h.db, 1)?.status).toBe('preview');
      // The sender is known to the bot before (first sight creates a member; not a command's doing).
      say(h, s.user, '你好', { name: s.name, platform: s.platform, group: s.group });
      const before = state(h);
      for (const [name, args] of Object.entries(ATTEMPTS)) {
        const mark = lastOutboxId(h);
        const r = say(h, s.user, `/${name} ${args}`.trim(), { name: s.name, platform: s.platform, group: s.group });
        expect(r.status, name).toBe('handled');
        expect(r.fired, name).toEqual([]);
        const rows = outboxRows(h.db).filter((o) => o.id > mark);
        // Only the refusal, privately to the sender.
        expect(rows.map((o) => [o.chat_kind, o.chat_id, o.platform]), name).toEqual([['dm', s.user, s.platform ?? 'wechat']]);
        expect(rows[0]!.text, name).toBe(`你没有权限使用 /${name}。`);
      }
      expect(state(h)).toEqual(before);
      expect(getAnnouncement(h.db, 1)?.status).toBe('preview');
      const traces = h.db.prepare("SELECT COUNT(*) AS n FROM rule_traces WHERE rule_id LIKE 'command:%' AND matched = 0").get() as { n: number };
      expect(traces.n).toBe(Object.keys(ATTEMPTS).length);
    });
  }

  it('runs the same commands for the instructor by platform id, whatever their display name', () => {
    const h = harness();
    const r = say(h, 'teacher', '/stats', { name: '随便什么名字' });
    expect(r.fired).toEqual(['command:/stats']);
    expect(sentTo(h, 'teacher')[0]).toMatch(/^📊 全部群/);
  });
});

describe('roles granted by the owner', () => {
  it('grants and revokes, records both, and the grant takes effect by platform id', () => {
    const h = harness();
    h.engine.handleEvent(joined('bob', { at: T0, name: 'Bob' }), T0);
    expect(say(h, 'bob', '/stats', { name: 'Bob' }).fired).toEqual([]);
    expect(say(h, 'principal', '/grant bob assistant', { name: '张校长' }).fired).toEqual(['command:/grant']);
    expect(sentTo(h, 'bob').at(-1)).toMatch(/你已被设为「Python 数据分析训练营」的助教/);
    expect(say(h, 'bob', '/stats', { name: 'Bob' }).fired).toEqual(['command:/stats']);
    // An assistant cannot announce; an instructor can.
    expect(say(h, 'bob', '/announce all 你好', { name: 'Bob' }).fired).toEqual([]);
    say(h, 'principal', '/grant Bob instructor');
    expect(say(h, 'bob', '/announce all 你好', { name: 'Bob' }).fired).toEqual(['command:/announce']);
    say(h, 'principal', '/revoke bob');
    expect(say(h, 'bob', '/stats', { name: 'Bob' }).fired).toEqual([]);
    const bob = findMemberByIdentity(h.db, 'wechat', 'bob')!;
    expect(roleChanges(h.db, bob.id).map((c) => [c.action, c.role])).toEqual([
      ['grant', 'assistant'],
      ['grant', 'instructor'],
      ['revoke', 'instructor'],
    ]);
  });

  it('never creates an owner, never overrides config, and only owners grant', () => {
    const h = harness();
    h.engine.handleEvent(joined('bob', { at: T0, name: 'Bob' }), T0);
    say(h, 'teacher', '/whoami', { name: '王老师' });
    const mark = lastOutboxId(h);
    say(h, 'principal', '/grant bob owner');
    expect(sentTo(h, 'principal', mark)[0]).toMatch(/owners are set only in kequn.yaml[\s\S]*用法：\/grant/);
    say(h, 'principal', '/grant bob admin');
    expect(sentTo(h, 'principal', mark)[1]).toMatch(/unknown role "admin"/);
    say(h, 'principal', '/grant teacher assistant');
    expect(sentTo(h, 'principal', mark)[2]).toMatch(/在 kequn.yaml 里已是 instructor/);
    say(h, 'principal', '/revoke teacher');
    expect(sentTo(h, 'principal', mark)[3]).toMatch(/来自 kequn.yaml，不能用命令收回/);
    expect(say(h, 'teacher', '/grant bob instructor').fired).toEqual([]);
    expect(count(h.db, 'staff_grants')).toBe(0);
    expect(count(h.db, 'role_changes')).toBe(0);
  });

  it('refuses a grant by a display name two people share (a spoofer copying the teacher)', () => {
    const h = harness();
    h.engine.handleEvent(joined('mallory', { at: T0, name: '王老师' }), T0);
    say(h, 'teacher', '/whoami', { name: '王老师' });
    const mark = lastOutboxId(h);
    say(h, 'principal', '/grant 王老师 assistant');
    expect(sentTo(h, 'principal', mark)[0]).toMatch(/"王老师" matches 2 members/);
    expect(count(h.db, 'staff_grants')).toBe(0);
  });
});

describe('where staff commands run', () => {
  it('not in a group that does not accept them, yes in one that does, always in private', () => {
    const h = harness();
    const mark = lastOutboxId(h);
    expect(say(h, 'teacher', '/pause', { group: { id: 'python-101@chatroom', name: 'Python 入门体验群' } }).fired).toEqual([]);
    expect(sentTo(h, 'teacher', mark)[0]).toBe('这个群不接受 /pause，请私信我发送。');
    expect(isGroupPaused(h.db, 'python-101')).toBe(false);
    expect(say(h, 'teacher', '/pause', { group: VIP }).fired).toEqual(['command:/pause']);
    expect(isGroupPaused(h.db, 'python-vip')).toBe(true);
    expect(say(h, 'teacher', '/pause python-101').fired).toEqual(['command:/pause']);
    expect(isGroupPaused(h.db, 'python-101')).toBe(true);
  });

  it('a group of kind staff accepts them by default', () => {
    const dir = tempConfig({
      'kequn.yaml': (t) => replaceOnce(t, '\ngroups:\n', '\ngroups:\n  teachers:\n    name: 老师群\n    kind: staff\n'),
    });
    const h = harness({ config: loadConfig(dir, { env: {} }) });
    expect(say(h, 'assistant-li', '/stats', { group: { id: 'teachers@chatroom', name: '老师群' } }).fired).toEqual(['command:/stats']);
  });
});

describe('pause', () => {
  it('is kept in the store: after a restart the group is still paused, and pending group messages were dropped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-pause-'));
    try {
      const path = join(dir, 'kequn.db');
      const h = harness();
      const config = h.config;
      const engineOn = (db: ReturnType<typeof openStore>) => new Engine({ db, config: () => config, registry, log: silentLogger, services: () => buildServices(registry, { db: db, config: config }) });
      let db = openStore(path);
      let engine = engineOn(db);
      engine.handleEvent(joined('alice', { at: T0, name: 'Alice' }), T0);
      expect(count(db, 'outbox', "chat_kind = 'group' AND status = 'pending'")).toBe(1);
      engine.handleEvent(message('teacher', '/pause python-101', { at: T0, dm: true }), T0);
      expect(count(db, 'outbox', "chat_kind = 'group' AND status = 'pending'")).toBe(0);
      expect(count(db, 'outbox', "chat_kind = 'group' AND last_error LIKE 'group paused%'")).toBe(1);
      db.close();
      db = openStore(path);
      engine = engineOn(db);
      const r = engine.handleEvent(joined('bob', { at: T0 + MINUTE, name: 'Bob' }), T0 + MINUTE);
      expect(r.fired).toEqual([]);
      expect(count(db, 'outbox', "chat_id = 'python-101@chatroom' AND status = 'pending'")).toBe(0);
      expect(count(db, 'rule_traces', "rule_id = 'group:paused'")).toBe(1);
      engine.handleEvent(message('teacher', '/resume python-101', { at: T0 + MINUTE, dm: true }), T0 + MINUTE);
      expect(engine.handleEvent(joined('carol', { at: T0 + MINUTE, name: 'Carol' }), T0 + MINUTE).fired).toEqual(['welcome-newcomer', 'welcome-private']);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pause and scheduled work', () => {
  it("holds back another flow's scheduled group message (the daily check-in reminder) while paused", async () => {
    const db = openTestStore();
    const clock = new VirtualClock(T0);
    const adapter = new FakeAdapter(clock);
    const kernel = new Kernel({ registry, config: demoConfig(), db, clock, adapters: [adapter], log: silentLogger, live: false, random: () => 0 });
    await kernel.start();
    await kernel.handle(joined('carol', { at: T0, group: VIP }));
    await kernel.handle(message('teacher', '/pause python-vip', { at: T0, dm: true }));
    await kernel.runUntil(T0 + 12 * HOUR);
    expect(adapter.sent.filter((m) => m.chat.id === VIP.id)).toEqual([]);
    expect(count(db, 'rule_traces', "detail LIKE '%not sent: bot paused in python-vip%'")).toBeGreaterThan(0);
    await kernel.handle(message('teacher', '/resume python-vip', { at: clock.now(), dm: true }));
    await kernel.runUntil(clock.now() + 24 * HOUR);
    expect(adapter.sent.filter((m) => m.chat.id === VIP.id && m.text.includes('没打卡')).length).toBe(1);
    await kernel.stop();
  });
});

/** Runs jobs and the outbox on the virtual clock until `until`. */
async function runFor(h: Harness, ms: number): Promise<void> {
  const until = h.clock.now() + ms;
  while (h.clock.now() < until) {
    h.engine.runDueJobs(h.clock.now());
    await drainOutbox(h, h.clock.now());
    h.clock.set(Math.min(until, h.clock.now() + SECOND));
  }
}

describe('announcements going out', () => {
  it('are paced through the outbox, with progress and completion reported to the author', async () => {
    const h = harness();
    h.config = { ...h.config, announce: { confirm_within: 10 * MINUTE, progress_every: 5 * SECOND } };
    for (let i = 0; i < 12; i++) h.engine.handleEvent(joined(`s${i}`, { at: T0, name: `S${i}` }), T0);
    await drainOutbox(h, T0 + 10 * MINUTE);
    const mark = lastOutboxId(h);
    say(h, 'teacher', '/announce stage:trial {name} 同学，明晚直播');
    expect(sentTo(h, 'teacher', mark)[0]).toMatch(/私信 12 人/);
    say(h, 'teacher', '/confirm');
    const rows = outboxRows(h.db).filter((o) => o.rule_id === 'announce:A1');
    expect(rows.map((o) => o.chat_id).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `s${i}`).sort());
    expect(rows.every((o) => o.priority === 'push')).toBe(true);
    expect(rows.find((o) => o.chat_id === 's3')!.text).toBe('S3 同学，明晚直播');
    await runFor(h, 2 * MINUTE);
    const sentTimes = h.adapter.sent.filter((m) => m.text.endsWith('明晚直播')).map((m) => m.at);
    expect(sentTimes.length).toBe(12);
    // One account-wide interval (1 s) between sends: never a burst.
    for (let i = 1; i < sentTimes.length; i++) expect(sentTimes[i]! - sentTimes[i - 1]!).toBeGreaterThanOrEqual(1000);
    const reports = sentTo(h, 'teacher', mark).slice(2);
    expect(reports.some((t) => /A1 发送中：\d+\/12/.test(t))).toBe(true);
    expect(reports.at(-1)).toBe('✅ A1 发送完成：成功 12/12 条。');
    expect(getAnnouncement(h.db, 1)?.status).toBe('done');
  });

  it('can be cancelled mid-way: what was not sent yet is dropped', async () => {
    const h = harness();
    for (let i = 0; i < 6; i++) h.engine.handleEvent(joined(`s${i}`, { at: T0, name: `S${i}` }), T0);
    await drainOutbox(h, T0 + 10 * MINUTE);
    say(h, 'teacher', '/announce stage:trial 通知');
    say(h, 'teacher', '/confirm');
    await drainOutbox(h, h.clock.now() + 2 * SECOND);
    say(h, 'teacher', '/announcements cancel A1');
    await runFor(h, 2 * MINUTE);
    const delivered = h.adapter.sent.filter((m) => m.text === '通知').length;
    expect(delivered).toBeGreaterThan(0);
    expect(delivered).toBeLessThan(6);
    expect(getAnnouncement(h.db, 1)?.status).toBe('cancelled');
    expect(count(h.db, 'outbox', "rule_id = 'announce:A1' AND last_error LIKE 'announcement cancelled%'")).toBe(6 - delivered);
  });
});

describe('moderation', () => {
  const room = { id: 'python-101@chatroom', name: 'Python 入门体验群' };

  it('warns a repeated message, counts a flood as one offence per block of messages, and exempts staff', () => {
    const h = harness();
    h.engine.handleEvent(joined('rita', { at: T0, name: 'Rita' }), T0);
    for (let i = 0; i < 2; i++) expect(say(h, 'rita', '大家快来看我的新课程', { group: room }).fired).not.toContain('moderate-spam');
    expect(say(h, 'rita', '大家快来看我的新课程！', { group: room }).fired).toContain('moderate-spam');
    const log = h.db.prepare('SELECT action, reason FROM moderation_log ORDER BY id').all();
    expect(log).toEqual([{ action: 'warn', reason: 'repeat' }]);
    // Flood: 8 messages within a minute; the 8th is one offence. The 9th is part of the flood too
    // (moderated, so not answered) but not another offence: that takes 8 more.
    h.engine.handleEvent(joined('fred', { at: T0, name: 'Fred' }), T0);
    const fired = Array.from({ length: 9 }, (_, i) => say(h, 'fred', `第 ${i} 条`, { group: room }).fired.includes('moderate-spam'));
    expect(fired).toEqual([false, false, false, false, false, false, false, true, true]);
    const fredLog = () => h.db.prepare("SELECT m.action, m.reason FROM moderation_log m JOIN identities i ON i.member_id = m.member_id WHERE i.platform_id = 'fred' ORDER BY m.id").all();
    expect(fredLog()).toEqual([{ action: 'warn', reason: 'flood' }]);
    // Staff may post anything.
    for (let i = 0; i < 10; i++) expect(say(h, 'teacher', 'http://anything.top 作业答案', { group: room }).fired).not.toContain('moderate-spam');
    // Groups without moderation: true are left alone.
    h.engine.handleEvent(joined('vic', { at: T0, name: 'Vic' }), T0);
    const off = { ...h.config, groups: { ...h.config.groups, 'python-101': { ...h.config.groups['python-101']!, moderation: false } } };
    h.config = off;
    expect(say(h, 'vic', '加微信 abcdef123', { group: room }).fired).not.toContain('moderate-spam');
  });

  it('removes after the warnings where the adapter can; records "unsupported" where it cannot; logs evidence', async () => {
    const h = harness();
    h.engine.handleEvent(joined('sam', { at: T0, name: 'Sam' }), T0);
    for (const t of ['加微信 sam12345', 'http://x.top', '代开发票']) say(h, 'sam', t, { group: room });
    const log = h.db.prepare('SELECT action, reason, evidence FROM moderation_log ORDER BY id').all() as { action: string; reason: string; evidence: string }[];
    expect(log.map((l) => [l.action, l.reason])).toEqual([
      ['warn', 'contact'],
      ['warn', 'link'],
      ['remove', 'keyword'],
    ]);
    expect(log[2]!.evidence).toBe('代开发票 | 代开发票');
    const actions = new PlatformActions({ db: h.db, clock: h.clock, adapters: new Map([['wechat', h.adapter]]), log: silentLogger });
    await actions.dispatch();
    // The fake wire can neither delete nor remove.
    expect(platformActions(h.db).map((a) => [a.action, a.status])).toEqual([
      ['delete_message', 'unsupported'],
      ['delete_message', 'unsupported'],
      ['delete_message', 'unsupported'],
      ['remove_member', 'unsupported'],
    ]);
    // A wire that can remove does it, once.
    const removed: string[] = [];
    Object.assign(h.adapter, { removeMember: async (chat: string, user: string) => void removed.push(`${chat}|${user}`) });
    h.engine.handleEvent(joined('tom', { at: T0, name: 'Tom' }), T0);
    h.config = { ...h.config, moderation: { ...h.config.moderation, warnings: 0, delete: false } };
    say(h, 'tom', '刷单兼职 代开发票', { group: room });
    await actions.dispatch();
    await actions.dispatch();
    expect(removed).toEqual(['python-101@chatroom|tom']);
    expect(platformActions(h.db).at(-1)).toMatchObject({ action: 'remove_member', status: 'done', user_id: 'tom' });
  });
});
