import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cleanText, MAX_TEXT_CHARS } from '../../src/bot/events.js';
import { loadConfig } from '../../src/app.js';
import { parseCommand } from '../../src/core/engine.js';
import { buildRegistry } from '../../src/core/registry.js';
import { FEATURES as flows } from '../../src/app.js';
import type { CondResult } from '../../src/core/rules/conditions.js';
import type { Feature } from '../../src/core/feature.js';
import { recentTraces, tracesOfEvent } from '../../src/store/traces.js';
import { jobsOf as allJobsOf } from '../../src/store/jobs.js';
import { findMemberByIdentity, getMembership, stageHistory, tagsOf, type Member } from '../../src/store/members.js';
import {
  DAY,
  HOUR,
  MINUTE,
  T0,
  count,
  demoConfig,
  harness,
  joined,
  left,
  message,
  outboxRows,
  removeTempDirs,
  tempConfig,
  type Harness,
} from '../helpers/fixtures.js';

/** The demo's welcome also plans an inactivity watch (14d); these tests are about the other jobs. */
const jobsOf = (db: Parameters<typeof allJobsOf>[0], memberId: string) => allJobsOf(db, memberId).filter((j) => j.kind !== 'inactivity');

afterAll(removeTempDirs);

function member(h: Harness, user: string): Member {
  const m = findMemberByIdentity(h.db, 'wechat', user);
  if (!m) throw new Error(`no member ${user}`);
  return m;
}

interface TraceRow {
  rule_id: string;
  matched: number;
  detail: string;
}

function traces(h: Harness, eventRowId: number | undefined): { rule: string; matched: boolean; failed: CondResult[]; actions: string[] }[] {
  return (tracesOfEvent(h.db, eventRowId!) as TraceRow[]).map((t) => {
    const d = JSON.parse(t.detail) as { conditions: CondResult[]; actions: string[] };
    return { rule: t.rule_id, matched: t.matched === 1, failed: d.conditions.filter((c) => !c.ok), actions: d.actions };
  });
}

/** Everything the store holds, for "nothing changed" assertions. */
function snapshot(h: Harness): Record<string, number> {
  return Object.fromEntries(
    ['events', 'members', 'identities', 'memberships', 'stage_transitions', 'outbox', 'jobs', 'rule_fires', 'rule_traces'].map((t) => [t, count(h.db, t)]),
  );
}

describe('engine: a newcomer joins the trial group', () => {
  it('(already a friend of the account) is welcomed in the group and privately, gets lesson 1, moves to trial, and 2 drip lessons are planned', () => {
    const h = harness();
    const r = h.engine.handleEvent(joined('alice', { at: T0, name: 'Alice' }), T0);
    // The join says Alice is a friend: her private channel is open, so the channel.opened rules
    // run after the join's own.
    expect(r).toMatchObject({ status: 'handled', fired: ['welcome-newcomer', 'welcome-private'], messages: 3 });

    const rows = outboxRows(h.db);
    expect(rows.map((o) => [o.chat_kind, o.chat_id, o.priority, o.status, o.rule_id, o.event_id])).toEqual([
      // A newcomer's welcome is in the urgent lane: never queued behind bulk or a flood; so is the
      // private welcome when their channel opens.
      ['group', 'python-101@chatroom', 'urgent', 'pending', 'welcome-newcomer', r.eventRowId],
      ['dm', 'alice', 'urgent', 'pending', 'welcome-private', r.eventRowId],
      ['dm', 'alice', 'urgent', 'pending', 'welcome-private', r.eventRowId],
    ]);
    expect(rows[0]!.text).toBe(
      '欢迎 Alice 加入「Python 入门体验群」🎉 我是助教机器人小课。免费试听课会私信发给你，还没加我为好友的话，点群公告里「小课」的名片加好友，验证消息写「试听」，通过后马上私信你。学习中有问题随时在群里提问～',
    );
    expect(rows[0]!.group_id).toBe('python-101');
    expect(rows[1]!.text).toMatch(/^Alice 你好！欢迎来到「Python 数据分析训练营」/);
    expect(rows[2]!.text).toMatch(/^📘 第1课 环境搭建与第一个程序\n\n今天我们把 Python 装好/);
    expect(rows[2]!.text).toMatch(/学完在群里发「打卡」/);
    for (const o of rows) expect(o.not_before).toBe(T0);

    const m = member(h, 'alice');
    expect(m.id).toBe(r.memberId);
    expect(m).toMatchObject({ stage: 'trial', stage_since: T0, display_name: 'Alice' });
    expect(stageHistory(h.db, m.id).map((s) => [s.from_stage, s.to_stage, s.rule_id, s.actor, s.event_id])).toEqual([
      [null, 'prospect', null, 'first-seen', null],
      ['prospect', 'trial', 'welcome-newcomer', 'bot', r.eventRowId],
    ]);
    expect(getMembership(h.db, m.id, 'python-101')).toMatchObject({ joined_at: T0, left_at: null, join_count: 1 });

    const jobs = jobsOf(h.db, m.id);
    expect(jobs.map((j) => [j.kind, j.status, j.due_at, JSON.parse(j.payload)])).toEqual([
      ['sequence.trial', 'pending', T0 + DAY, { sequence: 'trial', step: 0, platform: 'wechat', group: 'python-101' }],
      ['sequence.trial', 'pending', T0 + 2 * DAY, { sequence: 'trial', step: 1, platform: 'wechat', group: 'python-101' }],
    ]);
  });

  it('records a trace for the matched rule (with its actions) and for each unmatched rule (with the failed conditions)', () => {
    const h = harness();
    const r = h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const t = traces(h, r.eventRowId);
    expect(t.map((x) => [x.rule, x.matched])).toEqual([
      ['channel', true],
      ['welcome-newcomer', true],
      ['welcome-private', true],
      ['referral-by-inviter', false],
      ['referral-code-in-greeting', false],
      ['rejoin-quietly', false],
      ['start-again', false],
    ]);
    expect(t[0]!.actions).toEqual(['private channel open (already a friend)']);
    expect(t[1]!.failed).toEqual([]);
    expect(t[1]!.actions).toEqual([
      expect.stringMatching(/^reply: 欢迎 alice/),
      'stage prospect → trial',
      'sequence trial: 2 steps planned',
      'inactivity watch: rule churn-inactive after 14d of silence',
    ]);
    // The channel.opened rules ran after the join's, on the state it left (stage trial).
    expect(t[2]!.actions).toEqual([expect.stringMatching(/^dm: alice 你好/), 'lesson 1 sent privately']);
    expect(t[5]!.failed).toEqual([
      { condition: 'stage eq "churned"', actual: 'prospect', ok: false },
      { condition: 'fired_ago.welcome-newcomer lt "30d"', actual: null, ok: false },
    ]);
    expect(t[5]!.actions).toEqual([]);
    // Rules for other triggers leave no trace for this event.
    expect(t.some((x) => x.rule === 'left-all-groups')).toBe(false);
  });

  it('the same event delivered twice acts once', () => {
    const h = harness();
    const e = joined('alice', { at: T0, eventId: 'join:python-101@chatroom:alice:1' });
    expect(h.engine.handleEvent(e, T0).status).toBe('handled');
    const before = snapshot(h);
    const again = h.engine.handleEvent({ ...e }, T0 + 5 * 1000);
    expect(again).toMatchObject({ status: 'duplicate', fired: [], messages: 0 });
    expect(snapshot(h)).toEqual(before);
    expect(before.outbox).toBe(3);
  });

  it('a member who joins twice without leaving (a lost or repeated join) is not welcomed twice', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const r = h.engine.handleEvent(joined('alice', { at: T0 + HOUR }), T0 + HOUR);
    expect(r).toMatchObject({ status: 'handled', fired: [], messages: 0 });
    expect(count(h.db, 'outbox')).toBe(3);
    expect(count(h.db, 'jobs', "status = 'pending' AND kind != 'inactivity'")).toBe(2);
    expect(getMembership(h.db, member(h, 'alice').id, 'python-101')).toMatchObject({ joined_at: T0, join_count: 1, left_at: null });
    const welcome = traces(h, r.eventRowId).find((x) => x.rule === 'welcome-newcomer')!;
    expect(welcome.matched).toBe(false);
    expect(welcome.failed.map((c) => c.condition)).toEqual(['stage in ["prospect","churned"]', 'cooldown 30d']);
  });
});

describe('engine: leaving and coming back', () => {
  function joinedAndLeft(leaveAt = T0 + HOUR): { h: Harness; leave: ReturnType<Harness['engine']['handleEvent']> } {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0, name: 'Alice' }), T0);
    h.clock.set(leaveAt);
    const leave = h.engine.handleEvent(left('alice', { at: leaveAt, name: 'Alice' }), leaveAt);
    return { h, leave };
  }

  it('leaving the last group: churned, pending drip lessons cancelled, a goodbye DM', () => {
    const { h, leave } = joinedAndLeft();
    expect(leave).toMatchObject({ status: 'handled', fired: ['left-all-groups'], messages: 1 });
    const m = member(h, 'alice');
    expect(m.stage).toBe('churned');
    expect(getMembership(h.db, m.id, 'python-101')!.left_at).toBe(T0 + HOUR);
    expect(jobsOf(h.db, m.id).map((j) => [j.status, j.note])).toEqual([
      ['cancelled', 'stopped by rule left-all-groups'],
      ['cancelled', 'stopped by rule left-all-groups'],
    ]);
    const goodbye = outboxRows(h.db).at(-1)!;
    expect(goodbye).toMatchObject({ chat_kind: 'dm', chat_id: 'alice', rule_id: 'left-all-groups', status: 'pending' });
    expect(goodbye.text).toMatch(/^Alice，看到你退出了「Python 入门体验群」/);
    // The cancelled steps never run.
    expect(h.engine.runDueJobs(T0 + 3 * DAY)).toBe(0);
    expect(count(h.db, 'outbox')).toBe(4);
  });

  it('rejoining within 30 days: no second welcome, back to trial (rule rejoin-quietly)', () => {
    const { h } = joinedAndLeft();
    const t = T0 + 10 * DAY;
    h.clock.set(t);
    const r = h.engine.handleEvent(joined('alice', { at: t, name: 'Alice' }), t);
    expect(r).toMatchObject({ status: 'handled', fired: ['rejoin-quietly'], messages: 0 });
    expect(count(h.db, 'outbox')).toBe(4); // welcome ×3 + goodbye, nothing new
    const m = member(h, 'alice');
    expect(m.stage).toBe('trial');
    expect(stageHistory(h.db, m.id).at(-1)).toMatchObject({ from_stage: 'churned', to_stage: 'trial', rule_id: 'rejoin-quietly', event_id: r.eventRowId });
    expect(getMembership(h.db, m.id, 'python-101')).toMatchObject({ joined_at: t, left_at: null, join_count: 2 });
    const welcome = traces(h, r.eventRowId).find((x) => x.rule === 'welcome-newcomer')!;
    expect(welcome.matched).toBe(false);
    expect(welcome.failed).toEqual([{ condition: 'cooldown 30d', actual: 'fired 10d ago', ok: false }]);
  });

  it('rejoining after 31 days: welcomed again in the group, drip restarted (her private chat already has lesson 1)', () => {
    const { h } = joinedAndLeft();
    const t = T0 + 31 * DAY;
    h.clock.set(t);
    const r = h.engine.handleEvent(joined('alice', { at: t, name: 'Alice' }), t);
    // Her private channel opened (and was welcomed) on her first visit: it does not open again.
    expect(r).toMatchObject({ status: 'handled', fired: ['welcome-newcomer'], messages: 1 });
    expect(outboxRows(h.db).slice(4).map((o) => [o.chat_kind, o.event_id])).toEqual([['group', r.eventRowId]]);
    const m = member(h, 'alice');
    expect(m.stage).toBe('trial');
    expect(jobsOf(h.db, m.id).filter((j) => j.status === 'pending').map((j) => j.due_at)).toEqual([t + DAY, t + 2 * DAY]);
    const quietly = traces(h, r.eventRowId).find((x) => x.rule === 'rejoin-quietly')!;
    expect(quietly.failed).toEqual([{ condition: 'fired_ago.welcome-newcomer lt "30d"', actual: '31d', ok: false }]);
  });

  it('leaving one group while still in another is not churn', () => {
    const h = harness();
    const vip = { id: 'python-vip@chatroom', name: 'Python 数据分析正式班' };
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    h.engine.handleEvent(joined('alice', { at: T0 + MINUTE, group: vip }), T0 + MINUTE);
    const r = h.engine.handleEvent(left('alice', { at: T0 + HOUR }), T0 + HOUR);
    expect(r.fired).toEqual([]);
    expect(member(h, 'alice').stage).toBe('trial');
    expect(traces(h, r.eventRowId).find((t) => t.rule === 'left-all-groups')!.failed).toEqual([{ condition: 'active_groups eq 0', actual: 1, ok: false }]);
  });
});

describe('engine: odd input does not crash and leaves the state consistent', () => {
  it('an event for a group not in the config is ignored and writes nothing', () => {
    const h = harness();
    const other = { id: 'someone-elses@chatroom', name: '别的群' };
    const empty = snapshot(h);
    expect(h.engine.handleEvent(joined('alice', { at: T0, group: other }), T0)).toMatchObject({ status: 'ignored', reason: expect.stringMatching(/not a course group/) });
    expect(h.engine.handleEvent(message('alice', '试听', { at: T0, group: other }), T0).status).toBe('ignored');
    expect(h.engine.handleEvent(left('alice', { at: T0, group: other }), T0).status).toBe('ignored');
    expect(snapshot(h)).toEqual(empty);
  });

  it('a DM from a person the bot never saw creates them as a prospect, and "试听" gets lesson 1', () => {
    const h = harness();
    const r = h.engine.handleEvent(message('stranger', '你好', { at: T0, dm: true }), T0);
    // small talk in private: the Q&A rule looks at it and stays silent
    expect(r).toMatchObject({ status: 'handled', fired: ['answer-private-chat'], messages: 0 });
    const m = member(h, 'stranger');
    expect(m.stage).toBe('prospect');
    expect(count(h.db, 'memberships')).toBe(0);
    expect(traces(h, r.eventRowId).filter((t) => t.rule === 'trial-on-request')).toEqual([
      { rule: 'trial-on-request', matched: false, failed: [{ condition: 'text contains "试听"', actual: '你好', ok: false }], actions: [] },
    ]);
    const r2 = h.engine.handleEvent(message('stranger', '我想试听一下', { at: T0 + MINUTE, dm: true }), T0 + MINUTE);
    expect(r2).toMatchObject({ fired: ['trial-on-request'], messages: 2 });
    expect(outboxRows(h.db).map((o) => [o.chat_kind, o.chat_id, o.group_id])).toEqual([
      ['dm', 'stranger', null],
      ['dm', 'stranger', null],
    ]);
    expect(outboxRows(h.db)[1]!.text).toMatch(/第1课/);
    expect(member(h, 'stranger').id).toBe(m.id);
    expect(count(h.db, 'members')).toBe(1);
  });

  it('empty text, a 1 MB text, control characters and broken surrogates are handled like any message', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const texts = ['', 'x'.repeat(1024 * 1024), '\u0000\u0001\u0007\u001b[31m\u007f\ufffe\uffff', '\ud800 broken \udfff', '试听'.repeat(10)];
    let t = T0;
    for (const text of texts) {
      t += MINUTE;
      const r = h.engine.handleEvent(message('alice', text, { at: t }), t);
      expect(r.status).toBe('handled');
      expect(r.fired).toEqual([]); // in the group, trial-on-request (DM only) does not fire
      const stored = h.db.prepare('SELECT payload FROM events WHERE id = ?').get(r.eventRowId) as { payload: string };
      expect((JSON.parse(stored.payload) as { text: string }).text).toBe(text);
    }
    expect(count(h.db, 'events')).toBe(1 + texts.length);
    expect(count(h.db, 'members')).toBe(1);
    expect(count(h.db, 'outbox')).toBe(3);
    // In a DM, a text with control characters around the keyword still matches.
    const r = h.engine.handleEvent(message('alice', '\u0000试\u0007听?', { at: t + MINUTE, dm: true }), t + MINUTE);
    expect(r.fired).not.toContain('trial-on-request'); // the raw text does not contain "试听": the adapter cleans first
    const cleaned = h.engine.handleEvent(message('alice', cleanText('\u0000试\u0007听?'), { at: t + MINUTE, dm: true }), t + MINUTE);
    expect(cleaned.fired).toEqual(['trial-on-request']);
  });

  it('a display name is updated, and a member is keyed by platform id, not by name', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0, name: 'Alice' }), T0);
    h.engine.handleEvent(message('alice', 'hi', { at: T0 + 1 }), T0 + 1);
    h.engine.handleEvent({ ...message('alice', 'hi', { at: T0 + 2 }), user: { id: 'alice', name: 'Alice 李' } }, T0 + 2);
    h.engine.handleEvent({ ...message('bob', 'hi', { at: T0 + 3 }), user: { id: 'bob', name: 'Alice 李' } }, T0 + 3);
    expect(member(h, 'alice').display_name).toBe('Alice 李');
    expect(count(h.db, 'members')).toBe(2);
  });

  it('an action that throws rolls back the whole event: a redelivery then acts normally', () => {
    let explode = true;
    const boomFlow: Feature = {
      name: 'boom',
      actions: [
        {
          name: 'boom',
          description: 'throws while told to',
          schema: z.literal(true),
          run(_arg, ctx) {
            ctx.note('about to fail');
            if (explode) throw new Error('boom');
          },
        },
      ],
    };
    const registry = buildRegistry([...flows, boomFlow]);
    const dir = tempConfig({
      'rules.yaml': `rules:\n  - id: greet\n    on: member.joined\n    do:\n      - reply: trial_again\n      - set_stage: trial\n      - tag: greeted\n      - boom: true\n`,
    });
    const h = harness({ config: loadConfig(dir, { env: {}, registry }), registry });
    const e = joined('alice', { at: T0 });
    expect(() => h.engine.handleEvent(e, T0)).toThrow('boom');
    expect(Object.values(snapshot(h)).every((n) => n === 0)).toBe(true);
    explode = false;
    const r = h.engine.handleEvent(e, T0 + 1);
    expect(r).toMatchObject({ status: 'handled', fired: ['greet'], messages: 1 });
    expect(member(h, 'alice').stage).toBe('trial');
    expect(tagsOf(h.db, member(h, 'alice').id)).toEqual(['greeted']);
  });
});

describe('cleanText (what the adapter does to incoming text)', () => {
  it(`caps a 1 MB text at ${MAX_TEXT_CHARS} characters`, () => {
    const s = cleanText('数'.repeat(1024 * 1024));
    expect(s).toHaveLength(MAX_TEXT_CHARS);
    expect(s).toBe('数'.repeat(MAX_TEXT_CHARS));
  });
  it('drops NUL and other control characters but keeps line breaks, tabs and emoji', () => {
    expect(cleanText('a\u0000b\u0001c\u0007d\u001be\u007ff\r\ng\th🎉')).toBe('abcdef\r\ng\th🎉');
    expect(cleanText('\u0000'.repeat(10))).toBe('');
  });
  it('does not cut an emoji in half at the cap', () => {
    const s = cleanText('a'.repeat(MAX_TEXT_CHARS - 1) + '😀tail');
    expect(s.length).toBe(MAX_TEXT_CHARS - 1);
    expect(s.endsWith('a')).toBe(true);
    expect(cleanText('a'.repeat(MAX_TEXT_CHARS - 2) + '😀tail').endsWith('a😀')).toBe(true);
  });
  it('non-text is empty text', () => {
    expect(cleanText(undefined)).toBe('');
    expect(cleanText(null)).toBe('');
    expect(cleanText(42)).toBe('');
    expect(cleanText({ text: 'x' })).toBe('');
  });
});

describe('parseCommand', () => {
  it('reads /name args, with an optional @bot suffix (the addressee)', () => {
    expect(parseCommand('/checkin')).toEqual({ name: 'checkin', args: '' });
    expect(parseCommand('  /Ref@kequn_bot  ABC 12 ')).toEqual({ name: 'ref', args: 'ABC 12', addressee: 'kequn_bot' });
    expect(parseCommand('/help@OtherBot')).toEqual({ name: 'help', args: '', addressee: 'OtherBot' });
    expect(parseCommand('/start ref-K7M2XQ')).toEqual({ name: 'start', args: 'ref-K7M2XQ' });
    expect(parseCommand('/打卡')).toBeNull();
    expect(parseCommand('hello /checkin')).toBeNull();
    expect(parseCommand('/')).toBeNull();
  });
});

describe('engine: scheduled work keeps its group', () => {
  it('a dry-run group keeps the drip lessons dry too, and each drip step leaves a trace', () => {
    const base = demoConfig();
    const config = { ...base, groups: { ...base.groups, 'python-101': { ...base.groups['python-101']!, dry_run: true } } };
    const h = harness({ config });
    const r = h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    h.clock.set(T0 + DAY);
    expect(h.engine.runDueJobs(h.clock.now())).toBe(1);
    const rows = outboxRows(h.db);
    expect(rows.length).toBe(4);
    expect(rows.every((row) => row.status === 'dry_run')).toBe(true);
    const jobTraces = recentTraces(h.db, r.memberId!, 10).filter((t) => t.job_id !== null);
    expect(jobTraces.map((t) => [t.rule_id, t.matched])).toEqual([['job:sequence.trial', 1]]);
    expect(JSON.parse(jobTraces[0]!.detail).actions).toContain('lesson 2 sent');
  });
});
