import type { Db } from './db.js';
import { stmt } from './statements.js';

/**
 * What the Telegram adapter keeps in the store, per bot (a new token is a new bot with its own
 * update ids): the update ids already handled, the long-polling offset, unreachable chats.
 */

/** True when this update was already handled (a redelivery). */
export function isUpdateHandled(db: Db, botId: string, updateId: number): boolean {
  return stmt(db, 'SELECT 1 FROM telegram_updates WHERE bot_id = ? AND update_id = ?').get(botId, updateId) !== undefined;
}

/** Records a handled update; false if it was already recorded. */
export function markUpdateHandled(db: Db, botId: string, updateId: number, now: number): boolean {
  return (
    stmt(db, 'INSERT INTO telegram_updates (bot_id, update_id, handled_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(botId, updateId, now).changes > 0
  );
}

/** Forgets handled updates older than `before` (Telegram keeps undelivered updates 24 hours). */
export function pruneHandledUpdates(db: Db, before: number): number {
  return stmt(db, 'DELETE FROM telegram_updates WHERE handled_at < ?').run(before).changes;
}

/** The next update id to ask getUpdates for, as saved after the last handled batch. */
export function getPollingOffset(db: Db, botId: string): number | undefined {
  const row = stmt(db, 'SELECT value FROM kv WHERE key = ?').get(`telegram:${botId}:offset`) as { value: string } | undefined;
  return row ? Number(row.value) : undefined;
}

export function setPollingOffset(db: Db, botId: string, offset: number): void {
  stmt(db, 'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(`telegram:${botId}:offset`, String(offset));
}

export function markChatUnreachable(db: Db, botId: string, chatId: string, reason: string, now: number): void {
  stmt(
    db,
    'INSERT INTO telegram_unreachable (bot_id, chat_id, reason, at) VALUES (?, ?, ?, ?) ON CONFLICT(bot_id, chat_id) DO UPDATE SET reason = excluded.reason, at = excluded.at',
  ).run(botId, chatId, reason, now);
}

/** Why a chat is unreachable, or undefined when it is not known to be. */
export function unreachableReason(db: Db, botId: string, chatId: string): string | undefined {
  const row = stmt(db, 'SELECT reason FROM telegram_unreachable WHERE bot_id = ? AND chat_id = ?').get(botId, chatId) as { reason: string } | undefined;
  return row?.reason;
}

/** The chat is reachable again (the bot was re-added, the person wrote to the bot). */
export function clearChatUnreachable(db: Db, botId: string, chatId: string): boolean {
  return stmt(db, 'DELETE FROM telegram_unreachable WHERE bot_id = ? AND chat_id = ?').run(botId, chatId).changes > 0;
}

/** The bot's username as getMe said at the last start (for t.me deep links in templates). */
export function saveBotUsername(db: Db, username: string): void {
  stmt(db, 'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run('telegram:username', username);
}

export function savedBotUsername(db: Db): string | undefined {
  const row = stmt(db, 'SELECT value FROM kv WHERE key = ?').get('telegram:username') as { value: string } | undefined;
  return row?.value;
}
