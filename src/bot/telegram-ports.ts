/**
 * What the Telegram adapter needs from the rest of kequn, and nothing more: it is handed these
 * (src/app.ts builds them) instead of the whole store and course configuration, so it stays a
 * plain adapter (updates in as ChatEvents, messages and platform actions out).
 */

/**
 * What the adapter keeps per bot (a new token is a new bot with its own update ids), so a
 * redelivered update is dropped, polling resumes where it stopped, and a chat that refused the
 * bot is not called again until it changes its mind. src/store/telegram.ts keeps it in the store.
 */
export interface TelegramState {
  /** True when this update was handled before (a redelivery). */
  isUpdateHandled(botId: string, updateId: number): boolean;
  /**
   * Records an update as handled and, when `nextOffset` is given (long polling), moves the saved
   * offset there: one commit, so a crash leaves both or neither.
   */
  markUpdateHandled(botId: string, updateId: number, at: number, nextOffset?: number): void;
  /**
   * Records several updates as handled and moves the saved offset to `nextOffset`, in one commit
   * (the end of a getUpdates batch: one commit for the batch rather than one per update).
   */
  markUpdatesHandled(botId: string, updateIds: readonly number[], at: number, nextOffset: number): void;
  /** Forgets handled updates older than `before` (Telegram keeps undelivered ones 24 hours). */
  pruneHandledUpdates(before: number): void;
  getPollingOffset(botId: string): number | undefined;
  setPollingOffset(botId: string, offset: number): void;
  /** The chat refused the bot (kicked it, blocked it, never started it): `reason` as Telegram said. */
  markChatUnreachable(botId: string, chatId: string, reason: string, at: number): void;
  /** The chat is reachable again (the bot was re-added, the person wrote to it). */
  clearChatUnreachable(botId: string, chatId: string): void;
  unreachableReason(botId: string, chatId: string): string | undefined;
  /** The bot's username as getMe said at start (templates build t.me deep links with it). */
  saveBotUsername(username: string): void;
}

/** What the adapter needs to know of the course in force (it changes on reload). */
export interface TelegramCourse {
  /** The course group a Telegram chat is, or undefined when it is not in config (then logged, to help set it up). */
  groupOf(chatId: string): string | undefined;
  /** Whether this Telegram user id is an owner of the course: only owners get `/chatid`'s answer. */
  isOwner(userId: string): boolean;
}
