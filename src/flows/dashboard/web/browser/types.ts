/**
 * The JSON the dashboard page reads from /dashboard/api/stats (src/flows/dashboard/web/dashboard.ts:
 * the figures of metrics.ts plus their tables): only what the script uses.
 * test/unit/browser-assets.test.ts checks at type level that the server's result fits.
 */

export interface StatsTable {
  id: string;
  columns: string[];
  rows: (string | number | null)[][];
}

export interface DashboardStats {
  filter: { group: string | null };
  generatedAt: number;
  tables: StatsTable[];
  channel: { steps: { step: string; members: number; through: number }[] };
  funnel: { cohort: number; stages: { stage: string; reached: number; now: number }[] };
  retention: { week: string; rates: number[] }[];
  checkins: { days: string[]; groups: { group: string; days: { rate: number | null }[] }[]; streaks: { bucket: string; members: number }[] };
  referrals: { sources: { source: string; revenue: number; cost: number | null }[] };
}
