import type { Logger } from 'pino';
import type { CourseConfig } from '../config/load.js';
import type { Db } from '../store/db.js';
import {
  claimMessage,
  countSentSince,
  lastSentAt,
  lastSentToChat,
  markFailed,
  markRetry,
  markSent,
  parkInterruptedSends,
  type OutboxRow,
} from '../store/outbox.js';
import { stmt } from '../store/statements.js';
import type { Clock } from '../schedule/clock.js';
import { inWindow, localDayStart, localMinuteOfDay, nextLocalTime } from '../util/localtime.js';
import { PermanentSendError, type ChatAdapter } from './events.js';

export { PermanentSendError };

/** How many of the oldest pending messages are considered per platform and priority when picking the next send. */
const WINDOW = 100;

/**
 * Delivers queued messages through the adapters at a safe pace: one account-wide interval with
 * jitter (WeChat flags bursts), a per-chat interval, quiet hours for proactive messages, and a
 * daily cap. A message is claimed (committed as 'sending') before the adapter is called, so after
 * a crash it is never sent a second time; a failed send is retried with exponential backoff.
 */
export class Outbox {
  private accountReady = new Map<string, number>();
  private chatLastSent = new Map<string, number>();
  private running: Promise<number> | undefined;
  private again = false;

  constructor(
    private readonly deps: {
      db: Db;
      config: () => CourseConfig;
      clock: Clock;
      adapters: Map<string, ChatAdapter>;
      log: Logger;
      random?: () => number;
      onSent?: (row: OutboxRow) => void;
    },
  ) {}

  /** At start: messages interrupted mid-send are parked, never resent (they may have arrived). */
  recover(): number {
    const n = parkInterruptedSends(this.deps.db);
    if (n > 0) this.deps.log.warn({ count: n }, 'outbox: messages interrupted during a send were marked uncertain and will not be resent');
    return n;
  }

  /** Sends everything sendable now. Concurrent calls coalesce into one running loop. */
  dispatch(): Promise<number> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let total = 0;
      try {
        do {
          this.again = false;
          for (const [platform, adapter] of this.deps.adapters) total += await this.dispatchPlatform(platform, adapter);
        } while (this.again);
      } finally {
        this.running = undefined;
      }
      return total;
    })();
    return this.running;
  }

  /** The earliest time at which some pending message may be sent (undefined if none pending). */
  nextWakeAt(): number | undefined {
    let best: number | undefined;
    for (const [platform, adapter] of this.deps.adapters) {
      if (!adapter.isReady()) continue;
      for (const row of this.candidates(platform)) {
        const t = this.readyAt(row);
        if (best === undefined || t < best) best = t;
      }
    }
    return best;
  }

  private candidates(platform: string): OutboxRow[] {
    // A window per priority: a night of proactive messages held by quiet hours must not push
    // a reply out of view. Merged back into queue order.
    const sql = "SELECT * FROM outbox WHERE status = 'pending' AND platform = ? AND priority = ? ORDER BY not_before, id LIMIT ?";
    return (['reply', 'push'] as const)
      .flatMap((priority) => stmt(this.deps.db, sql).all(platform, priority, WINDOW) as OutboxRow[])
      .sort((a, b) => a.not_before - b.not_before || a.id - b.id);
  }

  /** When `row` may go out, given pacing and quiet hours. */
  private readyAt(row: OutboxRow): number {
    const config = this.deps.config();
    const chatKey = `${row.platform}:${row.chat_id}`;
    let t = Math.max(row.not_before, this.accountReadyAt(row.platform), this.chatLast(row.platform, row.chat_id, chatKey) + config.outbox.chat_interval);
    const q = config.quietHours;
    if (q && (row.priority === 'push' || q.replies === 'defer') && inWindow(localMinuteOfDay(t, config.course.timezone), q.start, q.end)) {
      t = nextLocalTime(t, q.end, config.course.timezone);
    }
    return t;
  }

  private accountReadyAt(platform: string): number {
    let t = this.accountReady.get(platform);
    if (t === undefined) {
      const last = lastSentAt(this.deps.db, platform);
      t = last === undefined ? 0 : last + this.deps.config().outbox.account_interval;
      this.accountReady.set(platform, t);
    }
    return t;
  }

  private chatLast(platform: string, chatId: string, key: string): number {
    let t = this.chatLastSent.get(key);
    if (t === undefined) {
      t = lastSentToChat(this.deps.db, platform, chatId) ?? -Infinity;
      this.chatLastSent.set(key, t);
    }
    return t;
  }

  private async dispatchPlatform(platform: string, adapter: ChatAdapter): Promise<number> {
    const { db, clock, log } = this.deps;
    let sent = 0;
    for (;;) {
      if (!adapter.isReady()) return sent;
      const now = clock.now();
      const config = this.deps.config();
      let next: OutboxRow | undefined;
      let nextAt = Infinity;
      for (const row of this.candidates(platform)) {
        const t = this.readyAt(row);
        if (t < nextAt) {
          next = row;
          nextAt = t;
        }
      }
      if (!next || nextAt > now) return sent;
      const dayStart = localDayStart(now, config.course.timezone);
      if (countSentSince(db, platform, dayStart) >= config.outbox.daily_cap) {
        log.warn({ platform, cap: config.outbox.daily_cap }, 'outbox: daily cap reached; holding messages until tomorrow');
        this.accountReady.set(platform, nextLocalTime(now + 1, 0, config.course.timezone));
        return sent;
      }
      if (!claimMessage(db, next.id)) continue;
      try {
        await adapter.send({ chat: { kind: next.chat_kind, id: next.chat_id }, text: next.text });
        const at = clock.now();
        markSent(db, next.id, at);
        sent++;
        this.chatLastSent.set(`${platform}:${next.chat_id}`, at);
        const jitter = Math.floor((this.deps.random ?? Math.random)() * config.outbox.jitter);
        this.accountReady.set(platform, at + config.outbox.account_interval + jitter);
        log.debug({ outbox: next.id, chat: next.chat_id }, 'sent');
        this.deps.onSent?.({ ...next, status: 'sent', sent_at: at });
      } catch (e) {
        const err = (e as Error).message ?? String(e);
        const attempts = next.attempts + 1;
        if (e instanceof PermanentSendError || attempts >= config.outbox.max_attempts) {
          markFailed(db, next.id, err);
          log.error({ outbox: next.id, chat: next.chat_id, attempts, err }, 'outbox: send failed for good');
        } else {
          const delay = config.outbox.retry_backoff * 2 ** (attempts - 1);
          markRetry(db, next.id, clock.now() + delay, err);
          log.warn({ outbox: next.id, chat: next.chat_id, attempts, retryInMs: delay, err }, 'outbox: send failed; will retry');
        }
        // Never retry in a tight loop: the account waits its interval after a failure too.
        this.accountReady.set(platform, clock.now() + config.outbox.account_interval);
      }
    }
  }
}
