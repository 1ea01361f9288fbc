import { inTransaction, type Db } from '../store/db.js';
import {
  clearChatUnreachable,
  getPollingOffset,
  isUpdateHandled,
  markChatUnreachable,
  markUpdateHandled,
  pruneHandledUpdates,
  saveBotUsername,
  setPollingOffset,
  unreachableReason,
} from '../store/telegram.js';
import type { TelegramState } from './telegram-ports.js';

/**
 * The Telegram adapter's state (src/bot/telegram-ports.ts) kept in kequn's store (the tables of
 * src/store/telegram.ts), which is where app.ts points it.
 *
 * @example new TelegramAdapter({ ..., state: telegramStateIn(db) })
 */
export function telegramStateIn(db: Db): TelegramState {
  return {
    isUpdateHandled: (botId, updateId) => isUpdateHandled(db, botId, updateId),
    markUpdateHandled: (botId, updateId, at, nextOffset) =>
      inTransaction(db, () => {
        markUpdateHandled(db, botId, updateId, at);
        if (nextOffset !== undefined) setPollingOffset(db, botId, nextOffset);
      }),
    markUpdatesHandled: (botId, updateIds, at, nextOffset) =>
      inTransaction(db, () => {
        for (const id of updateIds) markUpdateHandled(db, botId, id, at);
        setPollingOffset(db, botId, nextOffset);
      }),
    pruneHandledUpdates: (before) => void pruneHandledUpdates(db, before),
    getPollingOffset: (botId) => getPollingOffset(db, botId),
    setPollingOffset: (botId, offset) => setPollingOffset(db, botId, offset),
    markChatUnreachable: (botId, chatId, reason, at) => markChatUnreachable(db, botId, chatId, reason, at),
    clearChatUnreachable: (botId, chatId) => void clearChatUnreachable(db, botId, chatId),
    unreachableReason: (botId, chatId) => unreachableReason(db, botId, chatId),
    saveBotUsername: (username) => saveBotUsername(db, username),
  };
}
