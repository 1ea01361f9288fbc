/**
 * Personal Telegram invite links for referrers. `/mycode` on Telegram queues a
 * `create_invite_link` platform action (the Bot API call cannot run inside the event's
 * transaction); when the link exists, this records it for attribution (a join through it credits
 * the referrer) and sends it to the member privately, together.
 */
import type { CourseConfig } from '../../core/types.js';
import { renderTemplate } from '../../core/templates.js';
import { inTransaction, type Db } from '../../store/db.js';
import { enqueueDm } from '../../store/outbox.js';
import { budgetFor } from '../../bot/pacing.js';
import { registerInviteLink } from './store.js';
import { type PlatformAction } from '../../store/platform-actions.js';

export interface InviteLinkDetail {
  /** Whose finished action this is (src/bot/platform-actions.ts hands it to this feature). */
  purpose: 'referral';
  name: string;
  memberId: string;
  groupId: string | null;
}

const DEFAULT_TEXT = '你的专属入群链接：{invite_link}\n新同学通过这个链接入群，会自动记为你推荐的。';

export function inviteLinkCreated(db: Db, config: CourseConfig, action: PlatformAction, url: string, now: number): void {
  const d = JSON.parse(action.detail ?? '{}') as Partial<InviteLinkDetail>;
  if (!d.memberId) return;
  const template = config.templates.referral_invite_link ?? DEFAULT_TEXT;
  inTransaction(db, () => {
    registerInviteLink(db, { platform: action.platform, link: url, memberId: d.memberId!, groupId: d.groupId ?? null, now });
    const text = renderTemplate(template, { invite_link: url, course: config.course.name, bot: config.course.bot_name });
    enqueueDm(db, { platform: action.platform, chatId: action.user_id, memberId: d.memberId!, text, priority: 'reply', now, budget: budgetFor(db, config, action.platform, now) });
  });
}
