import { z } from 'zod';
import { identitiesOf } from '../../store/members.js';
import { activeWarnings, isFlagged, countGroupMessages, countModeration, lastOffence, moderationOf, offencesSincePardon, recentMessageCount, recentMessageTexts, recordModeration, removedSinceJoin, spamReads, warnedSince } from './store.js';
import { effectiveRole, staffChats, STAFF_ROLES } from '../../core/roles.js';
import { announceRemoval, announceWarning } from './notices.js';
import { adInText, normaliseForRepeat, type SpamHit } from './spam.js';
import { lookupMember, parseMemberArg } from '../../core/member-arg.js';
import { fmtLocal } from '../../util/localtime.js';
import { UsageError, type ActionSpec, type CommandSpec, type FactSpec, type ReportContext, type ReportLines, type RunContext } from '../../core/types.js';
import type { Feature } from '../../core/feature.js';
import type { Member } from '../../store/members.js';
import type { Db } from '../../store/db.js';
import { moderationGroupKeys, moderationSection } from './config.js';
import { platformMessageIdOf, queuePlatformAction } from '../../store/platform-actions.js';

declare module '../../core/types.js' {
  interface Services {
    /** What moderation knows about a member, for features that trust members' words (qa's learning). */
    moderation: ModerationService;
  }
}

export interface ModerationService {
  /** Warnings not pardoned since, or removed from a group ever. */
  flagged(db: Db, memberId: string): boolean;
}

const TEMPLATES = ['mod_warn', 'mod_removed'] as const;

/** Repeats count only for texts this long (short ones like 打卡 or 收到 repeat innocently). */
const MIN_REPEAT_CHARS = 6;
/** One appeal per member per this time. */
const APPEAL_COOLDOWN = 3_600_000;

const REASON_ZH: Record<SpamHit['kind'], (e: string) => string> = {
  link: (e) => `发了不允许的链接（${e}）`,
  contact: () => '在群里留联系方式',
  keyword: (e) => `发了广告内容（${e}）`,
  repeat: () => '重复刷屏',
  flood: () => '短时间内发言过多',
  removed: () => '已被移出本群',
};

type FactCtx = Parameters<FactSpec['get']>[0];

/**
 * The ad or spam in this message, or undefined. Only plain messages in groups that opted in
 * (`moderation: true`), and never for staff (by platform id, including granted roles).
 */
export function spamOf(c: FactCtx): SpamHit | undefined {
  const { trigger, config, db, member, now } = c;
  if (trigger.type !== 'message' || trigger.group === null || config.groups[trigger.group]?.moderation !== true) return undefined;
  if (effectiveRole(db, config, trigger.platform, trigger.userPlatformId) !== 'member') return undefined;
  // Removed a moment ago and the platform has not carried it out yet (or cannot): whatever they
  // post now is neither answered nor moderated again.
  if (removedSinceJoin(db, member.id, trigger.group)) return { kind: 'removed', evidence: 'removed from this group since they last joined it' };
  const s = config.moderation;
  const hit = adInText(trigger.text, { allowedDomains: s.allowed_domains, keywords: s.keywords, contactIds: s.contact_ids });
  if (hit) return hit;
  const norm = normaliseForRepeat(trigger.text);
  if (norm.length >= MIN_REPEAT_CHARS) {
    // The message itself is already in the log (it was appended before the rules ran).
    const same = recentMessageTexts(db, { memberId: member.id, since: now - s.repeat.within }).filter((t) => normaliseForRepeat(t) === norm).length;
    if (same >= s.repeat.count) return { kind: 'repeat', evidence: `${same}× ${trigger.text.slice(0, 80)}` };
  }
  // Every message of a flood is one (none of them is answered); which of them are offences is
  // the moderate action's business (floodOffence).
  const inGroup = recentMessageCount(db, { memberId: member.id, since: now - s.flood.within, groupId: trigger.group });
  if (inGroup >= s.flood.count) return { kind: 'flood', evidence: `${inGroup} messages within ${Math.round(s.flood.within / 1000)}s` };
  return undefined;
}

/**
 * A flood is counted in blocks: `flood.count` messages within `flood.within` are one offence, and
 * every `flood.count` more after it (within the window) another, so a burst of 200 messages is as
 * many offences as it has blocks, and its sender is removed per `moderation.warnings`.
 */
function floodOffence(ctx: RunContext): boolean {
  const { db, config, member, trigger, now } = ctx;
  const f = config.moderation.flood;
  const last = lastOffence(db, { memberId: member.id, groupId: trigger.group!, reason: 'flood', since: now - f.within });
  if (!last) return true;
  return countGroupMessages(db, { memberId: member.id, groupId: trigger.group!, since: now - f.within, afterEventId: last.event_id ?? 0 }) >= f.count;
}

/** The window in which a member hears one warning for this kind of offence (ads: each is announced). */
function warningWindow(config: RunContext['config'], kind: SpamHit['kind']): number {
  return kind === 'flood' ? config.moderation.flood.within : kind === 'repeat' ? config.moderation.repeat.within : 0;
}

const spamFact: FactSpec = {
  name: 'spam',
  type: 'string',
  description: 'why the message is an ad or spam (link, contact, keyword, repeat, flood; removed: the sender was just removed from the group), null when clean; only in groups with moderation: true, never for staff',
  get: (c) => spamOf(c)?.kind ?? null,
  // In a moderated group, what spamOf reads, loaded with the event's other reads (issue 20).
  reads: (c) =>
    c.group !== null && c.config.groups[c.group]?.moderation === true
      ? spamReads(c.member.id, c.group, { repeat: c.now - c.config.moderation.repeat.within, flood: c.now - c.config.moderation.flood.within })
      : [],
};

function notifyStaff(ctx: RunContext, text: string): void {
  for (const chat of staffChats(ctx.db, ctx.config, ctx.trigger.platform)) ctx.send({ to: 'chat', chat, text, priority: 'bulk' });
}

const moderate: ActionSpec<Record<string, never> | null> = {
  name: 'moderate',
  description: 'act on an ad or spam: delete it where the platform allows, warn the member, remove them after moderation.warnings warnings; logged with the evidence',
  // `- moderate:` or `- moderate: {}`: it takes no settings (they live in kequn.yaml).
  schema: z.strictObject({}).nullable() as unknown as z.ZodType<Record<string, never> | null>,
  check: (_arg, ctx) => TEMPLATES.filter((t) => !(t in ctx.config.templates)).map((t) => `moderate needs a "${t}" template in templates.yaml`),
  run(_arg, ctx) {
    const { db, config, trigger, member, now } = ctx;
    const hit = spamOf(ctx);
    if (!hit) return ctx.note('nothing to moderate');
    if (hit.kind === 'removed') return ctx.note('already removed from this group: ignored, no second notice');
    if (hit.kind === 'flood' && !floodOffence(ctx)) return ctx.note(`flood continues (${hit.evidence}): counted toward the next offence, no message`);
    const group = trigger.group!;
    const limit = config.moderation.warnings;
    const prior = activeWarnings(db, member.id);
    // Removed for spam before (and not pardoned): back in the group, the first offence removes.
    const returning = offencesSincePardon(db, member.id).remove > 0;
    const reason = REASON_ZH[hit.kind](hit.evidence);
    const evidence = `${hit.evidence} | ${trigger.text.slice(0, 500)}`;
    const base = { memberId: member.id, platform: trigger.platform, groupId: group, reason: hit.kind, evidence, by: null, eventId: trigger.eventId, now };
    const messageId = trigger.eventId !== null ? platformMessageIdOf(db, trigger.eventId) : undefined;
    const queue = (action: 'remove_member' | 'delete_message', moderationId: number) =>
      queuePlatformAction(db, { platform: trigger.platform, action, chatId: trigger.replyTo.id, userId: trigger.userPlatformId, messageId: messageId ?? null, moderationId, now });
    if (prior >= limit || returning) {
      const id = recordModeration(db, { ...base, action: 'remove' });
      if (config.moderation.delete) queue('delete_message', id);
      queue('remove_member', id);
      announceRemoval(ctx, { reason, warnings: offencesSincePardon(db, member.id).warn, limit, returning });
      return ctx.note(`removed ${returning ? 'at the first offence after an earlier removal' : `after ${prior} warnings`}: ${hit.kind} (${hit.evidence})`);
    }
    // Heard once per window for repeats and floods: the rest of a burst's offences are logged
    // and count toward removal, but the group is not told again.
    const window = warningWindow(config, hit.kind);
    const heard = window > 0 && warnedSince(db, { memberId: member.id, groupId: group, since: now - window });
    const id = recordModeration(db, { ...base, action: 'warn' });
    if (config.moderation.delete) queue('delete_message', id);
    const told = heard ? 'not announced (warned within the window)' : `announced (${announceWarning(ctx, { reason, warnings: prior + 1, limit })})`;
    ctx.note(`warned ${prior + 1}/${limit}, ${told}: ${hit.kind} (${hit.evidence})`);
  },
};

const appeal: CommandSpec = {
  name: 'appeal',
  roles: ['owner', 'instructor', 'assistant', 'member'],
  usage: '/appeal <说明>',
  description: '对警告或移出提出申诉，转给老师处理',
  run(args, ctx) {
    const text = args.trim();
    if (text === '') throw new UsageError('expected a few words on why the warning was wrong');
    const history = moderationOf(ctx.db, ctx.member.id, 10);
    const actions = history.filter((h) => h.action === 'warn' || h.action === 'remove');
    if (actions.length === 0) {
      ctx.send({ to: 'dm', text: '你没有被警告或移出的记录，不需要申诉。' });
      return 'refused: nothing to appeal';
    }
    const lastAppeal = history.find((h) => h.action === 'appeal');
    if (lastAppeal && ctx.now - lastAppeal.at < APPEAL_COOLDOWN) {
      ctx.send({ to: 'dm', text: '你的申诉已经转给老师了，请耐心等待处理。' });
      return 'refused: appealed less than an hour ago';
    }
    recordModeration(ctx.db, { memberId: ctx.member.id, platform: ctx.trigger.platform, groupId: actions[0]!.group_id, action: 'appeal', reason: 'appeal', evidence: text.slice(0, 500), by: ctx.member.id, eventId: ctx.trigger.eventId, now: ctx.now });
    const tz = ctx.config.course.timezone;
    const record = actions.slice(0, 3).map((h) => `  ${fmtLocal(h.at, tz)} ${h.action === 'remove' ? '移出' : '警告'}（${h.reason}）：${h.evidence.slice(0, 80)}`);
    const who = ctx.trigger.userPlatformId;
    notifyStaff(ctx, [`🙋 ${ctx.member.display_name}（${who}）申诉：${text.slice(0, 300)}`, '记录：', ...record, `撤销警告：/pardon ${who}`].join('\n'));
    ctx.send({ to: 'dm', text: '申诉已转给老师，处理后会通知你。' });
    return 'appeal forwarded to staff';
  },
};

const pardon: CommandSpec = {
  name: 'pardon',
  roles: STAFF_ROLES,
  usage: '/pardon <成员>',
  description: '撤销成员的警告（申诉成立时）',
  run(args, ctx) {
    const target = lookupMember(ctx.db, parseMemberArg(args));
    const o = offencesSincePardon(ctx.db, target.id);
    if (o.warn + o.remove === 0) {
      ctx.send({ to: 'dm', text: `${target.display_name} 没有需要撤销的警告或移出。` });
      return `nothing to pardon for ${target.id}`;
    }
    const group = moderationOf(ctx.db, target.id, 1)[0]?.group_id ?? null;
    recordModeration(ctx.db, { memberId: target.id, platform: ctx.trigger.platform, groupId: group, action: 'pardon', reason: 'pardon', evidence: `${o.warn} warnings, ${o.remove} removals cleared`, by: ctx.member.id, eventId: ctx.trigger.eventId, now: ctx.now });
    ctx.send({ to: 'dm', text: `已撤销 ${target.display_name} 的 ${o.warn} 次警告${o.remove ? `和 ${o.remove} 次移出记录。TA 已被移出群，需要手动邀请回来` : ''}。` });
    const identity = identitiesOf(ctx.db, target.id).find((i) => i.platform === ctx.trigger.platform);
    if (identity) ctx.send({ to: 'chat', chat: { kind: 'dm', id: identity.platform_id }, text: '老师已撤销你的警告，感谢理解。' });
    return `pardoned ${target.id} (${o.warn} warnings, ${o.remove} removals cleared)`;
  },
};

/**
 * Moderation, opt-in per group (`moderation: true`): ads and spam are warned, deleted where the
 * platform allows, and the member removed after the configured number of warnings. Staff are
 * exempt; every step is logged with its evidence; members can /appeal and staff /pardon.
 */
export const moderationFeature: Feature = {
  name: 'moderation',
  config: [moderationSection],
  groupKeys: moderationGroupKeys,
  provides: ['moderation'],
  services: () => ({ moderation: { flagged: isFlagged } }),
  templateVars: ['warnings', 'reason', 'limit', 'count', 'link'],
  memberReport: (ctx: ReportContext, member: Member): ReportLines => ({ status: [`有效警告：${activeWarnings(ctx.db, member.id)}`] }),
  dayReport: (ctx: ReportContext, args: { since: number; group: string | undefined }): ReportLines => {
    const mod = countModeration(ctx.db, { since: args.since, groupId: args.group });
    return { status: [`管理：警告 ${mod.warn ?? 0} · 移出 ${mod.remove ?? 0} · 申诉 ${mod.appeal ?? 0}`] };
  },
  facts: [
    spamFact,
    {
      name: 'removed_for_spam',
      type: 'boolean',
      description: 'the member was removed from the event\'s group by moderation since they last joined it (and not pardoned): on member.left, the leave is that removal',
      get: (c) => c.trigger.group !== null && removedSinceJoin(c.db, c.member.id, c.trigger.group),
    },
  ],
  actions: [moderate],
  commands: [appeal, pardon],
};
