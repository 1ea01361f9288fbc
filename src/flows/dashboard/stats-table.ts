/**
 * The dashboard as tables: the page shows one under each chart, `kequn stats` prints them, and
 * each one downloads as CSV. Cells are plain strings and numbers (rates as percentages); titles,
 * columns and labels in the course's locale (i18n.ts).
 */
export interface StatsTable {
  id: string;
  title: string;
  columns: string[];
  rows: (string | number | null)[][];
}
