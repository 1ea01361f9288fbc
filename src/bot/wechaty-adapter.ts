import type { Logger } from 'pino';
import type { WechatyInterface } from 'wechaty/impls';
import type { ContactInterface, FriendshipInterface, MessageInterface, RoomInterface, RoomInvitationInterface } from 'wechaty/impls';
import { types as PuppetTypes } from 'wechaty-puppet';
import { FileBox } from 'file-box';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { cleanName, MAX_TITLE_CHARS } from '../util/display-text.js';
import { ChannelClosedError, cleanText, PermanentSendError, type AdapterHooks, type ChannelHint, type ChatAdapter, type ChatEvent, type OutgoingMessage, type UserRef } from './events.js';

/** How long acceptRoomInvite looks for the room it just joined (a puppet lists it a moment later). */
const ROOM_LOOKUP_MS = 5000;

/**
 * WeChat through Wechaty. The same adapter runs in production (wechaty-puppet-service), in the
 * playground and in `kequn test` (wechaty-puppet-mock): only the puppet differs.
 */
export class WechatyAdapter implements ChatAdapter {
  readonly platform = 'wechat' as const;
  private loggedIn = false;

  constructor(
    private readonly bot: WechatyInterface,
    private readonly log: Logger,
  ) {}

  isReady(): boolean {
    return this.loggedIn;
  }

  async start(sink: (event: ChatEvent) => Promise<void>, hooks: AdapterHooks = {}): Promise<void> {
    const { bot, log } = this;
    const deliver = (event: ChatEvent) =>
      sink(event).catch((e: unknown) => log.error({ err: (e as Error).message, event: event.eventId }, 'wechat: event handling failed'));

    bot.on('scan', (qrcode, status) => {
      log.info({ status, qrcode: `https://wechaty.js.org/qrcode/${encodeURIComponent(qrcode)}` }, 'wechat: scan the QR code to log in');
    });
    // The rooms the account is in, at login and again at 'ready' (contacts and rooms loaded:
    // a puppet service may know only some at login). Reporting one twice is harmless.
    const listRooms = () => {
      if (!hooks.groupsKnown) return;
      bot.Room.findAll()
        .then((rooms) => hooks.groupsKnown!(rooms.map((r) => r.id)))
        .catch((e: unknown) => log.warn({ err: (e as Error).message }, 'wechat: could not list the rooms'));
    };
    bot.on('ready', listRooms);
    bot.on('login', (user) => {
      this.loggedIn = true;
      log.info({ user: user.id }, 'wechat: logged in');
      listRooms();
    });
    bot.on('logout', (user, reason) => {
      this.loggedIn = false;
      log.warn({ user: user.id, reason }, 'wechat: logged out; outgoing messages wait until the account logs in again');
    });
    bot.on('error', (err) => {
      // Puppets report payload refreshes they cannot do (e.g. the mock on room-member updates);
      // they never stop the bot, so they are logged, not thrown.
      log.debug({ err: err.message }, 'wechat: puppet error');
    });
    bot.on('room-join', (room, invitees, inviter, date) => {
      void (async () => {
        const group = await groupRef(room);
        for (const invitee of invitees) {
          if (invitee.self()) continue;
          await deliver({
            type: 'member.joined',
            platform: 'wechat',
            eventId: `join:${room.id}:${invitee.id}:${date?.getTime() ?? Date.now()}`,
            at: Date.now(),
            group,
            user: userRef(invitee),
            inviter: inviter && !inviter.self() && inviter.id !== invitee.id ? userRef(inviter) : undefined,
            channel: channelHint(invitee),
          });
        }
      })().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'wechat: room-join dropped'));
    });
    bot.on('room-leave', (room, leavers, _remover, date) => {
      void (async () => {
        const group = await groupRef(room);
        for (const leaver of leavers) {
          if (leaver.self()) continue;
          await deliver({
            type: 'member.left',
            platform: 'wechat',
            eventId: `leave:${room.id}:${leaver.id}:${date?.getTime() ?? Date.now()}`,
            at: Date.now(),
            group,
            user: userRef(leaver),
          });
        }
      })().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'wechat: room-leave dropped'));
    });
    bot.on('friendship', (friendship) => {
      void this.onFriendship(friendship)
        .then((event) => (event ? deliver(event) : undefined))
        .catch((e: unknown) => log.warn({ err: (e as Error).message }, 'wechat: friendship event dropped'));
    });
    bot.on('room-invite', (invitation) => {
      void this.onRoomInvite(invitation)
        .then(deliver)
        .catch((e: unknown) => log.warn({ err: (e as Error).message }, 'wechat: room invitation dropped'));
    });
    bot.on('message', (message) => {
      void this.onMessage(message)
        .then((event) => (event ? deliver(event) : undefined))
        .catch((e: unknown) => log.warn({ err: (e as Error).message }, 'wechat: message dropped'));
    });
    await bot.start();
  }

  /**
   * A friend request (Receive) goes to the engine for the course's policy; kequn accepts it later,
   * paced (acceptFriendRequest). A confirmed friendship (made on the phone, or the other side
   * accepting) opens the private channel at once. Verify events (the other side asks the account to
   * verify itself) are nothing kequn acts on.
   */
  private async onFriendship(friendship: FriendshipInterface): Promise<ChatEvent | undefined> {
    const contact = friendship.contact();
    const type = friendship.type();
    const base = { platform: 'wechat' as const, at: Date.now(), user: userRef(contact) };
    if (type === PuppetTypes.Friendship.Receive) {
      return { ...base, type: 'friend.requested', eventId: `friendship:${friendship.id}`, requestId: friendship.id, greeting: cleanText(friendship.hello()).slice(0, 500) };
    }
    if (type === PuppetTypes.Friendship.Confirm) {
      return { ...base, type: 'channel.opened', eventId: `friendship-confirm:${friendship.id}`, how: 'friend_confirmed', text: '' };
    }
    this.log.debug({ friendship: friendship.id, type }, 'wechat: friendship event ignored');
    return undefined;
  }

  private async onRoomInvite(invitation: RoomInvitationInterface): Promise<ChatEvent> {
    const inviter = await invitation.inviter();
    return {
      type: 'room.invited',
      platform: 'wechat',
      eventId: `room-invite:${invitation.id}`,
      at: Date.now(),
      user: userRef(inviter),
      invitationId: invitation.id,
      topic: cleanName(await invitation.topic(), MAX_TITLE_CHARS),
      memberCount: await invitation.memberCount().catch(() => 0),
    };
  }

  /** Accepts a friend request the course's policy said yes to (the caller paces these). */
  async acceptFriendRequest(requestId: string): Promise<void> {
    const friendship = this.bot.Friendship.load(requestId);
    await friendship.ready();
    await friendship.accept();
  }

  /**
   * Accepts a group invitation (staff's, decided by the engine) through the puppet, whose errors
   * Wechaty's RoomInvitation.accept would swallow; then looks for the room to learn its id.
   */
  async acceptRoomInvite(invitationId: string): Promise<string | undefined> {
    const invitation = this.bot.RoomInvitation.load(invitationId);
    const topic = await invitation.topic();
    await this.bot.puppet.roomInvitationAccept(invitationId);
    const deadline = Date.now() + ROOM_LOOKUP_MS;
    for (;;) {
      const room = await this.bot.Room.find({ topic }).catch(() => undefined);
      if (room) return room.id;
      if (Date.now() > deadline) return undefined;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async onMessage(message: MessageInterface): Promise<ChatEvent | undefined> {
    // The bot receives its own messages: never act on them.
    if (message.self()) return undefined;
    const talker = message.talker();
    if (!talker) return undefined;
    const room = message.room();
    const isText = message.type() === PuppetTypes.Message.Text;
    return {
      type: 'message',
      platform: 'wechat',
      eventId: `msg:${message.id}`,
      at: Date.now(),
      chat: room ? { kind: 'group', group: await groupRef(room) } : { kind: 'dm' },
      user: userRef(talker),
      text: isText ? cleanText(message.text()) : '',
      mentionsBot: room ? await message.mentionSelf().catch(() => false) : false,
      contentKind: isText ? 'text' : 'other',
      channel: room ? channelHint(talker) : undefined,
    };
  }

  async send(message: OutgoingMessage): Promise<void> {
    if (message.chat.kind === 'group') {
      const room = await this.bot.Room.find({ id: message.chat.id });
      if (!room) throw new Error(`wechat: room ${message.chat.id} not found (is the bot still in it?)`);
      await say(room, message);
    } else {
      const contact = await this.bot.Contact.find({ id: message.chat.id });
      if (!contact) throw new PermanentSendError(`wechat: contact ${message.chat.id} not found`);
      // A personal account can only message its friends: the message waits for the friendship
      // (held by the outbox) instead of burning send slots on a refusal.
      if (contact.friend() === false) throw new ChannelClosedError(`wechat: ${message.chat.id} is not a friend of the bot account yet`, 'not_open');
      await say(contact, message);
    }
  }

  /**
   * The room's members as the puppet lists them now (room.memberAll), the account itself left out.
   * A puppet service may not know every room right at login: undefined means "not found (yet)".
   */
  async listGroupMembers(groupChatId: string): Promise<UserRef[] | undefined> {
    const room = await this.bot.Room.find({ id: groupChatId }).catch(() => undefined);
    if (!room) return undefined;
    const members = await room.memberAll();
    return members.filter((c) => !c.self()).map(userRef);
  }

  /** Works only where the bot account owns or administers the room; the puppet throws otherwise. */
  async removeMember(groupChatId: string, userId: string): Promise<void> {
    const room = await this.bot.Room.find({ id: groupChatId });
    if (!room) throw new Error(`wechat: room ${groupChatId} not found (is the bot still in it?)`);
    const contact = await this.bot.Contact.find({ id: userId });
    if (!contact) throw new Error(`wechat: contact ${userId} not found`);
    await room.remove(contact);
  }

  /** The room's QR code as text (a weixin.qq.com URL on real puppets); the mock puppet gives `<id> mock qrcode`. */
  async groupQrCode(groupChatId: string): Promise<string> {
    const room = await this.bot.Room.find({ id: groupChatId });
    if (!room) throw new Error(`wechat: room ${groupChatId} not found (is the bot still in it?)`);
    return room.qrCode();
  }

  async stop(): Promise<void> {
    this.loggedIn = false;
    await this.bot.stop();
  }
}

/**
 * Says the message: an image as a file and its caption, if any, after it as text (WeChat messages
 * have no captions). The file goes as base64, not as a path: a puppet service on another machine
 * cannot read this server's disk, and a local-file FileBox does not serialise.
 */
async function say(to: RoomInterface | ContactInterface, message: OutgoingMessage): Promise<void> {
  if (message.image === undefined) return void (await to.say(message.text));
  const bytes = await readFile(message.image);
  await to.say(FileBox.fromBase64(bytes.toString('base64'), basename(message.image)));
  if (message.text !== '') await to.say(message.text);
}

/** Whether the account can message the contact privately, as the puppet's payload says. */
function channelHint(c: ContactInterface): ChannelHint | undefined {
  const friend = c.friend();
  return friend === true ? 'open' : friend === false ? 'closed' : undefined;
}

function userRef(c: ContactInterface): { id: string; name: string } {
  return { id: c.id, name: cleanName(c.name()) };
}

async function groupRef(room: RoomInterface): Promise<{ id: string; name: string }> {
  return { id: room.id, name: cleanName(await room.topic().catch(() => ''), MAX_TITLE_CHARS) };
}
