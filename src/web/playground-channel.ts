import type { Context } from 'hono';
import { z } from 'zod';
import type { SimulatedWeChat } from '../bot/simulator.js';
import type { CourseConfig } from '../core/types.js';
import type { Db } from '../store/db.js';
import { friendRequestsOf } from '../store/friend-requests.js';
import { heldFor, heldOf } from '../store/held-messages.js';
import { channelWaitsOf, getChannel } from '../store/private-channels.js';

/**
 * The playground's view of the private channel (docs/wechat.md): whether a simulated member is a
 * friend of the bot's account, what is held for them, and the 加好友 action (a friend request
 * with a greeting, which kequn decides and accepts as on a real account).
 */

/** Longest greeting (验证消息) a simulated member may send; WeChat's is shorter still. */
const MAX_GREETING_CHARS = 100;

export const befriendBody = z.strictObject({
  user: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'id 只能用字母、数字、_ 和 -（1-64 个）'),
  greeting: z
    .string()
    .max(MAX_GREETING_CHARS, `验证消息超过了 ${MAX_GREETING_CHARS} 个字`)
    // eslint-disable-next-line no-control-regex
    .refine((g) => !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(g), '验证消息里有控制字符'),
});

/** Per simulated member, for the member list: friend or not, and how many messages wait for them. */
export function channelSummary(db: Db, sim: SimulatedWeChat, userId: string) {
  const c = getChannel(db, 'wechat', userId);
  return {
    friend: sim.isFriend(userId),
    channel: c ? { state: c.state, how: c.how } : null,
    waiting: heldFor(db, 'wechat', userId).length,
    requested: awaiting(db, userId),
  };
}

/** For the member panel: the channel per platform, the held messages (newest first), waiting sequences. */
export function memberChannel(db: Db, config: CourseConfig, memberId: string, platformIds: { platform: string; platformId: string }[]) {
  const window = config.privateChannel.hold_for;
  return {
    channels: platformIds.map((i) => {
      const c = getChannel(db, i.platform, i.platformId);
      return { platform: i.platform, state: c?.state ?? null, how: c?.how ?? null, openedAt: c?.opened_at ?? null };
    }),
    held: heldOf(db, memberId, 20).map((h) => ({
      id: h.id,
      text: h.text,
      state: h.state,
      reason: h.reason,
      ruleId: h.rule_id,
      heldAt: h.held_at,
      expiresAt: h.held_at + window,
      doneAt: h.done_at,
    })),
    sequences: channelWaitsOf(db, memberId).map((w) => ({ sequence: w.sequence, state: w.state, since: w.created_at, note: w.note })),
  };
}

/** A friend request of theirs the bot is still to accept (one the policy ignored may be sent again). */
function awaiting(db: Db, userId: string): boolean {
  return friendRequestsOf(db, 'wechat', userId).some((r) => r.status === 'pending' || r.status === 'accepting');
}

/** POST /api/playground/befriend: `read` is the API's validating body reader, `fail` its error. */
export async function befriend(
  c: Context,
  db: Db,
  sim: SimulatedWeChat,
  read: (c: Context) => Promise<z.output<typeof befriendBody>>,
  fail: (status: 409, message: string) => never,
) {
  const b = await read(c);
  if (sim.isFriend(b.user)) fail(409, `${b.user} 已经是机器人微信号的好友了`);
  if (awaiting(db, b.user)) fail(409, `${b.user} 已经发过好友申请，正在等通过`);
  const id = sim.befriend(b.user, b.greeting);
  return c.json({ ok: true, request: id });
}
