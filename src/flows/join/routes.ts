/**
 * `GET /join/<handle>[?c=<channel>]`, the public join page (群活码, docs/join.md): no login, a
 * limit per client, and nothing recorded for an unknown pool or channel or a client over the
 * limit. A view that hands out a group is recorded (once per client, pool and channel per match
 * window) for the channel's figures and the WeChat join match; the pool's state is checked on
 * every view and staff are told of a crossing once.
 */
import { createHash } from 'node:crypto';
import type { Context, Hono } from 'hono';
import type { WebContext } from '../../web/context.js';
import { hasPendingPlatformAction, queuePlatformAction } from '../../store/platform-actions.js';
import { inTransaction } from '../../store/db.js';
import { groupChatId } from '../../core/group-chats.js';
import { poolOf } from './config.js';
import { qrDataUrl } from './files.js';
import { PerMinuteLimiter } from '../../util/per-minute-limiter.js';
import { JOIN_CSS, JOIN_HEADERS, linkPage, messagePage, qrPage } from './page.js';
import { pickGroup } from './pick.js';
import { notePoolState } from './notify.js';
import { insertView, lastLinkRequest, recentView } from './store.js';
import { adminRoutes } from './admin.js';

const HANDLE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** A Telegram link request that failed is made again after this. */
const LINK_RETRY_MS = 10 * 60_000;

/** What the platform action that makes a Telegram join link carries (onPlatformAction `join`). */
export interface JoinLinkDetail {
  purpose: 'join';
  name: string;
  groupId: string;
  channel: string;
}

export function clientKey(ip: string): string {
  return createHash('sha256').update(`kequn-join:${ip}`).digest('base64url').slice(0, 16);
}

export function joinRoutes(app: Hono, web: WebContext): void {
  const limiter = new PerMinuteLimiter();
  const send = (c: Context, html: string, status: 200 | 404 | 429 | 503 = 200) => {
    for (const [k, v] of Object.entries(JOIN_HEADERS)) c.header(k, v);
    return c.html(html, status);
  };

  app.get('/join-assets/join.css', (c) => {
    c.header('cache-control', 'public, max-age=3600');
    return c.body(JOIN_CSS, 200, { 'content-type': 'text/css; charset=utf-8' });
  });

  app.get('/join/:handle', async (c) => {
    const config = web.config();
    const course = config.course.name;
    const now = web.now();
    const client = clientKey(web.clientIp(c));
    if (!limiter.allow(client, config.join.viewsPerMinute, now)) {
      c.header('retry-after', '60');
      return send(c, messagePage(course, '访问太频繁', '请一分钟后再打开这个页面。'), 429);
    }
    const handle = c.req.param('handle');
    const pool = HANDLE.test(handle) ? poolOf(config, handle) : undefined;
    if (!pool) return send(c, messagePage(course, '没有找到这个入群链接', '链接可能抄错了，或者已经停用。请向发给你链接的老师要一个新的。'), 404);
    const channel = c.req.query('c') ?? '';
    if (channel !== '' && !Object.hasOwn(config.join.channels, channel)) {
      return send(c, messagePage(course, '没有找到这个入群链接', `链接里的渠道“${channel.slice(0, 32)}”不存在，请向发给你链接的老师要一个新的。`), 404);
    }
    const { db } = web;
    const picked = pickGroup(db, config, pool, channel, now);
    notePoolState(db, config, pool, picked, now);
    const choice = picked.choice;
    if (choice.kind === 'full') return send(c, messagePage(course, '群已满', '这一期的群已经满了，老师正在准备新群，请稍后再打开这个页面。'), 503);
    if (choice.kind === 'updating') return send(c, messagePage(course, '群正在更新', '群二维码正在更新，请过几分钟再打开这个页面。'), 503);
    const groupName = config.groups[choice.group]?.name ?? choice.group;
    // One view per client, pool and channel per match window: a refresh is not a second person.
    inTransaction(db, () => {
      if (!recentView(db, { client, pool: pool.id, channel, since: now - config.join.matchWindowMs })) insertView(db, { pool: pool.id, groupId: choice.group, channel, client, now });
    });
    if (choice.kind === 'link') return send(c, linkPage({ course, group: groupName, url: choice.url }));
    if (choice.kind === 'link_pending') {
      const chatId = groupChatId(config, 'telegram', choice.group);
      const userId = `join:${choice.group}:${channel}`;
      // A request Telegram refused (the bot is no admin there) is tried again after a while, not on every view.
      const last = lastLinkRequest(db, userId);
      if (last && last.status !== 'done' && last.status !== 'pending' && last.status !== 'doing' && now - last.created_at < LINK_RETRY_MS) {
        return send(c, messagePage(course, '群正在更新', '入群链接暂时无法生成，请过几分钟再打开这个页面。'), 503);
      }
      inTransaction(db, () => {
        if (chatId && !hasPendingPlatformAction(db, { platform: 'telegram', action: 'create_invite_link', userId })) {
          const detail: JoinLinkDetail = { purpose: 'join', name: `join ${channel || '-'}`.slice(0, 32), groupId: choice.group, channel };
          queuePlatformAction(db, { platform: 'telegram', action: 'create_invite_link', chatId, userId, messageId: null, moderationId: null, now, detail });
        }
      });
      return send(c, messagePage(course, `加入「${groupName}」`, '入群链接正在生成，几秒后本页会自动刷新。', 3), 503);
    }
    const image = await qrDataUrl(web.db, config, choice.qr);
    if (!image) return send(c, messagePage(course, '群正在更新', '群二维码正在更新，请过几分钟再打开这个页面。'), 503);
    return send(c, qrPage({ course, group: groupName, image, expiresAt: choice.qr.expires_at, timeZone: config.course.timezone }));
  });

  adminRoutes(app, web);
}
