import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, BotError, GrammyError, InputFile, type Context } from 'grammy';
import type { ChatMember, ChatMemberUpdated, Message, Update, User, UserFromGetMe } from 'grammy/types';
import type { Logger } from 'pino';
import { StarsRefundRefused, type StarsInvoice, type StarsPayments } from './payments.js';
import { updateProblem } from './telegram-update.js';
export { updateProblem };
import { parseCommand } from '../core/command.js';
import { cleanName, MAX_TITLE_CHARS } from '../util/display-text.js';
import { ChannelClosedError, cleanText, PermanentSendError, type ChatAdapter, type ChatEvent, type InviteLinkRef, type OutgoingMessage, type QuotedMessage, type UserRef } from './events.js';
import { failureReason, keepNonStandardErrors, sendFailure } from './telegram-errors.js';
import type { TelegramCourse, TelegramState } from './telegram-ports.js';

/** How updates reach kequn: it asks (long polling, the default) or Telegram posts them (webhook). */
export type TelegramDelivery = { kind: 'polling'; timeoutSeconds?: number } | { kind: 'webhook'; url: string; secret: string };

export interface TelegramAdapterOptions {
  token: string;
  delivery: TelegramDelivery;
  /** Handled updates, the polling offset, unreachable chats (src/bot/telegram-state.ts keeps them in the store). */
  state: TelegramState;
  /** The course in force, as far as the adapter needs it: which chats are course groups, who is an owner. */
  course: TelegramCourse;
  log: Logger;
  /** The course clock: when updates were handled and chats found unreachable. */
  clock: { now(): number };
  /** The order service's answers to Stars payments; without one, every pre-checkout is refused. */
  payments?: StarsPayments;
  /** Bot API root (tests point it at a fake server on 127.0.0.1). */
  apiRoot?: string;
  /** 429 handling: grammY waits `retry_after` itself up to this many times and seconds, then the outbox reschedules. */
  retry?: { maxRetryAttempts: number; maxDelaySeconds: number };
  /** Skips getMe at start (tests and benchmarks that know the bot). */
  botInfo?: UserFromGetMe;
  /** How long one Bot API request may take before it is given up (default 20 s; long polls get their `timeout` on top). */
  requestTimeoutMs?: number;
}

/** The updates kequn asks for. chat_member must be named explicitly or Telegram never sends it. */
export const ALLOWED_UPDATES = ['message', 'chat_member', 'my_chat_member', 'pre_checkout_query'] as const;

/** Handled update ids are kept this long; Telegram drops undelivered updates after 24 hours. */
const KEEP_HANDLED_MS = 48 * 3_600_000;
/** Telegram's longest message; longer texts (a lesson body) go out in several messages. */
export const MAX_MESSAGE_CHARS = 4096;
/** Telegram's limit on a photo's caption. */
const MAX_CAPTION_CHARS = 1024;
/**
 * The shortest time between two getUpdates when the last one came back empty. Telegram holds an
 * empty answer for the whole long-poll `timeout`; a server that answers at once (an emulator, a
 * misconfigured proxy) would otherwise be asked again as fast as the network allows: 815 times a
 * second, measured against one.
 */
export const MIN_EMPTY_POLL_MS = 1000;

/** Refuses every Stars payment: what a bot without the order service answers. */
export const noStarsPayments: StarsPayments = {
  preCheckout: () => ({ ok: false, error: 'payments are not available' }),
  paid: () => {
    throw new Error('a Stars payment arrived but no order service is wired to record it');
  },
};

/**
 * Telegram through grammY. Produces the same ChatEvents as the Wechaty adapter, so flows do not
 * change. Every update is checked against the handled-update log first (a redelivery after a
 * crash or a webhook retry does nothing), then recorded once handled.
 *
 * @example
 * const tg = new TelegramAdapter({ token, delivery: { kind: 'polling' }, state: telegramStateIn(db), course, log, clock });
 * await tg.start((event) => kernel.handle(event).then(() => undefined));
 */
export class TelegramAdapter implements ChatAdapter {
  readonly platform = 'telegram' as const;
  readonly bot: Bot;
  private ready = false;
  private stopping = false;
  private sink: ((event: ChatEvent) => Promise<void>) | undefined;
  private pollAbort = new AbortController();
  private polling: Promise<void> | undefined;
  private sinceLastPrune = 0;
  /** Updates whose handling handed an event to the engine (recorded per batch when polling: see handleUpdate). */
  private readonly delivered = new Set<number>();

  constructor(private readonly opts: TelegramAdapterOptions) {
    this.bot = new Bot(opts.token, { botInfo: opts.botInfo, client: opts.apiRoot ? { apiRoot: opts.apiRoot } : undefined });
    // Innermost: an error answer outside the Bot API's contract keeps its reason (telegram-errors.ts).
    this.bot.api.config.use(keepNonStandardErrors);
    // 429s are waited out here within bounds; network and 5xx errors go back to the caller (the
    // outbox retries with backoff, the poll loop backs off): an unbounded retry would stall sends.
    const retry = opts.retry ?? { maxRetryAttempts: 3, maxDelaySeconds: 10 };
    // Every HTTP request gets its own deadline (installed first, so it sits under auto-retry and
    // does not cut short a retry_after wait). grammY's own is 500 s, and one hung sendMessage
    // held the whole outbox, every platform, that long (test/drills/faults-telegram.test.ts). A
    // long poll may take its `timeout` on top. A send that timed out is retried like a 5xx.
    const requestTimeoutMs = opts.requestTimeoutMs ?? 20_000;
    this.bot.api.config.use((prev, method, payload, signal) => {
      const poll = method === 'getUpdates' ? ((payload as { timeout?: number }).timeout ?? 0) * 1000 : 0;
      const deadline = AbortSignal.timeout(poll + requestTimeoutMs);
      const both = signal ? AbortSignal.any([signal as unknown as AbortSignal, deadline]) : deadline;
      return prev(method, payload, grammySignal(both));
    });
    this.bot.api.config.use(autoRetry({ ...retry, rethrowHttpErrors: true, rethrowInternalServerErrors: true }));
    this.install();
  }

  /** The bot's own user id: update ids and unreachable chats are kept per bot. */
  get botId(): string {
    return String(this.bot.botInfo.id);
  }

  /** Path the webhook is served on (from TELEGRAM_WEBHOOK_URL), or undefined when polling. */
  get webhookPath(): string | undefined {
    return this.opts.delivery.kind === 'webhook' ? new URL(this.opts.delivery.url).pathname : undefined;
  }

  /** The secret Telegram sends in X-Telegram-Bot-Api-Secret-Token (webhook mode). */
  get webhookSecret(): string | undefined {
    return this.opts.delivery.kind === 'webhook' ? this.opts.delivery.secret : undefined;
  }

  isReady(): boolean {
    return this.ready;
  }

  async start(sink: (event: ChatEvent) => Promise<void>): Promise<void> {
    const { log, delivery } = this.opts;
    this.sink = sink;
    await this.bot.init();
    // Templates build t.me deep links with it ({start_link}).
    this.opts.state.saveBotUsername(this.bot.botInfo.username);
    this.opts.state.pruneHandledUpdates(this.opts.clock.now() - KEEP_HANDLED_MS);
    if (delivery.kind === 'webhook') {
      await this.bot.api.setWebhook(delivery.url, { secret_token: delivery.secret, allowed_updates: [...ALLOWED_UPDATES] });
      log.info({ bot: this.bot.botInfo.username, url: delivery.url }, 'telegram: webhook set');
    } else {
      // A webhook left over from an earlier run would make getUpdates fail with 409.
      await this.bot.api.deleteWebhook();
      this.polling = this.pollLoop(delivery.timeoutSeconds ?? 30);
      log.info({ bot: this.bot.botInfo.username }, 'telegram: long polling');
    }
    this.ready = true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.ready = false;
    this.pollAbort.abort();
    await this.polling;
  }

  /**
   * Handles one update, from getUpdates or the webhook. A redelivered update (same bot, same
   * update_id) is dropped; returns whether it was handled now.
   *
   * `batch` (long polling): an update whose handling ended in an event for the engine is not
   * recorded here but added to the batch, which the poll loop records, with the offset, in one
   * commit when the batch is done (a commit per update was about a quarter of kequn's time per
   * update: docs/operations.md).
   * A crash before that brings the update again and the engine drops it: its event log refuses
   * a second event with the same id. Everything else (a payment, a pre-checkout answer, /chatid,
   * a malformed update) is recorded at once, as without a batch.
   */
  async handleUpdate(update: Update, opts: { batch?: number[] } = {}): Promise<boolean> {
    const { state, clock, log } = this.opts;
    const record = () => state.markUpdateHandled(this.botId, update.update_id, clock.now());
    const problem = updateProblem(update);
    if (problem) {
      // Nothing of it reaches the engine; recorded so a redelivery is not looked at again.
      log.warn({ update: update.update_id, problem }, 'telegram: malformed update ignored');
      record();
      return false;
    }
    if (state.isUpdateHandled(this.botId, update.update_id)) {
      log.debug({ update: update.update_id }, 'telegram: update already handled; ignored');
      return false;
    }
    try {
      await this.bot.handleUpdate(update);
    } catch (e) {
      this.delivered.delete(update.update_id);
      // Not recorded as handled: a webhook answers 500 and Telegram delivers it again; polling
      // moves on past it (getUpdates would not offer it again once confirmed). (Chat events
      // never get here: the kernel logs their failures; a payment that could not be recorded does.)
      const err = e instanceof BotError ? (e.error as Error) : (e as Error);
      log.error({ update: update.update_id, err: err?.message }, 'telegram: update handling failed');
      throw err;
    }
    if (this.delivered.delete(update.update_id) && opts.batch) opts.batch.push(update.update_id);
    else record();
    if (++this.sinceLastPrune >= 10_000) {
      this.sinceLastPrune = 0;
      state.pruneHandledUpdates(clock.now() - KEEP_HANDLED_MS);
    }
    return true;
  }

  private async pollLoop(timeoutSeconds: number): Promise<void> {
    const { state, log, clock } = this.opts;
    let offset = state.getPollingOffset(this.botId);
    let backoffMs = 1000;
    while (!this.stopping) {
      try {
        // Real time, not the course clock (a virtual one in tests): this paces HTTP requests.
        const asked = performance.now();
        const updates = await this.bot.api.getUpdates({ offset, timeout: timeoutSeconds, allowed_updates: [...ALLOWED_UPDATES] }, grammySignal(this.pollAbort.signal));
        backoffMs = 1000;
        if (updates.length === 0) {
          const early = MIN_EMPTY_POLL_MS - (performance.now() - asked);
          if (early > 0) await sleep(early, this.pollAbort.signal);
          continue;
        }
        const batch: number[] = [];
        let next: number | undefined;
        for (const update of updates) {
          if (this.stopping) break;
          // A failure is logged by handleUpdate and polling moves on past it.
          await this.handleUpdate(update, { batch }).catch(() => false);
          next = update.update_id + 1;
        }
        // Before the next getUpdates confirms them to Telegram: the batch's updates recorded and
        // the offset saved, one commit; after a restart, polling resumes after the last handled.
        if (next !== undefined) {
          try {
            state.markUpdatesHandled(this.botId, batch, clock.now(), next);
            offset = next;
          } catch (e) {
            // The offset stays: Telegram offers the batch again and the engine drops its events.
            log.error({ err: (e as Error).message, updates: batch.length }, 'telegram: recording a batch of handled updates failed; it will come again');
            await sleep(backoffMs, this.pollAbort.signal);
          }
        }
      } catch (e) {
        if (this.stopping) return;
        const err = e as Error;
        const hint =
          e instanceof GrammyError && e.error_code === 409
            ? 'another process polls with this token, or a webhook is set: run one kequn per bot'
            : e instanceof GrammyError && e.error_code === 401
              ? 'the bot token was rejected: check TELEGRAM_BOT_TOKEN'
              : undefined;
        log.warn({ err: failureReason(err, this.opts.token), retryInMs: backoffMs, hint }, 'telegram: getUpdates failed');
        await sleep(backoffMs, this.pollAbort.signal);
        backoffMs = Math.min(backoffMs * 2, 30_000);
      }
    }
  }

  private install(): void {
    const bot = this.bot;
    bot.on('message', (ctx) => this.onMessage(ctx));
    bot.on('chat_member', (ctx) => this.onChatMember(ctx, ctx.chatMember));
    bot.on('my_chat_member', (ctx) => this.onMyChatMember(ctx, ctx.myChatMember));
    bot.on('pre_checkout_query', async (ctx) => {
      const q = ctx.preCheckoutQuery;
      let answer: { ok: true } | { ok: false; error: string };
      try {
        answer = (this.opts.payments ?? noStarsPayments).preCheckout({
          payload: q.invoice_payload,
          currency: q.currency,
          totalAmount: q.total_amount,
          telegramUserId: String(q.from.id),
        });
      } catch (e) {
        this.opts.log.error({ err: (e as Error).message }, 'telegram: pre-checkout check failed; refusing the payment');
        answer = { ok: false, error: 'payments are not available right now' };
      }
      // Telegram cancels the payment if this answer is not in within 10 s; the check above is
      // synchronous. Not awaited: a slow answer (429s waited out, a hung request) must not hold
      // the updates behind it, other members' messages (see handInBackground).
      this.handInBackground(ctx.answerPreCheckoutQuery(answer.ok, answer.ok ? undefined : { error_message: answer.error }), 'answering a pre-checkout query');
    });
  }

  private async onMessage(ctx: Context): Promise<void> {
    const msg = ctx.message!;
    const { log } = this.opts;
    if (msg.successful_payment) return this.onPayment(msg);
    if (!msg.from || msg.from.is_bot) return;
    const chat = msg.chat;
    const isGroup = chat.type === 'group' || chat.type === 'supergroup';
    const contentKind = msg.text !== undefined ? 'text' : hasContent(msg) ? 'other' : undefined;
    // Service messages (someone joined, title changed…): joins come from chat_member updates.
    if (!contentKind) return;
    if (!isGroup) this.opts.state.clearChatUnreachable(this.botId, String(chat.id));

    let text = contentKind === 'text' ? cleanText(msg.text) : '';
    // The engine's own command grammar (src/core/command.ts): what is a command here is one there.
    const command = parseCommand(text);
    if (command) {
      // `/help@otherbot` is for another bot in the group.
      if (command.addressee && command.addressee.toLowerCase() !== this.bot.botInfo.username.toLowerCase()) return;
      // `/help@kequn_bot args` is `/help args` for the engine.
      if (command.addressee) text = command.args ? `/${command.name} ${command.args}` : `/${command.name}`;
      if (command.name === 'chatid') return this.chatIdCommand(ctx, msg);
      // Start (from the bot's chat or a t.me deep link): the member opened their private channel;
      // its payload (a referral code, an acquisition tag) comes as the event's text.
      if (!isGroup && command.name === 'start') {
        return this.deliver(ctx, {
          type: 'channel.opened',
          platform: 'telegram',
          eventId: this.eventId(ctx),
          at: msg.date * 1000,
          user: userRef(msg.from),
          how: 'start',
          text: command.args.slice(0, 64),
        });
      }
    }
    const mentionsBot = isGroup && this.mentionsBot(msg);
    // The @mention is carried by mentionsBot; in the text it would only blur what was asked.
    if (mentionsBot && !command) text = cleanText(stripMention(text, this.bot.botInfo.username));
    if (isGroup && this.opts.course.groupOf(String(chat.id)) === undefined) {
      log.info({ chat: chat.id, title: chat.title, from: msg.from.id }, 'telegram: message in a group that is not in config (add groups.<handle>.telegram with this chat id)');
    }
    await this.deliver(ctx, {
      type: 'message',
      platform: 'telegram',
      eventId: this.eventId(ctx),
      at: msg.date * 1000,
      chat: isGroup ? { kind: 'group', group: { id: String(chat.id), name: cleanName(chat.title ?? '', MAX_TITLE_CHARS) } } : { kind: 'dm' },
      user: userRef(msg.from),
      text,
      mentionsBot,
      contentKind,
      quoted: msg.reply_to_message ? quotedOf(msg.reply_to_message, this.bot.botInfo.id) : undefined,
      // What deleteMessage takes (moderation deletes an ad with it).
      messageId: String(msg.message_id),
    });
  }

  /** `/chatid`: owners learn the chat's id (to put in groups.<handle>.telegram) and their own. */
  private chatIdCommand(ctx: Context, msg: Message): void {
    const userId = String(msg.from!.id);
    if (!this.opts.course.isOwner(userId)) {
      this.opts.log.warn({ user: userId, chat: msg.chat.id }, 'telegram: /chatid refused (owners only; add this user id to staff with role owner)');
      return;
    }
    const where = msg.chat.type === 'private' ? 'this private chat' : `${msg.chat.type} "${msg.chat.title ?? ''}"`;
    // A setup answer to the owner, sent directly: the group may not be in config yet, so no flow
    // (and no outbox row attributed to a group) can exist for it.
    this.handInBackground(ctx.api.sendMessage(msg.chat.id, `chat id of ${where}: ${msg.chat.id}\nyour user id: ${userId}`), 'answering /chatid');
  }

  /**
   * A Bot API call an update's handler makes itself, let go on its own: updates are handled one
   * after the other, so a handler that waited for Telegram (429s waited out, a request that
   * hangs until its deadline) would hold every member's updates behind it. Handlers wait only
   * for the engine, which does not touch the network; messages go out through the outbox.
   */
  private handInBackground(call: Promise<unknown>, what: string): void {
    call.catch((e: unknown) => this.opts.log.warn({ err: failureReason(e as Error, this.opts.token) }, `telegram: ${what} failed`));
  }

  private mentionsBot(msg: Message): boolean {
    const me = this.bot.botInfo;
    if (msg.reply_to_message?.from?.id === me.id) return true;
    const text = msg.text ?? '';
    for (const e of msg.entities ?? []) {
      if (e.type === 'mention' && text.slice(e.offset, e.offset + e.length).toLowerCase() === `@${me.username.toLowerCase()}`) return true;
      if (e.type === 'text_mention' && e.user.id === me.id) return true;
    }
    return false;
  }

  private async onChatMember(ctx: Context, u: ChatMemberUpdated): Promise<void> {
    if (u.chat.type !== 'group' && u.chat.type !== 'supergroup') return;
    const user = u.new_chat_member.user;
    if (user.is_bot) return;
    const was = isMember(u.old_chat_member);
    const is = isMember(u.new_chat_member);
    if (was === is) return;
    const group = { id: String(u.chat.id), name: cleanName(u.chat.title ?? '', MAX_TITLE_CHARS) };
    if (is) {
      const link = u.invite_link;
      await this.deliver(ctx, {
        type: 'member.joined',
        platform: 'telegram',
        eventId: this.eventId(ctx),
        at: u.date * 1000,
        group,
        user: userRef(user),
        // `from` is who made the change: someone else adding the member is their inviter.
        inviter: u.from.id !== user.id && !u.from.is_bot ? userRef(u.from) : undefined,
        inviteLink: link ? { url: link.invite_link, name: link.name, creatorId: String(link.creator.id) } : undefined,
      });
    } else {
      await this.deliver(ctx, { type: 'member.left', platform: 'telegram', eventId: this.eventId(ctx), at: u.date * 1000, group, user: userRef(user) });
    }
  }

  /** The bot itself was added to or removed from a chat, or a person blocked/unblocked it. */
  private async onMyChatMember(ctx: Context, u: ChatMemberUpdated): Promise<void> {
    const { state, clock, log } = this.opts;
    const chatId = String(u.chat.id);
    const isPrivate = u.chat.type === 'private';
    if (isMember(u.new_chat_member)) {
      state.clearChatUnreachable(this.botId, chatId);
      if (!isPrivate) {
        const handle = this.opts.course.groupOf(chatId);
        log.info({ chat: chatId, title: u.chat.title, status: u.new_chat_member.status, group: handle }, handle ? 'telegram: bot is in course group' : 'telegram: bot added to a chat that is not in config (groups.<handle>.telegram)');
      } else if (u.old_chat_member.status === 'kicked') {
        // Unblocked: the private channel is open again.
        await this.deliver(ctx, { type: 'channel.opened', platform: 'telegram', eventId: this.eventId(ctx), at: u.date * 1000, user: userRef(u.from), how: 'unblocked', text: '' });
      }
    } else {
      const reason = isPrivate ? 'the user blocked the bot' : `the bot was removed from the ${u.chat.type}`;
      state.markChatUnreachable(this.botId, chatId, reason, clock.now());
      log.warn({ chat: chatId, title: u.chat.title }, `telegram: ${reason}; messages to it will fail until that changes`);
      if (isPrivate) await this.deliver(ctx, { type: 'channel.closed', platform: 'telegram', eventId: this.eventId(ctx), at: u.date * 1000, user: userRef(u.from), how: 'blocked' });
    }
  }

  private onPayment(msg: Message): void {
    const p = msg.successful_payment!;
    (this.opts.payments ?? noStarsPayments).paid({
      payload: p.invoice_payload,
      currency: p.currency,
      totalAmount: p.total_amount,
      telegramUserId: String(msg.from?.id ?? msg.chat.id),
      telegramChargeId: p.telegram_payment_charge_id,
      providerChargeId: p.provider_payment_charge_id,
    });
  }

  private eventId(ctx: Context): string {
    return `${this.botId}:${ctx.update.update_id}`;
  }

  private async deliver(ctx: Context, event: ChatEvent): Promise<void> {
    if (!this.sink) return;
    await this.sink(event);
    this.delivered.add(ctx.update.update_id);
  }

  async send(message: OutgoingMessage): Promise<void> {
    const chatId = message.chat.id;
    const reason = this.opts.state.unreachableReason(this.botId, chatId);
    if (reason && message.chat.kind === 'dm') throw new ChannelClosedError(`telegram: private chat ${chatId} is not open (${reason})`, /blocked/i.test(reason) ? 'blocked' : 'not_open');
    if (reason) throw new PermanentSendError(`telegram: chat ${chatId} is unreachable (${reason})`);
    if (message.image !== undefined) {
      // A photo caption holds 1024 characters; a longer one follows as text.
      const caption = message.text.length <= MAX_CAPTION_CHARS ? message.text : '';
      const image = message.image;
      await this.call(chatId, () => this.bot.api.sendPhoto(apiChatId(chatId), new InputFile(image), caption ? { caption } : {}));
      if (caption !== '' || message.text === '') return;
    }
    // Plain text, no parse_mode: nothing a member or an instructor wrote can turn into markup.
    for (const part of splitText(message.text, MAX_MESSAGE_CHARS)) {
      await this.call(chatId, () => this.bot.api.sendMessage(apiChatId(chatId), part, { link_preview_options: { is_disabled: true } }));
    }
  }

  async sendInvoice(invoice: StarsInvoice): Promise<void> {
    if (!Number.isInteger(invoice.amount) || invoice.amount < 1) throw new Error(`telegram: a Stars invoice needs a whole number of Stars ≥ 1, got ${invoice.amount}`);
    await this.call(invoice.chatId, () =>
      // Stars (XTR) invoices take no provider token and exactly one price.
      this.bot.api.sendInvoice(apiChatId(invoice.chatId), invoice.title, invoice.description, invoice.payload, 'XTR', [{ label: invoice.title, amount: invoice.amount }]),
    );
  }

  /**
   * Refunds a Stars payment in full (Bot API refundStarPayment). Telegram's own retry rules
   * (429, 5xx) are handled by the auto-retry plugin; a charge refunded before counts as done.
   */
  async refundStarPayment(telegramUserId: string, telegramChargeId: string): Promise<'refunded' | 'already_refunded'> {
    try {
      await this.bot.api.refundStarPayment(Number(telegramUserId), telegramChargeId);
      return 'refunded';
    } catch (e) {
      if (!(e instanceof GrammyError) || e.error_code !== 400) throw e;
      if (/CHARGE_ALREADY_REFUNDED/i.test(e.description)) return 'already_refunded';
      throw new StarsRefundRefused(`telegram: refundStarPayment refused: ${e.description}`);
    }
  }

  async createInviteLink(groupChatId: string, opts: { name: string; expiresAt?: number; memberLimit?: number }): Promise<InviteLinkRef> {
    const link = await this.call(groupChatId, () =>
      this.bot.api.createChatInviteLink(apiChatId(groupChatId), {
        name: opts.name.slice(0, 32),
        expire_date: opts.expiresAt !== undefined ? Math.floor(opts.expiresAt / 1000) : undefined,
        member_limit: opts.memberLimit,
      }),
    );
    return { url: link.invite_link, name: link.name, creatorId: String(link.creator.id) };
  }

  /**
   * Removes a member (moderation, a refund's paid group): a ban followed by an unban, so they are
   * out of the group but may come back through an invite later. Needs the bot to be an admin with
   * the "ban users" right (docs/telegram.md).
   */
  async removeMember(groupChatId: string, userId: string): Promise<void> {
    await this.call(groupChatId, () => this.bot.api.banChatMember(apiChatId(groupChatId), Number(userId)));
    await this.call(groupChatId, () => this.bot.api.unbanChatMember(apiChatId(groupChatId), Number(userId), { only_if_banned: true }));
  }

  /**
   * Deletes a member's message in a group (moderation: an ad). Needs the bot to be an admin with
   * the "delete messages" right; Telegram lets a bot delete others' messages for 48 hours. A
   * message already gone (deleted by an admin or its author) counts as deleted.
   */
  async deleteMessage(groupChatId: string, messageId: string): Promise<void> {
    try {
      await this.call(groupChatId, () => this.bot.api.deleteMessage(apiChatId(groupChatId), Number(messageId)));
    } catch (e) {
      if (/message to delete not found/i.test((e as Error).message)) return;
      throw e;
    }
  }

  /** One Bot API call to a chat, with Telegram's errors turned into what the outbox understands (telegram-errors.ts). */
  private async call<T>(chatId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const failure = sendFailure(e, chatId, this.opts.token);
      // Kicked from the group, blocked by the user, never started a private chat with the bot.
      if (failure.unreachable !== undefined) this.opts.state.markChatUnreachable(this.botId, chatId, failure.unreachable, this.opts.clock.now());
      throw failure.error;
    }
  }
}

/** A member is in the chat: member, admin, owner, or restricted but still a member. */
function isMember(m: ChatMember): boolean {
  return m.status === 'member' || m.status === 'administrator' || m.status === 'creator' || (m.status === 'restricted' && m.is_member);
}

function hasContent(msg: Message): boolean {
  return Boolean(
    msg.photo || msg.document || msg.video || msg.audio || msg.voice || msg.sticker || msg.animation || msg.video_note || msg.contact || msg.location || msg.poll,
  );
}

/** What a reply quotes: its text or caption, and whether this bot sent it (by id). */
function quotedOf(m: Message, botId: number): QuotedMessage {
  return { text: cleanText(m.text ?? m.caption ?? ''), fromBot: m.from?.id === botId };
}

function userRef(u: User): UserRef {
  // Normalised (src/util/display-text.ts); a name that was only invisible characters is no name.
  const name = cleanName([u.first_name, u.last_name].filter(Boolean).join(' ')) || cleanName(u.username ?? '') || String(u.id);
  return { id: String(u.id), name };
}

function stripMention(text: string, username: string): string {
  const escaped = username.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text.replace(new RegExp(`@${escaped}\\b`, 'gi'), '').replace(/\s+/g, ' ').trim();
}

/** Chat ids are stored as text; the Bot API takes numeric ids as numbers. */
function apiChatId(id: string): number | string {
  return /^-?\d+$/.test(id) ? Number(id) : id;
}

/** Cuts text into parts of at most `max` characters, at a line break when there is one. */
export function splitText(text: string, max: number): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = rest.lastIndexOf('\n', max);
    if (cut < max / 2) cut = max;
    // Never split a surrogate pair.
    if (/[\ud800-\udbff]/.test(rest[cut - 1] ?? '')) cut--;
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^\n/, '');
  }
  parts.push(rest);
  return parts;
}

/** grammY's Node build types AbortSignal with the abort-controller package's declaration; same object at run time. */
function grammySignal(signal: AbortSignal): Parameters<Bot['api']['getUpdates']>[1] {
  return signal as unknown as Parameters<Bot['api']['getUpdates']>[1];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
