export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** what the figure is compared with, measured in the same run on the same machine */
  baseline?: string;
  baseline_value?: number;
  /** value / baseline_value (or the inverse for latencies, so higher is better: see note) */
  ratio?: number;
  /** the target, e.g. "ratio >= 0.5"; `met` says whether this run met it */
  target?: string;
  met?: boolean;
  note?: string;
}

/** NaN: a row that was skipped or failed (its note says why). */
const fmt = (v: number) => (Number.isNaN(v) ? '—' : v >= 100 ? Math.round(v).toString() : v >= 1 ? v.toFixed(2) : v.toFixed(3));

/** Prints results as a table. */
export function report(results: BenchResult[]): void {
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    const parts = [`${r.name.padEnd(width)}  ${fmt(r.value).padStart(10)} ${r.unit}`];
    if (r.baseline !== undefined && r.baseline_value !== undefined) parts.push(`vs ${r.baseline} ${fmt(r.baseline_value)} (ratio ${r.ratio?.toFixed(2)})`);
    if (r.target) parts.push(`target ${r.target}: ${r.met ? 'met' : 'MISSED'}`);
    if (r.note) parts.push(`(${r.note})`);
    process.stdout.write(parts.join('  ') + '\n');
  }
}

/** Percentile of an already sorted array. */
export function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
