import type { Logger } from 'pino';
import type { CourseConfig } from '../core/types.js';
import { dialectOf, type Db } from '../store/db.js';
import {
  claimMessage,
  countSentSince,
  lastSentAt,
  lastSentToChat,
  sentToChatSince,
  markFailed,
  markRetry,
  markSent,
  parkInterruptedSends,
  pendingMessage,
  laneOf,
  type OutboxRow,
  type QueueHead,
} from '../store/outbox.js';
import type { Clock } from '../core/schedule/clock.js';
import { holdRefusedSend } from '../store/held-messages.js';
import { noteDelivered, noteRefused } from '../store/private-channels.js';
import { inTransaction } from '../store/db.js';
import { HeadWindow } from '../store/outbox-window.js';
import { inWindow, localDayStart, localMinuteOfDay, nextLocalTime } from '../util/localtime.js';
import { soloInstance, type Cluster } from './cluster.js';
import { ChannelClosedError, PermanentSendError, RetryAfterError, type ChatAdapter } from './events.js';
import { pacingFor } from './pacing.js';

export { PermanentSendError, RetryAfterError };
export { pacingFor, type Pacing } from './pacing.js';

const MINUTE = 60_000;

/** How many queue heads (chat and member) are considered per platform and priority when picking the next send. */
const WINDOW = 100;
/** Turns are remembered for this long, once more than SERVED_KEPT members were served. */
const SERVED_FOR = 10 * MINUTE;
const SERVED_KEPT = 5000;

/**
 * Delivers queued messages through the adapters at a safe pace: one account-wide interval with
 * jitter (WeChat flags bursts), a per-chat interval, quiet hours for proactive messages, and a
 * daily cap. A message is claimed (committed as 'sending') before the adapter is called, so after
 * a crash it is never sent a second time; a failed send is retried with exponential backoff.
 *
 * Which message goes next, of those whose pace allows them now: the first lane first (urgent,
 * reply, then bulk and push; src/store/outbox.ts Priority), and within a lane the member (or
 * chat) served longest ago, so one member's flood of replies takes turns with everyone else's.
 */
export class Outbox {
  private accountReady = new Map<string, number>();
  private chatLastSent = new Map<string, number>();
  /** Send times to each group within the last minute (for group_per_minute), oldest first. */
  private groupRecent = new Map<string, number[]>();
  /** When a message about each member (or, for messages about no one, to each chat) last went out. */
  private served = new Map<string, number>();
  /** Sends today per platform, as sentToday keeps it. */
  private sentCount = new Map<string, { dayStart: number; readAt: number; n: number }>();
  private running: Promise<number> | undefined;
  /** The queues' heads, kept between sends where the store allows (src/store/outbox-window.ts). */
  private readonly window: HeadWindow;
  private again = false;

  /** Which instance this is (src/bot/cluster.ts); alone on its store unless the kernel says otherwise. */
  private readonly cluster: Pick<Cluster, 'instance' | 'sent'>;

  constructor(
    private readonly deps: {
      db: Db;
      config: () => CourseConfig;
      clock: Clock;
      adapters: Map<string, ChatAdapter>;
      log: Logger;
      random?: () => number;
      onSent?: (row: OutboxRow) => void;
      /** Which instance this is, and what it learns from a send (src/bot/cluster.ts). */
      cluster?: Pick<Cluster, 'instance' | 'sent'>;
    },
  ) {
    this.cluster = deps.cluster ?? soloInstance;
    this.window = new HeadWindow(deps.db, this.cluster.instance);
  }

  /** At start: messages interrupted mid-send are parked, never resent (they may have arrived). */
  recover(): number {
    const { db } = this.deps;
    const cluster = this.cluster;
    // On SQLite this is the only process: whatever was mid-send was interrupted.
    const n = parkInterruptedSends(db, dialectOf(db) === 'sqlite' ? undefined : cluster.instance);
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
      for (const lane of this.window.heads(platform).values()) {
        for (let i = 0; i < lane.length && i < WINDOW; i++) {
          const t = this.readyAt(lane[i]!);
          if (best === undefined || t < best) best = t;
        }
      }
    }
    return best;
  }

  private fairnessKey(row: QueueHead): string {
    return row.member_id !== null ? `m:${row.member_id}` : `c:${row.platform}:${row.chat_id}`;
  }

  /**
   * Of the first WINDOW heads of each lane, the one to send now: of those the pace lets go, the
   * first lane, then the one served longest ago, then queue order. A night of proactive messages
   * held by quiet hours must not push a reply out of view, and one member's thousand replies must
   * not hide another's. Each head's turn is looked up once.
   */
  private pick(platform: string, now: number): QueueHead | undefined {
    let head: QueueHead | undefined;
    let headLane = 0;
    let headServed = 0;
    for (const lane of this.window.heads(platform).values()) {
      for (let i = 0; i < lane.length && i < WINDOW; i++) {
        const row = lane[i]!;
        if (this.readyAt(row) > now) continue;
        const l = laneOf(row.priority);
        if (head && l > headLane) continue;
        const s = this.served.get(this.fairnessKey(row)) ?? -Infinity;
        if (
          !head ||
          l < headLane ||
          s < headServed ||
          (s === headServed && (row.not_before < head.not_before || (row.not_before === head.not_before && row.id < head.id)))
        ) {
          head = row;
          headLane = l;
          headServed = s;
        }
      }
    }
    return head;
  }

  /** When `row` may go out, given pacing and quiet hours. */
  private readyAt(row: QueueHead): number {
    const config = this.deps.config();
    const pacing = pacingFor(config, row.platform);
    const chatKey = `${row.platform}:${row.chat_id}`;
    let t = Math.max(row.not_before, this.accountReadyAt(row.platform), this.chatLast(row.platform, row.chat_id, chatKey) + pacing.chat_interval);
    if (pacing.group_per_minute !== undefined && row.chat_kind === 'group') {
      const recent = this.groupSends(row.platform, row.chat_id, chatKey, this.deps.clock.now());
      // The n-th latest send must be a minute old before another may go.
      if (recent.length >= pacing.group_per_minute) t = Math.max(t, recent[recent.length - pacing.group_per_minute]! + MINUTE);
    }
    const q = config.quietHours;
    if (q && (row.priority === 'push' || q.replies === 'defer') && inWindow(localMinuteOfDay(t, config.course.timezone), q.start, q.end)) {
      t = nextLocalTime(t, q.end, config.course.timezone);
    }
    return t;
  }

  private accountReadyAt(platform: string): number {
    let t = this.accountReady.get(platform);
    if (t === undefined) {
      const last = lastSentAt(this.deps.db, platform, this.cluster.instance);
      t = last === undefined ? 0 : last + pacingFor(this.deps.config(), platform).account_interval;
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

  private groupSends(platform: string, chatId: string, key: string, now: number): number[] {
    let times = this.groupRecent.get(key);
    if (!times) {
      times = sentToChatSince(this.deps.db, platform, chatId, now - MINUTE);
      this.groupRecent.set(key, times);
    }
    while (times.length > 0 && times[0]! <= now - MINUTE) times.shift();
    return times;
  }

  /**
   * What this instance sent today on `platform` (the daily cap's count). Counted in the store
   * once, then by the sends themselves (only this instance marks its rows sent): a count over the
   * day's sends before every send grew with them, 7% of the time of a burst of 3,000 replies
   * (bench/telegram.ts). Read again from the store each minute and at midnight.
   */
  private sentToday(platform: string, dayStart: number, now: number): number {
    const c = this.sentCount.get(platform);
    if (c && c.dayStart === dayStart && now - c.readAt < MINUTE) return c.n;
    const n = countSentSince(this.deps.db, platform, dayStart, this.cluster.instance);
    this.sentCount.set(platform, { dayStart, readAt: now, n });
    return n;
  }

  private countSent(platform: string, dayStart: number): void {
    const c = this.sentCount.get(platform);
    if (c && c.dayStart === dayStart) c.n++;
  }

  private async dispatchPlatform(platform: string, adapter: ChatAdapter): Promise<number> {
    const { db, clock, log } = this.deps;
    let sent = 0;
    for (;;) {
      if (!adapter.isReady()) return sent;
      const now = clock.now();
      const config = this.deps.config();
      const pacing = pacingFor(config, platform);
      // Just sent: nothing can go before the account's interval is over.
      if (this.accountReadyAt(platform) > now) return sent;
      // Of the messages the pace lets go now, the best by lane and turn (see the class comment).
      const head = this.pick(platform, now);
      if (!head) return sent;
      const next = pendingMessage(db, head.id);
      // Gone, or (an id used again after a rollback) not the message the window took it for.
      if (!next || next.chat_id !== head.chat_id || next.member_id !== head.member_id || next.priority !== head.priority || next.platform !== platform) {
        this.window.invalidate();
        continue;
      }
      const dayStart = localDayStart(now, config.course.timezone);
      if (this.sentToday(platform, dayStart, now) >= pacing.daily_cap) {
        log.warn({ platform, cap: pacing.daily_cap }, 'outbox: daily cap reached; holding messages until tomorrow');
        this.accountReady.set(platform, nextLocalTime(now + 1, 0, config.course.timezone));
        return sent;
      }
      const claimed = head;
      if (!this.window.writing(next.id, () => claimMessage(db, next.id, this.cluster.instance))) {
        this.window.invalidate();
        continue;
      }
      this.window.taken(claimed);
      try {
        await adapter.send({ chat: { kind: next.chat_kind, id: next.chat_id }, text: next.text, ...(next.image ? { image: next.image } : {}) });
        const at = clock.now();
        this.window.writing(next.id, () => markSent(db, next.id, at));
        this.countSent(platform, dayStart);
        if (next.chat_kind === 'dm') noteDelivered(db, { platform, chatId: next.chat_id, memberId: next.member_id, now: at });
        this.cluster.sent(platform, next.chat_id);
        this.served.set(this.fairnessKey(next), at);
        // Long ago is as good as never: the map stays the size of the recently served.
        if (this.served.size > SERVED_KEPT) for (const [k, t] of this.served) if (t < at - SERVED_FOR) this.served.delete(k);
        sent++;
        const chatKey = `${platform}:${next.chat_id}`;
        this.chatLastSent.set(chatKey, at);
        if (pacing.group_per_minute !== undefined && next.chat_kind === 'group') this.groupSends(platform, next.chat_id, chatKey, at).push(at);
        const jitter = pacing.jitter > 0 ? Math.floor((this.deps.random ?? Math.random)() * pacing.jitter) : 0;
        this.accountReady.set(platform, at + pacing.account_interval + jitter);
        log.debug({ outbox: next.id, chat: next.chat_id }, 'sent');
        this.deps.onSent?.({ ...next, status: 'sent', sent_at: at });
      } catch (e) {
        const err = (e as Error).message ?? String(e);
        const attempts = next.attempts + 1;
        if (e instanceof ChannelClosedError && next.chat_kind === 'dm') {
          // Not a failure: the member has not opened their private channel (or blocked the bot).
          // The message waits for it in held_messages (src/store/held-messages.ts).
          const reason = e.reason;
          const held = this.window.writing(next.id, () =>
            inTransaction(db, () => {
              noteRefused(db, { platform, chatId: next.chat_id, memberId: next.member_id, reason, now: clock.now() });
              return holdRefusedSend(db, next, reason, err, clock.now());
            }),
          );
          log.info({ outbox: next.id, held, chat: next.chat_id, reason }, 'outbox: private channel not open; message held until it opens');
        } else if (e instanceof PermanentSendError || attempts >= config.outbox.max_attempts) {
          this.window.writing(next.id, () => markFailed(db, next.id, err));
          log.error({ outbox: next.id, chat: next.chat_id, attempts, err }, 'outbox: send failed for good');
        } else if (e instanceof RetryAfterError) {
          // The platform said how long to wait: hold this chat (not the whole account) that long.
          const until = clock.now() + e.retryAfterMs;
          this.window.writing(next.id, () => markRetry(db, next.id, until, err));
          this.chatLastSent.set(`${platform}:${next.chat_id}`, until - pacing.chat_interval);
          log.warn({ outbox: next.id, chat: next.chat_id, attempts, retryInMs: e.retryAfterMs, err }, 'outbox: rate limited; will retry');
        } else {
          const delay = config.outbox.retry_backoff * 2 ** (attempts - 1);
          this.window.writing(next.id, () => markRetry(db, next.id, clock.now() + delay, err));
          log.warn({ outbox: next.id, chat: next.chat_id, attempts, retryInMs: delay, err }, 'outbox: send failed; will retry');
        }
        // Never retry in a tight loop: the account waits its interval after a failure too.
        this.accountReady.set(platform, clock.now() + pacing.account_interval);
      } finally {
        // Its queue's next message (or this one, to be retried) is that queue's head now.
        this.window.settled(claimed);
      }
      // Let timers run between sends. An adapter whose send resolves without I/O (or pacing of
      // zero) would otherwise hold the event loop for the whole backlog, and with it the
      // scheduler and the heartbeat: other instances would take this one for gone.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
