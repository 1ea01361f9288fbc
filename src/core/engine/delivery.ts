import type { Logger } from 'pino';
import type { Platform } from '../../bot/events.js';
import type { Db } from '../../store/db.js';
import { enqueueMessage, enqueueMessageLater, type DailyBudget, type Priority } from '../../store/outbox.js';
import { groupDelivery } from '../roles.js';
import type { CourseConfig, Trigger } from '../types.js';

/**
 * The outbox lane of what a rule sends when it names none (docs/operations.md): a newcomer's
 * welcome is urgent, in the group at the join and privately when their private channel opens
 * (they just added the bot and wait for it); everything else a reply (lessons of a drip, notices
 * and announcements name theirs).
 */
export function laneOfTrigger(trigger: Trigger): Priority {
  return trigger.type === 'member.joined' || trigger.type === 'channel.opened' ? 'urgent' : 'reply';
}

/** One message a rule, a command or a scheduled job wants sent. */
export interface Delivery {
  platform: Platform;
  chat: { kind: 'dm' | 'group'; id: string };
  /** The member the message concerns (their record and `forget` find it), or null. */
  memberId: string | null;
  /** The course group the chat is (null for a private chat or a chat outside the course). */
  groupId: string | null;
  /** The group whose settings apply: its dry run also covers private messages its event caused. */
  settingsGroup: string | null;
  text: string;
  priority: Priority;
  eventId: number | null;
  ruleId: string;
  lesson?: number | null;
  /** An image file to send as a photo, `text` its caption (a referral poster). */
  image?: string | null;
  now: number;
  /** The platform's daily budget, read when first needed (once per event or fan-out). */
  budget: () => DailyBudget;
}

/**
 * The delivery policy, one for every sender: a group where staff paused the bot hears nothing
 * (private messages still go), a dry-run group's messages are recorded and logged but not sent,
 * and everything else is queued in its lane within the day's budget. Returns the outbox id, 0
 * when the message was not queued, and the reason for the trace when paused.
 */
export function deliver(db: Db, config: CourseConfig, log: Logger, m: Delivery): { id: number; notSent?: string } {
  return delivered(db, config, log, m, enqueueMessage);
}

/**
 * deliver when nobody needs the outbox row's id (a rule's reply): on PostgreSQL the row goes with
 * the next request (issue 20). The reason for the trace when paused.
 */
export function deliverLater(db: Db, config: CourseConfig, log: Logger, m: Delivery): { notSent?: string } {
  const { notSent } = delivered(db, config, log, m, (d, msg) => (enqueueMessageLater(d, msg) ? 1 : 0));
  return notSent !== undefined ? { notSent } : {};
}

function delivered(db: Db, config: CourseConfig, log: Logger, m: Delivery, enqueue: typeof enqueueMessage): { id: number; notSent?: string } {
  const { paused, dryRun } = groupDelivery(db, config, m.settingsGroup);
  if (paused && m.chat.kind === 'group' && m.groupId !== null) return { id: 0, notSent: `not sent: bot paused in ${m.groupId}` };
  const id = enqueue(db, {
    platform: m.platform,
    chatKind: m.chat.kind,
    chatId: m.chat.id,
    memberId: m.memberId,
    groupId: m.groupId,
    text: m.text,
    priority: m.priority,
    notBefore: m.now,
    eventId: m.eventId,
    ruleId: m.ruleId,
    dryRun,
    now: m.now,
    budget: m.budget(),
    lesson: m.lesson ?? null,
    image: m.image ?? null,
  });
  if (dryRun) log.info({ dryRun: true, chat: m.chat.id, rule: m.ruleId, text: m.text, ...(m.image ? { image: m.image } : {}) }, 'dry run: message recorded, not sent');
  return { id };
}
