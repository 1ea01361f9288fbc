import { z } from 'zod';
import type { Assignment } from './config.js';
import type { CourseConfig } from '../../core/types.js';
import type { Platform } from '../../bot/events.js';
import { activeMemberIdentities, getSubmission, markReviewed, nonSubmitters, submissionsForWeek, upsertSubmission } from './store.js';
import { activeGroupsOf, identitiesOf } from '../../store/members.js';
import { claimReminder, setReminderOutbox } from '../../store/reminders.js';
import { formatDuration } from '../../util/duration.js';
import { localParts } from '../../util/localtime.js';
import { groupChats } from '../../core/group-chats.js';
import { renderFor } from '../../core/templates.js';
import { homeworkValues } from './course-values.js';
import type { Feature } from '../../core/feature.js';
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
  const p = localParts(at, config.homework?.timezone ?? config.course.timezone);
  return `${p.month}月${p.day}日 ${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
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
  if (ctx.now < a.opensAt) return refuse(`第${week}周作业 ${showTime(ctx.config, a.opensAt)} 才开放。`);
  if (ctx.now > a.dueAt + hw.lateUntil) return refuse(`第${week}周作业已经截止（${showTime(ctx.config, a.dueAt + hw.lateUntil)} 后不再接收）。`);
  const late = ctx.now > a.dueAt;
  const r = upsertSubmission(ctx.db, { memberId: ctx.member.id, week, link, late, eventId: ctx.trigger.eventId, now: ctx.now });
  ctx.send({
    to: 'dm',
    text: ctx.render(ctx.config.templates.homework_received!, {
      week: String(week),
      title: a.title,
      late: late ? `（已过截止时间 ${a.dueText}，记为迟交）` : '',
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

function listWeek(ctx: RunContext, a: Assignment): string {
  const subs = submissionsForWeek(ctx.db, a.week);
  const members = studentCount(ctx);
  const lines = subs.map(
    (s) => `${submissionCode(s.id)} ${s.display_name} ${showTime(ctx.config, s.updated_at)}${s.late ? ' [迟交]' : ''}${s.reviewed_at ? ' [已批改]' : ''} ${s.link}`,
  );
  return [`第${a.week}周「${a.title}」截止 ${a.dueText}：已交 ${subs.length}/${members}`, ...lines].join('\n');
}

/** Students in the homework groups: staff (by platform id) are not expected to submit. */
function studentCount(ctx: RunContext): number {
  const rows = activeMemberIdentities(ctx.db, ctx.config.homework!.groups);
  const staff = new Set(rows.filter((r) => ctx.config.roleOf(r.platform as Platform, r.platform_id) !== 'member').map((r) => r.member_id));
  return new Set(rows.filter((r) => !staff.has(r.member_id)).map((r) => r.member_id)).size;
}

/**
 * `/homework` (summary of every week), `/homework 2` (week 2's submissions), `/homework review
 * H12 [comment]` (mark reviewed, tell the student). Instructors and assistants only.
 */
const homeworkCommand: CommandSpec = {
  name: 'homework',
  roles: ['owner', 'instructor', 'assistant'],
  usage: '/homework [周数]   或   /homework review <作业编号> [评语]',
  description: '查看作业提交情况、标记已批改',
  run(args, ctx) {
    const hw = ctx.config.homework;
    if (!hw) {
      ctx.send({ to: 'dm', text: '这个课程没有配置作业。' });
      return 'homework is not configured';
    }
    const words = args.split(/\s+/).filter(Boolean);
    if (words.length === 0 || words[0] === 'list') {
      const week = words[1];
      if (week !== undefined) return homeworkCommand.run(week, ctx);
      const summary = hw.assignments.map((a) => {
        const subs = submissionsForWeek(ctx.db, a.week);
        return `第${a.week}周「${a.title}」：已交 ${subs.length}/${studentCount(ctx)}，迟交 ${subs.filter((s) => s.late).length}，待批改 ${subs.filter((s) => !s.reviewed_at).length}`;
      });
      ctx.send({ to: 'dm', text: summary.join('\n') });
      return `listed ${hw.assignments.length} weeks`;
    }
    if (/^\d+$/.test(words[0]!)) {
      const a = assignmentOf(ctx.config, Number(words[0]));
      if (!a) throw new UsageError(`no homework for week ${words[0]}`);
      ctx.send({ to: 'dm', text: listWeek(ctx, a) });
      return `listed week ${a.week}`;
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

const openPayload = z.object({ week: z.number().int() });
const remindPayload = z.object({ week: z.number().int(), before: z.number(), after: z.string().default('') });

function plan(config: CourseConfig): StandingJob[] {
  const hw = config.homework;
  if (!hw) return [];
  return hw.assignments.flatMap((a) => [
    { kind: 'homework.open', dueAt: a.opensAt, payload: { week: a.week, grace: hw.grace } },
    ...hw.reminders
      .filter((before) => a.dueAt - before > a.opensAt)
      .map((before) => ({ kind: 'homework.remind', dueAt: a.dueAt - before, payload: { week: a.week, before, grace: hw.grace } })),
  ]);
}

function announce(payload: unknown, ctx: SystemJobContext): string {
  const { week } = openPayload.parse(payload);
  const hw = ctx.config.homework;
  const a = hw && assignmentOf(ctx.config, week);
  if (!hw || !a) return `skipped: week ${week} is no longer in config`;
  let sent = 0;
  for (const group of hw.groups) {
    for (const chat of groupChats(ctx.config, group)) {
      const key = `hw-open:${week}:${group}:${chat.platform}`;
      if (!claimReminder(ctx.db, key, ctx.now)) continue;
      const text = renderFor(ctx, 'homework_open', { week: String(week), title: a.title, description: a.description, due: a.dueText, group: ctx.config.groups[group]!.name });
      setReminderOutbox(ctx.db, key, ctx.send({ platform: chat.platform, chat: { kind: 'group', id: chat.id }, text, memberId: null, groupId: group }));
      sent++;
    }
  }
  return `week ${week} announced in ${sent} group chats`;
}

/** One page of private reminders to those who have not submitted; the next page is another job. */
function remind(payload: unknown, ctx: SystemJobContext): string {
  const p = remindPayload.parse(payload);
  const hw = ctx.config.homework;
  const a = hw && assignmentOf(ctx.config, p.week);
  if (!hw || !a) return `skipped: week ${p.week} is no longer in config`;
  if (ctx.now >= a.dueAt) return `skipped: the deadline of week ${p.week} has passed`;
  const left = timeLeft(a.dueAt - ctx.now);
  // Platforms the homework groups are on: a member is reminded on the first one they use.
  const platforms = (['wechat', 'telegram'] as const).filter((pl) => hw.groups.some((g) => groupChats(ctx.config, g).some((c) => c.platform === pl)));
  const page = nonSubmitters(ctx.db, { groups: hw.groups, week: p.week, afterMemberId: p.after, limit: HOMEWORK_REMINDERS_PER_BATCH });
  const more = page.length === HOMEWORK_REMINDERS_PER_BATCH;
  let sent = 0;
  for (const m of page) {
    const identity = identitiesOf(ctx.db, m.member_id).find((i) => (platforms as readonly string[]).includes(i.platform));
    if (!identity) continue;
    const platform = identity.platform as Platform;
    if (ctx.config.roleOf(platform, identity.platform_id) !== 'member') continue;
    const key = `hw-remind:${p.week}:${p.before}:${m.member_id}`;
    if (!claimReminder(ctx.db, key, ctx.now)) continue;
    const text = renderFor(ctx, 'homework_reminder', { name: m.display_name, week: String(p.week), title: a.title, due: a.dueText, left });
    setReminderOutbox(ctx.db, key, ctx.send({ platform, chat: { kind: 'dm', id: identity.platform_id }, text, memberId: m.member_id, groupId: null }));
    sent++;
  }
  const last = page.at(-1)?.member_id ?? p.after;
  if (more) ctx.plan({ kind: 'homework.remind', dueAt: ctx.dueAt, payload: { week: p.week, before: p.before, after: last, grace: hw.grace }, key: last });
  return `week ${p.week} reminder (${formatDuration(p.before)} before): ${sent} sent${more ? ', more to come' : ''}`;
}

/**
 * Homework: assignments per cohort week from config, announced in the group when they open,
 * submitted privately, confirmed and flagged late; reminders before the deadline go only to
 * those who have not submitted; instructors list submissions and mark them reviewed.
 */
export const homeworkFeature: Feature = {
  name: 'homework',
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
