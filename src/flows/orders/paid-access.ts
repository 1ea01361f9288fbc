/**
 * Access to a product's paid groups. On Telegram the bot can let a buyer in by itself: a paid
 * order queues a one-person invite link for each paid group (a platform action: the Bot API call
 * runs after the paid transaction commits), and the link goes to the buyer privately when it
 * exists. WeChat cannot do that safely (an add above 40 members becomes an invitation, and adding
 * people is what gets accounts flagged), so there the buyer gets the `order_invite` text and the
 * staff add them. A full refund queues the buyer's removal from the paid groups on the order's
 * platform when the product says `remove_on_refund` (the default); a platform or group where the
 * bot may not remove members records the action as failed or unsupported, with a log line.
 */
import type { Platform } from '../../bot/events.js';
import { groupChatId } from '../../core/group-chats.js';
import type { CourseConfig } from '../../core/types.js';
import { renderTemplate } from '../../core/templates.js';
import type { Db } from '../../store/db.js';
import { enqueueDm } from '../../store/outbox.js';
import { budgetFor } from '../../bot/pacing.js';
import { queuePlatformAction, type PlatformAction } from '../../store/platform-actions.js';

/** What a paid-group invite link action carries (JSON in platform_actions.detail). */
export interface PaidGroupLinkDetail {
  purpose: 'paid_group';
  /** The link's name in the group's link list, so an admin sees whose it is. */
  name: string;
  memberId: string;
  groupId: string;
  orderId: string;
  /** One person may join through it. */
  memberLimit: 1;
}

const DEFAULT_LINK_TEXT = '🎓「{paid_group}」入群链接（仅限你本人使用一次）：{invite_link}';

/**
 * Called inside the paid transaction for each of the product's groups: true when a Telegram
 * invite link was queued (the caller then skips the `order_invite` text for that group).
 */
export function queuePaidGroupLink(
  db: Db,
  config: CourseConfig,
  order: { id: string; platform: string; platform_id: string; member_id: string },
  handle: string,
  now: number,
): boolean {
  if (order.platform !== 'telegram' || !order.platform_id) return false;
  const chatId = groupChatId(config, 'telegram', handle);
  if (!chatId) return false;
  const detail: PaidGroupLinkDetail = { purpose: 'paid_group', name: `paid ${order.id}`.slice(0, 32), memberId: order.member_id, groupId: handle, orderId: order.id, memberLimit: 1 };
  queuePlatformAction(db, { platform: 'telegram', action: 'create_invite_link', chatId, userId: order.platform_id, messageId: null, moderationId: null, now, detail });
  return true;
}

/** Whether a created invite link was a paid-group link (else it is a referrer's personal link). */
export function isPaidGroupLink(action: PlatformAction): boolean {
  return (JSON.parse(action.detail ?? '{}') as { purpose?: string }).purpose === 'paid_group';
}

/** The paid-group link exists: send it to the buyer privately. */
export function paidGroupLinkCreated(db: Db, config: CourseConfig, action: PlatformAction, url: string, now: number): void {
  const d = JSON.parse(action.detail ?? '{}') as Partial<PaidGroupLinkDetail>;
  if (!d.memberId || !d.groupId) return;
  const template = config.templates.order_invite_link ?? DEFAULT_LINK_TEXT;
  const text = renderTemplate(template, { invite_link: url, paid_group: config.groups[d.groupId]?.name ?? d.groupId, order: d.orderId ?? '', course: config.course.name, bot: config.course.bot_name });
  enqueueDm(db, { platform: action.platform, chatId: action.user_id, memberId: d.memberId, text, priority: 'reply', now, budget: budgetFor(db, config, action.platform, now) });
}

/** Called inside a full refund's transaction: the buyer leaves the product's groups on the order's platform. */
export function queueRefundRemovals(db: Db, config: CourseConfig, order: { platform: string; platform_id: string }, groups: readonly string[], now: number): number {
  if (!order.platform_id) return 0;
  let n = 0;
  for (const handle of groups) {
    const chatId = groupChatId(config, order.platform as Platform, handle);
    if (!chatId) continue;
    queuePlatformAction(db, { platform: order.platform, action: 'remove_member', chatId, userId: order.platform_id, messageId: null, moderationId: null, now, detail: { purpose: 'refund' } });
    n++;
  }
  return n;
}
