import { el } from './dom.js';
import type { StatsTable } from './types.js';

/**
 * Draws a section's table into #table-<id> and points its CSV link (#csv-<id>) at the export of
 * the same table with the page's filter (query string). Numbers are right-aligned; a missing value
 * is "–"; an empty table says so in the course's words.
 */
export function renderTable(t: StatsTable, noData: string, query: string): void {
  const box = document.getElementById(`table-${t.id}`);
  if (!box) return;
  box.textContent = '';
  const table = el('table');
  table.setAttribute('data-table', t.id);
  const head = el('tr');
  for (const c of t.columns) head.appendChild(el('th', c));
  table.appendChild(el('thead')).appendChild(head);
  const body = el('tbody');
  for (const r of t.rows) {
    const tr = el('tr');
    r.forEach((v, i) => {
      const td = el('td', v === null ? '–' : v, typeof v === 'number' ? 'num' : '');
      td.setAttribute('data-col', t.columns[i] ?? '');
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }
  if (t.rows.length === 0) {
    const tr = el('tr');
    const td = el('td', noData, 'empty');
    td.colSpan = t.columns.length;
    tr.appendChild(td);
    body.appendChild(tr);
  }
  table.appendChild(body);
  box.appendChild(table);
  const a = document.getElementById(`csv-${t.id}`);
  if (a) {
    a.setAttribute('href', `/dashboard/api/export/${t.id}.csv${query}`);
    a.setAttribute('download', `kequn-${t.id}.csv`);
  }
}
