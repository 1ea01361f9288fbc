/**
 * The dashboard as tables: the page shows one under each chart, `kequn stats` prints them, and
 * each one downloads as CSV. Cells are plain strings and numbers (rates as percentages).
 */
export interface StatsTable {
  id: string;
  title: string;
  columns: string[];
  rows: (string | number | null)[][];
}
