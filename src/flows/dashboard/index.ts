import { createLoginToken, LOGIN_LINK_TTL_MS } from '../../web/login.js';
import type { CommandSpec, Flow } from '../../core/types.js';

/**
 * `/dashboard` (owners): a one-time login link to the dashboard, sent privately. The link holds a
 * random single-use token valid for 10 minutes; opening it sets an HttpOnly session cookie.
 * It points at the web server's address as the course knows it (catalog payments.public_url /
 * KEQUN_PUBLIC_URL, default http://127.0.0.1:<port>): that host must be one the server answers
 * to (docs/dashboard.md).
 */
const dashboardCommand: CommandSpec = {
  name: 'dashboard',
  roles: ['owner'],
  usage: '/dashboard',
  description: '私信一个一次性的数据看板登录链接（10 分钟内有效）',
  run(_args, ctx) {
    const token = createLoginToken(ctx.db, { memberId: ctx.member.id, now: ctx.now, ttlMs: LOGIN_LINK_TTL_MS });
    const base = ctx.config.catalog.payments.publicUrl.replace(/\/+$/, '');
    ctx.send({ to: 'dm', text: `数据看板登录链接（仅限本人，10 分钟内有效，只能用一次）：\n${base}/dashboard?login=${token}` });
    return 'dashboard login link sent privately';
  },
};

export const dashboardFlow: Flow = { name: 'dashboard', commands: [dashboardCommand] };
