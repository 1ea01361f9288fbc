/**
 * The platform chats of a course group: its configured WeChat room and Telegram chat, or on
 * WeChat the simulator's `<handle>@chatroom` for a group with no room id (the inverse of
 * CourseConfig.groupOf).
 */
import type { Platform } from '../bot/events.js';
import type { CourseConfig } from './types.js';

/**
 * The platform chat id of a group handle: its configured id, or on WeChat the simulator's
 * `<handle>@chatroom` for a group with no room id (the inverse of `CourseConfig.groupOf`).
 *
 * @example groupChatId(config, 'telegram', 'python-vip') // '-1001002', or undefined
 */
export function groupChatId(config: Pick<CourseConfig, 'groups'>, platform: Platform, handle: string): string | undefined {
  const g = config.groups[handle];
  if (!g) return undefined;
  return g[platform] ?? (platform === 'wechat' ? `${handle}@chatroom` : undefined);
}

/** The chats of a course group, per platform (a group with no WeChat id is `<handle>@chatroom` in the simulator). */
export function groupChats(config: CourseConfig, handle: string): { platform: Platform; id: string }[] {
  const g = config.groups[handle];
  if (!g) return [];
  const out: { platform: Platform; id: string }[] = [{ platform: 'wechat', id: g.wechat ?? `${handle}@chatroom` }];
  if (g.telegram) out.push({ platform: 'telegram', id: g.telegram });
  return out;
}
