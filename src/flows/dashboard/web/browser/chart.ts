/**
 * The dashboard's charts (uPlot, loaded by the page before this script as /dashboard/assets/uplot.js:
 * only its types come from the package). Charts people can read: counts on an axis from 0 with
 * whole-number ticks, rates on a fixed 0–100 % axis, category and date labels thinned (or turned)
 * so they never overlap, and a series of one point drawn as a bar, not a lone dot. The caller
 * redraws them to the width of their box when the window changes (a phone is 390 px wide).
 */
import type uPlotType from 'uplot';
import { el } from './dom.js';

type UPlot = typeof uPlotType;

export interface Series {
  label: string;
  values: (number | null)[];
}

export interface ChartOptions {
  /** 'count': from 0 with whole numbers; 'pct': 0–100 %; 'money': from 0 */
  kind: 'count' | 'pct' | 'money';
  /** bars rather than lines (lines become bars anyway when there is a single point) */
  bars?: boolean;
  /** the x axis' name */
  x: string;
  /** the y axis' unit */
  unit: string;
  /** what to say when there is nothing to draw */
  empty: string;
}

const COLORS = ['#2b7bb9', '#d9822b', '#2ca05a', '#c23b3b', '#7a4fb5', '#8c6d3f', '#d65fa8', '#555'];
const COUNT_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000, 100000, 200000, 500000, 1000000];
const PCT_INCRS = [10, 20, 25, 50, 100];
/** Steps between date labels uPlot may pick: every day, 2nd, 3rd, 5th, week, fortnight… */
const DAY_INCRS = [1, 2, 3, 5, 7, 10, 14, 15, 20, 28, 30, 50, 100];
/** Up to this many labels each get theirs (stages, sources); more (days, weeks) are thinned. */
const MAX_CATEGORIES = 16;

/** Width of a label in CSS pixels at 12 px (CJK characters are about twice as wide as Latin). */
export function textWidth(s: string): number {
  let w = 0;
  for (let i = 0; i < s.length; i++) w += s.charCodeAt(i) > 0x2e80 ? 12 : 6.5;
  return w;
}

/** The smallest "nice" whole number at or above n (and at least 1): the top of a count axis. */
export function niceCeil(n: number): number {
  if (!(n > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log(n) / Math.LN10));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * p >= n) return Math.max(1, Math.ceil(step * p));
  return Math.ceil(n);
}

/** The y axis' range: rates always 0–100, counts and money from 0 to a nice whole number. */
export function yRange(kind: ChartOptions['kind'], max: number): [number, number] {
  return kind === 'pct' ? [0, 100] : [0, niceCeil(max)];
}

/** The charts drawn so far, destroyed before the page is drawn again. */
const drawn: uPlotType[] = [];

export function destroyCharts(): void {
  for (const p of drawn.splice(0)) p.destroy();
}

/** Draws a chart into #chart-<id>, or says there is no data when every value is missing. */
export function chart(id: string, labels: string[], series: Series[], opts: ChartOptions): void {
  const box = document.getElementById(`chart-${id}`);
  const uPlot = (window as unknown as { uPlot?: UPlot }).uPlot;
  if (!box || !uPlot) return;
  box.textContent = '';
  const values: number[] = [];
  for (const s of series) for (const v of s.values) if (v !== null && v !== undefined) values.push(v);
  if (labels.length === 0 || values.length === 0) {
    box.appendChild(el('p', opts.empty, 'empty'));
    return;
  }
  const bars = opts.bars === true || labels.length === 1;
  const width = Math.max(260, Math.min(box.clientWidth || 800, 900));
  const kind = opts.kind;
  const range = yRange(kind, Math.max(...values));
  // x labels never overlap: a few categories (stages, sources) each get theirs, turned when
  // narrower than it; many (days, weeks) are thinned to every 2nd, 7th… by uPlot (space).
  const category = labels.length <= MAX_CATEGORIES;
  const per = (width - 100) / labels.length;
  const widest = Math.max(...labels.map((l) => textWidth(String(l))));
  const turn = category && per < widest + 6;
  const xAxis: uPlotType.Axis = {
    splits: category ? () => labels.map((_, i) => i) : undefined,
    incrs: category ? undefined : DAY_INCRS,
    space: category ? 1 : widest + 14,
    rotate: turn ? -40 : 0,
    size: turn ? Math.min(120, Math.round(widest * 0.75) + 24) : 36,
    label: opts.x,
    values: (_self, ticks) => ticks.map((t) => (Number.isInteger(t) && labels[t] !== undefined ? labels[t]! : '')),
  };
  const yAxis: uPlotType.Axis = {
    label: opts.unit,
    incrs: kind === 'pct' ? PCT_INCRS : COUNT_INCRS,
    space: 28,
    size: 56,
    values: (_self, ticks) => ticks.map((t) => (kind === 'pct' ? `${t}%` : String(t))),
  };
  // Several series share a category: each narrower than the one before, drawn over it.
  const barSizes = [0.7, 0.4, 0.25];
  const u: uPlotType.Options = {
    width,
    height: 240,
    scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range } },
    axes: [xAxis, yAxis],
    series: [
      { label: opts.x, value: (_self, i: number | null) => (i === null || labels[i] === undefined ? '' : labels[i]!) },
      ...series.map((s, i): uPlotType.Series => {
        const color = COLORS[i % COLORS.length]!;
        return {
          label: s.label,
          stroke: color,
          fill: bars ? `${color}99` : undefined,
          width: 2,
          value: (_self, v: number | null) => (v === null || v === undefined ? '–' : kind === 'pct' ? `${v}%` : String(v)),
          paths: bars ? uPlot.paths.bars!({ size: [barSizes[i] ?? 0.2, 80], align: 0 }) : undefined,
          points: { show: !bars, size: 6 },
        };
      }),
    ],
  };
  const data = [labels.map((_, i) => i), ...series.map((s) => s.values)] as uPlotType.AlignedData;
  const plot = new uPlot(u, data, box);
  plot.root.setAttribute('data-chart', id);
  plot.root.setAttribute('data-y-range', range.join(','));
  plot.root.setAttribute('data-kind', bars ? 'bars' : 'lines');
  drawn.push(plot);
}
