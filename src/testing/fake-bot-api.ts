import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A photo the bot uploaded with sendPhoto. */
export interface FakePhoto {
  seq: number;
  chatId: string;
  caption: string;
  /** The uploaded file's name and bytes. */
  name: string;
  bytes: Buffer;
  at: number;
}

/**
 * A small Telegram Bot API on 127.0.0.1 for tests, benchmarks and `kequn test` on Telegram: it
 * answers getMe, getUpdates (long poll), setWebhook/deleteWebhook, sendMessage, sendPhoto (a
 * multipart upload), sendInvoice,
 * answerPreCheckoutQuery, refundStarPayment, createChatInviteLink, deleteMessage and
 * banChatMember/unbanChatMember as Telegram does (JSON over HTTP), queues the
 * updates a test makes people produce, and in webhook mode posts them to the bot with the secret.
 * Failures can be scripted (429 with retry_after, 403 kicked) per method and chat.
 * As on Telegram, the bot cannot message a user privately before they started it: sendMessage and
 * sendInvoice to a user who never wrote to the bot privately (`start`, `say` without a chat, or
 * `markStarted`) answer 403 "bot can't initiate conversation with a user". The bot is an admin
 * of every group with the rights docs/telegram.md asks for, unless `setRights` takes some away:
 * then deleteMessage and banChatMember answer 400 as Telegram does.
 *
 * @example
 * const api = await FakeBotApi.start();
 * const bot = new Bot(api.token, { client: { apiRoot: api.url } });
 * api.say({ user: api.person(1, 'Alice'), chat: api.group(-100, 'Python'), text: 'hi' });
 */
export class FakeBotApi {
  readonly token = '123456:TEST-token-for-the-fake-bot-api';
  readonly me = { id: 777000, is_bot: true as const, first_name: 'kequn', username: 'kequn_test_bot', can_join_groups: true, can_read_all_group_messages: true, supports_inline_queries: false, can_connect_to_business: false, has_main_web_app: false };
  /** Every API call, in order, with when it arrived (failed and hung ones too). */
  readonly calls: { method: string; params: Record<string, unknown>; at: number; status?: number; retryAfter?: number }[] = [];
  /**
   * Decides a call's fate before it is answered (fault drills): a Bot API error, or `hang` (the
   * request is held unanswered and has no effect, until the client gives up), or undefined for a
   * normal answer. Checked after the scripted `fail` errors.
   */
  fault:
    | ((
        method: string,
        params: Record<string, unknown>,
      ) => { error: { error_code: number; description: string; parameters?: Record<string, unknown> } } | { raw: { status: number; body: string; contentType?: string } } | 'hang' | undefined)
    | undefined;
  /**
   * A server that does not hold an empty getUpdates for its `timeout` but answers at once (some
   * emulators and proxies do): what kequn must not poll in a tight loop.
   */
  answersPollAtOnce = false;
  /** Messages the bot deleted (deleteMessage), in order. */
  readonly deleted: { chatId: string; messageId: number }[] = [];
  /** Messages the bot sent (sendMessage), with a sequence number. */
  readonly sent: { seq: number; chatId: string; text: string; at: number }[] = [];
  webhook: { url: string; secret?: string } | undefined;
  /** Photos the bot sent (sendPhoto with an uploaded file), with the bytes it uploaded. */
  readonly photos: FakePhoto[] = [];
  /** Called for each photo the bot sends. */
  onPhoto: ((photo: FakePhoto) => void) | undefined;
  /** Called for each message the bot sends (the simulated Telegram stamps it with its clock). */
  onSend: ((chatId: string, text: string) => void) | undefined;
  /** Called when the bot bans (removes) a member from a chat. */
  onBan: ((chatId: string, userId: string) => void) | undefined;
  private queue: Record<string, unknown>[] = [];
  private nextUpdateId = 1;
  private nextMessageId = 1;
  private confirmedBelow = 0;
  private waiters: (() => void)[] = [];
  private failures: { method: string; chatId?: string; times: number; error: { error_code: number; description: string; parameters?: Record<string, unknown> } }[] = [];
  private linkSeq = 0;
  /** Messages people wrote in groups that are still there (chat:message_id): what deleteMessage can delete. */
  private readonly groupMessages = new Set<string>();
  /** Admin rights taken away from the bot, per group chat id. */
  private readonly rights = new Map<string, { can_delete_messages: boolean; can_restrict_members: boolean }>();
  /** Users who started the bot (wrote to it privately): the only ones it may message privately. */
  private readonly startedUsers = new Set<number>();
  /** Users who blocked the bot: private messages to them answer 403 "blocked by the user". */
  private readonly blockedUsers = new Set<number>();
  /** Stars charges paid through `successfulPayment`, by charge id, and the ones refunded. */
  private readonly charges = new Map<string, { userId: number; amount: number }>();
  readonly starRefunds: { chargeId: string; userId: number; amount: number }[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeBotApi> {
    const holder: { api?: FakeBotApi } = {};
    const server = createServer((req, res) => void holder.api!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.api = new FakeBotApi(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return holder.api;
  }

  async close(): Promise<void> {
    for (const w of this.waiters.splice(0)) w();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---- what people do (updates) ----

  person(id: number, firstName: string, username?: string) {
    return { id, is_bot: false, first_name: firstName, ...(username ? { username } : {}) };
  }

  group(id: number, title: string) {
    return { id, type: 'supergroup' as const, title };
  }

  /** Queues an update (assigning its update_id) and, in webhook mode, posts it. Returns the update. */
  push(payload: Record<string, unknown>): Record<string, unknown> {
    const update = { update_id: this.nextUpdateId++, ...payload };
    this.queue.push(update);
    for (const w of this.waiters.splice(0)) w();
    return update;
  }

  /** Delivers an update again with the same update_id (a crash before the offset was confirmed, a webhook retry). */
  redeliver(update: Record<string, unknown>): void {
    // Telegram delivers at least once: the copy goes out whatever offset the bot confirmed.
    if (this.webhook) {
      this.queue.push(update);
      return;
    }
    this.forced.push(update);
    for (const w of this.waiters.splice(0)) w();
  }

  private forced: Record<string, unknown>[] = [];

  /**
   * A message from `user`. `replyToBot` makes it a reply to some message of the bot; `replyTo`
   * a reply to a given text, sent by the bot unless `from` says who.
   */
  say(args: {
    user: ReturnType<FakeBotApi['person']>;
    chat?: { id: number; type: string; title?: string };
    text: string;
    replyToBot?: boolean;
    replyTo?: { text: string; from?: ReturnType<FakeBotApi['person']> };
  }): Record<string, unknown> {
    const chat = args.chat ?? { id: args.user.id, type: 'private', first_name: args.user.first_name };
    // Writing to the bot privately is only possible once the chat with it exists.
    if (!args.chat) this.startedUsers.add(args.user.id);
    const entities = [...args.text.matchAll(/(^|\s)(\/\w+(?:@\w+)?|@\w+)/g)].map((m) => ({
      type: m[2]!.startsWith('/') ? 'bot_command' : 'mention',
      offset: m.index! + m[1]!.length,
      length: m[2]!.length,
    }));
    const messageId = this.nextMessageId++;
    if (args.chat) this.groupMessages.add(`${chat.id}:${messageId}`);
    return this.push({
      message: {
        message_id: messageId,
        date: this.unix(),
        chat,
        from: args.user,
        text: args.text,
        ...(entities.length ? { entities } : {}),
        ...(args.replyToBot ? { reply_to_message: { message_id: 1, date: this.unix(), chat, from: this.me, text: '…' } } : {}),
        ...(args.replyTo ? { reply_to_message: { message_id: 1, date: this.unix(), chat, from: args.replyTo.from ?? this.me, text: args.replyTo.text } } : {}),
      },
    });
  }

  /** The bot's admin rights in a group (by default it has every right docs/telegram.md asks for). */
  setRights(chatId: number | string, rights: { can_delete_messages: boolean; can_restrict_members: boolean }): void {
    this.rights.set(String(chatId), rights);
  }

  /** The user pressed Start in the bot's chat (from a t.me deep link: with its payload). */
  start(user: ReturnType<FakeBotApi['person']>, payload = ''): Record<string, unknown> {
    return this.say({ user, text: payload ? `/start ${payload}` : '/start' });
  }

  /** The user started the bot some time before (no update now): the bot may message them. */
  markStarted(userId: number): void {
    this.startedUsers.add(userId);
  }

  hasStarted(userId: number): boolean {
    return this.startedUsers.has(userId);
  }

  /** The user blocks (or unblocks) the bot: a my_chat_member update in their private chat. */
  block(user: ReturnType<FakeBotApi['person']>, blocked: boolean): Record<string, unknown> {
    if (blocked) this.blockedUsers.add(user.id);
    else this.blockedUsers.delete(user.id);
    const chat = { id: user.id, type: 'private', first_name: user.first_name };
    return this.push({
      my_chat_member: {
        chat,
        from: user,
        date: this.unix(),
        old_chat_member: { status: blocked ? 'member' : 'kicked', user: this.me },
        new_chat_member: { status: blocked ? 'kicked' : 'member', user: this.me },
      },
    });
  }

  /** A chat_member update: the user joins (optionally through an invite link, or added by `by`) or leaves. */
  memberChange(args: {
    chat: { id: number; type: string; title?: string };
    user: ReturnType<FakeBotApi['person']>;
    joined: boolean;
    by?: ReturnType<FakeBotApi['person']>;
    inviteLink?: { invite_link: string; name?: string };
    kind?: 'chat_member' | 'my_chat_member';
  }): Record<string, unknown> {
    const member = (status: string) => ({ status, user: args.user });
    return this.push({
      [args.kind ?? 'chat_member']: {
        chat: args.chat,
        from: args.by ?? args.user,
        date: this.unix(),
        old_chat_member: member(args.joined ? 'left' : 'member'),
        new_chat_member: member(args.joined ? 'member' : 'left'),
        ...(args.inviteLink ? { invite_link: { ...args.inviteLink, creator: this.me, creates_join_request: false, is_primary: false, is_revoked: false } } : {}),
      },
    });
  }

  preCheckout(args: { user: ReturnType<FakeBotApi['person']>; payload: string; amount: number }): Record<string, unknown> {
    return this.push({ pre_checkout_query: { id: `pcq${this.nextUpdateId}`, from: args.user, currency: 'XTR', total_amount: args.amount, invoice_payload: args.payload } });
  }

  successfulPayment(args: { user: ReturnType<FakeBotApi['person']>; payload: string; amount: number; chargeId: string }): Record<string, unknown> {
    this.charges.set(args.chargeId, { userId: args.user.id, amount: args.amount });
    return this.push({
      message: {
        message_id: this.nextMessageId++,
        date: this.unix(),
        chat: { id: args.user.id, type: 'private', first_name: args.user.first_name },
        from: args.user,
        successful_payment: { currency: 'XTR', total_amount: args.amount, invoice_payload: args.payload, telegram_payment_charge_id: args.chargeId, provider_payment_charge_id: '' },
      },
    });
  }

  /** Posts the queued updates to the webhook as Telegram does; returns the HTTP statuses. */
  async deliverWebhook(opts: { secret?: string } = {}): Promise<number[]> {
    if (!this.webhook) throw new Error('no webhook set');
    const statuses: number[] = [];
    for (const update of this.queue.splice(0)) {
      const res = await fetch(this.webhook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...((opts.secret ?? this.webhook.secret) ? { 'x-telegram-bot-api-secret-token': opts.secret ?? this.webhook.secret! } : {}) },
        body: JSON.stringify(update),
      });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    return statuses;
  }

  /** The next `times` calls of `method` (to `chatId`, if given) fail with this Bot API error. */
  fail(method: string, error: { error_code: number; description: string; parameters?: Record<string, unknown> }, opts: { times?: number; chatId?: string } = {}): void {
    this.failures.push({ method, chatId: opts.chatId, times: opts.times ?? 1, error });
  }

  clearFailures(): void {
    this.failures = [];
  }

  /** Resolves when no update is waiting to be fetched (the bot has asked for everything). */
  async drained(timeoutMs = 5000): Promise<void> {
    const start = Date.now();
    while (this.queue.length > 0 || this.forced.length > 0) {
      if (Date.now() - start > timeoutMs) throw new Error('the bot did not fetch the queued updates');
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  private unix(): number {
    return Math.floor(Date.now() / 1000);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? '');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!m) return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
    if (m[1] !== this.token) return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = m[2]!;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const raw = body.toString('utf8');
    let params: Record<string, unknown> = {};
    const files = new Map<string, { name: string; type: string; bytes: Buffer }>();
    const contentType = req.headers['content-type'] ?? '';
    if (contentType.startsWith('multipart/form-data')) {
      // A file upload (sendPhoto with an InputFile), as grammY sends it: fields as text, the file
      // as a part that a field names with `attach://<part>`.
      const parts = readMultipart(body, contentType);
      if (!parts) return reply(400, { ok: false, error_code: 400, description: 'Bad Request: multipart body could not be read' });
      for (const part of parts) {
        // Every part is a field; one that a field names with attach:// is a file (its bytes kept).
        params[part.name] = part.data.toString('utf8');
        files.set(part.name, { name: part.filename ?? part.name, type: part.type, bytes: part.data });
      }
    } else if (raw) {
      try {
        params = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return reply(400, { ok: false, error_code: 400, description: 'Bad Request: body is not JSON' });
      }
    }
    const call: FakeBotApi['calls'][number] = { method, params, at: Date.now() };
    this.calls.push(call);
    const chatId = params.chat_id !== undefined ? String(params.chat_id) : undefined;
    const fail = (error: { error_code: number; description: string; parameters?: Record<string, unknown> }) => {
      call.status = error.error_code;
      if (typeof error.parameters?.retry_after === 'number') call.retryAfter = error.parameters.retry_after;
      reply(error.error_code, { ok: false, ...error });
    };
    const failure = this.failures.find((f) => f.method === method && f.times > 0 && (f.chatId === undefined || f.chatId === chatId));
    if (failure) {
      failure.times--;
      return fail(failure.error);
    }
    const fault = this.fault?.(method, params);
    if (fault === 'hang') {
      await new Promise<void>((resolve) => res.once('close', () => resolve()));
      return;
    }
    if (fault && 'raw' in fault) {
      call.status = fault.raw.status;
      res.writeHead(fault.raw.status, { 'content-type': fault.raw.contentType ?? 'text/html' });
      res.end(fault.raw.body);
      return;
    }
    if (fault) return fail(fault.error);
    const ok = (result: unknown) => {
      call.status = 200;
      reply(200, { ok: true, result });
    };
    // Telegram lets a bot message a user privately only after the user started it.
    if ((method === 'sendMessage' || method === 'sendInvoice' || method === 'sendPhoto') && chatId !== undefined && !chatId.startsWith('-')) {
      if (this.blockedUsers.has(Number(chatId))) return fail({ error_code: 403, description: 'Forbidden: bot was blocked by the user' });
      if (!this.startedUsers.has(Number(chatId))) return fail({ error_code: 403, description: "Forbidden: bot can't initiate conversation with a user" });
    }
    switch (method) {
      case 'getMe':
        return ok(this.me);
      case 'deleteWebhook':
        this.webhook = undefined;
        return ok(true);
      case 'setWebhook':
        this.webhook = { url: String(params.url), secret: params.secret_token as string | undefined };
        return ok(true);
      case 'getUpdates': {
        if (this.webhook) return reply(409, { ok: false, error_code: 409, description: "Conflict: can't use getUpdates method while webhook is active" });
        const offset = typeof params.offset === 'number' ? params.offset : 0;
        // Updates below the offset are confirmed: Telegram forgets them.
        this.confirmedBelow = Math.max(this.confirmedBelow, offset);
        this.queue = this.queue.filter((u) => (u.update_id as number) >= this.confirmedBelow);
        if (!this.answersPollAtOnce && this.queue.length === 0 && this.forced.length === 0 && typeof params.timeout === 'number' && params.timeout > 0) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, Math.min(params.timeout as number, 2) * 1000);
            const wake = () => {
              clearTimeout(t);
              resolve();
            };
            this.waiters.push(wake);
            res.once('close', wake);
          });
          // The bot went away (stopped, aborted): its updates stay for the next getUpdates.
          if (res.destroyed || res.writableEnded) return;
        }
        const batch = [...this.forced.splice(0), ...this.queue.slice(0, typeof params.limit === 'number' ? params.limit : 100)];
        // Handed out: an update stays in the queue until a later offset confirms it.
        this.queue = this.queue.filter((u) => !batch.includes(u));
        this.handedOut.push(...batch);
        return ok(batch);
      }
      case 'sendMessage': {
        const text = String(params.text ?? '');
        if (!text) return reply(400, { ok: false, error_code: 400, description: 'Bad Request: message text is empty' });
        this.sent.push({ seq: this.sent.length + 1, chatId: chatId!, text, at: Date.now() });
        this.onSend?.(chatId!, text);
        return ok({ message_id: this.nextMessageId++, date: this.unix(), chat: { id: Number(chatId), type: Number(chatId) < 0 ? 'supergroup' : 'private' }, from: this.me, text });
      }
      case 'sendPhoto': {
        const ref = typeof params.photo === 'string' ? /^attach:\/\/(.+)$/.exec(params.photo) : null;
        const file = ref ? files.get(ref[1]!) : undefined;
        // The calls log keeps the upload's size, not its bytes as text.
        if (ref && file) params[ref[1]!] = `<${file.bytes.length} bytes>`;
        if (!file || file.bytes.length === 0) return reply(400, { ok: false, error_code: 400, description: 'Bad Request: there is no photo in the request' });
        const caption = typeof params.caption === 'string' ? params.caption : '';
        if (caption.length > 1024) return reply(400, { ok: false, error_code: 400, description: 'Bad Request: message caption is too long' });
        const photo = { seq: this.photos.length + 1, chatId: chatId!, caption, name: file.name, bytes: file.bytes, at: Date.now() };
        this.photos.push(photo);
        this.onPhoto?.(photo);
        return ok({ message_id: this.nextMessageId++, date: this.unix(), chat: { id: Number(chatId), type: Number(chatId) < 0 ? 'supergroup' : 'private' }, from: this.me, photo: [{ file_id: `photo${photo.seq}`, file_unique_id: `p${photo.seq}`, width: 0, height: 0, file_size: file.bytes.length }], ...(caption ? { caption } : {}) });
      }
      case 'sendInvoice':
        return ok({ message_id: this.nextMessageId++, date: this.unix(), chat: { id: Number(chatId), type: 'private' }, invoice: { title: params.title, description: params.description, start_parameter: '', currency: params.currency, total_amount: (params.prices as { amount: number }[])[0]!.amount } });
      case 'answerPreCheckoutQuery':
        return ok(true);
      case 'createChatInviteLink':
        return ok({ invite_link: `https://t.me/+fake${++this.linkSeq}`, creator: this.me, name: params.name, creates_join_request: false, is_primary: false, is_revoked: false });
      case 'refundStarPayment': {
        // Telegram's answers: the charge must be this user's, and is refunded once.
        const chargeId = String(params.telegram_payment_charge_id ?? '');
        const charge = this.charges.get(chargeId);
        if (!charge || charge.userId !== Number(params.user_id)) return reply(400, { ok: false, error_code: 400, description: 'Bad Request: CHARGE_NOT_FOUND' });
        if (this.starRefunds.some((r) => r.chargeId === chargeId)) return reply(400, { ok: false, error_code: 400, description: 'Bad Request: CHARGE_ALREADY_REFUNDED' });
        this.starRefunds.push({ chargeId, userId: charge.userId, amount: charge.amount });
        return ok(true);
      }
      case 'banChatMember':
        if (this.rights.get(chatId!)?.can_restrict_members === false) return fail({ error_code: 400, description: 'Bad Request: not enough rights to restrict/unrestrict chat member' });
        this.onBan?.(chatId!, String(params.user_id));
        return ok(true);
      case 'deleteMessage': {
        if (this.rights.get(chatId!)?.can_delete_messages === false) return fail({ error_code: 400, description: "Bad Request: message can't be deleted" });
        const key = `${chatId}:${String(params.message_id)}`;
        if (!this.groupMessages.delete(key)) return fail({ error_code: 400, description: 'Bad Request: message to delete not found' });
        this.deleted.push({ chatId: chatId!, messageId: Number(params.message_id) });
        return ok(true);
      }
      case 'unbanChatMember':
        return ok(true);
      default:
        return reply(400, { ok: false, error_code: 400, description: `Bad Request: the fake Bot API does not implement ${method}` });
    }
  }

  /** Updates fetched by getUpdates but not yet confirmed by a later offset (redelivered after a restart). */
  private handedOut: Record<string, unknown>[] = [];

  /** Updates handed out by getUpdates and not yet confirmed by a later offset. */
  unconfirmed(): number[] {
    return this.handedOut.map((u) => u.update_id as number).filter((id) => id >= this.confirmedBelow);
  }
}

/**
 * The parts of a multipart/form-data body (RFC 7578), as grammY uploads files: each part's
 * field name, file name and type when it is a file, and its bytes. null when it is malformed.
 */
export function readMultipart(body: Buffer, contentType: string): { name: string; filename?: string; type: string; data: Buffer }[] | null {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!boundary) return null;
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const out: { name: string; filename?: string; type: string; data: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) return null;
  for (;;) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') return out;
    const next = body.indexOf(delimiter, start);
    if (next < 0) return null;
    // A part: CRLF, headers, a blank line, the data, CRLF before the next delimiter.
    const part = body.subarray(start + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) return null;
    const headers = part.subarray(0, split).toString('utf8');
    const name = /[;\s]name="([^"]*)"/i.exec(headers)?.[1];
    if (name === undefined) return null;
    const f = /filename=(?:"([^"]*)"|([^;\r\n]+))/i.exec(headers);
    const filename = f ? (f[1] ?? f[2]!.trim()) : undefined;
    const type = /^content-type:\s*(.+)$/im.exec(headers)?.[1]?.trim() ?? (filename !== undefined ? 'application/octet-stream' : 'text/plain');
    out.push({ name, ...(filename !== undefined ? { filename } : {}), type, data: Buffer.from(part.subarray(split + 4)) });
    at = next;
  }
}
