import { z } from 'zod';
import { groupChatId } from '../../core/group-chats.js';
import type { CourseConfig, Role } from '../../core/types.js';
import { renderTemplate, templateVariables } from '../../core/templates.js';
import {
  announcementCode,
  createAnnouncement,
  deliveryCounts,
  dropPendingOf,
  getAnnouncement,
  latestPreview,
  membersInStages,
  moveAnnouncement,
  openAnnouncements,
  parseAnnouncementCode,
  setReported,
  supersedePreviews,
  targetsOf,
  type Announcement,
  type AnnouncementTargets,
} from './store.js';
import type { Db } from '../../store/db.js';
import { planJob } from '../../store/jobs.js';
import { enqueueMessage } from '../../store/outbox.js';
import { budgetFor } from '../../bot/pacing.js';
import { formatDuration } from '../../util/duration.js';
import { parseAnnounce, parseRemind, resolveWhen, type TargetSpec } from './command-args.js';
import { groupDelivery } from '../../core/roles.js';
import { groupArg } from '../../core/member-arg.js';
import { fmtLocal } from '../../util/localtime.js';
import { UsageError, type CommandSpec, type JobContext, type ReportContext, type ReportLines, type RunContext } from '../../core/types.js';
import type { Feature } from '../../core/feature.js';
import { announceSection } from './config.js';

/** Announcing reaches many people at once: owners and instructors only. */
const ANNOUNCE_ROLES: readonly Role[] = ['owner', 'instructor'];

/** Variables an announcement's text may use; `{name}` and `{stage}` only in private ones. */
const VARS = new Set(['course', 'bot', 'group', 'name', 'stage']);
const PERSONAL_VARS = ['name', 'stage'];

/** One message an announcement sends. */
export interface Recipient {
  chat: { kind: 'group' | 'dm'; id: string };
  groupId: string | null;
  memberId: string | null;
  /** `#python-101` or `@Alice`, for previews. */
  label: string;
  text: string;
}

const GROUP_KINDS = ['trial', 'paid', 'staff'];

/** Checks target names against the course and flattens them to group handles and stage ids. */
export function resolveTargets(config: CourseConfig, specs: TargetSpec[], segmentNames: readonly string[] = []): AnnouncementTargets {
  const groups = new Set<string>();
  const stages = new Set<string>();
  const segments = new Set<string>();
  const courseGroups = Object.entries(config.groups).filter(([, g]) => g.kind !== 'staff');
  for (const t of specs.length > 0 ? specs : [{ kind: 'all' } as TargetSpec]) {
    if (t.kind === 'all') for (const [h] of courseGroups) groups.add(h);
    else if (t.kind === 'group') groups.add(groupArg(config, t.handle));
    else if (t.kind === 'group-kind') {
      if (!GROUP_KINDS.includes(t.groupKind)) throw new UsageError(`unknown group kind "${t.groupKind}" (${GROUP_KINDS.join(', ')})`);
      for (const [h, g] of Object.entries(config.groups)) if (g.kind === t.groupKind) groups.add(h);
    } else if (t.kind === 'segment') {
      if (!segmentNames.includes(t.segment)) throw new UsageError(`unknown segment "${t.segment}" (segments in kequn.yaml profile.segments: ${segmentNames.join(', ') || 'none'})`);
      segments.add(t.segment);
    } else {
      if (!config.stageIds.includes(t.stage)) throw new UsageError(`unknown stage "${t.stage}" (stages: ${config.stageIds.join(', ')})`);
      stages.add(t.stage);
    }
  }
  return segments.size > 0 ? { groups: [...groups], stages: [...stages], segments: [...segments] } : { groups: [...groups], stages: [...stages] };
}

/** Checks the text's `{variables}` for these targets. */
export function checkText(text: string, targets: AnnouncementTargets): void {
  const vars = templateVariables(text);
  const unknown = vars.filter((v) => !VARS.has(v));
  if (unknown.length > 0) throw new UsageError(`unknown variable {${unknown[0]}} (variables: ${[...VARS].map((v) => `{${v}}`).join(' ')})`);
  const personal = vars.find((v) => PERSONAL_VARS.includes(v));
  if (personal && targets.groups.length > 0) throw new UsageError(`{${personal}} works only in private announcements (stage:…), not in groups`);
}


/** Exactly the messages an announcement sends now, and the targets it skips (and why). */
/** The members of a segment on a platform (the profile service's), for `segment:` targets. */
export type SegmentLookup = (name: string) => { member_id: string; platform_id: string; display_name: string; stage: string }[];

export function recipients(
  db: Db,
  config: CourseConfig,
  platform: 'wechat' | 'telegram',
  targets: AnnouncementTargets,
  text: string,
  segment: SegmentLookup = () => [],
): { list: Recipient[]; skipped: string[] } {
  const list: Recipient[] = [];
  const skipped: string[] = [];
  const base = { course: config.course.name, bot: config.course.bot_name };
  for (const handle of targets.groups) {
    const g = config.groups[handle];
    if (!g) {
      skipped.push(`${handle}（已不在配置中）`);
      continue;
    }
    const id = groupChatId(config, platform, handle);
    if (!id) skipped.push(`${g.name}（没有 ${platform} 群号）`);
    else if (groupDelivery(db, config, handle).paused) skipped.push(`${g.name}（机器人已暂停）`);
    else list.push({ chat: { kind: 'group', id }, groupId: handle, memberId: null, label: `#${handle}`, text: renderTemplate(text, { ...base, group: g.name }) });
  }
  const seen = new Set<string>();
  for (const m of [...membersInStages(db, targets.stages, platform), ...(targets.segments ?? []).flatMap(segment)]) {
    if (seen.has(m.member_id)) continue;
    seen.add(m.member_id);
    list.push({
      chat: { kind: 'dm', id: m.platform_id },
      groupId: null,
      memberId: m.member_id,
      label: `@${m.display_name || m.platform_id}`,
      text: renderTemplate(text, { ...base, group: '', name: m.display_name, stage: m.stage }),
    });
  }
  return { list, skipped };
}

function describeTargets(config: CourseConfig, t: AnnouncementTargets): string {
  const parts: string[] = [];
  if (t.groups.length) parts.push(`群：${t.groups.map((h) => config.groups[h]?.name ?? h).join('、')}`);
  if (t.stages.length) parts.push(`私信阶段：${t.stages.join('、')}`);
  if (t.segments?.length) parts.push(`私信分群：${t.segments.join('、')}`);
  return parts.join('；');
}

function whenText(config: CourseConfig, dueAt: number | null): string {
  return dueAt === null ? '确认后立即发送' : `定时 ${fmtLocal(dueAt, config.course.timezone)}（${config.course.timezone}）`;
}

const ruleIdOf = (id: number) => `announce:${announcementCode(id)}`;

/** Segment members through the profile service, as they are when the messages are made. */
function segmentLookup(ctx: RunContext, platform: 'wechat' | 'telegram'): SegmentLookup {
  const profile = ctx.services.profile as typeof ctx.services.profile | undefined;
  return (name) => profile?.segmentMembers(ctx.db, name, platform, ctx.now, ctx.services) ?? [];
}

/** Queues every message of an announcement through the outbox (paced there) and starts watching it. */
function startSending(ctx: RunContext, a: Announcement): string {
  const { db, config } = ctx;
  const platform = a.platform as 'wechat' | 'telegram';
  const { list, skipped } = recipients(db, config, platform, targetsOf(a), a.text, segmentLookup(ctx, platform));
  const code = announcementCode(a.id);
  const budget = budgetFor(db, config, platform, ctx.now);
  for (const r of list) {
    enqueueMessage(db, {
      platform,
      chatKind: r.chat.kind,
      chatId: r.chat.id,
      memberId: r.memberId,
      groupId: r.groupId,
      text: r.text,
      priority: 'push',
      notBefore: ctx.now,
      eventId: ctx.trigger.eventId,
      ruleId: ruleIdOf(a.id),
      dryRun: groupDelivery(db, config, r.groupId).dryRun,
      now: ctx.now,
      budget,
    });
  }
  const skippedText = skipped.length ? `\n跳过：${skipped.join('、')}` : '';
  if (list.length === 0) {
    moveAnnouncement(db, { id: a.id, from: ['preview', 'scheduled'], to: 'done', now: ctx.now, total: 0, note: 'no recipients' });
    ctx.send({ to: 'dm', text: `${code} 没有可发送的对象，已结束。${skippedText}` });
    return `${code}: no recipients`;
  }
  moveAnnouncement(db, { id: a.id, from: ['preview', 'scheduled'], to: 'sending', now: ctx.now, total: list.length });
  planJob(db, { kind: 'announce.watch', memberId: a.author_id, payload: { id: a.id, step: 'watch', platform }, dueAt: ctx.now + config.announce.progress_every, now: ctx.now });
  const groups = list.filter((r) => r.chat.kind === 'group').length;
  ctx.send({ to: 'dm', text: `📣 ${code} 开始发送：${list.length} 条（群 ${groups} 个，私信 ${list.length - groups} 人），按发送节奏陆续发出，完成后告诉你。${skippedText}` });
  return `${code}: ${list.length} messages queued`;
}

const announce: CommandSpec = {
  name: 'announce',
  roles: ANNOUNCE_ROLES,
  usage: '/announce [at YYYY-MM-DD HH:MM] [dry-run] [all | #群 | kind:trial|paid | stage:阶段 | segment:分群 …] <内容>',
  description: '发公告到群，或按阶段、分群私信成员：先预览，/confirm 后发送',
  run(args, ctx) {
    const { db, config, now } = ctx;
    const req = parseAnnounce(args);
    const targets = resolveTargets(config, req.targets, (ctx.services.profile as typeof ctx.services.profile | undefined)?.segmentNames() ?? []);
    checkText(req.text, targets);
    const dueAt = req.at ? resolveWhen(req.at, now, config.course.timezone) : null;
    const platform = ctx.trigger.platform;
    const { list, skipped } = recipients(db, config, platform, targets, req.text, segmentLookup(ctx, platform));
    const skippedText = skipped.length ? `\n跳过：${skipped.join('、')}` : '';
    if (list.length === 0) {
      ctx.send({ to: 'dm', text: `这条公告现在没有任何可发送的对象（${describeTargets(config, targets) || '无'}），没有保存。${skippedText}` });
      return 'refused: zero recipients';
    }
    const groups = list.filter((r) => r.chat.kind === 'group').length;
    const counts = `群 ${groups} 个，私信 ${list.length - groups} 人，共 ${list.length} 条`;
    if (req.dryRun) {
      const shown = list.slice(0, 30).map((r) => `→ ${r.label}：${r.text}`);
      const more = list.length > shown.length ? [`…另有 ${list.length - shown.length} 条`] : [];
      ctx.send({ to: 'dm', text: [`🧪 试运行，不会发送（${whenText(config, dueAt)}；${counts}）：`, ...shown, ...more].join('\n') + skippedText });
      return `dry run: ${list.length} messages shown, nothing saved`;
    }
    supersedePreviews(db, { authorId: ctx.member.id, platform, now });
    const id = createAnnouncement(db, {
      kind: 'announce',
      platform,
      authorId: ctx.member.id,
      authorPlatformId: ctx.trigger.userPlatformId,
      text: req.text,
      targets,
      status: 'preview',
      dueAt,
      expiresAt: now + config.announce.confirm_within,
      now,
    });
    const code = announcementCode(id);
    ctx.send({
      to: 'dm',
      text: [
        `📣 公告 ${code} 预览（${whenText(config, dueAt)}）`,
        `将发到：${describeTargets(config, targets)}（${counts}）${skippedText}`,
        '———',
        list[0]!.text,
        '———',
        `${formatDuration(config.announce.confirm_within)} 内回复 /confirm 发送，/cancel 取消。`,
      ].join('\n'),
    });
    return `${code} previewed: ${list.length} messages`;
  },
};

const confirm: CommandSpec = {
  name: 'confirm',
  roles: ANNOUNCE_ROLES,
  usage: '/confirm',
  description: '确认发送你刚预览的公告',
  run(args, ctx) {
    if (args.trim() !== '') throw new UsageError('/confirm takes no arguments');
    const { db, config, now } = ctx;
    // Only the author's own preview, from the same account: a confirmation from anyone else finds nothing.
    const a = latestPreview(db, { authorId: ctx.member.id, authorPlatformId: ctx.trigger.userPlatformId, platform: ctx.trigger.platform });
    if (!a) {
      ctx.send({ to: 'dm', text: '没有等待你确认的公告。' });
      return 'refused: no preview of this sender';
    }
    const code = announcementCode(a.id);
    if (a.expires_at !== null && now > a.expires_at) {
      moveAnnouncement(db, { id: a.id, from: ['preview'], to: 'expired', now, note: 'confirmed too late' });
      ctx.send({ to: 'dm', text: `${code} 的预览已过期（${formatDuration(config.announce.confirm_within)} 内未确认），没有发送。请重新 /announce。` });
      return `refused: ${code} preview expired`;
    }
    if (a.due_at !== null && a.due_at > now) {
      moveAnnouncement(db, { id: a.id, from: ['preview'], to: 'scheduled', now });
      planJob(db, { kind: 'announce.send', memberId: a.author_id, payload: { id: a.id, step: 'send', platform: a.platform }, dueAt: a.due_at, dedupeKey: `${ruleIdOf(a.id)}:send`, now });
      ctx.send({ to: 'dm', text: `⏰ ${code} 已安排在 ${fmtLocal(a.due_at, config.course.timezone)} 发送。/announcements 查看或取消。` });
      return `${code} scheduled`;
    }
    return startSending(ctx, a);
  },
};

const cancel: CommandSpec = {
  name: 'cancel',
  roles: ANNOUNCE_ROLES,
  usage: '/cancel',
  description: '取消你刚预览、还没确认的公告',
  run(args, ctx) {
    if (args.trim() !== '') throw new UsageError('/cancel takes no arguments (for scheduled ones: /announcements cancel A3)');
    const a = latestPreview(ctx.db, { authorId: ctx.member.id, authorPlatformId: ctx.trigger.userPlatformId, platform: ctx.trigger.platform });
    if (!a) {
      ctx.send({ to: 'dm', text: '没有等待你确认的公告。' });
      return 'nothing to cancel';
    }
    moveAnnouncement(ctx.db, { id: a.id, from: ['preview'], to: 'cancelled', now: ctx.now, note: 'cancelled at preview' });
    ctx.send({ to: 'dm', text: `已取消 ${announcementCode(a.id)}，没有发送。` });
    return `${announcementCode(a.id)} cancelled`;
  },
};

const STATUS_ZH: Record<string, string> = { preview: '待确认', scheduled: '定时', sending: '发送中' };

const announcements: CommandSpec = {
  name: 'announcements',
  roles: ANNOUNCE_ROLES,
  usage: '/announcements   或   /announcements cancel <编号>',
  description: '列出待发的公告和提醒，或取消其中一条',
  run(args, ctx) {
    const { db, config, now } = ctx;
    const words = args.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) {
      // A preview nobody confirmed in time is void, whether or not someone tried to confirm it.
      const open = openAnnouncements(db, ctx.trigger.platform).filter((a) => a.status !== 'preview' || a.expires_at === null || a.expires_at >= now);
      if (open.length === 0) {
        ctx.send({ to: 'dm', text: '没有待发的公告或提醒。' });
        return 'listed 0';
      }
      const lines = open.map((a) => {
        const when = a.status === 'sending' ? '' : ` ${a.due_at === null ? '确认后立即' : fmtLocal(a.due_at, config.course.timezone)}`;
        const progress = a.status === 'sending' ? ` ${a.reported}/${a.total}` : '';
        return `${announcementCode(a.id)} [${STATUS_ZH[a.status]}${progress}]${when} ${a.kind === 'remind' ? '提醒' : '公告'} → ${describeTargets(config, targetsOf(a))}：${a.text.replace(/\s+/g, ' ').slice(0, 40)}`;
      });
      ctx.send({ to: 'dm', text: ['待发的公告和提醒：', ...lines, '取消：/announcements cancel <编号>'].join('\n') });
      return `listed ${open.length}`;
    }
    if (words[0] !== 'cancel' || words.length !== 2) throw new UsageError('expected nothing, or "cancel <code>"');
    const id = parseAnnouncementCode(words[1]!);
    const a = id === undefined ? undefined : getAnnouncement(db, id);
    if (!a || a.platform !== ctx.trigger.platform) throw new UsageError(`no announcement ${words[1]}`);
    const code = announcementCode(a.id);
    if (!moveAnnouncement(db, { id: a.id, from: ['preview', 'scheduled', 'sending'], to: 'cancelled', now, note: `cancelled by ${ctx.member.id}` })) {
      ctx.send({ to: 'dm', text: `${code} 已经${a.status === 'done' ? '发送完成' : '结束'}，无法取消。` });
      return `${code} not open (${a.status})`;
    }
    const dropped = a.status === 'sending' ? dropPendingOf(db, ruleIdOf(a.id), `announcement cancelled by ${ctx.member.id}`) : 0;
    ctx.send({ to: 'dm', text: `已取消 ${code}${a.status === 'sending' ? `，撤下了 ${dropped} 条还没发出的消息` : ''}。` });
    return `${code} cancelled (was ${a.status}; ${dropped} pending dropped)`;
  },
};

const remind: CommandSpec = {
  name: 'remind',
  roles: ANNOUNCE_ROLES,
  usage: '/remind <群> <内容> at <YYYY-MM-DD HH:MM | HH:MM>',
  description: '定时在一个群里发提醒',
  run(args, ctx) {
    const { db, config, now } = ctx;
    const req = parseRemind(args);
    const group = groupArg(config, req.group);
    const targets = { groups: [group], stages: [] };
    checkText(req.text, targets);
    const dueAt = resolveWhen(req.at, now, config.course.timezone);
    const id = createAnnouncement(db, {
      kind: 'remind',
      platform: ctx.trigger.platform,
      authorId: ctx.member.id,
      authorPlatformId: ctx.trigger.userPlatformId,
      text: req.text,
      targets,
      status: 'scheduled',
      dueAt,
      expiresAt: null,
      now,
    });
    planJob(db, { kind: 'announce.send', memberId: ctx.member.id, payload: { id, step: 'send', platform: ctx.trigger.platform }, dueAt, dedupeKey: `${ruleIdOf(id)}:send`, now });
    const code = announcementCode(id);
    ctx.send({ to: 'dm', text: `⏰ 提醒 ${code} 已安排：${fmtLocal(dueAt, config.course.timezone)} 发到「${config.groups[group]!.name}」。/announcements 查看或取消。` });
    return `${code} reminder scheduled`;
  },
};

const jobPayload = z.object({ id: z.number().int(), step: z.enum(['send', 'watch']) });

/** A scheduled announcement falls due (`send`), or one going out is checked on (`watch`). */
function runAnnounceJob(payload: unknown, ctx: JobContext): string {
  const { id, step } = jobPayload.parse(payload);
  const a = getAnnouncement(ctx.db, id);
  const code = announcementCode(id);
  if (!a) return `skipped: no announcement ${code}`;
  if (step === 'send') {
    if (a.status !== 'scheduled') return `skipped: ${code} is ${a.status}`;
    return startSending(ctx, a);
  }
  if (a.status !== 'sending') return `skipped: ${code} is ${a.status}`;
  const c = deliveryCounts(ctx.db, ruleIdOf(id));
  const finished = c.sent + c.failed + c.dryRun;
  if (c.pending === 0) {
    moveAnnouncement(ctx.db, { id, from: ['sending'], to: 'done', now: ctx.now, note: `sent ${c.sent}, failed ${c.failed}, dry run ${c.dryRun}` });
    setReported(ctx.db, id, finished);
    const extra = [c.failed ? `失败 ${c.failed} 条` : '', c.dryRun ? `试运行记录 ${c.dryRun} 条（未发送）` : ''].filter(Boolean).join('，');
    ctx.send({ to: 'dm', text: `✅ ${code} 发送完成：成功 ${c.sent}/${a.total} 条${extra ? `，${extra}` : ''}。` });
    return `${code} done: sent ${c.sent}, failed ${c.failed}, dry run ${c.dryRun}`;
  }
  if (finished > a.reported) {
    setReported(ctx.db, id, finished);
    ctx.send({ to: 'dm', text: `📣 ${code} 发送中：${finished}/${a.total}` });
  }
  planJob(ctx.db, { kind: 'announce.watch', memberId: a.author_id, payload: { id, step: 'watch', platform: a.platform }, dueAt: ctx.now + ctx.config.announce.progress_every, now: ctx.now });
  return `${code} progress ${finished}/${a.total}`;
}

/** `待发公告/提醒 2（/announcements）` in the day's `/stats` of all groups, when some wait. */
function dayReport(ctx: ReportContext, args: { group: string | undefined }): ReportLines {
  if (args.group) return {};
  const pending = openAnnouncements(ctx.db, ctx.platform).filter((a) => a.status !== 'preview').length;
  return pending > 0 ? { status: [`待发公告/提醒 ${pending}（/announcements）`] } : {};
}

/**
 * Announcements: instructors reach all course groups, some groups, or the members of a stage
 * privately. A preview with the counts comes first and nothing goes out before the author's
 * /confirm; the messages are then paced through the outbox, and the author hears the progress
 * and the completion. `at …` schedules it on the persisted scheduler; /remind is the one-group,
 * scheduled form.
 */
export const announceFeature: Feature = {
  name: 'announce',
  config: [announceSection],
  // Segments (segment:…) are the profile feature's; without it there are none.
  uses: ['profile'],
  dayReport,
  commands: [announce, confirm, cancel, announcements, remind],
  jobs: [{ kind: 'announce', run: runAnnounceJob }],
};
