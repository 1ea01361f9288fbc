import { dialectOf, type Db } from '../../../store/db.js';

/**
 * The few pieces of the dashboard's SQL that cannot be the same text on SQLite and PostgreSQL:
 * reading a JSON parameter or column, and the day number of a YYYY-MM-DD text. Everything else in
 * src/store/dashboard*.ts is portable (integer-ms arithmetic for days and weeks, CASE instead of
 * summing booleans). On SQLite the text is exactly what it was before the port, so its plans are
 * unchanged.
 */

/** Rows (value) of the JSON array of strings in parameter @name. */
export function jsonArrayValuesSql(db: Db, name: string): string {
  return dialectOf(db) === 'postgres' ? `SELECT jsonb_array_elements_text(CAST(@${name} AS jsonb)) AS value` : `SELECT value FROM json_each(@${name})`;
}

/** Rows (key, value) of the JSON object of numbers in parameter @name; value as an integer. */
export function jsonObjectIntEntriesSql(db: Db, name: string): string {
  return dialectOf(db) === 'postgres'
    ? `SELECT e.key AS key, CAST(e.value AS BIGINT) AS value FROM jsonb_each_text(CAST(@${name} AS jsonb)) e`
    : `SELECT key, value FROM json_each(@${name})`;
}

/**
 * The elements of a JSON array column, as a FROM item named `alias` (in the FROM list after the
 * table holding `col`), and how to read a text / integer field of each element.
 */
export function jsonArrayColumn(db: Db, col: string, alias: string): { from: string; text: (field: string) => string; int: (field: string) => string } {
  if (dialectOf(db) === 'postgres') {
    return {
      from: `jsonb_array_elements(CAST(${col} AS jsonb)) ${alias}(value)`,
      text: (field) => `(${alias}.value ->> '${field}')`,
      int: (field) => `CAST(${alias}.value ->> '${field}' AS BIGINT)`,
    };
  }
  return { from: `json_each(${col}) ${alias}`, text: (field) => `json_extract(${alias}.value, '$.${field}')`, int: (field) => `json_extract(${alias}.value, '$.${field}')` };
}

/** Days since 1970-01-01 of a YYYY-MM-DD text column, as an integer. */
export function dayNumberSql(db: Db, col: string): string {
  return dialectOf(db) === 'postgres' ? `(CAST(${col} AS DATE) - DATE '1970-01-01')` : `CAST(julianday(${col}) - 2440587.5 AS INTEGER)`;
}

/**
 * "The member in `col` has (or had) a membership in group @group", or true without a group filter
 * (@group NULL). SQLite: one text for both, tested per row. PostgreSQL: the OR keeps its planner
 * from turning the EXISTS into a semi-join (it hashes every membership of the group per query
 * instead, ~2× slower over the group everyone is in), so there each case gets its own text.
 */
export function inGroupSql(db: Db, group: string | null, col: string): string {
  const exists = `EXISTS (SELECT 1 FROM memberships g WHERE g.member_id = ${col} AND g.group_id = @group)`;
  if (dialectOf(db) !== 'postgres') return `(CAST(@group AS TEXT) IS NULL OR ${exists})`;
  return group === null ? 'TRUE' : exists;
}

/**
 * "The member in `col` is in cohort @cohort by membership" (the 期 filter: `cohort_members`, the
 * cohorts feature's table, as the cohort conversion table reads it), or true without one (@cohort
 * NULL). `IN (…)`, not a correlated EXISTS: `col` may be an unqualified member_id.
 */
export function inCohortSql(db: Db, cohort: string | null, col: string): string {
  const inIt = `${col} IN (SELECT cm.member_id FROM cohort_members cm WHERE cm.cohort_id = @cohort)`;
  if (dialectOf(db) !== 'postgres') return `(CAST(@cohort AS TEXT) IS NULL OR ${inIt})`;
  return cohort === null ? 'TRUE' : inIt;
}

/**
 * "Membership `g` covers the local day in `dayCol`" (YYYY-MM-DD): joined before the day ended and
 * not left before it began (@off: the course zone's UTC offset). The check-in figures count a
 * check-in for a group only under this, and the group's members of a day are those it holds for,
 * so a day's check-ins are always among its members (never "1 check-in / 0 members").
 */
export function coversDaySql(db: Db, g: string, dayCol: string): string {
  const start = `(CAST(${dayNumberSql(db, dayCol)} AS BIGINT) * 86400000 - @off)`;
  return `${g}.joined_at < ${start} + 86400000 AND (${g}.left_at IS NULL OR ${g}.left_at >= ${start})`;
}

/**
 * "The member in `col` was not found already in a group" (src/flows/import): people who were in
 * the seller's groups before kequn are not arrivals, so no cohort holds them. Their check-ins,
 * orders and questions count everywhere else.
 */
export function notImported(col: string): string {
  // NOT IN, not a correlated NOT EXISTS: `col` may be an unqualified member_id, which inside the
  // subquery would name member_imports' own column.
  return `${col} NOT IN (SELECT imp.member_id FROM member_imports imp)`;
}
