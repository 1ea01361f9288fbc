import type { Feature } from '../../core/feature.js';
import { joinSection } from './config.js';
import { joinRoutes, type JoinLinkDetail } from './routes.js';
import { joinExport, joinForget, saveJoinLink, attributionOf } from './store.js';
import { joinWorker } from './worker.js';
import { inTransaction } from '../../store/db.js';

/**
 * The join page (群活码, docs/join.md): `/join/<pool>[?c=<channel>]` hands out the first group of
 * a pool that has room (a WeChat group's QR code that has not expired, or a Telegram invite link
 * kequn made for the channel), tells staff when a pool runs low, and credits joins to channels
 * for the dashboard. Staff upload WeChat QR codes at `/join-admin`.
 */
export const joinFeature: Feature = {
  name: 'join',
  config: [joinSection],
  routes: joinRoutes,
  workers: (ctx) => [joinWorker(ctx)],
  // A Telegram invite link for a group and a channel exists: joins through it are that channel's.
  onPlatformAction: {
    join(db, _config, action, url, now) {
      const d = JSON.parse(action.detail ?? '{}') as Partial<JoinLinkDetail>;
      if (typeof d.groupId !== 'string' || typeof d.channel !== 'string') return;
      inTransaction(db, () => saveJoinLink(db, { platform: action.platform, groupId: d.groupId!, channel: d.channel!, url, now }));
    },
  },
  memberReport(ctx, member) {
    const a = attributionOf(ctx.db, member.id);
    if (!a) return {};
    const name = ctx.config.join.channels[a.channel]?.name ?? a.channel;
    return { detail: [`入群渠道：${name}（${a.how === 'invite_link' ? '渠道入群链接' : '入群页浏览后入群，推测'}）`] };
  },
  privacy: { export: joinExport, forget: joinForget },
};
