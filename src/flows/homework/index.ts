import { z } from 'zod';
import type { Assignment } from './config.js';
import type { CourseConfig } from '../../core/types.js';
import type { Platform } from '../../bot/events.js';
import { activeMemberIdentities, getSubmission, hasSubmitted, markReviewed, nonSubmitters, submissionsForWeek, upsertSubmission, type NonSubmitter } from './store.js';
import type { Cohort } from '../cohorts/contracts.js';
import { isRelative, showLocal, timesFor } from './schedule.js';
import { activeGroupsOf, getMember, identitiesOf } from '../../store/members.js';
import { claimReminder, setReminderOutbox } from '../../store/reminders.js';
import { formatDuration } from '../../util/duration.js';
import { groupChats } from '../../core/group-chats.js';
import { renderFor } from '../../core/templates.js';
import { homeworkValues } from './course-values.js';
import type { CourseCheck, Feature } from '../../core/feature.js';
import { homeworkSection } from './config.js';
import { UsageError, type ActionSpec, type CommandSpec, type RunContext, type StandingJob, type SystemJobContext } from '../../core/types.js';

/** Members reminded per job run of a homework reminder fan-out. */
export const HOMEWORK_REMINDERS_PER_BATCH = 500;
const MAX_LINK = 500;

export function submissionCode(id: number): string {
  return `H${id}`;
}

function assignmentOf(config: CourseConfig, week: number): Assignment | undefined {
  return config.homework?.assignments.find((a) => a.week === week);
}

/** `3月8日 22:00`, in the homework time zone. */
function showTime(config: CourseConfig, at: number): string {
  return showLocal(at, zoneOf(config));
}

function zoneOf(config: CourseConfig): string {
  return config.homework?.timezone ?? config.course.timezone;
}

/**
 * Whether homework runs per cohort: some assignment counts from a cohort's start and the course
 * has cohorts. Otherwise (dates only) it runs as one schedule for the homework groups.
 */
export function perCohort(config: CourseConfig): boolean {
  return (config.homework?.assignments.some(isRelative) ?? false) && config.cohorts.length > 0;
}

/** The member's cohort, when homework runs per cohort (its schedule is theirs). */
function cohortOfMember(ctx: { db: RunContext['db']; config: CourseConfig; services: RunContext['services'] }, memberId: string): Cohort | undefined {
  return perCohort(ctx.config) ? ctx.services.cohorts?.memberCohort(ctx.db, memberId) : undefined;
}

/** `2 小时`, `1 天`, `1 天 3 小时`, `45 分钟`: how long until a deadline, as members read it. */
export function timeLeft(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  if (d === 0 && h === 0) return `${m} 分钟`;
  return [d ? `${d} 天` : '', h ? `${h} 小时` : ''].filter(Boolean).join(' ');
}

/** A link a teacher can open: http(s) with a host, at most 500 characters. */
export function isLink(text: string): boolean {
  if (text.length > MAX_LINK) return false;
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.includes('.');
  } catch {
    return false;
  }
}

const SUBMIT = /^(?:作业|交作业|提交作业)?\s*第?\s*(\d{1,3})\s*周?\s+(\S+)/u;

/**
 * "作业 第2周 https://…" (or `/submit 2 https://…`): checks the week is open and the link is a
 * link, records the submission (late when after the deadline) and confirms privately.
 */
function submit(ctx: RunContext, text: string): string {
  const hw = ctx.config.homework!;
  const refuse = (msg: string) => {
    ctx.send({ to: 'dm', text: msg });
    return `refused: ${msg}`;
  };
  const m = SUBMIT.exec(text.trim());
  if (!m) return refuse('提交格式：作业 第2周 你的作业链接（例如 https://…）');
  const week = Number(m[1]);
  const link = m[2]!;
  const a = assignmentOf(ctx.config, week);
  if (!a) return refuse(`没有第${week}周的作业。现有：${hw.assignments.map((x) => `第${x.week}周`).join('、')}。`);
  if (!isLink(link)) return refuse(`「${link.slice(0, 60)}」不是一个链接。请提交以 http:// 或 https:// 开头的作业链接。`);
  if (!activeGroupsOf(ctx.db, ctx.member.id).some((g) => hw.groups.includes(g))) return refuse('只有正式班的同学才需要提交作业哦。');
  // The member's cohort sets the week's dates (a deferred member follows the new cohort's).
  const t = timesFor(a, cohortOfMember(ctx, ctx.member.id), zoneOf(ctx.config));
  if (!t) return refuse('你还没有分到任何一期，暂时不能提交作业，请联系助教。');
  if (ctx.now < t.opensAt) return refuse(`第${week}周作业 ${showTime(ctx.config, t.opensAt)} 才开放。`);
  if (ctx.now > t.dueAt + hw.lateUntil) return refuse(`第${week}周作业已经截止（${showTime(ctx.config, t.dueAt + hw.lateUntil)} 后不再接收）。`);
  const late = ctx.now > t.dueAt;
  const r = upsertSubmission(ctx.db, { memberId: ctx.member.id, week, link, late, eventId: ctx.trigger.eventId, now: ctx.now });
  ctx.send({
    to: 'dm',
    text: ctx.render(ctx.config.templates.homework_received!, {
      week: String(week),
      title: a.title,
      late: late ? `（已过截止时间 ${t.dueText}，记为迟交）` : '',
      code: submissionCode(r.id),
    }),
  });
  return `${r.replaced ? 'resubmitted' : 'submitted'} week ${week} as ${submissionCode(r.id)}${late ? ' (late)' : ''}`;
}

const submitAction: ActionSpec<null | undefined> = {
  name: 'submit_homework',
  description: 'record a homework submission ("作业 第2周 <link>") and confirm privately; late ones are flagged',
  schema: z.null().optional(),
  check: (_a, ctx) => (ctx.config.homework ? [] : ['needs a `homework:` section in kequn.yaml']),
  run(_arg, ctx) {
    ctx.note(submit(ctx, ctx.trigger.text));
  },
};

// ---------------------------------------------------------------------------------------------
// Commands

/** Whose homework a listing counts: everyone in the homework groups, or one cohort's members. */
interface Scope {
  cohort: Cohort | undefined;
  /** The cohort's members (undefined: no cohort filter). */
  members: Set<string> | undefined;
}

function scopeOf(ctx: RunContext, cohort: Cohort | undefined): Scope {
  if (!cohort) return { cohort: undefined, members: undefined };
  const members = new Set<string>();
  for (let after = ''; ; ) {
    const page = ctx.services.cohorts.membersOf(ctx.db, cohort.id, after, 5000);
    for (const m of page) members.add(m);
    if (page.length < 5000) break;
    after = page.at(-1)!;
  }
  return { cohort, members };
}

function inScope<T extends { member_id: string }>(rows: T[], scope: Scope): T[] {
  return scope.members ? rows.filter((r) => scope.members!.has(r.member_id)) : rows;
}

function listWeek(ctx: RunContext, a: Assignment, scope: Scope): string {
  const subs = inScope(submissionsForWeek(ctx.db, a.week), scope);
  const members = studentCount(ctx, scope);
  const lines = subs.map(
    (s) => `${submissionCode(s.id)} ${s.display_name} ${showTime(ctx.config, s.updated_at)}${s.late ? ' [迟交]' : ''}${s.reviewed_at ? ' [已批改]' : ''} ${s.link}`,
  );
  const t = timesFor(a, scope.cohort, zoneOf(ctx.config));
  const head = `${scope.cohort ? `${scope.cohort.name} ` : ''}第${a.week}周「${a.title}」${t ? `截止 ${t.dueText}` : ''}：已交 ${subs.length}/${members}`;
  return [head, ...lines].join('\n');
}

/** Students in the homework groups (of the cohort): staff (by platform id) are not expected to submit. */
function studentCount(ctx: RunContext, scope: Scope): number {
  const rows = inScope(activeMemberIdentities(ctx.db, ctx.config.homework!.groups), scope);
  const staff = new Set(rows.filter((r) => ctx.config.roleOf(r.platform as Platform, r.platform_id) !== 'member').map((r) => r.member_id));
  return new Set(rows.filter((r) => !staff.has(r.member_id)).map((r) => r.member_id)).size;
}

function summary(ctx: RunContext, scope: Scope): string[] {
  const students = studentCount(ctx, scope);
  return ctx.config.homework!.assignments.map((a) => {
    const subs = inScope(submissionsForWeek(ctx.db, a.week), scope);
    return `第${a.week}周「${a.title}」：已交 ${subs.length}/${students}，迟交 ${subs.filter((s) => s.late).length}，待批改 ${subs.filter((s) => !s.reviewed_at).length}`;
  });
}

/** A cohort named in a command (id or name); per-cohort homework without one: the running cohort, else the next. */
function cohortArg(ctx: RunContext, word: string | undefined): Cohort | undefined {
  if (!perCohort(ctx.config)) {
    if (word !== undefined) throw new UsageError(`unknown subcommand "${word.slice(0, 20)}"`);
    return undefined;
  }
  const cohorts = ctx.services.cohorts;
  if (word === undefined) return cohorts.running(ctx.now) ?? cohorts.openForSale(ctx.now) ?? cohorts.all().at(-1);
  const c = cohorts.byId(word) ?? cohorts.all().find((x) => x.name === word);
  if (!c) throw new UsageError(`no cohort "${word.slice(0, 20)}" (${cohorts.all().map((x) => x.id).join(', ')})`);
  return c;
}

/**
 * `/homework [期]` (summary of every week, per cohort when homework runs per cohort),
 * `/homework 2 [期]` (week 2's submissions), `/homework review H12 [comment]` (mark reviewed,
 * tell the student). Instructors and assistants only.
 */
const homeworkCommand: CommandSpec = {
  name: 'homework',
  roles: ['owner', 'instructor', 'assistant'],
  usage: '/homework [周数] [期号]   或   /homework review <作业编号> [评语]',
  description: '查看作业提交情况（按期）、标记已批改',
  run(args, ctx) {
    const hw = ctx.config.homework;
    if (!hw) {
      ctx.send({ to: 'dm', text: '这个课程没有配置作业。' });
      return 'homework is not configured';
    }
    const words = args.split(/\s+/).filter(Boolean);
    if (words[0] === 'list') words.shift();
    if (words.length === 0 || (words.length === 1 && !/^\d+$/.test(words[0]!) && words[0] !== 'review')) {
      const cohort = cohortArg(ctx, words[0]);
      const scope = scopeOf(ctx, cohort);
      ctx.send({ to: 'dm', text: [...(cohort ? [`${cohort.name}：`] : []), ...summary(ctx, scope)].join('\n') });
      return `listed ${hw.assignments.length} weeks${cohort ? ` of ${cohort.id}` : ''}`;
    }
    if (/^\d+$/.test(words[0]!)) {
      const a = assignmentOf(ctx.config, Number(words[0]));
      if (!a) throw new UsageError(`no homework for week ${words[0]}`);
      const cohort = cohortArg(ctx, words[1]);
      ctx.send({ to: 'dm', text: listWeek(ctx, a, scopeOf(ctx, cohort)) });
      return `listed week ${a.week}${cohort ? ` of ${cohort.id}` : ''}`;
    }
    if (words[0] === 'review') {
      const m = /^[Hh](\d+)$/.exec(words[1] ?? '');
      const sub = m ? getSubmission(ctx.db, Number(m[1])) : undefined;
      if (!sub) throw new UsageError(`no submission ${words[1] ?? ''}`.trim());
      if (!markReviewed(ctx.db, { id: sub.id, by: ctx.member.id, now: ctx.now })) {
        ctx.send({ to: 'dm', text: `${submissionCode(sub.id)} 已经批改过了。` });
        return `${submissionCode(sub.id)} already reviewed`;
      }
      const a = assignmentOf(ctx.config, sub.week);
      const comment = args.trim().split(/\s+/).slice(2).join(' ').slice(0, 1000);
      const student = identitiesOf(ctx.db, sub.member_id).find((i) => i.platform === ctx.trigger.platform);
      if (student) {
        const text = ctx.render(ctx.config.templates.homework_reviewed!, {
          week: String(sub.week),
          title: a?.title ?? '',
          teacher: ctx.member.display_name,
          comment: comment ? `：${comment}` : '。',
        });
        ctx.send({ to: 'chat', chat: { kind: 'dm', id: student.platform_id }, text });
      }
      ctx.send({ to: 'dm', text: `已标记 ${submissionCode(sub.id)} 为已批改${student ? '，并通知了学员' : ''}。` });
      return `${submissionCode(sub.id)} reviewed`;
    }
    throw new UsageError(`unknown subcommand "${words[0]}"`);
  },
};

const submitCommand: CommandSpec = {
  name: 'submit',
  roles: ['owner', 'instructor', 'assistant', 'member'],
  usage: '/submit <周数> <作业链接>',
  description: '提交作业',
  run(args, ctx) {
    if (!ctx.config.homework) {
      ctx.send({ to: 'dm', text: '这个课程没有配置作业。' });
      return 'homework is not configured';
    }
    return submit(ctx, args);
  },
};

// ---------------------------------------------------------------------------------------------
// Standing jobs: the announcement when a week opens, reminders before its deadline

const openPayload = z.object({ week: z.number().int(), cohort: z.string().optional() });
const remindPayload = z.object({ week: z.number().int(), before: z.number(), after: z.string().default(''), cohort: z.string().optional() });

/**
 * The standing jobs: each week's announcement and reminders; per cohort (its own dates, its own
 * groups and members) when homework runs per cohort.
 */
function plan(config: CourseConfig): StandingJob[] {
  const hw = config.homework;
  if (!hw) return [];
  const zone = zoneOf(config);
  const runs: (Cohort | undefined)[] = perCohort(config) ? [...config.cohorts] : [undefined];
  return runs.flatMap((cohort) =>
    hw.assignments.flatMap((a) => {
      const t = timesFor(a, cohort, zone);
      if (!t) return [];
      const of = cohort ? { cohort: cohort.id } : {};
      const key = cohort ? { key: cohort.id } : {};
      return [
        { kind: 'homework.open', dueAt: t.opensAt, payload: { week: a.week, ...of, grace: hw.grace }, ...key },
        ...hw.reminders
          .filter((before) => t.dueAt - before > t.opensAt)
          .map((before) => ({ kind: 'homework.remind', dueAt: t.dueAt - before, payload: { week: a.week, before, ...of, grace: hw.grace }, ...key })),
      ];
    }),
  );
}

/** The cohort a job is for, when it names one still in config. */
function jobCohort(ctx: SystemJobContext, id: string | undefined): Cohort | undefined | null {
  if (id === undefined) return undefined;
  return ctx.services.cohorts?.byId(id) ?? null;
}

function announce(payload: unknown, ctx: SystemJobContext): string {
  const { week, cohort: cohortId } = openPayload.parse(payload);
  const hw = ctx.config.homework;
  const a = hw && assignmentOf(ctx.config, week);
  if (!hw || !a) return `skipped: week ${week} is no longer in config`;
  const cohort = jobCohort(ctx, cohortId);
  if (cohort === null) return `skipped: cohort ${cohortId} is no longer in config`;
  const t = timesFor(a, cohort, zoneOf(ctx.config))!;
  // A cohort's announcement goes to its own homework groups.
  const groups = cohort ? hw.groups.filter((g) => cohort.groups.includes(g)) : hw.groups;
  let sent = 0;
  for (const group of groups) {
    for (const chat of groupChats(ctx.config, group)) {
      const key = `hw-open:${cohort ? `${cohort.id}:` : ''}${week}:${group}:${chat.platform}`;
      if (!claimReminder(ctx.db, key, ctx.now)) continue;
      const text = renderFor(ctx, 'homework_open', { week: String(week), title: a.title, description: a.description, due: t.dueText, group: ctx.config.groups[group]!.name });
      setReminderOutbox(ctx.db, key, ctx.send({ platform: chat.platform, chat: { kind: 'group', id: chat.id }, text, memberId: null, groupId: group }));
      sent++;
    }
  }
  return `week ${week}${cohort ? ` of ${cohort.id}` : ''} announced in ${sent} group chats`;
}

/**
 * One page of private reminders to those who have not submitted (of the cohort, when homework
 * runs per cohort: a member deferred to another cohort is reminded on its dates); the next page
 * is another job.
 */
function remind(payload: unknown, ctx: SystemJobContext): string {
  const p = remindPayload.parse(payload);
  const hw = ctx.config.homework;
  const a = hw && assignmentOf(ctx.config, p.week);
  if (!hw || !a) return `skipped: week ${p.week} is no longer in config`;
  const cohort = jobCohort(ctx, p.cohort);
  if (cohort === null) return `skipped: cohort ${p.cohort} is no longer in config`;
  const t = timesFor(a, cohort, zoneOf(ctx.config))!;
  if (ctx.now >= t.dueAt) return `skipped: the deadline of week ${p.week} has passed`;
  const left = timeLeft(t.dueAt - ctx.now);
  // Platforms the homework groups are on: a member is reminded on the first one they use.
  const platforms = (['wechat', 'telegram'] as const).filter((pl) => hw.groups.some((g) => groupChats(ctx.config, g).some((c) => c.platform === pl)));
  const { page, more, last } = cohort ? cohortPage(ctx, cohort, p.week, p.after) : groupPage(ctx, p.week, p.after);
  let sent = 0;
  for (const m of page) {
    const identity = identitiesOf(ctx.db, m.member_id).find((i) => (platforms as readonly string[]).includes(i.platform));
    if (!identity) continue;
    const platform = identity.platform as Platform;
    if (ctx.config.roleOf(platform, identity.platform_id) !== 'member') continue;
    const key = `hw-remind:${cohort ? `${cohort.id}:` : ''}${p.week}:${p.before}:${m.member_id}`;
    if (!claimReminder(ctx.db, key, ctx.now)) continue;
    const text = renderFor(ctx, 'homework_reminder', { name: m.display_name, week: String(p.week), title: a.title, due: t.dueText, left });
    setReminderOutbox(ctx.db, key, ctx.send({ platform, chat: { kind: 'dm', id: identity.platform_id }, text, memberId: m.member_id, groupId: null }));
    sent++;
  }
  if (more) {
    const next = cohort ? `${cohort.id}:${last}` : last;
    ctx.plan({ kind: 'homework.remind', dueAt: ctx.dueAt, payload: { week: p.week, before: p.before, after: last, ...(cohort ? { cohort: cohort.id } : {}), grace: hw.grace }, key: next });
  }
  return `week ${p.week}${cohort ? ` of ${cohort.id}` : ''} reminder (${formatDuration(p.before)} before): ${sent} sent${more ? ', more to come' : ''}`;
}

type Page = { page: NonSubmitter[]; more: boolean; last: string };

function groupPage(ctx: SystemJobContext, week: number, after: string): Page {
  const page = nonSubmitters(ctx.db, { groups: ctx.config.homework!.groups, week, afterMemberId: after, limit: HOMEWORK_REMINDERS_PER_BATCH });
  return { page, more: page.length === HOMEWORK_REMINDERS_PER_BATCH, last: page.at(-1)?.member_id ?? after };
}

/** A page of the cohort's members, those in a homework group who have not submitted the week. */
function cohortPage(ctx: SystemJobContext, cohort: Cohort, week: number, after: string): Page {
  const ids = ctx.services.cohorts.membersOf(ctx.db, cohort.id, after, HOMEWORK_REMINDERS_PER_BATCH);
  const groups = ctx.config.homework!.groups;
  const page = ids.flatMap((id) => {
    if (!activeGroupsOf(ctx.db, id).some((g) => groups.includes(g)) || hasSubmitted(ctx.db, id, week)) return [];
    const member = getMember(ctx.db, id);
    return member ? [{ member_id: id, display_name: member.display_name }] : [];
  });
  return { page, more: ids.length === HOMEWORK_REMINDERS_PER_BATCH, last: ids.at(-1) ?? after };
}

/**
 * Weeks that count from a cohort's start need cohorts; each cohort's deadline must come after
 * its week opens.
 */
function checkHomeworkCohorts(config: CourseConfig, check: CourseCheck): void {
  const hw = config.homework;
  if (!hw) return;
  hw.assignments.forEach((a, i) => {
    if (!isRelative(a)) return;
    if (config.cohorts.length === 0) {
      check.problem('kequn.yaml', ['homework', 'assignments', i], `week ${a.week} counts from a cohort's start (no date given): add \`cohorts:\` or give opens/due as "YYYY-MM-DD HH:MM"`);
      return;
    }
    for (const c of config.cohorts) {
      const t = timesFor(a, c, hw.timezone)!;
      if (t.dueAt <= t.opensAt) check.problem('kequn.yaml', ['homework', 'assignments', i, 'due'], `in ${c.name} the deadline (${showLocal(t.dueAt, hw.timezone)}) is not after the week opens (${showLocal(t.opensAt, hw.timezone)})`);
    }
  });
}

/**
 * Homework: assignments per cohort week from config, announced in the group when they open,
 * submitted privately, confirmed and flagged late; reminders before the deadline go only to
 * those who have not submitted; instructors list submissions and mark them reviewed.
 */
export const homeworkFeature: Feature = {
  name: 'homework',
  uses: ['cohorts'],
  checkCourse: checkHomeworkCohorts,
  config: [homeworkSection],
  courseValues: homeworkValues,
  templateVars: ['week', 'title', 'description', 'due', 'late', 'left', 'comment', 'teacher', 'code', 'limit'],
  actions: [submitAction],
  commands: [homeworkCommand, submitCommand],
  jobs: [
    {
      kind: 'homework',
      run: () => 'skipped: homework jobs are not planned per member',
      runSystem: (payload, ctx) => (ctx.kind === 'homework.open' ? announce(payload, ctx) : remind(payload, ctx)),
    },
  ],
  plan,
};
