import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import type { Update } from 'grammy/types';
import type { Logger } from 'pino';
import type { TelegramAdapter } from '../bot/telegram-adapter.js';
import { updateProblem } from '../bot/telegram-update.js';
import { clientOf } from './client.js';

/** Largest update body accepted; real updates are a few kilobytes. */
export const MAX_UPDATE_BYTES = 1024 * 1024;

/**
 * The Telegram webhook: Telegram posts each update with the secret kequn gave it in setWebhook.
 * A request without that secret, or whose body is not an update, is refused before anything is
 * read into the store; a valid one is handled (a redelivered update_id does nothing) and
 * answered 200. A failure answers 500 so Telegram delivers the update again.
 */
export function telegramWebhookHandler(adapter: TelegramAdapter, log: Logger): (c: Context) => Promise<Response> {
  const expected = Buffer.from(adapter.webhookSecret ?? '');
  return async (c) => {
    const given = Buffer.from(c.req.header('x-telegram-bot-api-secret-token') ?? '');
    if (expected.length === 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      log.warn({ ip: clientOf(c).ip }, 'telegram webhook: request without the right secret refused');
      return c.json({ error: 'forbidden' }, 401);
    }
    if (!adapter.isReady()) return c.json({ error: 'not ready' }, 503);
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: 'body is not JSON' }, 400);
    }
    if (!isUpdate(body)) return c.json({ error: 'body is not a Telegram update (an object with a numeric update_id)' }, 400);
    const problem = updateProblem(body);
    if (problem) {
      log.warn({ update: body.update_id, problem }, 'telegram webhook: malformed update refused');
      return c.json({ error: `malformed update: ${problem}` }, 400);
    }
    try {
      await adapter.handleUpdate(body);
    } catch {
      return c.json({ error: 'update could not be handled' }, 500);
    }
    return c.json({ ok: true });
  };
}

function isUpdate(body: unknown): body is Update {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const id = (body as { update_id?: unknown }).update_id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return false;
  // Each update carries exactly one of its optional fields, and it is an object.
  const rest = Object.entries(body).filter(([k]) => k !== 'update_id');
  return rest.length === 1 && typeof rest[0]![1] === 'object' && rest[0]![1] !== null;
}
