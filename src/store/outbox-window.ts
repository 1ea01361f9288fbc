import { dialectOf, sqliteOf, type Db } from './db.js';
import { byQueueOrder, chatsOwnedByOthers, pendingFrom, pendingHeadsOfLanes, queueHead, type QueueHead } from './outbox.js';
import { PRIORITIES, type Priority } from './lanes.js';
import { analyseAfterOwnBurst } from './planner-stats.js';
import { stmt } from './statements.js';

/** A platform's heads per lane, each lane in queue order (byQueueOrder). */
export type LaneHeads = ReadonlyMap<Priority, readonly QueueHead[]>;

/**
 * The heads of the outbox's queues as the sender sees them before each send (src/bot/outbox.ts).
 *
 * On PostgreSQL other processes queue, send and hand over rows at any time: the heads are read
 * again before every send, all lanes in one statement.
 *
 * On SQLite the heads are kept between sends and read again only when something may have moved
 * them; reading every queue's head before each send was a quarter of the time of a burst of
 * replies (bench/telegram.ts). What may move them, and what the window does then:
 * - a pending row queued on this connection (TEMP trigger → kequn_outbox_queued): the rows from
 *   the first such id on are read and merged (a queue's head is its lowest pending id);
 * - any other change on this connection to a row that is or becomes pending (an update, a
 *   delete, a retry, a row handed over or cancelled), or to chat_owners: everything is read again;
 * - a commit by another connection to the file (PRAGMA data_version moves): everything is read again;
 * - the sender's own claim and outcome of a head (`writing`, then `settled`): that queue alone is
 *   read again (its next pending row, by the index).
 * A head whose row turns out not to be pending any more (`invalidate`) also rereads everything.
 */
export class HeadWindow {
  private readonly cached: boolean;
  /** Per synced platform, per lane, the heads in queue order. */
  private readonly lanes = new Map<string, Map<Priority, QueueHead[]>>();
  /** The head of each queue in `lanes`, by queueKey. */
  private readonly byQueue = new Map<string, QueueHead>();
  /** Per synced platform, the chats another instance owns (SQLite: chat_owners; tests run two on one file). */
  private readonly others = new Map<string, Set<string>>();
  private stale = true;
  /** The lowest id queued as pending since the last merge (Infinity: none). */
  private queuedFrom = Infinity;
  private dataVersion: unknown;
  /** The row the sender is writing itself (its claim, its outcome): not a change from elsewhere. */
  private own: number | undefined;

  constructor(
    private readonly db: Db,
    private readonly instance: string,
  ) {
    this.cached = dialectOf(db) === 'sqlite';
    if (this.cached) watchOutbox(db).add(this);
  }

  /** Called by the trigger: a pending row `id` was queued on this connection. */
  noteQueued(id: number): void {
    if (id < this.queuedFrom) this.queuedFrom = id;
  }

  /** Called by the triggers: row `id` (or chat_owners, -1) changed while or into pending. */
  noteChanged(id: number): void {
    if (id !== this.own) this.stale = true;
  }

  /** Read everything again before the next send. */
  invalidate(): void {
    this.stale = true;
  }

  /** Runs the sender's own write to row `id` (which `settled` accounts for). */
  writing<T>(id: number, fn: () => T): T {
    this.own = id;
    try {
      return fn();
    } finally {
      this.own = undefined;
    }
  }

  /** The heads `instance` may send on `platform` now, per lane in queue order. */
  heads(platform: string): LaneHeads {
    // Inside a transaction (it may roll back, and a rollback fires no trigger): read, keep nothing.
    if (!this.cached || this.db.inTransaction) {
      this.stale ||= this.cached;
      // PostgreSQL reads the window every time: after this process queued a burst, with fresh statistics.
      analyseAfterOwnBurst(this.db);
      return byLane(pendingHeadsOfLanes(this.db, platform, this.instance));
    }
    const version = stmt(this.db, 'PRAGMA data_version').pluck(true).get();
    if (version !== this.dataVersion) {
      this.dataVersion = version;
      this.stale = true;
    }
    if (this.stale) {
      this.stale = false;
      this.queuedFrom = Infinity;
      this.lanes.clear();
      this.byQueue.clear();
      this.others.clear();
    } else if (this.queuedFrom !== Infinity) {
      const from = this.queuedFrom;
      this.queuedFrom = Infinity;
      for (const h of pendingFrom(this.db, from)) if (this.lanes.has(h.platform) && !this.others.get(h.platform)!.has(h.chat_id)) this.merge(h);
    }
    let lanes = this.lanes.get(platform);
    if (!lanes) {
      const heads = pendingHeadsOfLanes(this.db, platform, this.instance);
      lanes = byLane(heads);
      this.lanes.set(platform, lanes);
      this.others.set(platform, chatsOwnedByOthers(this.db, platform, this.instance));
      for (const h of heads) this.byQueue.set(queueKey(h), h);
    }
    return lanes;
  }

  /** `head` was claimed: it is no longer its queue's head. */
  taken(head: QueueHead): void {
    if (this.cached && !this.stale) this.remove(head);
  }

  /** The send of `head` is over (sent, retried, failed, held): its queue's head is read again. */
  settled(head: QueueHead): void {
    if (!this.cached || this.stale || !this.lanes.has(head.platform)) return;
    this.remove(head);
    const next = queueHead(this.db, head);
    if (next) this.merge(next);
  }

  /** A queue's head is its lowest pending id. */
  private merge(h: QueueHead): void {
    const key = queueKey(h);
    const had = this.byQueue.get(key);
    if (had && had.id <= h.id) return;
    if (had) this.remove(had);
    const lane = this.lanes.get(h.platform)!.get(h.priority)!;
    lane.splice(sortedIndex(lane, h), 0, h);
    this.byQueue.set(key, h);
  }

  private remove(h: QueueHead): void {
    const key = queueKey(h);
    const had = this.byQueue.get(key);
    if (!had || had.id !== h.id) return;
    this.byQueue.delete(key);
    const lane = this.lanes.get(h.platform)?.get(h.priority);
    if (!lane) return;
    const i = sortedIndex(lane, had);
    if (lane[i] === had) lane.splice(i, 1);
    else lane.splice(lane.indexOf(had), 1);
  }
}

function queueKey(h: Pick<QueueHead, 'platform' | 'priority' | 'chat_id' | 'member_id'>): string {
  return `${h.platform}\u0000${h.priority}\u0000${h.chat_id}\u0000${h.member_id ?? '\u0001'}`;
}

function byLane(heads: QueueHead[]): Map<Priority, QueueHead[]> {
  const lanes = new Map<Priority, QueueHead[]>(PRIORITIES.map((p) => [p, []]));
  for (const h of heads) lanes.get(h.priority)!.push(h);
  for (const lane of lanes.values()) lane.sort(byQueueOrder);
  return lanes;
}

/** Where `h` goes in `lane` (queue order): the first position not before it. */
function sortedIndex(lane: readonly QueueHead[], h: QueueHead): number {
  let lo = 0;
  let hi = lane.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (byQueueOrder(lane[mid]!, h) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const watched = new WeakMap<Db, Set<HeadWindow>>();

/**
 * SQLite: TEMP triggers on this connection that tell the windows on it of every change that may
 * move a queue's head. TEMP triggers live with the connection and are not in the file.
 */
function watchOutbox(db: Db): Set<HeadWindow> {
  let windows = watched.get(db);
  if (windows) return windows;
  const ws = new Set<HeadWindow>();
  windows = ws;
  watched.set(db, ws);
  const sqlite = sqliteOf(db);
  sqlite.function('kequn_outbox_queued', { deterministic: false }, (id: unknown) => {
    for (const w of ws) w.noteQueued(Number(id));
    return null;
  });
  sqlite.function('kequn_outbox_changed', { deterministic: false }, (id: unknown) => {
    for (const w of ws) w.noteChanged(Number(id));
    return null;
  });
  sqlite.exec(`
    CREATE TEMP TRIGGER IF NOT EXISTS kequn_outbox_queued AFTER INSERT ON main.outbox WHEN NEW.status = 'pending'
      BEGIN SELECT kequn_outbox_queued(NEW.id); END;
    CREATE TEMP TRIGGER IF NOT EXISTS kequn_outbox_updated AFTER UPDATE ON main.outbox WHEN OLD.status = 'pending' OR NEW.status = 'pending'
      BEGIN SELECT kequn_outbox_changed(OLD.id); SELECT kequn_outbox_changed(NEW.id) WHERE NEW.id <> OLD.id; END;
    CREATE TEMP TRIGGER IF NOT EXISTS kequn_outbox_deleted AFTER DELETE ON main.outbox WHEN OLD.status = 'pending'
      BEGIN SELECT kequn_outbox_changed(OLD.id); END;
    CREATE TEMP TRIGGER IF NOT EXISTS kequn_owners_inserted AFTER INSERT ON main.chat_owners BEGIN SELECT kequn_outbox_changed(-1); END;
    CREATE TEMP TRIGGER IF NOT EXISTS kequn_owners_updated AFTER UPDATE ON main.chat_owners BEGIN SELECT kequn_outbox_changed(-1); END;
    CREATE TEMP TRIGGER IF NOT EXISTS kequn_owners_deleted AFTER DELETE ON main.chat_owners BEGIN SELECT kequn_outbox_changed(-1); END;
  `);
  return ws;
}
