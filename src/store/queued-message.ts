import type { Priority } from './lanes.js';

/**
 * A message about to be queued, as both the outbox (outbox.ts, which adds when it may go and the
 * day's budget) and the held messages (held-messages.ts, which keep it until the member's private
 * channel opens) take it. Its own file: outbox.ts imports held-messages.ts, so the shape cannot
 * live in either without an import circle.
 */
export interface QueuedMessage {
  platform: string;
  chatKind: 'group' | 'dm';
  chatId: string;
  memberId: string | null;
  groupId: string | null;
  text: string;
  priority: Priority;
  eventId: number | null;
  ruleId: string | null;
  dryRun: boolean;
  now: number;
  /** The lesson the message carries, if it is one. */
  lesson?: number | null;
  /** An image file to send as a photo, `text` its caption (a referral poster). */
  image?: string | null;
}
