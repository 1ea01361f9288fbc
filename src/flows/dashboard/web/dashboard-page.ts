import type { CourseConfig } from '../../../core/types.js';

/**
 * The dashboard page: static HTML, one script and one style sheet (the CSP allows only 'self').
 * The script (browser/index.ts, a checked browser module: src/web/browser-assets.ts) reads
 * /dashboard/api/stats with the page's own query string (group, from, to) and draws each
 * section: a uPlot chart, the table under it and a CSV link.
 */

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function shell(title: string, body: string, withUplot: boolean): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
${withUplot ? '<link rel="stylesheet" href="/dashboard/assets/uplot.css">' : ''}
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
</head><body>${body}${withUplot ? '<script src="/dashboard/assets/uplot.js"></script><script src="/dashboard/assets/dashboard.js"></script>' : ''}</body></html>`;
}

export function loginHtml(message: string | undefined, adminOn: boolean): string {
  return shell(
    'kequn dashboard: log in',
    `<main class="login"><h1>kequn dashboard</h1>
${message ? `<p class="error" id="login-error">${esc(message)}</p>` : ''}
${
  adminOn
    ? `<form method="post" action="/dashboard/login"><label>Admin token (KEQUN_ADMIN_TOKEN)<br><input type="password" name="token" id="token" autocomplete="current-password" required></label> <button type="submit" id="login">Log in</button></form>`
    : ''
}
<p class="hint">Owners: send <code>/dashboard</code> to the bot in a private chat for a one-time login link.</p></main>`,
    false,
  );
}

export function dashboardHtml(config: Pick<CourseConfig, 'course' | 'groups'>): string {
  const groups = Object.entries(config.groups)
    .map(([h, g]) => `<option value="${esc(h)}">${esc(g.name)} (${esc(h)})</option>`)
    .join('');
  const section = (id: string, title: string, chart: boolean) =>
    `<section id="s-${id}"><h2>${esc(title)} <a class="csv" id="csv-${id}" href="#">CSV</a></h2>${chart ? `<div class="chart" id="chart-${id}"></div>` : ''}<div class="table" id="table-${id}"></div></section>`;
  return shell(
    'kequn dashboard',
    `<header><h1>${esc(config.course.name)} · dashboard</h1>
<form id="filter" method="get" action="/dashboard">
<label>Group <select name="group" id="f-group"><option value="">all</option>${groups}</select></label>
<label>From <input type="date" name="from" id="f-from"></label>
<label>To <input type="date" name="to" id="f-to"></label>
<button type="submit">Apply</button></form>
<form method="post" action="/dashboard/logout"><button type="submit">Log out</button></form></header>
<p id="status">Loading…</p>
<main>
${section('channel-funnel', '私信渠道漏斗 Private channel funnel', true)}
${section('channel-platforms', '加好友率 / Start 率', false)}
${section('channel-held', 'Held private messages', false)}
${section('channel-lessons', 'Trial lessons delivered', false)}
${section('channel-sources', 'Channels opened by source', false)}
${section('funnel', 'Funnel by lifecycle stage', true)}
${section('revenue', 'Trial → paid and revenue', false)}
${section('discounts', 'Discounts given', false)}
${section('retention', 'Weekly retention by join week', true)}
${section('checkins', 'Daily check-in rate', true)}
${section('streaks', 'Check-in streaks', true)}
${section('homework', 'Homework submissions', false)}
${section('referrers', 'Referrers', false)}
${section('sources', 'Revenue and ROI by source', true)}
<form id="cost"><label>Cost of source <input name="source" id="cost-source" placeholder="referral / direct / group:python-101" required></label>
<label>yuan <input name="yuan" id="cost-yuan" inputmode="decimal" placeholder="empty: remove"></label> <button type="submit" id="cost-save">Save cost</button> <span id="cost-msg"></span></form>
${section('qa', 'Q&A', false)}
</main>`,
    true,
  );
}

export const DASHBOARD_CSS = `body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#222;background:#fafafa}
header{display:flex;flex-wrap:wrap;gap:16px;align-items:center;padding:12px 20px;background:#fff;border-bottom:1px solid #ddd}
header h1{font-size:18px;margin:0 16px 0 0}header form{display:flex;gap:8px;align-items:center;margin:0}
main{padding:8px 20px 40px;max-width:980px}section{background:#fff;border:1px solid #e5e5e5;border-radius:6px;padding:12px 16px;margin:16px 0}
h2{font-size:16px;margin:0 0 8px}a.csv{font-size:12px;font-weight:normal;margin-left:8px}
table{border-collapse:collapse;font-size:13px;margin-top:8px}th,td{border-bottom:1px solid #eee;padding:3px 10px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}.table{overflow-x:auto}
#status{padding:0 20px;color:#666}.error{color:#c00}form#cost{margin:-8px 0 8px;font-size:13px}
main.login{max-width:420px;margin:60px auto;background:#fff;padding:24px;border:1px solid #ddd;border-radius:6px}.hint{color:#666;font-size:13px}
`;
