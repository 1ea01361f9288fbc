/**
 * The join page's work beside the engine: after a join, credit the member to a channel (Telegram:
 * the invite link it came through, exactly; WeChat: the earliest unmatched page view of that group
 * with a channel within `join.match_window` before the join, a guess) and check the pool's state;
 * and about once a minute, fetch room QR codes where the puppet gives them and remind staff a day
 * before an uploaded QR expires.
 */
import type { ChatEvent } from '../../bot/events.js';
import type { Worker, WorkerContext } from '../../core/feature.js';
import type { CourseConfig } from '../../core/types.js';
import { inTransaction, type Db } from '../../store/db.js';
import { findMemberByIdentity } from '../../store/members.js';
import { poolsInUse, QR_VALID_MS, wechatPoolGroups } from './admin.js';
import { expiryText, notePoolState, tellStaff } from './notify.js';
import { pickGroup } from './pick.js';
import { attribute, currentQr, insertQr, linkByUrl, markQrReminded, markViewMatched, qrsToRemind, viewToMatch } from './store.js';

const DAY = 86_400_000;
const EVERY_MS = 60_000;
/** A puppet that could not give a room's QR is asked again after this. */
const RETRY_MS = 3_600_000;

/** Credits a join to a channel; returns what was decided, for the log. */
export function creditJoin(db: Db, config: CourseConfig, event: ChatEvent, now: number): string | undefined {
  if (event.type !== 'member.joined') return undefined;
  const group = config.groupOf(event.platform, event.group.id);
  if (!group) return undefined;
  // Staff are not students: they count for no channel.
  if (config.roleOf(event.platform, event.user.id) !== 'member') return 'staff';
  const member = findMemberByIdentity(db, event.platform, event.user.id);
  if (!member) return undefined;
  return inTransaction(db, () => {
    if (event.inviteLink) {
      const link = linkByUrl(db, event.platform, event.inviteLink.url);
      if (!link || link.channel === '') return undefined;
      return attribute(db, { memberId: member.id, channel: link.channel, groupId: group, how: 'invite_link', viewId: null, now }) ? `channel ${link.channel} (invite link)` : 'already credited';
    }
    if (event.platform !== 'wechat') return undefined;
    const view = viewToMatch(db, group, now - config.join.matchWindowMs, now);
    if (!view) return undefined;
    if (!attribute(db, { memberId: member.id, channel: view.channel, groupId: group, how: 'page_view', viewId: view.id, now })) return 'already credited';
    markViewMatched(db, view.id, member.id);
    return `channel ${view.channel} (page view ${view.id})`;
  });
}

/** After a join or a leave: the pools of that group may have crossed into low or full. */
export function checkPoolsOf(db: Db, config: CourseConfig, group: string, now: number): number {
  let told = 0;
  for (const pool of poolsInUse(db, config)) if (pool.groups.includes(group) && notePoolState(db, config, pool, pickGroup(db, config, pool, '', now), now)) told++;
  return told;
}

/** Tells staff a day before an uploaded QR code expires (once per code); returns how many. */
export function remindExpiring(db: Db, config: CourseConfig, now: number): number {
  const groups = new Set(wechatPoolGroups(config));
  let n = 0;
  for (const q of qrsToRemind(db, now + DAY, now)) {
    if (!groups.has(q.group_id) || q.kind !== 'upload') continue;
    inTransaction(db, () => {
      tellStaff(db, config, 'wechat', expiryText(config, q.group_id, q.expires_at), now);
      markQrReminded(db, q.id, now);
    });
    n++;
  }
  return n;
}

export function joinWorker(ctx: WorkerContext): Worker {
  let lastRun = -Infinity;
  const tried = new Map<string, number>();
  return {
    afterEvent(event) {
      if (event.type !== 'member.joined' && event.type !== 'member.left') return;
      const config = ctx.config();
      const now = ctx.clock.now();
      try {
        const credit = creditJoin(ctx.db, config, event, now);
        if (credit) ctx.log.info({ event: event.eventId, credit }, 'join page: channel');
        const group = config.groupOf(event.platform, event.group.id);
        // Only when staff were told: a kick here would move the engine's own sends earlier.
        if (group && checkPoolsOf(ctx.db, config, group, now) > 0) ctx.kick();
      } catch (e) {
        ctx.log.warn({ err: (e as Error).message }, 'join page: after a join');
      }
    },
    async dispatch() {
      const now = ctx.clock.now();
      if (now - lastRun < EVERY_MS) return 0;
      lastRun = now;
      const config = ctx.config();
      let done = remindExpiring(ctx.db, config, now);
      const wechat = ctx.adapters.get('wechat');
      if (config.join.roomQr && wechat?.groupQrCode && wechat.isReady()) {
        const groups = new Set(poolsInUse(ctx.db, config).filter((p) => p.platform === 'wechat').flatMap((p) => p.groups));
        for (const group of groups) {
          // Renewed a day before it expires; an uploaded code that is still valid is left alone.
          if (currentQr(ctx.db, group, now + DAY)) continue;
          if (now - (tried.get(group) ?? -Infinity) < RETRY_MS) continue;
          tried.set(group, now);
          const chatId = config.groups[group]?.wechat;
          if (!chatId) continue;
          try {
            const text = await wechat.groupQrCode(chatId);
            if (!text) continue;
            inTransaction(ctx.db, () => insertQr(ctx.db, { groupId: group, kind: 'puppet', qrText: text, now, expiresAt: now + QR_VALID_MS, createdBy: null }));
            done++;
          } catch (e) {
            ctx.log.info({ group, err: (e as Error).message }, 'join page: the puppet gave no room QR code; staff upload it (/join-admin)');
          }
        }
      }
      if (done > 0) ctx.kick();
      return done;
    },
  };
}
