/**
 * The platform-neutral events that adapters produce and flows consume. Platform ids are
 * opaque strings scoped by platform; flows never import a platform SDK.
 *
 * @example
 * const e: ChatEvent = {
 *   type: 'member.joined', platform: 'wechat', eventId: 'room-join:python-101@chatroom:alice:1700000000',
 *   at: Date.now(), group: { id: 'python-101@chatroom', name: 'Python 入门体验群' },
 *   user: { id: 'alice', name: 'Alice' },
 * };
 */
export type Platform = 'wechat' | 'telegram';

export interface UserRef {
  id: string;
  name: string;
}

export interface GroupRef {
  id: string;
  name: string;
}

interface EventBase {
  platform: Platform;
  /** Unique per platform event: a redelivered event with the same id is ignored. */
  eventId: string;
  at: number;
}

export interface MemberJoined extends EventBase {
  type: 'member.joined';
  group: GroupRef;
  user: UserRef;
  inviter?: UserRef;
  /**
   * Telegram: the invite link the member joined through (per-member links name their owner),
   * for referral attribution. Absent when the platform does not say.
   */
  inviteLink?: InviteLinkRef;
  /** What the platform says about the member's private channel now, when it says (WeChat: a friend or not). */
  channel?: ChannelHint;
}

/**
 * Whether the bot can message the person privately, as the platform reports it with an event:
 * WeChat's contact payload says whether they are a friend of the account; Telegram says nothing.
 */
export type ChannelHint = 'open' | 'closed';

/** An invite link as a join reports it. `name` is what the bot set when it created the link. */
export interface InviteLinkRef {
  url: string;
  name?: string;
  /** platform id of who created the link (the bot itself for per-member links) */
  creatorId?: string;
}

export interface MemberLeft extends EventBase {
  type: 'member.left';
  group: GroupRef;
  user: UserRef;
}

export interface MessageReceived extends EventBase {
  type: 'message';
  chat: { kind: 'group'; group: GroupRef } | { kind: 'dm' };
  user: UserRef;
  /** Text as received (capped by the adapter); empty for non-text messages. */
  text: string;
  mentionsBot: boolean;
  /** Non-text messages (images, files, cards) arrive as 'other' with empty text. */
  contentKind: 'text' | 'other';
  /**
   * The message this one replies to, when the platform says so structurally (Telegram's
   * reply_to_message). WeChat has no such field: its quoted replies arrive as text (「…」 + dashes).
   */
  quoted?: QuotedMessage;
  /** What the platform says about the sender's private channel now (WeChat group messages). */
  channel?: ChannelHint;
  /**
   * The platform's id of this message within its chat, where the bot can act on it later
   * (Telegram's message_id: moderation deletes an ad with it). Absent on WeChat.
   */
  messageId?: string;
}

export interface QuotedMessage {
  /** Text (or caption) of the quoted message, capped like any text. */
  text: string;
  /** The quoted message was sent by this bot (checked by platform id, not by name). */
  fromBot: boolean;
}

/**
 * The person opened their private channel with the bot: WeChat, the bot accepted their friend
 * request (or a friendship was confirmed); Telegram, they pressed Start (again, too: every /start
 * is one) or unblocked the bot. Private messages held for them follow.
 */
export interface ChannelOpened extends EventBase {
  type: 'channel.opened';
  user: UserRef;
  how: 'friend_request' | 'friend_confirmed' | 'start' | 'unblocked';
  /** WeChat: the friend request's greeting; Telegram: the /start payload (deep link); else empty. */
  text: string;
}

/** The person closed their private channel: Telegram, they blocked the bot. */
export interface ChannelClosed extends EventBase {
  type: 'channel.closed';
  user: UserRef;
  how: 'blocked';
}

/**
 * Someone asked to become the WeChat account's friend. kequn decides by the course's policy and
 * accepts later, paced (src/bot/friend-requests.ts); nothing else happens until it does.
 */
export interface FriendRequested extends EventBase {
  type: 'friend.requested';
  user: UserRef;
  /** The platform's id of the request (what accepting it takes). */
  requestId: string;
  greeting: string;
}

/** Someone invited the bot's account into a group (WeChat room invitation). */
export interface RoomInvited extends EventBase {
  type: 'room.invited';
  /** Who invited the bot. */
  user: UserRef;
  invitationId: string;
  topic: string;
  memberCount: number;
}

export type ChatEvent = MemberJoined | MemberLeft | MessageReceived | ChannelOpened | ChannelClosed | FriendRequested | RoomInvited;

/** The group an event happened in, if any (joins, leaves, group messages). */
export function eventGroup(event: ChatEvent): GroupRef | undefined {
  if (event.type === 'member.joined' || event.type === 'member.left') return event.group;
  if (event.type === 'message' && event.chat.kind === 'group') return event.chat.group;
  return undefined;
}

/** A message to deliver, as the outbox hands it to an adapter. */
export interface OutgoingMessage {
  chat: { kind: 'group' | 'dm'; id: string };
  text: string;
  /**
   * A PNG file the server drew (a referral poster): sent as a photo, `text` its caption (empty:
   * none). WeChat has no captions: a caption there follows the image as its own message.
   */
  image?: string;
}

/**
 * What a platform adapter implements. `start` connects and begins delivering events to the
 * sink; `send` delivers one message or throws (the outbox retries with backoff).
 */
export interface ChatAdapter {
  readonly platform: Platform;
  start(sink: (event: ChatEvent) => Promise<void>, hooks?: AdapterHooks): Promise<void>;
  stop(): Promise<void>;
  send(message: OutgoingMessage): Promise<void>;
  /** False while logged out or disconnected: the outbox holds messages until it is true. */
  isReady(): boolean;
  /**
   * Removes a member from a group, where the platform lets the bot (WeChat: the bot owns or
   * administers the room). Absent: the platform cannot; moderation records that instead.
   */
  removeMember?(groupChatId: string, userId: string): Promise<void>;
  /** Deletes a member's message in a group, where the platform lets the bot (not WeChat). */
  deleteMessage?(groupChatId: string, messageId: string): Promise<void>;
  /** Telegram only: sends a Stars invoice (see src/flows/orders/contracts.ts). */
  sendInvoice?(invoice: import('./payments.js').StarsInvoice): Promise<void>;
  /**
   * Telegram only: creates an invite link to a group, e.g. one per member for referrals
   * (`name` comes back in the MemberJoined of whoever joins through it).
   */
  createInviteLink?(groupChatId: string, opts: { name: string; expiresAt?: number; memberLimit?: number }): Promise<InviteLinkRef>;
  /**
   * WeChat: what the group's QR code encodes, where the puppet can give it (Wechaty's
   * `room.qrCode()`); such a code admits people for 7 days (the join page, src/flows/join).
   */
  groupQrCode?(groupChatId: string): Promise<string>;
  /**
   * WeChat: the people in a group now, the bot's own account left out (Wechaty's room member
   * list); undefined when the account is not in that room. Absent where the platform gives bots no
   * member list (Telegram: there, whoever speaks or joins is recorded).
   */
  listGroupMembers?(groupChatId: string): Promise<UserRef[] | undefined>;
  /** WeChat: accepts a friend request (FriendRequested.requestId). */
  acceptFriendRequest?(requestId: string): Promise<void>;
  /** WeChat: accepts an invitation into a group (RoomInvited.invitationId); resolves to the group's id once known. */
  acceptRoomInvite?(invitationId: string): Promise<string | undefined>;
}

/** What an adapter reports besides events. */
export interface AdapterHooks {
  /**
   * The groups the account is in, when the platform can list them (WeChat, once logged in and
   * loaded): several kequn instances on one store use it to know which groups each can reach.
   */
  groupsKnown?(chatIds: string[]): void;
}

/**
 * Thrown by an adapter's `send` when retrying can never help (kicked from the group, blocked,
 * not a friend): the outbox marks the message failed at once instead of retrying.
 */
export class PermanentSendError extends Error {}

/**
 * Thrown by an adapter's `send` of a private message when the member's private channel is not
 * open: not (yet) a WeChat friend, never pressed Start on Telegram (`not_open`), or blocked the bot
 * (`blocked`). The outbox holds the message until the channel opens instead of failing it.
 */
export class ChannelClosedError extends PermanentSendError {
  constructor(
    message: string,
    readonly reason: 'not_open' | 'blocked',
  ) {
    super(message);
  }
}

/**
 * Thrown by an adapter's `send` when the platform said to wait (Telegram 429 with retry_after
 * longer than the adapter waits by itself): the outbox retries that chat after `retryAfterMs`.
 */
export class RetryAfterError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** Longest text kept from one incoming message; the rest is cut (and the event says so). */
export const MAX_TEXT_CHARS = 4000;

/** Normalises incoming text: caps length, drops NUL and other C0 controls except newline/tab. */
export function cleanText(raw: unknown): string {
  if (typeof raw !== 'string') return '';
  // eslint-disable-next-line no-control-regex
  let s = raw.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');
  if (s.length > MAX_TEXT_CHARS) {
    s = s.slice(0, MAX_TEXT_CHARS);
    // Never keep half of a surrogate pair (an emoji cut at the cap).
    if (/[\ud800-\udbff]$/.test(s)) s = s.slice(0, -1);
  }
  return s;
}
