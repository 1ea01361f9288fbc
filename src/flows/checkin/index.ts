import { z } from 'zod';
import { renderFor } from '../../core/templates.js';
import { groupChats } from '../../core/group-chats.js';
import type { Feature, ReportContext, ReportLines } from '../../core/feature.js';
import type { Member } from '../../store/members.js';
import { checkinSection } from './config.js';
import {
  checkinDaysOf,
  checkinsOnDay,
  countCheckinKindInMonth,
  countCheckins,
  getCheckinDay,
  groupCheckinRecords,
  lastRecordedDayBefore,
  recordCheckinDay,
  uncheckedMembers,
  type CheckinDay,
} from './store.js';
import { activeGroupsOf, getMembership } from '../../store/members.js';
import { claimReminder, setReminderOutbox } from '../../store/reminders.js';
import { nextRun } from '../../core/schedule/schedules.js';
import { addDays, daysBetween, isDay, monthOf, showDay } from '../../util/days.js';
import { localDate } from '../../util/localtime.js';
import { STREAK_LOOKBACK_DAYS, missedDays, nudgeWindow, reachesNudge, streakOf } from './streak.js';
import type { ActionSpec, CommandSpec, CompileContext, CourseConfig, FactSpec, RunContext, StandingJob, SystemJobContext } from '../../core/types.js';
import type { Cohort } from '../cohorts/contracts.js';

declare module '../../core/types.js' {
  interface TriggerTypes {
    /** A check-in was recorded (a rule's `checkin` action asked for the member's `on: checkin` rules). */
    checkin: true;
  }
}

/** Groups handled per job run of the reminder fan-out: each batch is one short transaction. */
export const REMINDER_GROUPS_PER_BATCH = 10;
/** Names listed in a group reminder before "等 N 人". */
const MAX_NAMES = 30;

type FactCtx = Parameters<FactSpec['get']>[0];

function today(c: { now: number; config: CourseConfig }): string {
  return localDate(c.now, c.config.course.timezone);
}

function recentDays(c: FactCtx | RunContext, day = today(c)): CheckinDay[] {
  return checkinDaysOf(c.db, c.member.id, addDays(day, -STREAK_LOOKBACK_DAYS));
}


function needsCheckinConfig(_arg: unknown, ctx: CompileContext): string[] {
  return ctx.config.checkin ? [] : ['needs a `checkin:` section in kequn.yaml'];
}

/** A refusal: answered where the member wrote, unless the group is configured to stay silent. */
function refuse(ctx: RunContext, text: string): string {
  const silent = !ctx.trigger.isDm && ctx.trigger.replyTo.kind === 'group' && ctx.config.checkin?.groupErrors === 'silent';
  if (!silent) ctx.send({ to: 'reply', text });
  return `refused: ${text}${silent ? ' (silent in group)' : ''}`;
}

/** Removes the leading phrase (`打卡`, `/checkin`) and the punctuation after it. */
function afterPhrase(text: string, phrases: readonly string[]): string {
  let t = text.trim();
  for (const p of phrases) {
    if (t.toLowerCase().startsWith(p.toLowerCase())) {
      t = t.slice(p.length);
      break;
    }
  }
  return t.replace(/^[\s:：,，、.。!！-]+/u, '').trim();
}

// ---------------------------------------------------------------------------------------------
// Check-in, make-up, leave

function doCheckin(ctx: RunContext, note: string): string {
  const cfg = ctx.config.checkin!;
  const len = [...note].length;
  if (len > cfg.maxLength) return refuse(ctx, `打卡内容太长了（${len} 字），请控制在 ${cfg.maxLength} 字以内。`);
  if (len < cfg.minLength) return refuse(ctx, `打卡请写上今天学了什么，例如「打卡 今天学了 pandas」。`);
  const day = today(ctx);
  const existing = getCheckinDay(ctx.db, ctx.member.id, day);
  if (existing && existing.kind !== 'leave') {
    const streak = streakOf(recentDays(ctx, day), day);
    ctx.send({ to: 'reply', text: `${ctx.member.display_name} 今天已经打过卡啦，已连续打卡 ${streak} 天。` });
    return `already checked in on ${day}`;
  }
  recordCheckinDay(ctx.db, { memberId: ctx.member.id, day, kind: 'checkin', groupId: ctx.trigger.group, note, eventId: ctx.trigger.eventId, now: ctx.now });
  const streak = streakOf(recentDays(ctx, day), day);
  const total = countCheckins(ctx.db, ctx.member.id);
  ctx.send({ to: 'reply', text: ctx.render(ctx.config.templates.checkin_ok!, { streak: String(streak), total: String(total), date: showDay(day) }) });
  ctx.emit('checkin', { streak: String(streak), total: String(total), date: showDay(day) });
  return `checked in for ${day}: streak ${streak}, total ${total}`;
}

/** `昨天`, `前天`, `2026-03-03`, `3月3日`, `3-3`, `3/3` → a day; undefined if it is none of these. */
export function parseDayWord(word: string, today: string): string | undefined {
  if (word === '今天') return today;
  if (word === '昨天') return addDays(today, -1);
  if (word === '前天') return addDays(today, -2);
  if (word === '明天') return addDays(today, 1);
  if (word === '后天') return addDays(today, 2);
  if (isDay(word)) return word;
  const m = /^(\d{1,2})(?:月|-|\/)(\d{1,2})日?$/.exec(word);
  if (!m) return undefined;
  const year = Number(today.slice(0, 4));
  const pad = (n: string) => n.padStart(2, '0');
  // A month later than this one is last year's ("12月30日" written on 2 January).
  for (const y of [year, year - 1]) {
    const d = `${y}-${pad(m[1]!)}-${pad(m[2]!)}`;
    if (isDay(d) && d <= addDays(today, 31)) return d;
  }
  return undefined;
}

function doMakeup(ctx: RunContext, args: string): string {
  const cfg = ctx.config.checkin!;
  const day = today(ctx);
  const [word = '', ...rest] = args.split(/\s+/).filter(Boolean);
  let target = word ? parseDayWord(word, day) : undefined;
  let note = word && target ? rest.join(' ') : args;
  if (word && target === undefined && /^[\d昨前今明后]/.test(word)) return refuse(ctx, `没看懂要补哪一天：「${word}」。例如「补卡 昨天」或「补卡 3月3日」。`);
  if (target === undefined) {
    // No day given: the most recent day in the window that has no record.
    note = args;
    for (let d = addDays(day, -1); daysBetween(d, day) <= cfg.makeup.within; d = addDays(d, -1)) {
      if (!getCheckinDay(ctx.db, ctx.member.id, d)) {
        target = d;
        break;
      }
    }
    if (target === undefined) return refuse(ctx, `最近 ${cfg.makeup.within} 天都不需要补卡。`);
  }
  if ([...note].length > cfg.maxLength) return refuse(ctx, `补卡内容太长了，请控制在 ${cfg.maxLength} 字以内。`);
  if (target >= day) return refuse(ctx, `补卡只能补今天以前的日子；今天请直接打卡。`);
  const back = daysBetween(target, day);
  if (back > cfg.makeup.within) return refuse(ctx, `只能补最近 ${cfg.makeup.within} 天的卡，${showDay(target)} 已经超过了。`);
  const existing = getCheckinDay(ctx.db, ctx.member.id, target);
  if (existing) return refuse(ctx, `${showDay(target)} 已经${existing.kind === 'leave' ? '请过假' : '打过卡'}了，不用补。`);
  const used = countCheckinKindInMonth(ctx.db, ctx.member.id, 'makeup', monthOf(day));
  if (used >= cfg.makeup.perMonth) return refuse(ctx, `本月的 ${cfg.makeup.perMonth} 次补卡机会已经用完了。`);
  recordCheckinDay(ctx.db, { memberId: ctx.member.id, day: target, kind: 'makeup', groupId: ctx.trigger.group, note, eventId: ctx.trigger.eventId, now: ctx.now });
  const streak = streakOf(recentDays(ctx, day), day);
  ctx.send({
    to: 'reply',
    text: ctx.render(ctx.config.templates.checkin_makeup!, { date: showDay(target), streak: String(streak), left: String(cfg.makeup.perMonth - used - 1) }),
  });
  ctx.emit('checkin', { streak: String(streak), total: String(countCheckins(ctx.db, ctx.member.id)), date: showDay(target) });
  return `made up ${target}: streak ${streak}`;
}

function doLeave(ctx: RunContext, args: string): string {
  const cfg = ctx.config.checkin!;
  const day = today(ctx);
  const words = args.split(/\s+/).filter(Boolean);
  let start = day;
  let days = 1;
  for (const w of words.slice(0, 2)) {
    const n = /^(\d{1,2})天?$/.exec(w);
    const d = parseDayWord(w, day);
    if (n) days = Number(n[1]);
    else if (d !== undefined && (w === '今天' || w === '明天' || w === '后天')) start = d;
  }
  if (days < 1 || days > cfg.leave.maxDays) return refuse(ctx, `一次最多请 ${cfg.leave.maxDays} 天假。`);
  const wanted = Array.from({ length: days }, (_, i) => addDays(start, i));
  const free = wanted.filter((d) => !getCheckinDay(ctx.db, ctx.member.id, d));
  if (free.length === 0) return refuse(ctx, start === day && days === 1 ? '今天已经打过卡（或请过假）了。' : '这几天已经打过卡或请过假了。');
  const byMonth = new Map<string, number>();
  for (const d of free) byMonth.set(monthOf(d), (byMonth.get(monthOf(d)) ?? 0) + 1);
  for (const [month, n] of byMonth) {
    const used = countCheckinKindInMonth(ctx.db, ctx.member.id, 'leave', month);
    if (used + n > cfg.leave.perMonth) return refuse(ctx, `每月最多请 ${cfg.leave.perMonth} 天假，${Number(month.slice(5))}月已经请了 ${used} 天。`);
  }
  for (const d of free) {
    recordCheckinDay(ctx.db, { memberId: ctx.member.id, day: d, kind: 'leave', groupId: ctx.trigger.group, note: args.slice(0, cfg.maxLength), eventId: ctx.trigger.eventId, now: ctx.now });
  }
  const range = free.length === 1 ? showDay(free[0]!) : `${showDay(free[0]!)}–${showDay(free.at(-1)!)}`;
  const streak = streakOf(recentDays(ctx, day), day);
  ctx.send({ to: 'reply', text: ctx.render(ctx.config.templates.checkin_leave!, { date: range, days: String(free.length), streak: String(streak) }) });
  return `leave ${free.join(', ')}`;
}

// ---------------------------------------------------------------------------------------------
// Cohorts: a group of a cohort (期) checks in during the cohort's period, for its own members

type CohortCtx = { db: RunContext['db']; config: CourseConfig; services: RunContext['services'] };

/** The cohort a check-in group belongs to and its local days (start day .. end day), when the course has cohorts. */
function groupCohort(ctx: CohortCtx, group: string): { cohort: Cohort; from: string; to: string } | undefined {
  const cohort = ctx.services.cohorts?.ofGroup(group);
  if (!cohort) return undefined;
  const tz = ctx.config.course.timezone;
  return { cohort, from: localDate(cohort.startAt, tz), to: localDate(cohort.endAt - 1, tz) };
}

/** A member counts in a cohort's group unless they are in another cohort (deferred away, say). */
function inCohort(ctx: CohortCtx, cohort: Cohort, memberId: string): boolean {
  const theirs = ctx.services.cohorts.memberCohort(ctx.db, memberId);
  return theirs === undefined || theirs.id === cohort.id;
}

// ---------------------------------------------------------------------------------------------
// Leaderboard

/**
 * Members of a group by current streak, longest first (ties: more check-ins in the window, then
 * name). A group of a cohort ranks the cohort's members on the cohort's days only.
 */
export function leaderboard(ctx: CohortCtx & { now: number }, group: string): { name: string; streak: number }[] {
  const day = today(ctx);
  const gc = groupCohort(ctx, group);
  const since = addDays(day, -STREAK_LOOKBACK_DAYS);
  const theirs = new Map<string, boolean>();
  const counts = (id: string) => theirs.get(id) ?? theirs.set(id, inCohort(ctx, gc!.cohort, id)).get(id)!;
  const rows = groupCheckinRecords(ctx.db, group, gc && gc.from > since ? gc.from : since).filter(
    (r) => !gc || ((r.day === null || (r.day >= gc.from && r.day <= gc.to)) && counts(r.member_id)),
  );
  const byMember = new Map<string, { name: string; records: CheckinDay[] }>();
  for (const r of rows) {
    let m = byMember.get(r.member_id);
    if (!m) byMember.set(r.member_id, (m = { name: r.display_name, records: [] }));
    if (r.day !== null && r.kind !== null) m.records.push({ day: r.day, kind: r.kind });
  }
  return [...byMember.values()]
    .map((m) => ({ name: m.name, streak: streakOf(m.records, day), count: m.records.filter((r) => r.kind !== 'leave').length }))
    .filter((m) => m.streak > 0)
    .sort((a, b) => b.streak - a.streak || b.count - a.count || a.name.localeCompare(b.name))
    .map(({ name, streak }) => ({ name, streak }));
}

function doRank(ctx: RunContext): string {
  const cfg = ctx.config.checkin!;
  const group = ctx.trigger.group ?? activeGroupsOf(ctx.db, ctx.member.id).find((g) => cfg.groups.includes(g));
  if (!group || !cfg.groups.includes(group)) return refuse(ctx, '排行榜按打卡群统计：请在打卡群里发送。');
  const board = leaderboard(ctx, group).slice(0, cfg.rankSize);
  const medals = ['🥇', '🥈', '🥉'];
  const list = board.length === 0 ? '（还没有人打卡，快来做第一个！）' : board.map((b, i) => `${medals[i] ?? `${i + 1}.`} ${b.name} 连续 ${b.streak} 天`).join('\n');
  const name = ctx.config.groups[group]!.name;
  ctx.send({ to: 'reply', text: ctx.render(ctx.config.templates.checkin_rank!, { list, count: String(board.length), group: name }) });
  return `leaderboard of ${group}: ${board.length} entries`;
}

// ---------------------------------------------------------------------------------------------
// Rules: actions and facts

const phraseArg = z
  .strictObject({ phrase: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional() })
  .nullish()
  .transform((a) => ({ phrases: a?.phrase === undefined ? [] : Array.isArray(a.phrase) ? a.phrase : [a.phrase] }));
type PhraseArg = z.output<typeof phraseArg>;

function phraseAction(name: string, description: string, defaults: string[], run: (ctx: RunContext, rest: string) => string): ActionSpec<PhraseArg> {
  return {
    name,
    description,
    schema: phraseArg as unknown as z.ZodType<PhraseArg>,
    check: needsCheckinConfig,
    run(arg, ctx) {
      ctx.note(run(ctx, afterPhrase(ctx.trigger.text, [...arg.phrases, ...defaults])));
    },
  };
}

const checkinFacts: FactSpec[] = [
  {
    name: 'checkin.streak',
    type: 'number',
    description: 'consecutive days checked in (make-ups count, leave days are skipped), today included once checked in',
    get: (c) => streakOf(recentDays(c), today(c)),
  },
  { name: 'checkin.total', type: 'number', description: 'days checked in or made up, ever', get: (c) => countCheckins(c.db, c.member.id) },
  {
    name: 'checkin.today',
    type: 'boolean',
    description: 'the member has checked in today (local day)',
    get: (c) => getCheckinDay(c.db, c.member.id, today(c))?.kind === 'checkin',
  },
  {
    name: 'checkin.missed_days',
    type: 'number',
    description: 'consecutive days before today with no check-in, make-up or leave (since the member joined)',
    get: (c) => {
      const day = today(c);
      const joined = Math.min(...activeGroupsOf(c.db, c.member.id).map((g) => getMembership(c.db, c.member.id, g)!.joined_at), c.member.created_at);
      return missedDays(lastRecordedDayBefore(c.db, c.member.id, day), localDate(joined, c.config.course.timezone), day);
    },
  },
];

const checkinAction = phraseAction('checkin', 'record today\'s check-in (打卡) and reply with the streak; then runs the `on: checkin` rules', ['打卡'], (ctx, rest) =>
  doCheckin(ctx, rest),
);
const makeupAction = phraseAction('checkin_makeup', 'make up a missed day (补卡: 昨天, 3月3日…) within the window and the monthly allowance', ['补卡'], doMakeup);
const leaveAction = phraseAction('checkin_leave', 'take leave (请假) today or for N days: the streak pauses without breaking', ['请假'], doLeave);
const rankAction: ActionSpec<PhraseArg> = { ...phraseAction('checkin_rank', 'reply with the group\'s streak leaderboard', [], (ctx) => doRank(ctx)) };

// ---------------------------------------------------------------------------------------------
// Commands

const everyone = ['owner', 'instructor', 'assistant', 'member'] as const;

function guarded(run: (args: string, ctx: RunContext) => string): CommandSpec['run'] {
  return (args, ctx) => {
    if (!ctx.config.checkin) {
      ctx.send({ to: 'dm', text: '这个课程没有开启打卡。' });
      return 'check-ins are not configured';
    }
    return run(args, ctx);
  };
}

const commands: CommandSpec[] = [
  { name: 'checkin', roles: everyone, usage: '/checkin [今天学了什么]', description: '打卡', run: guarded((args, ctx) => doCheckin(ctx, args)) },
  { name: 'makeup', roles: everyone, usage: '/makeup [昨天|3月3日] [内容]', description: '补卡', run: guarded((args, ctx) => doMakeup(ctx, args)) },
  { name: 'leave', roles: everyone, usage: '/leave [天数]', description: '请假（连续打卡不中断）', run: guarded((args, ctx) => doLeave(ctx, args)) },
  { name: 'rank', roles: everyone, usage: '/rank', description: '打卡排行榜', run: guarded((_args, ctx) => doRank(ctx)) },
];

// ---------------------------------------------------------------------------------------------
// The daily reminder: a standing job, fanned out over the groups in batches

const reminderPayload = z.object({ day: z.string().optional(), cursor: z.number().int().min(0).default(0) });

function reminderJob(config: CourseConfig, now: number): StandingJob[] {
  const r = config.checkin?.reminder;
  if (!r) return [];
  return [{ kind: 'checkin.reminder', dueAt: nextRun(r, now - 1), payload: { grace: r.grace } }];
}

/**
 * One batch of the reminder: for each group, one mention-free message listing who has not checked
 * in (no @, names as plain text), and a private nudge to whoever has just missed `nudge_after`
 * days. Every message is claimed by a key first, so replaying a batch queues nothing twice.
 */
export function runReminderBatch(payload: unknown, ctx: SystemJobContext): string {
  const cfg = ctx.config.checkin;
  if (!cfg?.reminder) return 'skipped: no check-in reminder in config';
  const p = reminderPayload.parse(payload);
  const tz = ctx.config.course.timezone;
  // The occurrence's day, not today's: a run caught up after midnight is still about its day.
  const day = p.day ?? localDate(ctx.dueAt, tz);
  // The next occurrence is planned by the first batch, in its transaction: the chain never breaks.
  if (p.cursor === 0) ctx.plan({ kind: 'checkin.reminder', dueAt: nextRun(cfg.reminder, Math.max(ctx.now, ctx.dueAt)), payload: { grace: cfg.reminder.grace } });
  const groups = [...cfg.reminder.groups].sort();
  const batch = groups.slice(p.cursor, p.cursor + REMINDER_GROUPS_PER_BATCH);
  let messages = 0;
  let nudges = 0;
  let listed = 0;
  const window = cfg.reminder.nudgeAfter > 0 ? nudgeWindow(day, cfg.reminder.nudgeAfter, tz) : undefined;
  for (const group of batch) {
    // A cohort's group is reminded during the cohort's days, about the cohort's members.
    const gc = groupCohort(ctx, group);
    if (gc && (day < gc.from || day > gc.to)) continue;
    for (const chat of groupChats(ctx.config, group)) {
      const members = uncheckedMembers(ctx.db, { groupId: group, platform: chat.platform, day }).filter(
        (m) => ctx.config.roleOf(chat.platform, m.platform_id) === 'member' && (!gc || inCohort(ctx, gc.cohort, m.member_id)),
      );
      if (members.length === 0) continue;
      listed += members.length;
      const key = `checkin:${group}:${chat.platform}:${day}`;
      if (claimReminder(ctx.db, key, ctx.now)) {
        const shown = members.slice(0, MAX_NAMES).map((m) => m.display_name || '同学');
        const names = shown.join('、') + (members.length > shown.length ? ` 等 ${members.length} 人` : '');
        const text = renderFor(ctx, 'checkin_reminder', { count: String(members.length), names, group: ctx.config.groups[group]!.name });
        setReminderOutbox(ctx.db, key, ctx.send({ platform: chat.platform, chat: { kind: 'group', id: chat.id }, text, memberId: null, groupId: group }));
        messages++;
      }
      if (!window) continue;
      const n = cfg.reminder.nudgeAfter;
      for (const m of members) {
        if (!reachesNudge(m.last_day ?? undefined, m.joined_at, window)) continue;
        const nudgeKey = `nudge:${m.member_id}:${day}`;
        if (!claimReminder(ctx.db, nudgeKey, ctx.now)) continue;
        const text = renderFor(ctx, 'checkin_nudge', { name: m.display_name, days: String(n), group: ctx.config.groups[group]!.name });
        setReminderOutbox(ctx.db, nudgeKey, ctx.send({ platform: chat.platform, chat: { kind: 'dm', id: m.platform_id }, text, memberId: m.member_id, groupId: null }));
        nudges++;
      }
    }
  }
  const next = p.cursor + batch.length;
  if (next < groups.length) {
    ctx.plan({ kind: 'checkin.reminder', dueAt: ctx.dueAt, payload: { day, cursor: next, grace: cfg.reminder.grace }, key: `${day}/${next}` });
  }
  return `reminder ${day}: groups ${p.cursor + 1}-${next} of ${groups.length}, ${listed} not checked in, ${messages} group messages, ${nudges} nudges`;
}


/** `打卡：连续 5 天，共 12 次` for a staff member's `/member`, when the course has check-ins. */
function memberReport(ctx: ReportContext, member: Member): ReportLines {
  if (!ctx.config.checkin) return {};
  const tz = ctx.config.course.timezone;
  const day = localDate(ctx.now, tz);
  const streak = streakOf(checkinDaysOf(ctx.db, member.id, localDate(ctx.now - STREAK_LOOKBACK_DAYS * 86_400_000, tz)), day);
  return { detail: [`打卡：连续 ${streak} 天，共 ${countCheckins(ctx.db, member.id)} 次`] };
}

/** `打卡 12` for the day's `/stats`. */
function dayReport(ctx: ReportContext, args: { since: number; group: string | undefined }): ReportLines {
  if (!ctx.config.checkin) return {};
  return { detail: [`打卡 ${checkinsOnDay(ctx.db, { day: localDate(ctx.now, ctx.config.course.timezone), groupId: args.group })}`] };
}

/**
 * Check-ins (打卡): one counted day per member and local day, make-ups (补卡) and leave (请假)
 * within the course's allowances, streaks that rules can use (`checkin.streak`, `on: checkin`),
 * a leaderboard, and the daily reminder to those who have not checked in.
 */
export const checkinFeature: Feature = {
  name: 'checkin',
  uses: ['cohorts'],
  config: [checkinSection],
  triggers: ['checkin'],
  templateVars: ['streak', 'total', 'date', 'days', 'list', 'count', 'names'],
  memberReport,
  dayReport,
  facts: checkinFacts,
  actions: [checkinAction, makeupAction, leaveAction, rankAction],
  commands,
  jobs: [
    {
      kind: 'checkin',
      run: () => 'skipped: check-in jobs are not planned per member',
      runSystem: runReminderBatch,
    },
  ],
  plan: reminderJob,
};
