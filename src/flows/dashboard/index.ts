import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Feature, Worker, WorkerContext } from '../../core/feature.js';
import type { CommandSpec } from '../../core/types.js';
import type { WebContext } from '../../web/context.js';
import { createLoginToken, LOGIN_LINK_TTL_MS } from '../../web/login.js';
import { checkins, foldDashboardRollups, qa, revenue } from './metrics.js';
import type { MetricsService } from './contracts.js';
import { staffMemberIds } from './store/staff.js';
import { ifNoOtherFold, rebuildMemberRollups } from './store/rollups.js';
import { createDashboardRoutes } from './web/dashboard.js';

declare module '../../core/types.js' {
  interface Services {
    /** The dashboard's figures, for other features' reports (the daily digest). */
    metrics: MetricsService;
  }
}

/**
 * `/dashboard` (owners): a one-time login link to the dashboard, sent privately. The link holds a
 * random single-use token valid for 10 minutes; opening it sets an HttpOnly session cookie.
 * It points at the web server's address as the course knows it (CourseConfig.publicUrl:
 * KEQUN_PUBLIC_URL, web.public_url or catalog payments.public_url, default http://127.0.0.1:<port>):
 * that host must be one the server answers to (docs/dashboard.md).
 */
const dashboardCommand: CommandSpec = {
  name: 'dashboard',
  roles: ['owner'],
  usage: '/dashboard',
  description: '私信一个一次性的数据看板登录链接（10 分钟内有效）',
  run(_args, ctx) {
    const token = createLoginToken(ctx.db, { memberId: ctx.member.id, now: ctx.now, ttlMs: LOGIN_LINK_TTL_MS });
    ctx.send({ to: 'dm', text: `数据看板登录链接（仅限本人，10 分钟内有效，只能用一次）：\n${ctx.config.publicUrl}/dashboard?login=${token}` });
    return 'dashboard login link sent privately';
  },
};

/** How often new rows are folded into the dashboard rollups (live mode). */
const ROLLUP_FOLD_MS = 60_000;
/** Largest request body the dashboard's routes accept. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Folds new rows into the dashboard rollups in the background, one bounded batch (≤100k rows,
 * one short transaction) at a time, so a dashboard read finds them nearly current. A backlog
 * (the first start after the upgrade) is worked off a batch per second.
 */
function rollupFolder(ctx: WorkerContext): Worker {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const later = (delay: number) => {
    timer = setTimeout(() => {
      if (stopped) return;
      let next = ROLLUP_FOLD_MS;
      try {
        // Another process folding: it does the work; this one does not wait (see ifNoOtherFold).
        const r = ifNoOtherFold(ctx.db, () => foldDashboardRollups({ db: ctx.db, config: ctx.config(), now: ctx.clock.now() }, 1));
        if (r && !r.caughtUp) next = 1000;
      } catch (e) {
        ctx.log.warn({ err: (e as Error).message }, 'dashboard rollups: fold failed');
      }
      later(next);
    }, delay);
    timer.unref();
  };
  return {
    start: () => {
      if (ctx.live) later(ROLLUP_FOLD_MS);
    },
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function routes(app: Hono, web: WebContext): void {
  app.use('/dashboard/*', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: `body larger than ${MAX_BODY_BYTES} bytes` }, 413) }));
  app.route('/', createDashboardRoutes(web));
}

/**
 * The dashboard (docs/dashboard.md): the funnel and the other growth figures in the browser and in
 * `kequn stats`, computed from the store and kept current in rollups; `/dashboard` for owners.
 */
export const dashboardFeature: Feature = {
  name: 'dashboard',
  commands: [dashboardCommand],
  workers: (ctx) => [rollupFolder(ctx)],
  provides: ['metrics'],
  services: ({ db, config }) => ({
    metrics: {
      revenue: (f, now) => revenue({ db, config, now }, f),
      checkins: (f, now) => checkins({ db, config, now }, f),
      qa: (f, now) => qa({ db, config, now }, f),
      staffIds: () => staffMemberIds(db, config.staff),
    },
  }),
  routes,
  // A forgotten member's rollups are recomputed from what is left (they hold no personal data,
  // only times and stages; rebuilt so that they never outlive a deleted row).
  privacy: { forget: rebuildMemberRollups },
};
