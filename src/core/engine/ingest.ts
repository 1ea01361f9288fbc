import { eventGroup, type ChatEvent, type FriendRequested, type RoomInvited } from '../../bot/events.js';
import { inTransaction } from '../../store/db.js';
import { prefetch } from '../../store/batch.js';
import { appendEvent, eventInsertRead, type NewEvent } from '../../store/events.js';
import { getMember, recordJoin, recordLeave, recordPresence, recordPresenceOfGuess, resolveMember, type Member } from '../../store/members.js';
import { markAnnounced } from '../../store/private-channels.js';
import { recordTrace } from '../../store/traces.js';
import { cleanName } from '../../util/display-text.js';
import { observeChannel } from '../channel/observe.js';
import { handleFriendRequest, handleRoomInvite } from '../channel/requests.js';
import { parseCommand } from '../command.js';
import { groupDelivery } from '../roles.js';
import type { CourseConfig, Trigger } from '../types.js';
import { runCommand } from './commands.js';
import { runRules } from './rules.js';
import { forgetMember, guessedMember, rememberMember, StaleMemberGuess } from './known-members.js';
import { factReadContext, ruleReads, senderReads } from './reads.js';
import { runContext } from './run-context.js';
import type { EngineDeps, HandleResult } from './types.js';

/**
 * A platform's event, in one transaction: log it (a redelivered event is dropped here), resolve
 * the member, update memberships and the private channel, then the command it carries and the
 * rules of its type, evaluated against the state as it is.
 */
export function ingestChatEvent(deps: EngineDeps, event: ChatEvent, now: number): HandleResult {
  const config = deps.config();
  const { db } = deps;
  if (event.type === 'friend.requested' || event.type === 'room.invited') return ingestRequest(deps, config, event, now);
  const groupId = eventGroup(event)?.id ?? null;
  const group = groupId !== null ? config.groupOf(event.platform, groupId) : undefined;
  if (groupId !== null && group === undefined) {
    return { status: 'ignored', reason: `group ${groupId} is not a course group in config`, fired: [], messages: 0 };
  }
  const dedupeKey = `${event.platform}:${event.eventId}`;
  try {
    // db.transaction, not inTransaction: inside a caller's transaction this is a savepoint, so a
    // duplicate undoes only its own member lookup.
    try {
      return db.transaction(() => handleLogged(deps, config, event, dedupeKey, group, groupId, now, true))();
    } catch (e) {
      if (!(e instanceof StaleMemberGuess)) throw e;
      // Rolled back, the event row written under the old member with it: again, without a guess.
      forgetMember(db, event.platform, event.user.id);
      return db.transaction(() => handleLogged(deps, config, event, dedupeKey, group, groupId, now, false))();
    }
  } catch (e) {
    if (e instanceof Redelivered) return { status: 'duplicate', reason: 'event already handled', fired: [], messages: 0 };
    throw e;
  }
}

/** A redelivered event, found when its row would not insert: what the transaction did is undone. */
class Redelivered extends Error {}

function handleLogged(
  deps: EngineDeps,
  config: CourseConfig,
  event: Exclude<ChatEvent, FriendRequested | RoomInvited>,
  dedupeKey: string,
  group: string | undefined,
  groupId: string | null,
  now: number,
  mayGuess: boolean,
): HandleResult {
  const { db } = deps;
  // A message from someone this process has seen (PostgreSQL only, src/core/engine/known-members.ts):
  // the event insert and the rules' reads go with the sender's reads, under the member they had.
  const guess = mayGuess && event.type === 'message' ? guessedMember(db, event.platform, event.user.id) : undefined;
  const rowFor = (memberId: string): NewEvent => ({ type: event.type, platform: event.platform, dedupeKey, memberId, groupId: group ?? null, payload: event, at: now });
  const eventReads = (m: Member) => [eventInsertRead(rowFor(m.id)), ...ruleReads(config.rules, ruleTypes(event), factReadContext(m, event, group, now, config))];
  // Speaking in the group is proof of being in it, for someone who was there before the bot:
  // written before the rules' reads (a write to a table they read would make them stale).
  const presence = event.type === 'message' && group !== undefined ? (memberId: string, ofGuess: boolean) => (ofGuess ? recordPresenceOfGuess : recordPresence)(db, { memberId, groupId: group, now }) : undefined;
  if (guess) presence?.(guess.id, true);
  // What the handling reads, loaded ahead (PostgreSQL: with the BEGIN, in one request).
  prefetch(db, () => [...senderReads(event, group), ...(guess ? eventReads(guess) : [])]);
  const resolved = resolveMember(db, {
    platform: event.platform,
    platformId: event.user.id,
    // Normalised here too, whatever the adapter did: the one door every name comes in by.
    displayName: cleanName(event.user.name),
    initialStage: config.stageIds[0]!,
    now,
  });
  const created = resolved.created;
  let member = resolved.member;
  if (guess && member.id !== guess.id) throw new StaleMemberGuess();
  rememberMember(db, event.platform, event.user.id, member);
  // The row is written once with its member: inserting it bare and setting the member after
  // rewrote two of its index entries, about 2.5 more pages per event in the WAL.
  // No look-up before: the insert is the dedupe check (one statement fewer per event). A
  // redelivery is rare; it throws, and the member lookup above is rolled back with it.
  const row = rowFor(member.id);
  // The insert goes with the reads that need the member (the rules' facts, their cooldowns),
  // unless they went with the sender's reads already.
  if (!guess) {
    presence?.(member.id, false);
    prefetch(db, () => eventReads(member));
  }
  const eventRowId = appendEvent(db, row);
  if (eventRowId === undefined) throw new Redelivered();

  let inviterMemberId: string | null = null;
  if (event.type === 'member.joined') {
    if (event.inviter && event.inviter.id !== event.user.id) {
      inviterMemberId = resolveMember(db, {
        platform: event.platform,
        platformId: event.inviter.id,
        displayName: cleanName(event.inviter.name),
        initialStage: config.stageIds[0]!,
        now,
      }).member.id;
    }
    recordJoin(db, { memberId: member.id, groupId: group!, inviterId: inviterMemberId, now });
  } else if (event.type === 'member.left') {
    recordLeave(db, { memberId: member.id, groupId: group!, now });
  }

  // Before any rule: the private channel as the platform just described it (held messages
  // released when it opened), so every rule and action sees it as it is now.
  const channel = observeChannel(db, config, event, member.id, now, deps.registry.channel);
  if (event.type === 'channel.closed' || (event.type === 'channel.opened' && !channel.opening)) {
    recordTrace(db, { eventId: eventRowId, jobId: null, memberId: member.id, ruleId: 'channel', matched: true, detail: { trigger: event.type, conditions: [], actions: channel.notes }, at: now });
    return { status: 'handled', eventRowId, memberId: member.id, newMember: created, fired: [], messages: 0 };
  }
  if (channel.notes.length > 0) {
    recordTrace(db, { eventId: eventRowId, jobId: null, memberId: member.id, ruleId: 'channel', matched: true, detail: { trigger: event.type, conditions: [], actions: channel.notes }, at: now });
  }

  const isDm = (event.type === 'message' && event.chat.kind === 'dm') || event.type === 'channel.opened';
  const text = event.type === 'message' ? event.text : event.type === 'channel.opened' ? channel.opening!.text : '';
  // The addressee (`/help@kequn_bot`) was the adapter's business: the engine sees name and args.
  const parsed = event.type === 'message' ? parseCommand(text) : null;
  const command = parsed && { name: parsed.name, args: parsed.args };
  const trigger: Trigger = {
    type: event.type === 'message' && command ? 'command' : event.type,
    platform: event.platform,
    eventId: eventRowId,
    jobId: null,
    group: group ?? null,
    replyTo: isDm || groupId === null ? { kind: 'dm', id: event.user.id } : { kind: 'group', id: groupId },
    userPlatformId: event.user.id,
    text,
    isDm,
    mentionsBot: event.type === 'message' && event.mentionsBot,
    quoted: event.type === 'message' ? event.quoted : undefined,
    command,
    isNewMember: created,
    inviterMemberId,
    channel: event.type === 'channel.opened' ? channel.opening : undefined,
  };
  // Features' handlers of the event's type (Feature.on), before commands and rules, paused or
  // not: what a join means for the member's records (the cohort a group puts them in).
  const h = runEventHandlers(deps, config, trigger, member, now);
  // Commands and rules see the member as the handlers left them (a handler may set their stage).
  if (h.changed) member = getMember(db, member.id) ?? member;
  const c = trigger.command ? runCommand(deps, config, trigger, member, now) : { fired: [], messages: 0 };
  // A group where staff paused the bot: the event is recorded, no rule runs (commands do).
  const paused = trigger.group !== null && groupDelivery(db, config, trigger.group).paused;
  if (paused) {
    recordTrace(db, { eventId: eventRowId, jobId: null, memberId: member.id, ruleId: 'group:paused', matched: true, detail: { trigger: trigger.type, conditions: [], actions: [`bot paused in ${trigger.group}: no rules run`] }, at: now });
  }
  const r = paused ? { fired: [], messages: 0 } : runRules(deps, config, trigger, member, now, undefined);
  // The channel opened with another event (a join of someone already a friend, a first private
  // message): the channel.opened rules run after the event's own, on the state they left.
  const o =
    channel.opening && trigger.type !== 'channel.opened' && !paused
      ? runRules(
          deps,
          config,
          { ...trigger, type: 'channel.opened', replyTo: { kind: 'dm', id: event.user.id }, text: '', isDm: true, mentionsBot: false, quoted: undefined, command: null, channel: channel.opening },
          getMember(db, member.id) ?? member,
          now,
          undefined,
        )
      : { fired: [], messages: 0 };
  if (channel.opening && !paused) markAnnounced(db, event.platform, event.user.id, now);
  return { status: 'handled', eventRowId, memberId: member.id, newMember: created, fired: [...h.fired, ...c.fired, ...r.fired, ...o.fired], messages: h.messages + c.messages + r.messages + o.messages };
}

/** The rule types an event may run: its own, a command's, and channel.opened (a first private message opens it). */
function ruleTypes(event: ChatEvent): Trigger['type'][] {
  // channel.closed is no rule type: it only finds no rules.
  return (event.type === 'message' ? ['message', 'command', 'channel.opened'] : [event.type, 'channel.opened']) as Trigger['type'][];
}

/** Runs the features' `on` handlers of a platform event's type, with one trace when any ran. */
function runEventHandlers(deps: EngineDeps, config: CourseConfig, trigger: Trigger, member: Member, now: number): { fired: string[]; messages: number; changed: boolean } {
  const handlers = deps.registry.handlers(trigger.type);
  if (handlers.length === 0) return { fired: [], messages: 0, changed: false };
  const notes: string[] = [];
  let messages = 0;
  const ctx = runContext(deps, config, trigger, member, now, trigger.type, notes, () => messages++);
  for (const x of handlers) x.run({ ...ctx, member: getMember(deps.db, member.id) ?? member });
  if (notes.length === 0 && messages === 0) return { fired: [], messages: 0, changed: false };
  recordTrace(deps.db, { eventId: trigger.eventId, jobId: null, memberId: member.id, ruleId: trigger.type, matched: true, detail: { trigger: trigger.type, conditions: [], actions: notes }, at: now });
  // Not in `fired`: no rule ran (the trace, under the event's type, says what the handlers did).
  return { fired: [], messages, changed: true };
}

/**
 * A friend request or a group invitation to the bot's account: not a member's event (no member
 * is made for a stranger's request); logged with its dedupe key, then decided by the course's
 * policy (src/core/channel/requests.ts) in the same transaction.
 */
function ingestRequest(deps: EngineDeps, config: CourseConfig, event: FriendRequested | RoomInvited, now: number): HandleResult {
  const { db } = deps;
  return inTransaction(db, () => {
    const dedupeKey = `${event.platform}:${event.eventId}`;
    const eventRowId = appendEvent(db, { type: event.type, platform: event.platform, dedupeKey, memberId: null, groupId: null, payload: event, at: now });
    if (eventRowId === undefined) return { status: 'duplicate', reason: 'event already handled', fired: [], messages: 0 };
    if (event.type === 'friend.requested') {
      const r = handleFriendRequest(db, config, event, now, deps.random ?? Math.random, deps.registry.channel);
      const what = !r.recorded ? 'already recorded' : r.decision.accept ? `to be accepted (${r.decision.reason})` : `ignored (${r.decision.reason})`;
      return { status: 'handled', eventRowId, reason: `friend request ${what}`, fired: [], messages: 0, accept: r.recorded && r.decision.accept };
    }
    const r = handleRoomInvite(db, config, event, now);
    return { status: 'handled', eventRowId, reason: `group invitation ${r.accept ? 'accepted' : 'declined'}: ${r.reason}`, fired: [], messages: 0, accept: r.accept && r.id !== undefined };
  });
}
