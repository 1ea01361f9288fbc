import { planExpiryCheck } from '../../store/channel-expiry.js';
import { finishHeld, oldestWaiting, staleHeld } from '../../store/held-messages.js';
import { channelRead, finishChannelWait, getChannel, staleChannelWaits } from '../../store/private-channels.js';
import { recordTrace } from '../../store/traces.js';
import { formatDuration } from '../../util/duration.js';
import type { SystemJobContext } from '../types.js';
import type { Feature } from '../feature.js';

/** Held messages expired per run (a very large backlog continues in a minute). */
const EXPIRE_BATCH = 5000;
const MINUTE = 60_000;

/**
 * `channel.expire` (planned when something is first held, then at each next expiry): held
 * messages and waiting sequences older than private_channel.hold_for expire. Each leaves a trace
 * on its member, so `kequn why` shows what never reached them and why.
 */
function expireHeld(_payload: unknown, ctx: SystemJobContext): string {
  const { db, config, now } = ctx;
  const window = config.privateChannel.hold_for;
  const cutoff = now - window;
  const reason = `not delivered within ${formatDuration(window)}: the private channel did not open`;
  let messages = 0;
  const stale = staleHeld(db, cutoff, EXPIRE_BATCH);
  for (const h of stale) {
    if (!finishHeld(db, h.id, 'expired', now, reason)) continue;
    messages++;
    if (h.member_id) {
      recordTrace(db, {
        eventId: null,
        jobId: ctx.jobId,
        memberId: h.member_id,
        ruleId: 'channel:expired',
        matched: true,
        detail: { trigger: 'timer', conditions: [], actions: [`held private message expired (${reason}): ${h.text.slice(0, 40)}${h.text.length > 40 ? '…' : ''}`, `held by ${h.rule_id ?? 'the bot'}`] },
        at: now,
      });
    }
  }
  let sequences = 0;
  for (const w of staleChannelWaits(db, cutoff)) {
    if (!finishChannelWait(db, w.id, 'expired', now, reason)) continue;
    sequences++;
    recordTrace(db, {
      eventId: null,
      jobId: ctx.jobId,
      memberId: w.member_id,
      ruleId: 'channel:expired',
      matched: true,
      detail: { trigger: 'timer', conditions: [], actions: [`sequence ${w.sequence} never started (${reason})`] },
      at: now,
    });
  }
  // The next check: when the oldest of what still waits runs out (a backlog: in a minute).
  const oldest = oldestWaiting(db);
  if (stale.length === EXPIRE_BATCH) planExpiryCheck(db, now + MINUTE, now);
  else if (oldest !== undefined) planExpiryCheck(db, Math.max(oldest + window + 1, now + 1), now);
  return messages + sequences === 0 ? 'nothing held past the window' : `expired ${messages} held message(s), ${sequences} waiting sequence(s)`;
}

/**
 * The private channel (docs/wechat.md, docs/telegram.md): facts for `on: channel.opened` rules,
 * and the hourly expiry of what waited for a channel that never opened. Opening and holding happen
 * in the engine's event transaction (observe.ts) and at enqueue (src/store/held-messages.ts).
 */
export const channelFlow: Feature = {
  name: 'channel',
  facts: [
    {
      name: 'channel.how',
      type: 'string',
      description:
        'on channel.opened: how the private channel opened (friend_request, friend_confirmed, already_friend, start, wrote_privately, unblocked); null on other events',
      get: (c) => c.trigger.channel?.how ?? null,
    },
    {
      name: 'channel.again',
      type: 'boolean',
      description: 'on channel.opened: the channel was open already (a Telegram Start pressed again)',
      get: (c) => c.trigger.channel?.again ?? false,
    },
    {
      name: 'channel.source',
      type: 'string',
      description: 'the acquisition tag of the member\'s private channel on this platform (a Telegram deep link /start src-<tag>); null if none',
      get: (c) => c.trigger.channel?.source ?? getChannel(c.db, c.trigger.platform, c.trigger.userPlatformId)?.source ?? null,
      reads: (c) => [channelRead(c.platform, c.userPlatformId)],
    },
    {
      name: 'channel.open',
      type: 'boolean',
      description: 'the member\'s private channel on this platform is open now (a WeChat friend, a Telegram user who pressed Start)',
      get: (c) => getChannel(c.db, c.trigger.platform, c.trigger.userPlatformId)?.state === 'open',
      reads: (c) => [channelRead(c.platform, c.userPlatformId)],
    },
  ],
  jobs: [{ kind: 'channel', run: () => 'skipped: channel jobs have no member', runSystem: expireHeld }],
};
