import type { Logger } from 'pino';
import type { Clock } from '../core/schedule/clock.js';
import type { Db } from '../store/db.js';
import { dialectOf } from '../store/db.js';
import { soloInstance, type Cluster } from './cluster.js';
import type { ChatAdapter } from './events.js';
import { claimPlatformAction, failInterruptedActions, finishPlatformAction, pendingPlatformActions, type PlatformAction } from '../store/platform-actions.js';

/**
 * Carries out what flows queued for a platform besides messages (remove a member, delete a
 * message, create a personal invite link for a referrer or a paid group's buyer), after the event's transaction committed. Each action is claimed before the call,
 * so a crash never repeats it; a platform that cannot do it gets the action marked
 * `unsupported`, with a log line, instead of an error.
 */
export class PlatformActions {
  private running: Promise<number> | undefined;

  /** Which instance this is (src/bot/cluster.ts); alone on its store unless the kernel says otherwise. */
  private readonly cluster: Pick<Cluster, 'instance' | 'sent'>;

  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      adapters: Map<string, ChatAdapter>;
      log: Logger;
      /** A per-member invite link exists: record it and tell the member (in one transaction). */
      onInviteLink?: (action: PlatformAction, url: string) => void;
      cluster?: Pick<Cluster, 'instance' | 'sent'>;
    },
  ) {
    this.cluster = deps.cluster ?? soloInstance;
  }

  /** At start: an action interrupted by a crash may have happened; it is failed, never repeated. */
  recover(): number {
    const { db, log } = this.deps;
    const cluster = this.cluster;
    const n = failInterruptedActions(db, dialectOf(db) === 'sqlite' ? undefined : cluster.instance);
    if (n > 0) log.warn({ count: n }, 'platform actions interrupted by a stop were marked failed and will not be repeated');
    return n;
  }

  dispatch(): Promise<number> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<number> {
    const { db, clock, log } = this.deps;
    let done = 0;
    for (const [platform, adapter] of this.deps.adapters) {
      if (!adapter.isReady()) continue;
      for (const a of pendingPlatformActions(db, platform, this.cluster.instance)) {
        if (!claimPlatformAction(db, a.id, this.cluster.instance)) continue;
        const fields = { platformAction: a.id, action: a.action, platform, chat: a.chat_id, user: a.user_id, moderation: a.moderation_id };
        const call =
          a.action === 'remove_member'
            ? adapter.removeMember && (() => adapter.removeMember!(a.chat_id, a.user_id))
            : a.action === 'create_invite_link'
              ? adapter.createInviteLink && (() => this.createInviteLink(adapter, a))
              : adapter.deleteMessage && a.message_id && (() => adapter.deleteMessage!(a.chat_id, a.message_id!));
        if (!call) {
          finishPlatformAction(db, a.id, 'unsupported', clock.now(), `${platform} does not let the bot ${a.action.replace('_', ' ')}`);
          log.info(fields, `moderation: ${platform} cannot ${a.action.replace('_', ' ')}; recorded only`);
          continue;
        }
        try {
          await call();
          finishPlatformAction(db, a.id, 'done', clock.now());
          this.cluster.sent(platform, a.chat_id);
          log.info(fields, `moderation: ${a.action} done`);
          done++;
        } catch (e) {
          const err = (e as Error).message ?? String(e);
          finishPlatformAction(db, a.id, 'failed', clock.now(), err);
          log.warn({ ...fields, err }, `moderation: ${a.action} failed (does the bot own or administer the group?)`);
        }
      }
    }
    return done;
  }

  private async createInviteLink(adapter: ChatAdapter, a: PlatformAction): Promise<void> {
    const { name, memberLimit } = JSON.parse(a.detail ?? '{}') as { name?: string; memberLimit?: number };
    const link = await adapter.createInviteLink!(a.chat_id, { name: name ?? `member-${a.user_id}`, memberLimit });
    this.deps.onInviteLink?.(a, link.url);
  }
}
