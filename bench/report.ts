export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

/** Prints results as a table. */
export function report(results: BenchResult[]): void {
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    const v = r.value >= 100 ? Math.round(r.value).toString() : r.value.toFixed(2);
    process.stdout.write(`${r.name.padEnd(width)}  ${v.padStart(10)} ${r.unit}${r.note ? `  (${r.note})` : ''}\n`);
  }
}
