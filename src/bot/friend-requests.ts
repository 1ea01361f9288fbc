import type { Logger } from 'pino';
import type { CourseConfig } from '../core/types.js';
import type { Clock } from '../core/schedule/clock.js';
import { dialectOf, inTransaction, type Db } from '../store/db.js';
import {
  claimFriendRequest,
  countAcceptedSince,
  deferFriendRequest,
  dueFriendRequests,
  failInterruptedAcceptances,
  finishFriendRequest,
  finishRoomInvite,
  lastAcceptedAt,
  markFriendRequestReceived,
  nextFriendRequestAt,
  type FriendRequestRow,
} from '../store/friend-requests.js';
import { enqueueMessage } from '../store/outbox.js';
import { inWindow, localDayStart, localMinuteOfDay, nextLocalTime } from '../util/localtime.js';
import { soloInstance, type Cluster } from './cluster.js';
import { budgetFor } from './pacing.js';
import type { ChatAdapter, ChatEvent, RoomInvited } from './events.js';

/** How many due acceptances are looked at per platform and pass. */
const BATCH = 50;

/**
 * Accepts the WeChat friend requests the course's policy said yes to (src/core/channel/requests.ts),
 * paced: each waits its random delay (private_channel.wechat.delay), two acceptances are at least
 * delay.min apart, none during quiet hours, and at most daily_cap per local day (the rest move to
 * the next day). Friend acceptances are a ban signal like sends are: bursts are what gets an
 * account flagged. An acceptance is claimed (committed) before the platform call, so a crash never
 * repeats it; once accepted, the channel.opened event goes to the engine (held messages follow).
 */
export class FriendRequests {
  private running: Promise<number> | undefined;
  private lastAccept = new Map<string, number>();
  private readonly cluster: Pick<Cluster, 'instance'>;

  constructor(
    private readonly deps: {
      db: Db;
      config: () => CourseConfig;
      clock: Clock;
      adapters: Map<string, ChatAdapter>;
      log: Logger;
      /** Hands the resulting event to the engine (the kernel's handle). */
      deliver: (event: ChatEvent) => Promise<unknown>;
      random?: () => number;
      cluster?: Pick<Cluster, 'instance'>;
    },
  ) {
    this.cluster = deps.cluster ?? soloInstance;
  }

  /** A request the engine recorded: this instance's account got it, so only it accepts it. */
  received(platform: string, requestId: string): void {
    markFriendRequestReceived(this.deps.db, platform, requestId, this.cluster.instance);
  }

  /** At start: an acceptance interrupted by a crash may have happened; failed, never repeated. */
  recover(): number {
    const { db, log } = this.deps;
    const n = failInterruptedAcceptances(db, dialectOf(db) === 'sqlite' ? undefined : this.cluster.instance);
    if (n > 0) log.warn({ count: n }, 'friend requests: acceptances interrupted by a stop were marked failed (accept them on the phone if needed)');
    return n;
  }

  /** When the next acceptance may happen (undefined: none pending, or no adapter can accept). */
  nextWakeAt(): number | undefined {
    if (![...this.deps.adapters.values()].some((a) => a.acceptFriendRequest && a.isReady())) return undefined;
    const due = nextFriendRequestAt(this.deps.db, this.cluster.instance);
    if (due === undefined) return undefined;
    const spaced = Math.max(...[...this.lastAccept.values(), -Infinity].map((t) => t + this.deps.config().privateChannel.wechat.delay.min));
    return Math.max(due, spaced);
  }

  dispatch(): Promise<number> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<number> {
    let done = 0;
    for (const [platform, adapter] of this.deps.adapters) {
      if (!adapter.acceptFriendRequest || !adapter.isReady()) continue;
      done += await this.runPlatform(platform, adapter);
    }
    return done;
  }

  private async runPlatform(platform: string, adapter: ChatAdapter): Promise<number> {
    const { db, clock, log } = this.deps;
    let done = 0;
    for (;;) {
      const now = clock.now();
      const config = this.deps.config();
      const policy = config.privateChannel.wechat;
      const tz = config.course.timezone;
      const due = dueFriendRequests(db, platform, now, BATCH, this.cluster.instance);
      if (due.length === 0) return done;
      if (!this.lastAccept.has(platform)) {
        const t = lastAcceptedAt(db, platform, this.cluster.instance);
        if (t !== undefined) this.lastAccept.set(platform, t);
      }
      const last = this.lastAccept.get(platform);
      if (last !== undefined && now < last + policy.delay.min) return done;
      const q = config.quietHours;
      if (q && inWindow(localMinuteOfDay(now, tz), q.start, q.end)) {
        // Nobody accepts friend requests at 3 a.m.: the due ones wait for the morning.
        const morning = nextLocalTime(now, q.end, tz);
        this.deferDue(platform, now, morning, policy.delay);
        log.info({ platform, count: due.length }, 'friend requests: quiet hours; acceptances wait for the morning');
        return done;
      }
      if (countAcceptedSince(db, platform, localDayStart(now, tz), this.cluster.instance) >= policy.daily_cap) {
        const tomorrow = nextLocalTime(now + 1, q ? q.end : 0, tz);
        this.deferDue(platform, now, tomorrow, policy.delay);
        log.warn({ platform, cap: policy.daily_cap, waiting: due.length }, 'friend requests: daily cap of acceptances reached; the rest wait for tomorrow');
        return done;
      }
      const r = due[0]!;
      if (!claimFriendRequest(db, r.id, this.cluster.instance)) continue;
      this.lastAccept.set(platform, now);
      try {
        await adapter.acceptFriendRequest!(r.request_id);
        finishFriendRequest(db, r.id, 'accepted', clock.now());
        log.info({ platform, request: r.id, user: r.user_id }, 'friend request accepted');
        done++;
      } catch (e) {
        const err = (e as Error).message ?? String(e);
        finishFriendRequest(db, r.id, 'failed', clock.now(), err.slice(0, 500));
        log.warn({ platform, request: r.id, user: r.user_id, err }, 'friend request: accepting failed (accept it on the phone if it should be)');
        continue;
      }
      await this.deps.deliver(openedEvent(platform, r, clock.now()));
    }
  }

  /**
   * Moves every acceptance due by `now` to `from` plus its own random delay (the cap or quiet
   * hours hold them), all of them: a due one left behind would be looked at again and again.
   */
  private deferDue(platform: string, now: number, from: number, delay: { min: number; max: number }): void {
    const random = this.deps.random ?? Math.random;
    const { db } = this.deps;
    inTransaction(db, () => {
      const instance = this.cluster.instance;
      for (let rows = dueFriendRequests(db, platform, now, BATCH, instance); rows.length > 0; rows = dueFriendRequests(db, platform, now, BATCH, instance)) {
        for (const r of rows) deferFriendRequest(db, r.id, from + delay.min + Math.floor(random() * (delay.max - delay.min)));
      }
    });
  }

  /**
   * A group invitation from staff (decided in the engine): accepted now, and the inviter told the
   * group's id and the lines to add to kequn.yaml (nothing happens in a group not in config).
   */
  async acceptRoomInvite(event: RoomInvited): Promise<void> {
    const { db, clock, log } = this.deps;
    const adapter = this.deps.adapters.get(event.platform);
    const row = db.prepare('SELECT id FROM room_invites WHERE platform = ? AND invitation_id = ?').get(event.platform, event.invitationId) as { id: number } | undefined;
    if (!row) return;
    let text: string;
    try {
      if (!adapter?.acceptRoomInvite) throw new Error(`${event.platform} cannot accept group invitations`);
      const roomId = await adapter.acceptRoomInvite(event.invitationId);
      finishRoomInvite(db, row.id, 'accepted', clock.now());
      log.info({ platform: event.platform, invitation: event.invitationId, room: roomId, topic: event.topic }, 'group invitation from staff accepted');
      text = roomId
        ? `已接受邀请，加入了群「${event.topic}」。\n群 ID：${roomId}\n要让我在这个群里工作，把下面几行加到 kequn.yaml 的 groups: 下（handle 自己起），然后 npx kequn check：\n  my-group:\n    name: ${event.topic}\n    kind: trial\n    wechat: ${roomId}`
        : `已接受邀请，加入群「${event.topic}」。群 ID 还没拿到：稍后在日志里找 "not a course group in config" 那一行的群 ID，加到 kequn.yaml 的 groups: 下。`;
    } catch (e) {
      const err = (e as Error).message ?? String(e);
      finishRoomInvite(db, row.id, 'failed', clock.now(), err.slice(0, 300));
      log.warn({ platform: event.platform, invitation: event.invitationId, err }, 'group invitation: accepting failed');
      text = `没能接受进群「${event.topic}」的邀请：${err}`;
    }
    const now = clock.now();
    inTransaction(db, () =>
      // The answer to a staff member's own action: the urgent lane, like a command's answer.
      enqueueMessage(db, { platform: event.platform, chatKind: 'dm', chatId: event.user.id, memberId: null, groupId: null, text, priority: 'urgent', notBefore: now, eventId: null, ruleId: 'room.invited', dryRun: false, now, budget: budgetFor(db, this.deps.config(), event.platform, now) }),
    );
  }
}

/** What an accepted request becomes for the engine: the member's private channel opened. */
function openedEvent(platform: string, r: FriendRequestRow, at: number): ChatEvent {
  return {
    type: 'channel.opened',
    platform: platform as ChatEvent['platform'],
    eventId: `friend-accepted:${r.request_id}`,
    at,
    user: { id: r.user_id, name: r.user_name },
    how: 'friend_request',
    text: r.greeting,
  };
}
