import { sendNotice } from '../../core/notices.js';
import { staffChats } from '../../core/roles.js';
import type { RunContext } from '../../core/types.js';

/**
 * What moderation says, and to whom, as notices (src/core/notices.ts): a group hears its
 * warnings and removals at most once per `moderation.merge` (the rest merged into one message),
 * and so does each staff chat its removal reports. Member-facing texts name members by display
 * name only, never by the internal member key; staff texts add the platform id /pardon takes.
 */

const GROUP_HEAD = '📢 本群管理通知（{count} 条）：';
const STAFF_HEAD = '🛡 {count} 位成员因违规被移出：';
const STAFF_FOOT = '如属误判：/pardon 平台账号';

/** A message on one line, for a merged list. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** The warning, in the group where it happened. */
export function announceWarning(ctx: RunContext, v: { reason: string; warnings: number; limit: number }): 'sent' | 'held' {
  const text = ctx.render(ctx.config.templates.mod_warn!, { reason: v.reason, warnings: String(v.warnings), limit: String(v.limit) });
  return sendNotice(ctx, { chat: ctx.trigger.replyTo, memberId: ctx.member.id, topic: 'moderation', text, line: oneLine(text), head: GROUP_HEAD, every: ctx.config.moderation.merge });
}

/** The removal, in the group, and reported to the staff with the evidence. */
export function announceRemoval(ctx: RunContext, v: { reason: string; warnings: number; limit: number; returning: boolean }): void {
  const { config, member, trigger } = ctx;
  const text = ctx.render(config.templates.mod_removed!, { reason: v.reason, warnings: String(v.warnings), limit: String(v.limit) });
  sendNotice(ctx, { chat: trigger.replyTo, memberId: member.id, topic: 'moderation', text, line: oneLine(text), head: GROUP_HEAD, every: config.moderation.merge });
  const who = `${member.display_name}（${trigger.userPlatformId}）`;
  const group = config.groups[trigger.group!]!.name;
  const history = v.returning ? '曾因违规被移出，回来后再犯' : `此前 ${v.warnings} 次警告`;
  const staffText = `🚫 已将 ${who}移出「${group}」：${v.reason}，${history}。\n证据：${trigger.text.slice(0, 200)}\n如属误判：/pardon ${trigger.userPlatformId}`;
  const line = `${who}移出「${group}」：${v.reason}（${history}）`;
  for (const chat of staffChats(ctx.db, config, trigger.platform)) {
    sendNotice(ctx, { chat, memberId: member.id, topic: 'moderation.staff', text: staffText, line, head: STAFF_HEAD, foot: STAFF_FOOT, every: config.moderation.merge });
  }
}
