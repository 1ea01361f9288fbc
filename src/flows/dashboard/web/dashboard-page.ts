import type { CourseConfig } from '../../../core/types.js';

/**
 * The dashboard page: static HTML, one script and one style sheet (the CSP allows only 'self').
 * The script reads /dashboard/api/stats with the page's own query string (group, from, to) and
 * draws each section: a uPlot chart, the table under it and a CSV link.
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

export const DASHBOARD_JS = `(function () {
  'use strict';
  var qs = location.search;
  var params = new URLSearchParams(qs);
  ['group', 'from', 'to'].forEach(function (k) { var el = document.getElementById('f-' + k); if (el && params.get(k)) el.value = params.get(k); });
  var status = document.getElementById('status');
  var COLORS = ['#2b7bb9', '#d9822b', '#2ca05a', '#c23b3b', '#7a4fb5', '#8c6d3f', '#d65fa8', '#555'];

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
    if (t.rows.length === 0) { var tr = el('tr'); var td = el('td', 'no data'); td.colSpan = t.columns.length; tr.appendChild(td); body.appendChild(tr); }
    table.appendChild(body);
    box.appendChild(table);
    var a = document.getElementById('csv-' + t.id);
    if (a) { a.href = '/dashboard/api/export/' + t.id + '.csv' + qs; a.setAttribute('download', 'kequn-' + t.id + '.csv'); }
  }

  function chart(id, labels, series, opts) {
    var box = document.getElementById('chart-' + id);
    if (!box || !window.uPlot || labels.length === 0) return;
    box.textContent = '';
    var bars = opts && opts.bars;
    var xs = labels.map(function (_, i) { return i; });
    var u = {
      width: Math.min(box.clientWidth || 800, 900), height: 240,
      scales: { x: { time: false, range: bars ? [-0.5, labels.length - 0.5] : undefined } },
      axes: [{ values: function (_, ticks) { return ticks.map(function (t) { return Number.isInteger(t) && labels[t] !== undefined ? labels[t] : ''; }); } }, { label: opts && opts.unit }],
      series: [{ label: opts && opts.x }].concat(series.map(function (s, i) {
        return { label: s.label, stroke: COLORS[i % COLORS.length], fill: bars ? COLORS[i % COLORS.length] + '99' : undefined, width: 2,
          paths: bars ? uPlot.paths.bars({ size: [0.6 / series.length, 60], align: 0 }) : undefined, points: { show: !bars } };
      })),
    };
    new uPlot(u, [xs].concat(series.map(function (s) { return s.values; })), box);
  }

  function draw(d) {
    d.tables.forEach(renderTable);
    var cs = d.channel.steps;
    chart('channel-funnel', cs.map(function (s) { return s.step; }), [{ label: 'members', values: cs.map(function (s) { return s.members; }) }, { label: 'through every step', values: cs.map(function (s) { return s.through; }) }], { bars: true, x: 'step', unit: 'members' });
    var f = d.funnel.stages;
    chart('funnel', f.map(function (s) { return s.stage; }), [{ label: 'reached', values: f.map(function (s) { return s.reached; }) }, { label: 'now', values: f.map(function (s) { return s.now; }) }], { bars: true, x: 'stage', unit: 'members' });
    var maxK = Math.max.apply(null, [0].concat(d.retention.map(function (c) { return c.rates.length; })));
    var ks = []; for (var k = 0; k < maxK; k++) ks.push('week ' + k);
    chart('retention', ks, d.retention.slice(-8).map(function (c) { return { label: c.week, values: ks.map(function (_, k) { return k < c.rates.length ? Math.round(c.rates[k] * 1000) / 10 : null; }) }; }), { x: 'weeks after joining', unit: '% active' });
    chart('checkins', d.checkins.days, d.checkins.groups.map(function (g) { return { label: g.group, values: g.days.map(function (x) { return x.rate === null ? null : Math.round(x.rate * 1000) / 10; }) }; }), { x: 'day', unit: '% checked in' });
    chart('streaks', d.checkins.streaks.map(function (s) { return s.bucket; }), [{ label: 'members', values: d.checkins.streaks.map(function (s) { return s.members; }) }], { bars: true, x: 'days in a row', unit: 'members' });
    chart('sources', d.referrals.sources.map(function (s) { return s.source; }), [{ label: 'revenue', values: d.referrals.sources.map(function (s) { return s.revenue; }) }, { label: 'cost', values: d.referrals.sources.map(function (s) { return s.cost; }) }], { bars: true, x: 'source', unit: 'yuan' });
    status.textContent = 'Cohort: ' + d.funnel.cohort + ' members' + (d.filter.group ? ' in ' + d.filter.group : '') + '. Updated ' + new Date(d.generatedAt).toLocaleString() + '.';
    status.setAttribute('data-ready', '1');
  }

  function load() {
    fetch('/dashboard/api/stats' + qs, { cache: 'no-store', credentials: 'same-origin' }).then(function (r) {
      return r.json().then(function (b) { if (!r.ok) throw new Error(b.error || r.status); return b; });
    }).then(draw).catch(function (e) { status.textContent = 'Error: ' + e.message; status.className = 'error'; });
  }

  document.getElementById('cost').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var msg = document.getElementById('cost-msg');
    var yuan = document.getElementById('cost-yuan').value.trim();
    fetch('/dashboard/api/costs', { method: 'POST', headers: { 'content-type': 'application/json' }, credentials: 'same-origin',
      body: JSON.stringify({ source: document.getElementById('cost-source').value.trim(), yuan: yuan === '' ? null : yuan }) })
      .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw new Error(b.error); msg.textContent = 'saved'; load(); }); })
      .catch(function (e) { msg.textContent = e.message; });
  });
  load();
})();
`;

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
