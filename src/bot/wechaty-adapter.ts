import type { Logger } from 'pino';
import type { WechatyInterface } from 'wechaty/impls';
import type { ContactInterface, MessageInterface, RoomInterface } from 'wechaty/impls';
import { types as PuppetTypes } from 'wechaty-puppet';
import { cleanName, MAX_TITLE_CHARS } from '../util/display-text.js';
import { cleanText, PermanentSendError, type AdapterHooks, type ChatAdapter, type ChatEvent, type OutgoingMessage } from './events.js';

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
    bot.on('message', (message) => {
      void this.onMessage(message)
        .then((event) => (event ? deliver(event) : undefined))
        .catch((e: unknown) => log.warn({ err: (e as Error).message }, 'wechat: message dropped'));
    });
    await bot.start();
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
    };
  }

  async send(message: OutgoingMessage): Promise<void> {
    if (message.chat.kind === 'group') {
      const room = await this.bot.Room.find({ id: message.chat.id });
      if (!room) throw new Error(`wechat: room ${message.chat.id} not found (is the bot still in it?)`);
      await room.say(message.text);
    } else {
      const contact = await this.bot.Contact.find({ id: message.chat.id });
      if (!contact) throw new PermanentSendError(`wechat: contact ${message.chat.id} not found`);
      // A personal account can only message its friends; retrying would only burn send slots.
      if (contact.friend() === false) throw new PermanentSendError(`wechat: ${message.chat.id} is not a friend of the bot account; private messages cannot reach them`);
      await contact.say(message.text);
    }
  }

  /** Works only where the bot account owns or administers the room; the puppet throws otherwise. */
  async removeMember(groupChatId: string, userId: string): Promise<void> {
    const room = await this.bot.Room.find({ id: groupChatId });
    if (!room) throw new Error(`wechat: room ${groupChatId} not found (is the bot still in it?)`);
    const contact = await this.bot.Contact.find({ id: userId });
    if (!contact) throw new Error(`wechat: contact ${userId} not found`);
    await room.remove(contact);
  }

  async stop(): Promise<void> {
    this.loggedIn = false;
    await this.bot.stop();
  }
}

function userRef(c: ContactInterface): { id: string; name: string } {
  return { id: c.id, name: cleanName(c.name()) };
}

async function groupRef(room: RoomInterface): Promise<{ id: string; name: string }> {
  return { id: room.id, name: cleanName(await room.topic().catch(() => ''), MAX_TITLE_CHARS) };
}
