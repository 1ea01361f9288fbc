import type { CourseConfig } from '../types.js';
import { renderTemplate } from '../templates.js';
import type { Db } from '../../store/db.js';
import { savedBotUsername } from '../../store/telegram.js';

/**
 * The bot's t.me deep link: `https://t.me/<bot>?start=src-<group>` from a group (the group is
 * recorded as where the member came from), plain `https://t.me/<bot>` elsewhere; empty when no
 * Telegram bot is known (private_channel.telegram.username, or learned at start).
 */
export function startLink(db: Db, config: CourseConfig, group: string | null): string {
  const username = config.privateChannel.telegram.username ?? savedBotUsername(db);
  if (!username) return '';
  return `https://t.me/${username}${group ? `?start=src-${group}` : ''}`;
}

/**
 * `{open_channel}` (how to open the private channel, per platform: private_channel.wechat.add_hint
 * or private_channel.telegram.start_hint) and `{start_link}`, for a template that uses them
 * (computed only then: the deep link reads the store).
 */
export function channelTemplateVars(db: Db, config: CourseConfig, args: { platform: string; group: string | null; template: string; base: Record<string, string> }): Record<string, string> {
  if (!args.template.includes('{open_channel}') && !args.template.includes('{start_link}')) return {};
  const start_link = startLink(db, config, args.group);
  const hint = args.platform === 'telegram' ? config.privateChannel.telegram.start_hint : config.privateChannel.wechat.add_hint;
  return { start_link, open_channel: renderTemplate(hint, { ...args.base, start_link }) };
}
