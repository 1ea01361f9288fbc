import type { CourseConfig } from '../../../core/types.js';
import { dashboardText, pageTextJson } from '../i18n.js';

/**
 * The dashboard page: static HTML, one script and one style sheet (the CSP allows only 'self').
 * The script reads /dashboard/api/stats with the page's own query string (group, from, to) and
 * draws each section: a uPlot chart, the table under it and a CSV link. Every word is in the
 * course's locale (i18n.ts): the HTML is written with it, and the script's own words (chart
 * legends, "no data") come in a data attribute as JSON.
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

type PageConfig = Pick<CourseConfig, 'course' | 'groups'>;

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
  const section = (id: string, chart: boolean) =>
    `<section id="s-${id}"><h2>${esc(t.sections[id] ?? id)} <a class="csv" id="csv-${id}" href="#">${esc(t.csv)}</a></h2>${chart ? `<div class="chart" id="chart-${id}"></div>` : ''}<div class="table" id="table-${id}"></div></section>`;
  return shell(
    config.course.locale ?? 'zh',
    `${config.course.name} · ${t.title}`,
    `<header><h1>${esc(t.heading(config.course.name))}</h1>
<form id="filter" method="get" action="/dashboard">
<label>${esc(t.group)} <select name="group" id="f-group"><option value="">${esc(t.allGroups)}</option>${groups}</select></label>
<label>${esc(t.from)} <input type="date" name="from" id="f-from"></label>
<label>${esc(t.to)} <input type="date" name="to" id="f-to"></label>
<button type="submit" id="f-apply">${esc(t.apply)}</button></form>
<form method="post" action="/dashboard/logout" id="logout"><button type="submit">${esc(t.logout)}</button></form></header>
<p id="status">${esc(t.loading)}</p>
<main>
${section('funnel', true)}
${section('revenue', false)}
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

/**
 * The page's script. Charts people can read: counts on an axis from 0 with whole-number ticks,
 * rates on a fixed 0–100 % axis, category and date labels thinned (or turned) so they never
 * overlap, and a series of one point drawn as a bar, not a lone dot. Charts are redrawn to the
 * width of their box (a phone is 390 px wide).
 */
export const DASHBOARD_JS = `(function () {
  'use strict';
  var T = JSON.parse(document.body.getAttribute('data-text') || '{}');
  var qs = location.search;
  var params = new URLSearchParams(qs);
  ['group', 'from', 'to'].forEach(function (k) { var el = document.getElementById('f-' + k); if (el && params.get(k)) el.value = params.get(k); });
  var status = document.getElementById('status');
  var COLORS = ['#2b7bb9', '#d9822b', '#2ca05a', '#c23b3b', '#7a4fb5', '#8c6d3f', '#d65fa8', '#555'];
  var COUNT_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000, 100000, 200000, 500000, 1000000];
  var PCT_INCRS = [10, 20, 25, 50, 100];
  var drawn = [];
  var last = null;

  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = String(text); if (cls) e.className = cls; return e; }

  function renderTable(t) {
    var box = document.getElementById('table-' + t.id);
    if (!box) return;
    box.textContent = '';
    var table = el('table'); table.setAttribute('data-table', t.id);
    var head = el('tr'); t.columns.forEach(function (c) { head.appendChild(el('th', c)); });
    table.appendChild(el('thead')).appendChild(head);
    var body = el('tbody');
    t.rows.forEach(function (r) {
      var tr = el('tr');
      r.forEach(function (v, i) { var td = el('td', v === null ? '–' : v, typeof v === 'number' ? 'num' : ''); td.setAttribute('data-col', t.columns[i]); tr.appendChild(td); });
      body.appendChild(tr);
    });
    if (t.rows.length === 0) { var tr = el('tr'); var td = el('td', T.noData, 'empty'); td.colSpan = t.columns.length; tr.appendChild(td); body.appendChild(tr); }
    table.appendChild(body);
    box.appendChild(table);
    var a = document.getElementById('csv-' + t.id);
    if (a) { a.href = '/dashboard/api/export/' + t.id + '.csv' + qs; a.setAttribute('download', 'kequn-' + t.id + '.csv'); }
  }

  /** Width of a label in CSS pixels at 12 px (CJK characters are twice as wide). */
  function textWidth(s) { var w = 0; for (var i = 0; i < s.length; i++) w += s.charCodeAt(i) > 0x2e80 ? 12 : 6.5; return w; }

  /** The smallest "nice" whole number at or above n (and at least 1): the top of a count axis. */
  function niceCeil(n) {
    if (!(n > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log(n) / Math.LN10));
    var steps = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= n) return Math.max(1, Math.ceil(steps[i] * p));
    return Math.ceil(n);
  }

  /**
   * kind: 'count' (0 up, whole numbers), 'pct' (0–100 %), 'money' (0 up). Lines become bars when
   * there is a single point. opts.empty: what to say when every value is 0 or missing.
   */
  function chart(id, labels, series, opts) {
    var box = document.getElementById('chart-' + id);
    if (!box || !window.uPlot) return;
    box.textContent = '';
    var values = [];
    series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null && v !== undefined) values.push(v); }); });
    if (labels.length === 0 || values.length === 0) { box.appendChild(el('p', T.noData, 'empty')); return; }
    var bars = opts.bars || labels.length === 1;
    var width = Math.max(260, Math.min(box.clientWidth || 800, 900));
    var max = Math.max.apply(null, values);
    var kind = opts.kind;
    var yRange = kind === 'pct' ? [0, 100] : [0, kind === 'count' ? niceCeil(max) : Math.max(1, niceCeil(max))];
    // x labels never overlap: a few categories (stages, sources) each get theirs, turned when
    // narrower than it; many (days, weeks) are thinned to every 2nd, 7th... by uPlot (space).
    var category = labels.length <= 16;
    var per = (width - 100) / labels.length;
    var widest = Math.max.apply(null, labels.map(function (l) { return textWidth(String(l)); }));
    var turn = category && per < widest + 6;
    var xAxis = {
      splits: category ? function () { return labels.map(function (_, i) { return i; }); } : undefined,
      incrs: category ? undefined : [1, 2, 3, 5, 7, 10, 14, 15, 20, 28, 30, 50, 100],
      space: category ? 1 : widest + 14,
      rotate: turn ? -40 : 0,
      size: turn ? Math.min(120, Math.round(widest * 0.75) + 24) : 36,
      label: opts.x,
      values: function (_, ticks) { return ticks.map(function (t) { return Number.isInteger(t) && labels[t] !== undefined ? labels[t] : ''; }); },
    };
    var yAxis = {
      label: opts.unit,
      incrs: kind === 'pct' ? PCT_INCRS : COUNT_INCRS,
      space: 28,
      size: 56,
      values: function (_, ticks) { return ticks.map(function (t) { return kind === 'pct' ? t + '%' : String(t); }); },
    };
    var u = {
      width: width, height: 240,
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: yRange } },
      axes: [xAxis, yAxis],
      series: [{ label: opts.x, value: function (_, i) { return i === null || labels[i] === undefined ? '' : labels[i]; } }].concat(series.map(function (s, i) {
        var color = COLORS[i % COLORS.length];
        return { label: s.label, stroke: color, fill: bars ? color + '99' : undefined, width: 2,
          value: function (_, v) { return v === null || v === undefined ? '–' : kind === 'pct' ? v + '%' : String(v); },
          // Several series share a category: each narrower than the one before, drawn over it.
          paths: bars ? uPlot.paths.bars({ size: [[0.7, 0.4, 0.25][i] || 0.2, 80], align: 0 }) : undefined,
          points: { show: !bars, size: 6 } };
      })),
    };
    var plot = new uPlot(u, [labels.map(function (_, i) { return i; })].concat(series.map(function (s) { return s.values; })), box);
    plot.root.setAttribute('data-chart', id);
    plot.root.setAttribute('data-y-range', yRange.join(','));
    plot.root.setAttribute('data-kind', bars ? 'bars' : 'lines');
    drawn.push(plot);
  }

  function short(day) { return day.slice(5); }

  function draw(d) {
    last = d;
    drawn.forEach(function (p) { p.destroy(); });
    drawn = [];
    var C = T.charts;
    d.tables.forEach(renderTable);
    var cs = d.channel.steps;
    chart('channel-funnel', cs.map(function (s) { return C.steps[s.step] || s.label; }), [{ label: C.members, values: cs.map(function (s) { return s.members; }) }, { label: C.through, values: cs.map(function (s) { return s.through; }) }], { bars: true, x: C.step, unit: C.members, kind: 'count' });
    var f = d.funnel.stages;
    chart('funnel', f.map(function (s) { return d.stageNames[s.stage] || s.stage; }), [{ label: C.reached, values: f.map(function (s) { return s.reached; }) }, { label: C.now, values: f.map(function (s) { return s.now; }) }], { bars: true, x: C.stage, unit: C.members, kind: 'count' });
    var maxK = Math.max.apply(null, [0].concat(d.retention.map(function (c) { return c.rates.length; })));
    var ks = []; for (var k = 0; k < maxK; k++) ks.push(C.week.replace('{k}', k));
    chart('retention', ks, d.retention.slice(-8).map(function (c) { return { label: c.week, values: ks.map(function (_, k) { return k < c.rates.length ? Math.round(c.rates[k] * 1000) / 10 : null; }) }; }), { x: C.weeksAfter, unit: C.activePct, kind: 'pct' });
    chart('checkins', d.checkins.days.map(short), d.checkins.groups.map(function (g) { return { label: d.groupNames[g.group] || g.group, values: g.days.map(function (x) { return x.rate === null ? null : Math.round(x.rate * 1000) / 10; }) }; }), { x: C.day, unit: C.checkinPct, kind: 'pct' });
    chart('streaks', d.checkins.streaks.map(function (s) { return s.bucket; }), [{ label: C.members, values: d.checkins.streaks.map(function (s) { return s.members; }) }], { bars: true, x: C.daysInRow, unit: C.members, kind: 'count' });
    [['sources', d.referrals.sources], ['groups', d.referrals.groups]].forEach(function (p) {
      var rows = p[1];
      chart(p[0], rows.map(function (s) { return d.sourceLabels[s.source] || s.source; }), [{ label: C.revenue, values: rows.map(function (s) { return s.revenue; }) }, { label: C.cost, values: rows.map(function (s) { return s.cost; }) }], { bars: true, x: C.source, unit: C.yuan, kind: 'money' });
    });
    var pick = document.getElementById('cost-source');
    var chosen = pick.value;
    pick.textContent = '';
    d.costSources.forEach(function (s) { var o = el('option', s.label); o.value = s.source; pick.appendChild(o); });
    if (chosen) pick.value = chosen;
    status.textContent = d.statusLine;
    status.className = '';
    status.setAttribute('data-ready', '1');
  }

  function load() {
    fetch('/dashboard/api/stats' + qs, { cache: 'no-store', credentials: 'same-origin' }).then(function (r) {
      return r.json().then(function (b) { if (!r.ok) throw new Error(b.error || r.status); return b; });
    }).then(draw).catch(function (e) { status.textContent = T.error + e.message; status.className = 'error'; });
  }

  var resizing = 0;
  window.addEventListener('resize', function () { clearTimeout(resizing); resizing = setTimeout(function () { if (last) draw(last); }, 150); });

  document.getElementById('cost').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var msg = document.getElementById('cost-msg');
    var yuan = document.getElementById('cost-yuan').value.trim();
    fetch('/dashboard/api/costs', { method: 'POST', headers: { 'content-type': 'application/json' }, credentials: 'same-origin',
      body: JSON.stringify({ source: document.getElementById('cost-source').value, yuan: yuan === '' ? null : yuan }) })
      .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw new Error(b.error); msg.textContent = T.cost.saved; load(); }); })
      .catch(function (e) { msg.textContent = e.message; });
  });
  load();
})();
`;

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
