import type { Platform } from '../bot/events.js';
import type { CourseConfig } from './load.js';

/**
 * The platform chat id of a group handle: its configured id, or on WeChat the simulator's
 * `<handle>@chatroom` for a group with no room id (the inverse of `CourseConfig.groupOf`).
 * Its own module, with type-only imports: flows use it, and config/load.ts imports the flows.
 *
 * @example groupChatId(config, 'telegram', 'python-vip') // '-1001002', or undefined
 */
export function groupChatId(config: Pick<CourseConfig, 'groups'>, platform: Platform, handle: string): string | undefined {
  const g = config.groups[handle];
  if (!g) return undefined;
  return g[platform] ?? (platform === 'wechat' ? `${handle}@chatroom` : undefined);
}
