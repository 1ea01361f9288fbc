import { afterAll, describe, expect, it } from 'vitest';
import { FEATURES, loadConfig } from '../../src/app.js';
import { syncStanding } from '../../src/core/schedule/standing.js';
import type { CourseConfig } from '../../src/core/types.js';
import { timelineLines } from '../../src/flows/timeline/view.js';
import { inTransaction } from '../../src/store/db.js';
import { findMemberByIdentity, recordJoin, resolveMember } from '../../src/store/members.js';
import { nextJobDueAt } from '../../src/store/jobs.js';
import { fmtLocal } from '../../src/util/localtime.js';
import { drainOutbox, harness, HOUR, joined, message, removeTempDirs, tempConfig, type Harness } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

const TRIAL = { id: 'python-101@chatroom', name: 'Python 入门体验群' };
const VIP = { id: 'python-vip@chatroom', name: 'Python 数据分析正式班' };

/** c3: Monday 2026-03-16 for 2 weeks (ends 2026-03-30 00:00), both groups. */
const COHORT = `
cohorts:
  - { id: c3, name: 第3期, start: "2026-03-16", weeks: 2, groups: [python-101, python-vip] }
`;

// Every text starts with 【SOP】 so the course's other messages (check-ins, homework) are told apart.
const TIMELINE = `timeline:
  - { id: preview, when: "-1d 20:00", to: trial, text: "【SOP】preview 明天{cohort}开营" }
  - { id: open, when: "0d 09:00", to: groups, text: "【SOP】open {group}：{cohort}开营啦" }
  - { id: live, when: "every tue,thu 19:30 until end", to: paid, text: "【SOP】live 今晚直播（{timeline.live.time}）" }
  - { id: close, when: "+13d 10:00", to: paid, text: "【SOP】close 结营" }
  - { id: survey, when: "+13d 10:30", to: { stage: STAGE }, text: "【SOP】survey {name}，问卷：https://example.com/s" }
`;

function course(timeline = TIMELINE, stage = 'prospect'): CourseConfig {
  return loadConfig(tempConfig({ 'kequn.yaml': (t) => t + COHORT, 'timeline.yaml': timeline.replace('STAGE', stage) }), { env: {} });
}

const START = Date.parse('2026-03-10T09:00:00+08:00');

function timelineJobs(h: Harness): { status: string; due_at: number; note: string | null; payload: string }[] {
  return h.db.prepare("SELECT status, due_at, note, payload FROM jobs WHERE kind = 'timeline.send' ORDER BY due_at, id").all() as never;
}

/** Runs due jobs and the outbox as the kernel does, in virtual time, until `until`. */
async function runUntil(h: Harness, until: number): Promise<void> {
  for (let guard = 0; guard < 100_000; guard++) {
    h.engine.runDueJobs(h.clock.now());
    await h.outbox.dispatch();
    const next = Math.min(nextJobDueAt(h.db) ?? Infinity, h.outbox.nextWakeAt() ?? Infinity);
    if (next > until) break;
    h.clock.set(Math.max(next, h.clock.now()));
  }
  h.clock.set(Math.max(until, h.clock.now()));
}

/** What the timeline sent: `MM-DD HH:MM chat text-head`, local time, sorted (two chats in one minute go in pacing's order). */
function sops(h: Harness): string[] {
  return h.adapter.sent
    .filter((s) => s.text.startsWith('【SOP】'))
    .map((s) => `${fmtLocal(s.at, 'Asia/Shanghai').slice(5)} ${s.chat.id} ${s.text.split(' ')[0]!.slice(5)}`)
    .sort();
}

function setup(config: CourseConfig): Harness {
  const h = harness({ config, start: START });
  for (const [u, g] of [['alice', VIP], ['bob', VIP], ['carol', TRIAL], ['teacher', VIP]] as const) h.engine.handleEvent(joined(u, { at: START, group: g }), START);
  return h;
}

describe('timeline: planning and sending', () => {
  it('plans one job per future occurrence, once; sends each at its local time, once, through the outbox', async () => {
    const config = course();
    const h = setup(config);
    syncStanding(h.db, FEATURES, config, h.clock.now());
    // By hand: preview 1 + open 1 + live (Tue/Thu 3-17, 3-19, 3-24, 3-26) 4 + close 1 + survey 1 = 8.
    expect(timelineJobs(h)).toHaveLength(8);
    expect(syncStanding(h.db, FEATURES, config, h.clock.now())).toEqual({ planned: 0, cancelled: 0 });
    expect(timelineJobs(h)).toHaveLength(8);

    await runUntil(h, Date.parse('2026-03-31T00:00:00+08:00'));
    // Group messages go out at their minute (pacing: 1 s per account, 2 s per chat); the survey
    // goes privately to the cohort's members in the stage: alice and bob (prospect: they joined the
    // paid group without paying), not carol (moved to trial by joining the trial group) nor the
    // teacher (staff).
    expect(sops(h)).toEqual([
      '03-15 20:00 python-101@chatroom preview',
      '03-16 09:00 python-101@chatroom open',
      '03-16 09:00 python-vip@chatroom open',
      '03-17 19:30 python-vip@chatroom live',
      '03-19 19:30 python-vip@chatroom live',
      '03-24 19:30 python-vip@chatroom live',
      '03-26 19:30 python-vip@chatroom live',
      '03-29 10:00 python-vip@chatroom close',
      '03-29 10:30 alice survey',
      '03-29 10:30 bob survey',
    ]);
    const open = h.adapter.sent.filter((s) => s.text.includes('open'));
    expect(open.map((s) => s.text).sort()).toEqual(['【SOP】open Python 入门体验群：第3期开营啦', '【SOP】open Python 数据分析正式班：第3期开营啦']);
    expect(h.adapter.sent.find((s) => s.text.includes('live'))!.text).toBe('【SOP】live 今晚直播（每周二、周四 19:30）');
    expect(h.adapter.sent.find((s) => s.chat.id === 'alice' && s.text.includes('survey'))!.text).toBe('【SOP】survey alice，问卷：https://example.com/s');
    expect(timelineJobs(h).map((j) => j.status)).toEqual(Array(8).fill('done'));
  });

  it("a private entry skips a member deferred (延期) to another cohort while still in this one's group", async () => {
    const config = loadConfig(
      tempConfig({
        'kequn.yaml': (t) => t + COHORT + '  - { id: c4, name: 第4期, start: "2026-05-11", weeks: 2, groups: [] }\n',
        'timeline.yaml': TIMELINE.replace('STAGE', 'prospect'),
      }),
      { env: {} },
    );
    const h = setup(config);
    const bob = findMemberByIdentity(h.db, 'wechat', 'bob')!.id;
    // Staff deferred bob to 第4期 (the cohorts service, as /defer does); he is still in python-vip.
    inTransaction(h.db, () => h.services.cohorts!.assign(h.db, { memberId: bob, cohortId: 'c4', source: 'defer', reason: '出差', by: null, now: START }));
    expect(h.services.cohorts!.memberCohort(h.db, bob)?.id).toBe('c4');
    syncStanding(h.db, FEATURES, config, h.clock.now());
    await runUntil(h, Date.parse('2026-03-31T00:00:00+08:00'));
    // By hand: the survey of 第3期 goes to alice only; bob still hears the paid group's messages.
    expect(sops(h).filter((l) => l.endsWith('survey'))).toEqual(['03-29 10:30 alice survey']);
    expect(sops(h).filter((l) => l.includes('python-vip@chatroom live'))).toHaveLength(4);
  });

  it('a private entry reaches a member deferred INTO the cohort who is not in its groups yet (membership, not groups)', async () => {
    const config = course();
    const h = setup(config);
    // Dave paid for 第2期 long ago and was moved to 第3期 (/defer); he is in none of its groups.
    const dave = inTransaction(h.db, () => {
      const { member } = resolveMember(h.db, { platform: 'wechat', platformId: 'dave', displayName: 'Dave', initialStage: 'prospect', now: START });
      h.services.cohorts!.assign(h.db, { memberId: member.id, cohortId: 'c3', source: 'defer', reason: '从第2期延期', by: null, now: START });
      return member.id;
    });
    expect(h.services.cohorts!.memberCohort(h.db, dave)?.id).toBe('c3');
    syncStanding(h.db, FEATURES, config, h.clock.now());
    await runUntil(h, Date.parse('2026-03-31T00:00:00+08:00'));
    // By hand: the prospects of 第3期 are alice and bob (joined its paid group) and dave (moved
    // in); carol's trial join moved her on, the teacher is staff. No group message reaches dave.
    expect(sops(h).filter((l) => l.endsWith('survey'))).toEqual(['03-29 10:30 alice survey', '03-29 10:30 bob survey', '03-29 10:30 dave survey']);
    expect(sops(h).filter((l) => l.includes(' dave ') && !l.endsWith('survey'))).toEqual([]);
  });

  it('a config change re-plans without duplicates: moved, removed, added; a sent one-off moved later is not sent again', async () => {
    const config = course();
    const h = setup(config);
    syncStanding(h.db, FEATURES, config, h.clock.now());
    // Through the preview and the opening (Monday 3-16, 12:00).
    await runUntil(h, Date.parse('2026-03-16T12:00:00+08:00'));
    expect(sops(h)).toHaveLength(3);

    // The seller moves the live class to 20:00, the preview (already sent) to 21:00 the same
    // evening, drops the closing message and adds a homework notice each Monday.
    const edited = course(
      TIMELINE.replace('every tue,thu 19:30', 'every tue,thu 20:00')
        .replace('"-1d 20:00"', '"+1d 21:00"')
        .replace(/ {2}- \{ id: close.*\n/, '')
        .concat('  - { id: homework, when: "every mon 18:00 from +7d", to: paid, text: "【SOP】homework 本周作业" }\n'),
    );
    h.config = edited;
    const r = syncStanding(h.db, FEATURES, edited, h.clock.now());
    // Cancelled by hand: 4 live at 19:30 + close = 5; planned: 4 live at 20:00 + preview at 3-17 21:00 + homework (Mon 3-23) = 6.
    expect(r).toEqual({ planned: 6, cancelled: 5 });
    expect(syncStanding(h.db, FEATURES, edited, h.clock.now())).toEqual({ planned: 0, cancelled: 0 });

    await runUntil(h, Date.parse('2026-03-31T00:00:00+08:00'));
    expect(sops(h)).toEqual([
      '03-15 20:00 python-101@chatroom preview',
      '03-16 09:00 python-101@chatroom open',
      '03-16 09:00 python-vip@chatroom open',
      '03-17 20:00 python-vip@chatroom live',
      '03-19 20:00 python-vip@chatroom live',
      '03-23 18:00 python-vip@chatroom homework',
      '03-24 20:00 python-vip@chatroom live',
      '03-26 20:00 python-vip@chatroom live',
      '03-29 10:30 alice survey',
      '03-29 10:30 bob survey',
    ]);
    const moved = timelineJobs(h).find((j) => j.due_at === Date.parse('2026-03-17T21:00:00+08:00'))!;
    expect(moved.status).toBe('skipped');
    expect(moved.note).toMatch(/already sent/);
  });

  it("a cohort's start moved re-plans its occurrences", () => {
    const config = course();
    const h = setup(config);
    syncStanding(h.db, FEATURES, config, h.clock.now());
    const later = loadConfig(tempConfig({ 'kequn.yaml': (t) => t + COHORT.replace('2026-03-16', '2026-03-23'), 'timeline.yaml': TIMELINE.replace('STAGE', 'prospect') }), { env: {} });
    // A week later: preview 3-22, open 3-23, live 3-24 3-26 3-31 4-02, close and survey 4-05. The
    // lives of 3-24 and 3-26 were planned already (same time): 6 cancelled, 6 planned.
    expect(syncStanding(h.db, FEATURES, later, h.clock.now())).toEqual({ planned: 6, cancelled: 6 });
    expect(timelineJobs(h).filter((j) => j.status === 'pending')).toHaveLength(8);
    const pending = timelineJobs(h).filter((j) => j.status === 'pending');
    expect(fmtLocal(pending[0]!.due_at, 'Asia/Shanghai')).toBe('2026-03-22 20:00');
  });

  it('a send that fell due while kequn was down follows scheduler.grace (6 h in the test course)', async () => {
    const config = course();
    const h = setup(config);
    syncStanding(h.db, FEATURES, config, h.clock.now());
    // Down from before the preview (3-15 20:00) until 3-16 01:00 (5 h late): still sent.
    h.clock.set(Date.parse('2026-03-16T01:00:00+08:00'));
    await runUntil(h, h.clock.now());
    // Down again over the first live class (3-17 19:30) until 3-18 02:00 (6.5 h late): skipped.
    await runUntil(h, Date.parse('2026-03-17T12:00:00+08:00'));
    h.clock.set(Date.parse('2026-03-18T02:00:00+08:00'));
    await runUntil(h, Date.parse('2026-03-18T12:00:00+08:00'));
    // The late preview went out at once, but not in quiet hours (22:00–08:00): at 08:00.
    expect(sops(h)).toEqual(['03-16 08:00 python-101@chatroom preview', '03-16 09:00 python-101@chatroom open', '03-16 09:00 python-vip@chatroom open']);
    const live = timelineJobs(h).find((j) => j.due_at === Date.parse('2026-03-17T19:30:00+08:00'))!;
    expect(live.status).toBe('skipped');
    expect(live.note).toMatch(/missed by 6h30m/);
  });

  it('staff pause, resume and skip from chat; members may not; the listing says what became of each', async () => {
    const config = course();
    const h = setup(config);
    syncStanding(h.db, FEATURES, config, h.clock.now());
    const say = (who: string, text: string) => {
      const before = h.adapter.sent.length;
      h.engine.handleEvent(message(who, text, { at: h.clock.now(), dm: true }), h.clock.now());
      return drainOutbox(h, h.clock.now() + HOUR).then(() => h.adapter.sent.slice(before).filter((s) => s.chat.id === who).map((s) => s.text).join('\n'));
    };
    expect(await say('alice', '/timeline pause live')).toBe('你没有权限使用 /timeline。');
    expect(await say('teacher', '/timeline pause live')).toMatch(/^已暂停 live（所有期次）/);
    expect(await say('teacher', '/timeline skip preview')).toBe('已跳过：3月15日（周日）20:00 preview（第3期）。撤销：/timeline unskip preview 2026-03-15');
    expect(await say('teacher', '/timeline skip live 3月19日')).toMatch(/^已跳过：3月19日（周四）19:30 live（第3期）/);
    expect(await say('teacher', '/timeline skip lve')).toMatch(/没有这个群 SOP 条目：lve/);
    expect(await say('teacher', '/timeline skip live 3-18')).toMatch(/在 3-18 没有要发送的消息/);

    // The pause holds over Tuesday's class; resumed, Thursday's is the skipped one; the next Tuesday goes out.
    await runUntil(h, Date.parse('2026-03-18T12:00:00+08:00'));
    expect(await say('principal', '/timeline resume live')).toBe('已恢复 live（所有期次）：之后的消息到点照常发送。');
    await runUntil(h, Date.parse('2026-03-25T00:00:00+08:00'));
    expect(sops(h).filter((s) => /preview|live/.test(s))).toEqual(['03-24 19:30 python-vip@chatroom live']);

    const listing = await say('assistant-li', '/timeline');
    expect(listing).toContain('第3期（c3）：3月16日（周一）00:00 开营，3月30日（周一）00:00 结营');
    // In chat: the last thing that happened, then what comes.
    expect(listing.split('\n')[1]).toBe('  3月24日（周二）19:30  live → 正式班「Python 数据分析正式班」  已发送');
    expect(listing).toContain('3月24日（周二）19:30  live → 正式班「Python 数据分析正式班」  已发送');
    expect(listing).toContain('3月26日（周四）19:30  live → 正式班「Python 数据分析正式班」  待发送');
    // The whole listing (kequn timeline) says what became of each.
    const all = timelineLines(h.db, h.config, h.clock.now()).join('\n');
    expect(all).toContain('3月15日（周日）20:00  preview → 体验群「Python 入门体验群」  已跳过  「【SOP】preview 明天第3期开营」');
    expect(all).toContain('3月17日（周二）19:30  live → 正式班「Python 数据分析正式班」  未发送（当时已暂停）');
    expect(all).toContain('3月19日（周四）19:30  live → 正式班「Python 数据分析正式班」  已跳过');
    expect(all).toContain('3月16日（周一）09:00  open → 全部群「Python 入门体验群」「Python 数据分析正式班」  已发送');
    expect(h.db.prepare("SELECT occurrence, mark FROM timeline_marks WHERE entry_id = 'live' ORDER BY occurrence").all()).toEqual([
      { occurrence: '2026-03-17', mark: 'paused' },
      { occurrence: '2026-03-19', mark: 'skip' },
      { occurrence: '2026-03-24', mark: 'sent' },
    ]);
  });

  it("a group where staff paused the bot (/pause) hears nothing, and the listing says so", async () => {
    const config = course();
    const h = setup(config);
    syncStanding(h.db, FEATURES, config, h.clock.now());
    h.engine.handleEvent(message('teacher', '/pause python-vip', { at: h.clock.now(), dm: true }), h.clock.now());
    await runUntil(h, Date.parse('2026-03-18T00:00:00+08:00'));
    // The trial group still gets its messages; the paid group's opening and Tuesday's class are held.
    expect(sops(h)).toEqual(['03-15 20:00 python-101@chatroom preview', '03-16 09:00 python-101@chatroom open']);
    const all = timelineLines(h.db, h.config, h.clock.now()).join('\n');
    expect(all).toContain('3月17日（周二）19:30  live → 正式班「Python 数据分析正式班」  未发送（当时已暂停）');
    expect(all).toContain('3月16日（周一）09:00  open → 全部群「Python 入门体验群」「Python 数据分析正式班」  已发送');
  });

  it('a private entry reaches the members of the stage only, page by page, once each', async () => {
    const config = course(TIMELINE, 'nurture');
    const h = setup(config);
    // Bob and the teacher in nurture (the teacher is staff: left out); then 1,000 more nurture
    // members in the paid group, so the fan-out takes three pages of 500.
    h.db.prepare("UPDATE members SET stage = 'nurture' WHERE id IN (SELECT member_id FROM identities WHERE platform_id IN ('bob', 'teacher'))").run();
    inTransaction(h.db, () => {
      for (let n = 0; n < 1000; n++) {
        const { member } = resolveMember(h.db, { platform: 'wechat', platformId: `s${n}`, displayName: `学员${n}`, initialStage: 'nurture', now: START });
        recordJoin(h.db, { memberId: member.id, groupId: 'python-vip', inviterId: null, now: START });
      }
    });
    syncStanding(h.db, FEATURES, config, h.clock.now());
    // Straight to the survey's minute (what fell due before is past its grace and skipped); the
    // queued messages are counted in the outbox (sending 1,001 paced ones takes 17 virtual minutes).
    h.clock.set(Date.parse('2026-03-29T10:30:00+08:00'));
    while (h.engine.runDueJobs(h.clock.now()) > 0);
    const survey = h.db.prepare("SELECT chat_id FROM outbox WHERE text LIKE '%survey%'").all() as { chat_id: string }[];
    expect(survey).toHaveLength(1001);
    expect(new Set(survey.map((s) => s.chat_id)).size).toBe(1001);
    expect(survey.some((s) => s.chat_id === 'bob')).toBe(true);
    expect(survey.some((s) => s.chat_id === 'teacher' || s.chat_id === 'alice')).toBe(false);
    // The occurrence's job and two continuation pages of 500 members each (the teacher is in one
    // of them, left out): 1,001 messages; only the last page says nothing more is to come.
    const notes = timelineJobs(h).filter((j) => j.note?.includes('survey')).map((j) => j.note!);
    expect(notes).toHaveLength(3);
    expect(notes.map((n) => Number(/: (\d+) private/.exec(n)![1])).reduce((a, b) => a + b)).toBe(1001);
    expect(notes.map((n) => n.endsWith('more to come'))).toEqual([true, true, false]);
  });
});
