import { activeGroupsOf, getMember, identitiesOf, stageHistory, tagsOf, type Member } from '../../store/members.js';
import { dropPendingForGroup, pauseGroup, pausedGroups, resumeGroup } from '../../store/pauses.js';
import { getGrant, grantRole, revokeRole, type GrantableRole } from '../../store/staff-roles.js';
import { dayStats, recentEventsOf, stageCounts } from './store.js';
import { fmtLocal, localDayStart } from '../../util/localtime.js';
import { groupArg, lookupMember, parseMemberArg } from '../../core/member-arg.js';
import { effectiveRole, STAFF_ROLES } from '../../core/roles.js';
import type { Feature } from '../../core/feature.js';
import { UsageError, type CommandSpec, type ReportContext, type RunContext } from '../../core/types.js';


function roleOfMember(ctx: RunContext, m: Member): string {
  const roles = identitiesOf(ctx.db, m.id).map((i) => effectiveRole(ctx.db, ctx.config, i.platform as 'wechat' | 'telegram', i.platform_id));
  return roles.find((r) => r !== 'member') ?? 'member';
}

/** Config staff entry for a member (by any of their platform ids), if any. */
function configRoleOf(ctx: RunContext, m: Member): string | undefined {
  for (const i of identitiesOf(ctx.db, m.id)) {
    const r = ctx.config.roleOf(i.platform as 'wechat' | 'telegram', i.platform_id);
    if (r !== 'member') return r;
  }
  return undefined;
}

const ROLE_ZH: Record<string, string> = { owner: '负责人', instructor: '老师', assistant: '助教', member: '学员' };

const grant: CommandSpec = {
  name: 'grant',
  roles: ['owner'],
  usage: '/grant <成员> instructor|assistant',
  description: '授予成员老师或助教角色（记录在案）',
  run(args, ctx) {
    const m = /^([\s\S]+?)\s+(\S+)$/.exec(args.trim());
    if (!m) throw new UsageError('expected a member and a role');
    const role = m[2]!.toLowerCase();
    if (role === 'owner') throw new UsageError('owners are set only in kequn.yaml (staff), never by command');
    if (role !== 'instructor' && role !== 'assistant') throw new UsageError(`unknown role "${m[2]}" (instructor or assistant)`);
    const target = lookupMember(ctx.db, parseMemberArg(m[1]!));
    const fromConfig = configRoleOf(ctx, target);
    if (fromConfig) {
      ctx.send({ to: 'dm', text: `${target.display_name} 在 kequn.yaml 里已是 ${fromConfig}，角色以配置为准（要改请编辑配置文件）。` });
      return `not granted: ${target.id} is ${fromConfig} in config`;
    }
    const previous = grantRole(ctx.db, { memberId: target.id, role: role as GrantableRole, by: ctx.member.id, eventId: ctx.trigger.eventId, now: ctx.now });
    ctx.send({ to: 'dm', text: `已将 ${target.display_name}（${target.id}）设为${ROLE_ZH[role]}${previous && previous !== role ? `（原为${ROLE_ZH[previous]}）` : ''}。` });
    const identity = identitiesOf(ctx.db, target.id).find((i) => i.platform === ctx.trigger.platform);
    if (identity) ctx.send({ to: 'chat', chat: { kind: 'dm', id: identity.platform_id }, text: `你已被设为「${ctx.config.course.name}」的${ROLE_ZH[role]}。发送 /help 查看可用命令。` });
    return `granted ${role} to ${target.id}${previous ? ` (was ${previous})` : ''}`;
  },
};

const revoke: CommandSpec = {
  name: 'revoke',
  roles: ['owner'],
  usage: '/revoke <成员>',
  description: '收回用 /grant 授予的角色',
  run(args, ctx) {
    const target = lookupMember(ctx.db, parseMemberArg(args));
    const fromConfig = configRoleOf(ctx, target);
    if (fromConfig) {
      ctx.send({ to: 'dm', text: `${target.display_name} 的角色（${fromConfig}）来自 kequn.yaml，不能用命令收回，请编辑配置文件。` });
      return `not revoked: ${target.id} is ${fromConfig} in config`;
    }
    const was = revokeRole(ctx.db, { memberId: target.id, by: ctx.member.id, eventId: ctx.trigger.eventId, now: ctx.now });
    if (!was) {
      ctx.send({ to: 'dm', text: `${target.display_name} 没有被授予过角色。` });
      return `nothing to revoke for ${target.id}`;
    }
    ctx.send({ to: 'dm', text: `已收回 ${target.display_name}（${target.id}）的${ROLE_ZH[was]}角色。` });
    return `revoked ${was} from ${target.id}`;
  },
};

/** The group a /pause or /resume is about: the argument, or the group it was typed in. */
function pauseTarget(args: string, ctx: RunContext): string {
  const word = args.trim();
  if (word === '') {
    if (ctx.trigger.group) return ctx.trigger.group;
    throw new UsageError('expected a group');
  }
  if (/\s/.test(word)) throw new UsageError('expected one group');
  return groupArg(ctx.config, word);
}

const pause: CommandSpec = {
  name: 'pause',
  roles: STAFF_ROLES,
  usage: '/pause <群>   （在允许命令的群里可省略群）',
  description: '让机器人在一个群里暂停：不再往群里发消息，也不执行规则',
  run(args, ctx) {
    const group = pauseTarget(args, ctx);
    const name = ctx.config.groups[group]!.name;
    if (!pauseGroup(ctx.db, { groupId: group, by: ctx.member.id, now: ctx.now })) {
      ctx.send({ to: 'dm', text: `「${name}」已经是暂停状态。/resume ${group} 恢复。` });
      return `${group} already paused`;
    }
    const dropped = dropPendingForGroup(ctx.db, group, `group paused by ${ctx.member.id}`);
    ctx.send({ to: 'dm', text: `已在「${name}」暂停机器人${dropped ? `，撤下了 ${dropped} 条待发消息` : ''}。/resume ${group} 恢复。` });
    return `paused ${group}; ${dropped} pending messages dropped`;
  },
};

const resume: CommandSpec = {
  name: 'resume',
  roles: STAFF_ROLES,
  usage: '/resume <群>',
  description: '恢复机器人在群里的工作',
  run(args, ctx) {
    const group = pauseTarget(args, ctx);
    const name = ctx.config.groups[group]!.name;
    if (!resumeGroup(ctx.db, group)) {
      ctx.send({ to: 'dm', text: `「${name}」没有暂停。` });
      return `${group} was not paused`;
    }
    ctx.send({ to: 'dm', text: `已在「${name}」恢复机器人。` });
    return `resumed ${group}`;
  },
};

const stats: CommandSpec = {
  name: 'stats',
  roles: STAFF_ROLES,
  usage: '/stats [群]',
  description: '今天的入群、退群、消息、提问等数据（一个群或全部）',
  run(args, ctx) {
    const word = args.trim();
    if (/\s/.test(word)) throw new UsageError('expected at most one group');
    const group = word === '' || word === 'all' ? undefined : groupArg(ctx.config, word);
    const tz = ctx.config.course.timezone;
    const since = localDayStart(ctx.now, tz);
    const s = dayStats(ctx.db, { since, groupId: group });
    const stages = stageCounts(ctx.db, group);
    const paused = pausedGroups(ctx.db).map((p) => p.group_id);
    // What each feature adds (check-ins, orders, moderation, announcements waiting), in list order.
    const more = ctx.services.reports.day(reportContext(ctx), { since, group });
    const lines = [
      `📊 ${group ? ctx.config.groups[group]!.name : '全部群'} · 今天（${fmtLocal(since, tz).slice(0, 10)}，截至 ${fmtLocal(ctx.now, tz).slice(11)}）`,
      `入群 ${s.joins} · 退群 ${s.leaves}`,
      `消息 ${s.messages}（${s.activeMembers} 人发言）`,
      ...more.detail,
      `提问：机器人回答 ${s.questions.answered} · 转给老师 ${s.questions.escalated} · 老师已答 ${s.questions.resolved}`,
      `机器人发出消息 ${s.botMessagesSent}`,
      ...more.status,
      `${group ? '群内成员' : '全部成员'}按阶段：${ctx.config.stageIds.map((id) => `${id} ${stages[id] ?? 0}`).join(' · ')}`,
    ];
    if (paused.length > 0) lines.push(`已暂停的群：${paused.join(', ')}`);
    ctx.send({ to: 'dm', text: lines.join('\n') });
    return `stats for ${group ?? 'all groups'}`;
  },
};

/** What the features' report lines are computed with. */
function reportContext(ctx: RunContext): ReportContext {
  return { db: ctx.db, config: ctx.config, now: ctx.now, platform: ctx.trigger.platform };
}

const EVENT_ZH: Record<string, string> = { 'member.joined': '入群', 'member.left': '退群', message: '发言' };

const memberCommand: CommandSpec = {
  name: 'member',
  roles: STAFF_ROLES,
  usage: '/member <名字、平台账号或成员编号>',
  description: '查看一个成员：阶段、标签、所在群、最近动态',
  run(args, ctx) {
    const m = lookupMember(ctx.db, parseMemberArg(args));
    const tz = ctx.config.course.timezone;
    const groups = activeGroupsOf(ctx.db, m.id).map((g) => ctx.config.groups[g]?.name ?? g);
    const history = stageHistory(ctx.db, m.id).slice(-3).map((t) => `${t.from_stage ?? '—'}→${t.to_stage}（${fmtLocal(t.at, tz)}）`);
    const events = recentEventsOf(ctx.db, m.id, 5).map(
      (e) => `  ${fmtLocal(e.at, tz)} ${EVENT_ZH[e.type] ?? e.type}${e.group_id ? ` @${e.group_id}` : e.type === 'message' ? ' 私信' : ''}${e.text ? `：${e.text.replace(/\s+/g, ' ').slice(0, 40)}` : ''}`,
    );
    const grant = getGrant(ctx.db, m.id);
    const current = getMember(ctx.db, m.id) ?? m;
    // What each feature adds (the streak, the latest order, active warnings), in list order.
    const more = ctx.services.reports.member(reportContext(ctx), current);
    const lines = [
      `👤 ${current.display_name}（${current.id}）`,
      `账号：${identitiesOf(ctx.db, m.id).map((i) => `${i.platform}:${i.platform_id}`).join(', ')}`,
      `角色：${roleOfMember(ctx, m)}${grant ? `（/grant 授予于 ${fmtLocal(grant.granted_at, tz)}）` : ''}`,
      `阶段：${current.stage}（自 ${fmtLocal(current.stage_since, tz)}）；最近：${history.join('，') || '—'}`,
      `标签：${tagsOf(ctx.db, m.id).join(', ') || '无'}`,
      ...more.detail,
      `所在群：${groups.join('、') || '无'}`,
      `首次出现 ${fmtLocal(current.created_at, tz)} · 最近活动 ${fmtLocal(current.last_seen_at, tz)}`,
      ...more.status,
      '最近动态：',
      ...(events.length ? events : ['  无']),
    ];
    ctx.send({ to: 'dm', text: lines.join('\n') });
    return `member ${m.id}`;
  },
};

/**
 * Staff tools: roles granted by the owner, pausing the bot in a group, the day's figures and a
 * member's file. Every command here is refused to members by the engine (roles by platform id).
 */
export const staffFeature: Feature = {
  name: 'staff',
  commands: [grant, revoke, pause, resume, stats, memberCommand],
};
