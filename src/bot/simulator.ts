import { WechatyBuilder } from 'wechaty';
import type { WechatyInterface } from 'wechaty/impls';
import { types as PuppetTypes } from 'wechaty-puppet';
import type { payloads } from 'wechaty-puppet';

type FriendshipPayload = payloads.Friendship;
type RoomInvitationPayload = payloads.RoomInvitation;
import { PuppetMock, mock } from 'wechaty-puppet-mock';

/** A message the bot sent, as the simulated WeChat world saw it arrive. */
export interface SimSent {
  seq: number;
  chatKind: 'group' | 'dm';
  /** Room id for groups, the person's contact id for DMs. */
  chatId: string;
  text: string;
  /** An image the bot sent (a poster): its file name, type and size as the member's phone got it. */
  image?: SimImage;
  /** Clock time (virtual in `kequn test`) when it arrived. */
  at: number;
}

/** An image as it arrived in the simulated chat. */
export interface SimImage {
  name: string;
  mediaType: string;
  bytes: number;
}

import { SIM_BOT_ID } from './simulator-ids.js';

export { SIM_BOT_ID };

/**
 * One line of the simulated world's timeline, both sides of every conversation: what the members
 * did (said, joined, left) and what the bot sent, in the order it happened. The playground renders
 * it; `sent` stays the bot-only transcript the scenario runner asserts on.
 *
 * @example sim.activity.filter((a) => a.chatKind === 'dm' && a.chatId === 'alice') // Alice's private chat
 */
export interface SimActivity {
  /** Position in the timeline (1, 2, 3…), shared by both sides so they interleave correctly. */
  n: number;
  kind: 'bot' | 'member' | 'joined' | 'left' | 'friend_request' | 'friend_accepted';
  chatKind: 'group' | 'dm';
  /** Room id for groups, the person's contact id for DMs (as in SimSent). */
  chatId: string;
  /** The member who acted; null for the bot. */
  userId: string | null;
  /** Message text; empty for joins and leaves. */
  text: string;
  at: number;
}

/** Oldest timeline lines are dropped beyond this, so a long-running playground stays small. */
const MAX_ACTIVITY = 20_000;

/**
 * The simulated WeChat of the playground and `kequn test`: Wechaty's own mock puppet, driven as
 * the members would drive a phone. The bot talks to it through the real Wechaty adapter, either
 * in-process or over wechaty-puppet-service gRPC (the puppet then lives in a PuppetServer).
 */
export class SimulatedWeChat {
  readonly mocker = new mock.Mocker();
  readonly puppet: PuppetMock;
  readonly sent: SimSent[] = [];
  private seq = 0;
  private botContact: mock.ContactMock;
  private listeners = new Set<(s: SimSent) => void>();
  /** Both sides of every conversation, in order (see SimActivity). */
  readonly activity: SimActivity[] = [];
  private activitySeq = 0;
  private activityListeners = new Set<(a: SimActivity) => void>();
  /** Members the bot removed from a room (moderation), in order. */
  readonly removed: { roomId: string; userId: string; at: number }[] = [];
  /** Friend requests the members sent, and when the bot accepted each (null: not yet). */
  readonly friendRequests: { id: string; userId: string; greeting: string; at: number; acceptedAt: number | null }[] = [];
  /** Invitations into groups the members sent the bot, and whether it accepted. */
  readonly invitations: { id: string; inviterId: string; topic: string; roomId: string; at: number; accepted: boolean }[] = [];
  private friendships = new Map<string, FriendshipPayload>();
  private roomInvitations = new Map<string, RoomInvitationPayload>();
  private requestSeq = 0;

  constructor(
    private readonly opts: { botName: string; now: () => number },
  ) {
    this.puppet = new PuppetMock({ mocker: this.mocker });
    this.botContact = this.mocker.createContact({ id: SIM_BOT_ID, name: opts.botName });
    // Everything the bot sends passes through the mock puppet as a message from the bot.
    this.puppet.on('message', ({ messageId }) => {
      const p = this.mocker.messagePayload(messageId) as { talkerId?: string; roomId?: string; listenerId?: string; text?: string };
      if (p.talkerId !== SIM_BOT_ID) return;
      const image = sentImage(this.mocker.cacheFileBoxPayload.get(messageId));
      const s: SimSent = {
        seq: ++this.seq,
        chatKind: p.roomId ? 'group' : 'dm',
        chatId: p.roomId ?? p.listenerId ?? '',
        text: p.text ?? '',
        ...(image ? { image } : {}),
        at: this.opts.now(),
      };
      this.sent.push(s);
      for (const l of this.listeners) l(s);
      this.record({ kind: 'bot', chatKind: s.chatKind, chatId: s.chatId, userId: null, text: s.image ? `[图片 ${s.image.name}]${s.text ? ` ${s.text}` : ''}` : s.text });
    });
    // The mock puppet's roomDel does nothing: here the bot, as room owner, really removes the
    // member, and the room reports it as a leave, as WeChat does.
    this.puppet.roomDel = async (roomId: string, contactId: string) => {
      const room = this.mocker.RoomMock.load(roomId);
      if (!room.payload.memberIdList.includes(contactId)) throw new Error(`${contactId} is not in ${roomId}`);
      this.removed.push({ roomId, userId: contactId, at: this.opts.now() });
      this.record({ kind: 'left', chatKind: 'group', chatId: roomId, userId: contactId, text: 'removed by the bot' });
      room.remove(this.mocker.ContactMock.load(contactId)).by(this.botContact);
    };
    // Friendship, as WeChat has it: a member is a friend only once the bot accepted their request,
    // and the account cannot message anyone else privately (the send is refused, nothing arrives).
    this.puppet.friendshipRawPayload = async (id: string) => {
      const p = this.friendships.get(id);
      if (!p) throw new Error(`no friend request ${id}`);
      return p;
    };
    this.puppet.friendshipAccept = async (id: string) => {
      const p = this.friendships.get(id);
      if (!p || p.type !== PuppetTypes.Friendship.Receive) throw new Error(`no friend request ${id} to accept`);
      const contact = this.mocker.contactPayload(p.contactId) as { friend?: boolean };
      contact.friend = true;
      const r = this.friendRequests.find((x) => x.id === id);
      if (r && r.acceptedAt === null) r.acceptedAt = this.opts.now();
      this.record({ kind: 'friend_accepted', chatKind: 'dm', chatId: p.contactId, userId: p.contactId, text: '' });
    };
    const sendText = this.puppet.messageSendText.bind(this.puppet);
    this.puppet.messageSendText = async (conversationId: string, text: string) => {
      if (!conversationId.endsWith('@chatroom') && !this.isFriend(conversationId)) {
        throw new Error(`${conversationId} is not a friend of this account: WeChat refuses the private message`);
      }
      return sendText(conversationId, text);
    };
    this.puppet.roomInvitationRawPayload = async (id: string) => {
      const p = this.roomInvitations.get(id);
      if (!p) throw new Error(`no room invitation ${id}`);
      return p;
    };
    this.puppet.roomInvitationAccept = async (id: string) => {
      const inv = this.invitations.find((x) => x.id === id);
      if (!inv) throw new Error(`no room invitation ${id}`);
      if (inv.accepted) return;
      inv.accepted = true;
      this.mocker.createRoom({ id: inv.roomId, topic: inv.topic, memberIdList: [SIM_BOT_ID, inv.inviterId], ownerId: inv.inviterId, adminIdList: [] });
    };
    // Log the bot in as soon as its puppet starts (in-process or behind a PuppetServer).
    this.puppet.on('start', () => {
      setImmediate(() => this.mocker.login(this.botContact));
    });
  }

  /** A Wechaty bot on this simulated world, in-process. */
  buildBot(): WechatyInterface {
    return WechatyBuilder.build({ name: 'kequn-sim', puppet: this.puppet });
  }

  onSent(listener: (s: SimSent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called for every new line of the activity timeline. Returns an unsubscribe function. */
  onActivity(listener: (a: SimActivity) => void): () => void {
    this.activityListeners.add(listener);
    return () => this.activityListeners.delete(listener);
  }

  private record(a: Omit<SimActivity, 'n' | 'at'>): void {
    const line: SimActivity = { n: ++this.activitySeq, ...a, at: this.opts.now() };
    this.activity.push(line);
    if (this.activity.length > MAX_ACTIVITY) this.activity.splice(0, this.activity.length - MAX_ACTIVITY);
    for (const l of this.activityListeners) l(line);
  }

  /**
   * A simulated person; created on first use. Their handle is their WeChat id. A `stranger` is
   * not a friend of the bot's account (a newcomer in a group usually is not); everyone else is.
   */
  user(id: string, name?: string, opts: { stranger?: boolean } = {}): mock.ContactMock {
    if (this.mocker.cacheContactPayload.has(id)) {
      const c = this.mocker.ContactMock.load(id);
      if (name && c.payload.name !== name) c.payload.name = name;
      return c;
    }
    return this.mocker.createContact({ id, name: name ?? id, friend: !opts.stranger });
  }

  /** Whether `userId` is a friend of the bot's account (the bot can message them privately). */
  isFriend(userId: string): boolean {
    return (this.mocker.cacheContactPayload.get(userId) as { friend?: boolean } | undefined)?.friend === true;
  }

  /**
   * `userId` asks to become the bot account's friend, with a greeting (验证消息), as from the
   * group's member list or a card. The bot decides and accepts (or not) later; returns the request id.
   */
  befriend(userId: string, greeting: string): string {
    const id = `friend-request-${++this.requestSeq}`;
    const payload = { id, contactId: userId, hello: greeting, timestamp: Math.floor(this.opts.now() / 1000), type: PuppetTypes.Friendship.Receive, ticket: id } as FriendshipPayload;
    this.friendships.set(id, payload);
    this.friendRequests.push({ id, userId, greeting, at: this.opts.now(), acceptedAt: null });
    this.record({ kind: 'friend_request', chatKind: 'dm', chatId: userId, userId, text: greeting });
    this.puppet.emit('friendship', { friendshipId: id });
    return id;
  }

  /** `inviterId` invites the bot's account into a new group called `topic`; returns the invitation id. */
  inviteBot(inviterId: string, topic: string): string {
    const id = `room-invitation-${++this.requestSeq}`;
    const roomId = `invited-${this.requestSeq}@chatroom`;
    this.invitations.push({ id, inviterId, topic, roomId, at: this.opts.now(), accepted: false });
    this.roomInvitations.set(id, {
      id,
      inviterId,
      topic,
      avatar: '',
      invitation: id,
      memberCount: 2,
      memberIdList: [inviterId],
      timestamp: Math.floor(this.opts.now() / 1000),
      receiverId: SIM_BOT_ID,
    });
    this.puppet.emit('room-invite', { roomInvitationId: id });
    return id;
  }

  /** A simulated group the bot is in; created on first use. WeChat room ids end in @chatroom. */
  room(id: string, topic: string): mock.RoomMock {
    if (this.mocker.cacheRoomPayload.has(id)) return this.mocker.RoomMock.load(id);
    return this.mocker.createRoom({ id, topic, memberIdList: [SIM_BOT_ID], ownerId: SIM_BOT_ID, adminIdList: [] });
  }

  users(): { id: string; name: string }[] {
    return [...this.mocker.cacheContactPayload.values()].filter((c) => c.id !== SIM_BOT_ID).map((c) => ({ id: c.id, name: c.name }));
  }

  isMember(roomId: string, userId: string): boolean {
    return this.mocker.cacheRoomPayload.get(roomId)?.memberIdList.includes(userId) ?? false;
  }

  /** `userId` joins the room, invited by `viaId` (or by scanning the group QR code: no inviter). */
  join(userId: string, roomId: string, viaId?: string): void {
    const room = this.mocker.RoomMock.load(roomId);
    const user = this.mocker.ContactMock.load(userId);
    this.record({ kind: 'joined', chatKind: 'group', chatId: roomId, userId, text: '' });
    // The mock puppet needs an inviter; "invited by themself" is how the adapter sees a QR join.
    room.add(user).by(viaId ? this.mocker.ContactMock.load(viaId) : user);
  }

  leave(userId: string, roomId: string): void {
    const room = this.mocker.RoomMock.load(roomId);
    const user = this.mocker.ContactMock.load(userId);
    this.record({ kind: 'left', chatKind: 'group', chatId: roomId, userId, text: '' });
    room.remove(user).by(user);
  }

  /**
   * A message from a member, in a room or privately to the bot. `@<bot name>` mentions the bot.
   * Only a friend can write to the account privately (WeChat has no other private chat).
   */
  say(userId: string, to: { roomId: string } | 'bot', text: string): void {
    if (to === 'bot' && !this.isFriend(userId)) throw new NotFriendError(`${userId} is not a friend of the bot's account: on WeChat only friends can write privately (send a friend request first)`);
    const user = this.mocker.ContactMock.load(userId);
    const room = to === 'bot' ? undefined : this.mocker.RoomMock.load(to.roomId);
    // Recorded before the puppet delivers it, so the member's line precedes the bot's answer.
    this.record({ kind: 'member', chatKind: room ? 'group' : 'dm', chatId: room ? room.id : userId, userId, text });
    if (!room) {
      user.say(text).to(this.botContact);
    } else {
      const mentions = text.includes(`@${this.opts.botName}`) ? [this.botContact] : [];
      user.say(text, mentions).to(room);
    }
  }
}

/** A stranger tried to write to the account privately: WeChat does not let them. */
export class NotFriendError extends Error {}

/** The image of a file the bot sent through the mock puppet (its FileBox JSON), if it is one. */
function sentImage(json: unknown): SimImage | undefined {
  if (!json || typeof json !== 'object') return undefined;
  const j = json as { name?: string; base64?: string; mediaType?: string };
  if (typeof j.base64 !== 'string') return undefined;
  const bytes = Buffer.from(j.base64, 'base64');
  // What the bytes are, not what the name says: a PNG starts with its signature.
  return { name: j.name ?? '', mediaType: bytes.subarray(1, 4).toString('latin1') === 'PNG' ? 'image/png' : (j.mediaType ?? 'application/octet-stream'), bytes: bytes.length };
}
