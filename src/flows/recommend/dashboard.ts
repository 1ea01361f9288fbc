/**
 * `/dashboard/loyalty`: repeat purchases, revenue per member per cohort and recommendations sent →
 * bought, in Chinese, behind the dashboard's login. Server-rendered, every text escaped.
 */
import type { Hono } from 'hono';
import type { WebContext } from '../../web/context.js';
import { loyaltyFigures, loyaltySections } from './figures.js';

const HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function recommendDashboard(app: Hono, web: WebContext): void {
  app.get('/dashboard/loyalty', (c) => {
    for (const [k, v] of Object.entries(HEADERS)) c.header(k, v);
    if (!web.admin.authed(c)) return c.html('<!doctype html><html lang="zh-CN"><meta charset="utf-8"><p>请先在 <a href="/dashboard">/dashboard</a> 登录。</p></html>', 401);
    if (c.req.query('format') === 'json') return c.json(loyaltyFigures(web.db, web.config(), web.services()));
    const sections = loyaltySections(loyaltyFigures(web.db, web.config(), web.services()));
    const body = sections.map((s) => `<section><h2>${esc(s.title)}</h2><ul>${s.lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul></section>`).join('\n');
    return c.html(
      `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>忠诚期：复购与推荐</title><style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.6}</style></head><body><h1>忠诚期：复购与推荐</h1>${body}<p>不含老师、助教等工作人员。金额为人民币订单的实收（已扣退款）。</p><p><a href="/dashboard">返回看板</a></p></body></html>`,
    );
  });
}
