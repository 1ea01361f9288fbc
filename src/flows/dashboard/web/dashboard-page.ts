import type { CourseConfig } from '../../../core/types.js';
import { COHORT_SECTION } from '../cohort-conversion.js';
import { dashboardText, pageTextJson } from '../i18n.js';

/**
 * The dashboard page: static HTML, one script and one style sheet (the CSP allows only 'self').
 * The script (browser/index.ts, a checked browser module: src/web/browser-assets.ts) reads
 * /dashboard/api/stats with the page's own query string (group, from, to) and draws each
 * section: a uPlot chart, the table under it and a CSV link. Every word is in the course's locale
 * (i18n.ts): the HTML is written with it, and the script's own words (chart legends, "no data")
 * come in the body's data-text attribute as JSON (PageWords in browser/types.ts).
 */

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function shell(lang: string, title: string, body: string, withUplot: boolean, data = ''): string {
  return `<!doctype html>
<html lang="${lang === 'en' ? 'en' : 'zh-CN'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
${withUplot ? '<link rel="stylesheet" href="/dashboard/assets/uplot.css">' : ''}
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
</head><body${data}>${body}${withUplot ? '<script src="/dashboard/assets/uplot.js"></script><script src="/dashboard/assets/dashboard.js"></script>' : ''}</body></html>`;
}

type PageConfig = Pick<CourseConfig, 'course' | 'groups' | 'cohorts'>;

export function loginHtml(config: Pick<CourseConfig, 'course'>, message: string | undefined, adminOn: boolean): string {
  const t = dashboardText(config.course.locale).login;
  return shell(
    config.course.locale ?? 'zh',
    t.title,
    `<main class="login"><h1>${esc(config.course.name)} · ${esc(t.heading)}</h1>
${message ? `<p class="error" id="login-error">${esc(message)}</p>` : ''}
${
  adminOn
    ? `<form method="post" action="/dashboard/login"><label>${esc(t.tokenLabel)}<br><input type="password" name="token" id="token" autocomplete="current-password" required></label> <button type="submit" id="login">${esc(t.button)}</button></form>`
    : ''
}
<p class="hint">${t.hint}</p></main>`,
    false,
  );
}

export function dashboardHtml(config: PageConfig): string {
  const t = dashboardText(config.course.locale).page;
  const groups = Object.entries(config.groups)
    .map(([h, g]) => `<option value="${esc(h)}">${esc(g.name)}（${esc(h)}）</option>`)
    .join('');
  const en = config.course.locale === 'en';
  // The cohort filter and table, for a course with cohorts (期).
  const cohortSelect = config.cohorts.length
    ? `<label>${en ? 'Cohort' : '期'} <select name="cohort" id="f-cohort"><option value="">${en ? 'All cohorts' : '全部期'}</option>${config.cohorts.map((c) => `<option value="${esc(c.id)}">${esc(c.name)}（${esc(c.id)}）</option>`).join('')}</select></label>\n`
    : '';
  const section = (id: string, chart: boolean) =>
    `<section id="s-${id}"><h2>${esc(t.sections[id] ?? (id === 'cohorts' ? COHORT_SECTION[config.course.locale ?? 'zh'] : id))} <a class="csv" id="csv-${id}" href="#">${esc(t.csv)}</a></h2>${chart ? `<div class="chart" id="chart-${id}"></div>` : ''}<div class="table" id="table-${id}"></div></section>`;
  return shell(
    config.course.locale ?? 'zh',
    `${config.course.name} · ${t.title}`,
    `<header><h1>${esc(t.heading(config.course.name))}</h1>
<form id="filter" method="get" action="/dashboard">
<label>${esc(t.group)} <select name="group" id="f-group"><option value="">${esc(t.allGroups)}</option>${groups}</select></label>
${cohortSelect}<label>${esc(t.from)} <input type="date" name="from" id="f-from"></label>
<label>${esc(t.to)} <input type="date" name="to" id="f-to"></label>
<button type="submit" id="f-apply">${esc(t.apply)}</button></form>
<form method="post" action="/dashboard/logout" id="logout"><button type="submit">${esc(t.logout)}</button></form></header>
<p id="status">${esc(t.loading)}</p>
<main>
${section('funnel', true)}
${section('revenue', false)}
${config.cohorts.length ? section('cohorts', false) : ''}
${section('sources', true)}
${section('groups', true)}
<form id="cost"><label>${esc(t.cost.label)} <select name="source" id="cost-source"></select></label>
<label><input name="yuan" id="cost-yuan" inputmode="decimal" placeholder="${esc(t.cost.placeholder)}"> ${esc(t.cost.yuan)}</label> <button type="submit" id="cost-save">${esc(t.cost.save)}</button> <span id="cost-msg"></span></form>
${section('discounts', false)}
${section('channel-funnel', true)}
${section('channel-platforms', false)}
${section('channel-held', false)}
${section('channel-lessons', false)}
${section('channel-sources', false)}
${section('retention', true)}
${section('checkins', true)}
${section('streaks', true)}
${section('homework', false)}
${section('referrers', false)}
${section('qa', false)}
</main>`,
    true,
    ` data-text="${esc(JSON.stringify(pageTextJson(t)))}"`,
  );
}

export const DASHBOARD_CSS = `body{font-family:-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Noto Sans SC",sans-serif;margin:0;color:#222;background:#fafafa}
header{display:flex;flex-wrap:wrap;gap:12px 16px;align-items:center;padding:12px 20px;background:#fff;border-bottom:1px solid #ddd}
header h1{font-size:18px;margin:0 16px 0 0}header form{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:0}
header label{white-space:nowrap}input,select,button{font:inherit;font-size:14px}
main{padding:8px 20px 40px;max-width:980px}section{background:#fff;border:1px solid #e5e5e5;border-radius:6px;padding:12px 16px;margin:16px 0;min-width:0}
h2{font-size:16px;margin:0 0 8px}a.csv{font-size:12px;font-weight:normal;margin-left:8px}
table{border-collapse:collapse;font-size:13px;margin-top:8px}th,td{border-bottom:1px solid #eee;padding:3px 10px;text-align:left;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}.table{overflow-x:auto;max-width:100%}.chart{max-width:100%;overflow:hidden}
td.empty,p.empty{color:#888}
#status{padding:0 20px;color:#666}.error{color:#c00}form#cost{margin:-8px 0 8px;font-size:13px;display:flex;flex-wrap:wrap;gap:6px;align-items:center}
form#cost input{width:7em}
main.login{max-width:420px;margin:60px auto;background:#fff;padding:24px;border:1px solid #ddd;border-radius:6px}.hint{color:#666;font-size:13px}
@media (max-width:600px){
header{padding:10px 12px;gap:8px}header h1{font-size:16px;margin:0;flex-basis:100%}
header form#filter{width:100%}header form#filter label{flex:1 1 40%;display:flex;gap:4px;align-items:center;min-width:0}
header form#filter input,header form#filter select{flex:1;min-width:0;width:100%;box-sizing:border-box}
main{padding:4px 8px 24px}section{padding:10px;margin:10px 0}#status{padding:0 12px;font-size:13px}
table{font-size:12px}th,td{padding:3px 6px}main.login{margin:20px 12px;padding:16px}
}
`;
