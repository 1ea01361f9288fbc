/**
 * `/dashboard/members/:id`: a member's profile page, in Chinese, behind the dashboard's login
 * (an admin session or `Authorization: Bearer KEQUN_ADMIN_TOKEN`). Server-rendered, no script;
 * every text from the store is escaped.
 */
import { Hono } from 'hono';
import type { WebContext } from '../../web/context.js';
import { profileSections } from './format.js';
import { computeProfile } from './profile.js';

const HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** A member key as the store makes them (never a platform id): bounded, no markup. */
const MEMBER_ID = /^[A-Za-z0-9_:.-]{1,80}$/;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function html(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.6}h2{border-bottom:1px solid #ddd}li{margin:.2rem 0}</style></head><body>${body}</body></html>`;
}


export function createMemberPage(web: WebContext): Hono {
  const app = new Hono();
  app.get('/dashboard/members/:id', (c) => {
    for (const [k, v] of Object.entries(HEADERS)) c.header(k, v);
    if (!web.admin.authed(c)) return c.html(html('请先登录', '<p>请先在 <a href="/dashboard">/dashboard</a> 登录。</p>'), 401);
    const id = c.req.param('id');
    const config = web.config();
    const services = web.services();
    const profile = MEMBER_ID.test(id) ? computeProfile({ db: web.db, config, services, now: web.now() }, id) : undefined;
    if (!profile) return c.html(html('没有这个成员', `<p>没有成员 ${esc(id.slice(0, 80))}。</p><p><a href="/dashboard">返回看板</a></p>`), 404);
    const sections = [...profileSections(profile, config), ...(services.recommend ? services.recommend.pageSections(web.db, id, web.now(), services) : [])];
    const body = [
      `<h1>成员画像：${esc(profile.name || profile.memberId)}</h1>`,
      ...sections.map((s) => `<section><h2>${esc(s.title)}</h2><ul>${s.lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul></section>`),
      '<p><a href="/dashboard">返回看板</a></p>',
    ].join('\n');
    return c.html(html(`成员画像 · ${profile.name || profile.memberId}`, body));
  });
  return app;
}
