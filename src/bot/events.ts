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
}

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
}

export interface QuotedMessage {
  /** Text (or caption) of the quoted message, capped like any text. */
  text: string;
  /** The quoted message was sent by this bot (checked by platform id, not by name). */
  fromBot: boolean;
}

export type ChatEvent = MemberJoined | MemberLeft | MessageReceived;

/** A message to deliver, as the outbox hands it to an adapter. */
export interface OutgoingMessage {
  chat: { kind: 'group' | 'dm'; id: string };
  text: string;
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
  /** Telegram only: sends a Stars invoice (see src/orders/contracts.ts). */
  sendInvoice?(invoice: import('../orders/contracts.js').StarsInvoice): Promise<void>;
  /**
   * Telegram only: creates an invite link to a group, e.g. one per member for referrals
   * (`name` comes back in the MemberJoined of whoever joins through it).
   */
  createInviteLink?(groupChatId: string, opts: { name: string; expiresAt?: number; memberLimit?: number }): Promise<InviteLinkRef>;
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
