import type { SimSent } from '../bot/simulator.js';
import type { CourseConfig } from '../core/types.js';
import type { TelegramMode } from '../app.js';
import { FakeBotApi } from './fake-bot-api.js';

type Person = ReturnType<FakeBotApi['person']>;

/**
 * Telegram for `kequn test` (`platform: telegram`): people and groups of a scenario on the fake
 * Bot API, which the real grammY adapter polls over HTTP on 127.0.0.1. It offers the runner the
 * same moves as the simulated WeChat (join, leave, say, what the bot sent), with Telegram ids:
 * a user handle gets a numeric user id (a numeric handle is its own id, so staff configured by
 * Telegram id keep their role), a group without `telegram:` in config a negative chat id.
 */
export class SimulatedTelegram {
  readonly sent: SimSent[] = [];
  /** Members the bot removed from a group (moderation), in order. */
  readonly removed: { roomId: string; userId: string; at: number }[] = [];
  private people = new Map<string, Person>();
  private members = new Set<string>();
  private handles = new Map<string, string>();
  private groupIds = new Map<string, string>();
  private titles = new Map<string, string>();

  private constructor(
    readonly api: FakeBotApi,
    private readonly config: CourseConfig,
    private readonly now: () => number,
  ) {
    Object.entries(config.groups).forEach(([handle, g], i) => {
      const id = g.telegram ?? String(-1_000_000_000_000 - i - 1);
      this.groupIds.set(handle, id);
      this.titles.set(id, g.name);
    });
  }

  static async start(config: CourseConfig, now: () => number): Promise<SimulatedTelegram> {
    const sim = new SimulatedTelegram(await FakeBotApi.start(), config, now);
    // A ban removes the member, and Telegram reports it as a chat_member update, as for a leave.
    sim.api.onBan = (chatId, userId) => {
      if (!sim.members.delete(`${chatId}:${userId}`)) return;
      sim.removed.push({ roomId: chatId, userId, at: now() });
      sim.api.memberChange({ chat: sim.chat(chatId), user: sim.person(userId), joined: false });
    };
    sim.api.onSend = (chatId, text) => sim.sent.push({ seq: sim.sent.length + 1, chatKind: chatId.startsWith('-') ? 'group' : 'dm', chatId, text, at: now() });
    sim.api.onPhoto = (p) =>
      sim.sent.push({ seq: sim.sent.length + 1, chatKind: p.chatId.startsWith('-') ? 'group' : 'dm', chatId: p.chatId, text: p.caption, image: { name: p.name, mediaType: p.bytes.subarray(1, 4).toString('latin1') === 'PNG' ? 'image/png' : 'application/octet-stream', bytes: p.bytes.length }, at: now() });
    return sim;
  }

  /** What createApp needs to connect the real adapter to this Telegram. */
  get mode(): TelegramMode {
    return { token: this.api.token, apiRoot: this.api.url, delivery: { kind: 'polling', timeoutSeconds: 1 } };
  }

  /** Chat id of a course group. */
  groupChatId(handle: string): string | undefined {
    return this.groupIds.get(handle);
  }

  /** The group handle of a simulated chat id (for groups without a Telegram id in config). */
  /** The chat id a configured group has here (its own `telegram:` id, or the made-up one). */
  chatIdOf(handle: string): string | undefined {
    return this.groupIds.get(handle);
  }

  groupOfChat(chatId: string): string | undefined {
    for (const [handle, id] of this.groupIds) if (id === chatId && !this.config.groups[handle]!.telegram) return handle;
    return undefined;
  }

  /** The Telegram user id of a scenario handle. */
  userId(handle: string): string {
    if (/^\d+$/.test(handle)) return handle;
    let id = this.handles.get(handle);
    if (!id) {
      id = String(5_000_000_000 + this.handles.size + 1);
      this.handles.set(handle, id);
    }
    return id;
  }

  /** The scenario handle of a Telegram user id. */
  handleOf(userId: string): string | undefined {
    for (const [h, id] of this.handles) if (id === userId) return h;
    return undefined;
  }

  /** A person; unless a `stranger`, they pressed Start some time before (the bot may message them). */
  user(id: string, name?: string, opts: { stranger?: boolean } = {}): void {
    const known = this.people.has(id);
    if (!known || name) this.people.set(id, this.api.person(Number(id), name ?? id));
    if (!known && !opts.stranger) this.api.markStarted(Number(id));
  }

  /** The person presses Start in the bot's chat (from a deep link: with its payload). */
  start(userId: string, payload: string): void {
    this.api.start(this.person(userId), payload);
  }

  isMember(chatId: string, userId: string): boolean {
    return this.members.has(`${chatId}:${userId}`);
  }

  join(userId: string, chatId: string, viaId?: string): void {
    this.members.add(`${chatId}:${userId}`);
    this.api.memberChange({ chat: this.chat(chatId), user: this.person(userId), joined: true, by: viaId ? this.person(viaId) : undefined });
  }

  leave(userId: string, chatId: string): void {
    this.members.delete(`${chatId}:${userId}`);
    this.api.memberChange({ chat: this.chat(chatId), user: this.person(userId), joined: false });
  }

  say(userId: string, to: { roomId: string } | 'bot', text: string): void {
    // `@bot_name` in a scenario mentions the bot, as it does on the simulated WeChat.
    const body = text.split(`@${this.config.course.bot_name}`).join(`@${this.api.me.username}`);
    this.api.say({ user: this.person(userId), chat: to === 'bot' ? undefined : this.chat(to.roomId), text: body });
  }

  async stop(): Promise<void> {
    await this.api.close();
  }

  private person(id: string): Person {
    this.user(id);
    return this.people.get(id)!;
  }

  private chat(chatId: string) {
    return this.api.group(Number(chatId), this.titles.get(chatId) ?? chatId);
  }
}
