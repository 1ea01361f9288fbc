import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Hono, type Context } from 'hono';
import type { WebContext } from '../../../web/context.js';
import { dashboard, parseFilter, StatsFilterError } from '../metrics.js';
import { redeemLoginToken } from '../../../web/login.js';
import { costSources, dashboardTables, sourceLabel, toCsv } from '../tables.js';
import { dashboardText, stageName } from '../i18n.js';
import type { Dashboard } from '../metrics.js';
import { setCost } from '../store/dashboard.js';
import { parseYuan } from '../../../util/money.js';
import { DASHBOARD_CSS, dashboardHtml, loginHtml } from './dashboard-page.js';
import { browserScript } from '../../../web/browser-assets.js';

/** The page's script, a browser module bundled by esbuild (src/web/browser-assets.ts). */
const DASHBOARD_SCRIPT = new URL('./browser/index.ts', import.meta.url);

/** A source is referral, direct, channel:<tag> (a Telegram start=src-<tag> link) or group:<handle>. */
const SOURCE = /^(referral|direct|channel:[A-Za-z0-9_-]{1,64}|group:[a-z0-9][a-z0-9_-]{0,63})$/;

const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

let uplotAssets: { js: string; css: string } | undefined;
/** uPlot's own files from node_modules, served by kequn (no CDN). */
function uplot(): { js: string; css: string } {
  if (!uplotAssets) {
    const require = createRequire(import.meta.url);
    const dir = require.resolve('uplot/dist/uPlot.iife.min.js').replace(/uPlot\.iife\.min\.js$/, '');
    uplotAssets = { js: readFileSync(dir + 'uPlot.iife.min.js', 'utf8'), css: readFileSync(dir + 'uPlot.min.css', 'utf8') };
  }
  return uplotAssets;
}

/**
 * `/dashboard`: the growth figures in the browser (docs/dashboard.md). Open to a session opened
 * with KEQUN_ADMIN_TOKEN (the login form, or `Authorization: Bearer` on each request) or with a
 * one-time link the bot sends an owner (`/dashboard` in a private chat).
 */
export function createDashboardRoutes(ctx: WebContext): Hono {
  const admin = ctx.admin;
  const adminOn = admin.tokenOn;
  const now = ctx.now;
  // The config as it is now (kequn.yaml reloads while the bot runs): its words, groups and staff.
  const config = ctx.config;
  const text = () => dashboardText(config().course.locale);
  const web = new Hono();
  const authed = (c: Context) => admin.authed(c);
  const startSession = (c: Context, memberId: string | null) => admin.startSession(c, memberId);
  function page(c: Context, html: string, status: 200 | 401 | 403 = 200) {
    for (const [k, v] of Object.entries(PAGE_HEADERS)) c.header(k, v);
    return c.html(html, status);
  }

  web.get('/dashboard/assets/:file', async (c) => {
    const file = c.req.param('file');
    const assets: Record<string, [() => string | Promise<string>, string]> = {
      'uplot.js': [() => uplot().js, 'text/javascript'],
      'uplot.css': [() => uplot().css, 'text/css'],
      'dashboard.js': [() => browserScript(DASHBOARD_SCRIPT), 'text/javascript'],
      'dashboard.css': [() => DASHBOARD_CSS, 'text/css'],
    };
    const a = assets[file];
    if (!a) return c.text('no such asset', 404);
    c.header('cache-control', 'no-cache');
    return c.body(await a[0](), 200, { 'content-type': `${a[1]}; charset=utf-8` });
  });

  web.get('/dashboard', (c) => {
    const login = c.req.query('login');
    if (login !== undefined) {
      const memberId = redeemLoginToken(ctx.db, login, now());
      if (!memberId) return page(c, loginHtml(config(), text().login.linkInvalid, adminOn), 401);
      startSession(c, memberId);
      return c.redirect('/dashboard', 303);
    }
    if (!authed(c)) return page(c, loginHtml(config(), undefined, adminOn), 401);
    return page(c, dashboardHtml(config()));
  });

  web.post('/dashboard/login', async (c) => {
    if (!adminOn) return page(c, loginHtml(config(), text().login.noToken, false), 403);
    const form = await c.req.parseBody();
    const token = typeof form.token === 'string' ? form.token : '';
    if (!admin.tokenMatches(token)) return page(c, loginHtml(config(), text().login.wrongToken, true), 401);
    startSession(c, null);
    return c.redirect('/dashboard', 303);
  });

  web.post('/dashboard/logout', (c) => {
    admin.endSession(c);
    return c.redirect('/dashboard', 303);
  });

  web.use('/dashboard/api/*', async (c, next) => {
    c.header('cache-control', 'no-store');
    if (!authed(c)) return c.json({ error: text().api.logIn }, 401);
    await next();
  });

  function figures(c: Context) {
    const filter = parseFilter({ group: c.req.query('group'), cohort: c.req.query('cohort'), from: c.req.query('from'), to: c.req.query('to') }, config());
    return dashboard({ db: ctx.db, config: config(), now: now() }, filter);
  }

  web.get('/dashboard/api/stats', (c) => {
    try {
      return c.json(pageData(figures(c)));
    } catch (e) {
      if (e instanceof StatsFilterError) return c.json({ error: e.message.replace(/^--/, '') }, 400);
      throw e;
    }
  });

  web.get('/dashboard/api/export/:file', (c) => {
    const id = /^([a-z]+(?:-[a-z]+)*)\.csv$/.exec(c.req.param('file'))?.[1];
    try {
      const table = dashboardTables(figures(c)).find((t) => t.id === id);
      if (!table) return c.json({ error: text().api.noTable(c.req.param('file')) }, 404);
      return c.body('\ufeff' + toCsv(table), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="kequn-${table.id}.csv"`,
      });
    } catch (e) {
      if (e instanceof StatsFilterError) return c.json({ error: e.message.replace(/^--/, '') }, 400);
      throw e;
    }
  });

  /** Cost of a source, in yuan (null or "" removes it). JSON only: a cross-site form cannot post it. */
  web.post('/dashboard/api/costs', async (c) => {
    const t = text().api;
    if (!(c.req.header('content-type') ?? '').startsWith('application/json')) return c.json({ error: t.sendJson }, 415);
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: t.badJson }, 400);
    }
    const { source, yuan } = (body ?? {}) as { source?: unknown; yuan?: unknown };
    if (typeof source !== 'string' || !SOURCE.test(source)) return c.json({ error: t.badSource }, 400);
    if (source.startsWith('group:') && !config().groups[source.slice(6)]) return c.json({ error: t.unknownGroup(source.slice(6)) }, 400);
    const remove = yuan === null || yuan === '';
    // Plain decimal yuan only: Number() would read "0x10" as 16 and " " as 0.
    const fen = parseYuan(yuan);
    if (!remove && fen === undefined) {
      return c.json({ error: t.badYuan }, 400);
    }
    setCost(ctx.db, { source, costFen: remove ? null : fen!, now: now() });
    return c.json({ ok: true });
  });
  return web;
}

/**
 * What the page's script draws: the figures, their tables, and the words it needs beside them
 * (the status line with the local time, stage and source names, the sources a cost can be entered for).
 * Its shape is DashboardStats in browser/types.ts (test/unit/browser-assets.test.ts checks the two agree).
 */
export function pageData(d: Dashboard) {
  const t = dashboardText(d.locale);
  const group = d.filter.group === null ? null : `${d.groupNames[d.filter.group] ?? d.filter.group}`;
  const sources = [...d.referrals.sources, ...d.referrals.groups].map((s) => s.source);
  return {
    ...d,
    tables: dashboardTables(d),
    statusLine: t.page.status(d.funnel.cohort, d.staffExcluded, group, d.generatedAtLocal, d.timezone),
    stageNames: Object.fromEntries(d.funnel.stages.map((s) => [s.stage, stageName(t, s.stage)])),
    sourceLabels: Object.fromEntries(sources.map((s) => [s, sourceLabel(d, s)])),
    costSources: costSources(d),
  };
}
