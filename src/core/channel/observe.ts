import type { ChatEvent } from '../../bot/events.js';
import type { ChannelOpening, CourseConfig } from '../types.js';
import type { ChannelHooks } from './hooks.js';
import type { Db } from '../../store/db.js';
import { dropHeldFor, finishHeld, heldFor, markHeldDelivered } from '../../store/held-messages.js';
import { enqueueMessage } from '../../store/outbox.js';
import { budgetFor } from '../../bot/pacing.js';
import { getChannel, setChannel, type ChannelHow, type ChannelRow } from '../../store/private-channels.js';
import { sourceOfStartPayload } from './start-payload.js';

export type { ChannelOpening } from '../types.js';

/** What an event told kequn about the member's private channel, and what was done about it. */
export interface ChannelObservation {
  opening?: ChannelOpening;
  /** For the trace: what changed (released messages, started sequences…). */
  notes: string[];
}

/**
 * The engine calls this in an event's transaction, after the member is resolved and before any
 * rule runs. It keeps the channel state true to what the platform said:
 * - `channel.opened` (WeChat friend request accepted, Telegram Start) and a private message from
 *   the member (whoever writes to the bot privately can be written to) open it;
 * - a WeChat join or group message says whether the member is a friend of the account;
 * - `channel.closed` (blocked) closes it and drops what was held.
 * When it opens, the held messages move into the outbox in order and the sequences waiting for it
 * are planned, all in this transaction. The returned opening is what the channel.opened rules see;
 * it is also returned for a channel recorded open before the member was known (never announced).
 */
export function observeChannel(db: Db, config: CourseConfig, event: ChatEvent, memberId: string, now: number, hooks: ChannelHooks): ChannelObservation {
  const notes: string[] = [];
  const platform = event.platform;
  const chatId = event.user.id;
  const current = getChannel(db, platform, chatId);
  // Whether this event wrote the row: if not, `current` is still what the store holds.
  let written = false;
  let opening: ChannelOpening | undefined;
  const open = (how: ChannelHow, text: string, source: string | null) => {
    written = true;
    const { before, after } = setChannel(db, { platform, chatId, memberId, state: 'open', how, now, source });
    const fresh = before?.state !== 'open' || before.announced_at === null;
    if (before?.state !== 'open') {
      notes.push(OPENED_NOTES[how] ?? `private channel opened (${how})`);
      notes.push(...released(db, config, after, memberId, now, hooks));
    }
    opening = { platform, how: fresh ? how : before!.how, again: !fresh, source: after.source, text };
    return fresh;
  };

  switch (event.type) {
    case 'channel.opened': {
      const start = event.how === 'start';
      const fresh = open(event.how, start ? (hooks.startPayloadText(event.text.trim()) ?? '') : event.text, start ? sourceOfStartPayload(event.text, hooks) : null);
      // A WeChat confirmation after kequn accepted the request itself says nothing new; a Start
      // pressed again is the member asking for something (the rules answer it).
      if (!fresh && event.how !== 'start') opening = undefined;
      break;
    }
    case 'channel.closed': {
      written = true;
      setChannel(db, { platform, chatId, memberId, state: 'blocked', how: 'blocked', now });
      const n = dropHeldFor(db, platform, chatId, 'the person blocked the bot', now);
      notes.push(`private channel closed: blocked by the person${n ? `; ${n} held message(s) dropped` : ''}`);
      break;
    }
    case 'message':
      if (event.chat.kind === 'dm') {
        if (current?.state !== 'open') open('wrote_privately', '', null);
        break;
      }
      observeHint(event.channel);
      break;
    case 'member.joined':
      observeHint(event.channel);
      break;
    default:
      break;
  }

  function observeHint(hint: 'open' | 'closed' | undefined): void {
    if (hint === 'open' && current?.state !== 'open') {
      open('already_friend', '', null);
    } else if (hint === 'closed' && current?.state !== 'closed') {
      written = true;
      setChannel(db, { platform, chatId, memberId, state: 'closed', how: 'not_friend', now });
      notes.push(current?.state === 'open' ? 'private channel closed: no longer a friend of the account' : 'private channel not open: not a friend of the account yet');
    }
  }

  // Recorded open before kequn knew the member (a conversation test's user who pressed Start
  // earlier): the member's first event announces it.
  if (!opening && event.type !== 'channel.closed') {
    // Read again only when written above (a round trip fewer per event on PostgreSQL).
    const row = written ? getChannel(db, platform, chatId) : current;
    if (row?.state === 'open' && row.announced_at === null) {
      setChannel(db, { platform, chatId, memberId, state: 'open', how: row.how, now });
      opening = { platform, how: row.how, again: false, source: row.source, text: '' };
    } else if (row && row.member_id === null) {
      setChannel(db, { platform, chatId, memberId, state: row.state, how: row.how, now });
    }
  }
  return { opening, notes };
}

/** The trace's words for an opening, by how. */
const OPENED_NOTES: Partial<Record<ChannelHow, string>> = {
  already_friend: 'private channel open (already a friend)',
  wrote_privately: 'private channel opened (the member wrote privately)',
};

/**
 * The channel just opened: held messages go into the outbox in the order they were held (those
 * past the window expire instead), then what waited for it is planned (the features' hooks: the
 * trial's drip sequences), from now.
 */
function released(db: Db, config: CourseConfig, channel: ChannelRow, memberId: string, now: number, hooks: ChannelHooks): string[] {
  const notes: string[] = [];
  const cutoff = now - config.privateChannel.hold_for;
  let delivered = 0;
  let expired = 0;
  // Released messages count against today's cap now, like any message queued today.
  const budget = budgetFor(db, config, channel.platform, now);
  for (const h of heldFor(db, channel.platform, channel.chat_id)) {
    if (h.held_at <= cutoff) {
      if (finishHeld(db, h.id, 'expired', now, 'the private channel opened after the window')) expired++;
      continue;
    }
    const outboxId = enqueueMessage(db, {
      platform: h.platform,
      chatKind: 'dm',
      chatId: h.chat_id,
      memberId: h.member_id ?? memberId,
      groupId: h.group_id,
      text: h.text,
      // An answer that waited for the channel is owed now, before the opening's own welcome: a held
      // reply takes the urgent lane (queued first, it goes first). Proactive ones keep theirs, so
      // quiet hours still hold them.
      priority: h.priority === 'reply' ? 'urgent' : h.priority,
      notBefore: now,
      eventId: h.event_id,
      ruleId: h.rule_id,
      dryRun: false,
      now,
      budget,
      lesson: h.lesson,
      image: h.image,
    });
    markHeldDelivered(db, h.id, outboxId, now);
    delivered++;
  }
  if (delivered) notes.push(`${delivered} held message(s) released to the outbox`);
  if (expired) notes.push(`${expired} held message(s) past the window expired`);
  notes.push(...hooks.opened(db, config, { memberId, platform: channel.platform, now, cutoff }));
  return notes;
}
