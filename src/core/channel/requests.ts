import type { FriendRequested, RoomInvited } from '../../bot/events.js';
import type { CourseConfig } from '../types.js';
import type { ChannelHooks } from './hooks.js';
import type { Db } from '../../store/db.js';
import { recordFriendRequest, recordRoomInvite } from '../../store/friend-requests.js';
import { activeGroupsOf, findMemberByIdentity } from '../../store/members.js';
import { effectiveRole } from '../roles.js';

/** The course policy's answer to a friend request, with the reason it is recorded with. */
export interface FriendDecision {
  accept: boolean;
  reason: string;
}

/**
 * Whether the WeChat account accepts a friend request (private_channel.wechat.accept): staff
 * always (by platform id); then `everyone`, `none`, or any of `keyword` (the greeting contains a
 * keyword, or a valid referral code when referral_codes is on) and `members` (the person is in a
 * course group now, by their platform id: the contact id the group already knows).
 */
export function decideFriendRequest(db: Db, config: CourseConfig, req: { platform: FriendRequested['platform']; userId: string; greeting: string }, hooks: ChannelHooks): FriendDecision {
  const policy = config.privateChannel.wechat;
  const role = effectiveRole(db, config, req.platform, req.userId);
  if (role !== 'member') return { accept: true, reason: `staff (${role})` };
  if (policy.accept === 'everyone') return { accept: true, reason: 'policy: everyone' };
  if (policy.accept === 'none') return { accept: false, reason: 'policy: none (accept requests by hand on the phone)' };
  const greeting = req.greeting.toLowerCase();
  if (policy.accept.includes('keyword')) {
    const keyword = policy.keywords.find((k) => greeting.includes(k.toLowerCase()));
    if (keyword) return { accept: true, reason: `keyword "${keyword}" in the greeting` };
    const reason = policy.referral_codes ? hooks.greetingReason(db, config, req.greeting) : null;
    if (reason) return { accept: true, reason };
  }
  if (policy.accept.includes('members')) {
    const member = findMemberByIdentity(db, req.platform, req.userId);
    const groups = member ? activeGroupsOf(db, member.id) : [];
    if (groups.length > 0) return { accept: true, reason: `member of course group ${groups[0]}` };
  }
  const also = policy.referral_codes ? hooks.greetingAlso(config) : null;
  const wanted = policy.accept.map((p) => (p === 'keyword' ? `a keyword (${policy.keywords.join(', ')})${also ? ` or ${also}` : ''} in the greeting` : 'a member of a course group')).join(' or ');
  return { accept: false, reason: `not accepted: needs ${wanted}` };
}

/**
 * A friend request came in: decide, and record it with the time it may be accepted (after a
 * random delay within private_channel.wechat.delay; the daily cap is applied when it falls due,
 * src/bot/friend-requests.ts). A request recorded before (redelivered) changes nothing.
 */
export function handleFriendRequest(
  db: Db,
  config: CourseConfig,
  event: FriendRequested,
  now: number,
  random: () => number,
  hooks: ChannelHooks,
): { decision: FriendDecision; recorded: boolean; acceptAt: number | null } {
  const decision = decideFriendRequest(db, config, { platform: event.platform, userId: event.user.id, greeting: event.greeting }, hooks);
  const { min, max } = config.privateChannel.wechat.delay;
  const acceptAt = decision.accept ? now + min + Math.floor(random() * (max - min)) : null;
  const id = recordFriendRequest(db, {
    platform: event.platform,
    requestId: event.requestId,
    userId: event.user.id,
    userName: event.user.name,
    greeting: event.greeting.slice(0, 500),
    now,
    accept: decision.accept,
    reason: decision.reason,
    acceptAt,
  });
  return { decision, recorded: id !== undefined, acceptAt };
}

/**
 * The bot's account was invited into a group: accepted only when the inviter is staff (by
 * platform id, never by name); anyone else's invitation is declined (left unanswered: WeChat has
 * no "decline", an invitation simply lapses). Returns the recorded decision.
 */
export function handleRoomInvite(db: Db, config: CourseConfig, event: RoomInvited, now: number): { accept: boolean; reason: string; id: number | undefined } {
  const role = effectiveRole(db, config, event.platform, event.user.id);
  const accept = role !== 'member';
  const reason = accept ? `invited by staff (${role})` : `invited by ${event.user.id}, who is not staff`;
  const id = recordRoomInvite(db, { platform: event.platform, invitationId: event.invitationId, inviterId: event.user.id, topic: event.topic.slice(0, 200), accept, reason, now });
  return { accept, reason, id };
}
