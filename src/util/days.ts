/**
 * Calendar days as `YYYY-MM-DD` strings (a local date in the course time zone). Day arithmetic
 * is pure calendar arithmetic, so it is the same in every zone: daylight saving only matters when
 * an instant is mapped to its local date (`localDate`) or a local time to an instant (`localInstant`).
 */
import { DateTime } from 'luxon';
import { localDate, nextLocalTime } from './localtime.js';

/** A calendar day as a Luxon date at UTC midnight (UTC has no clock changes: days are 24 h). */
function utcDay(day: string): DateTime {
  return DateTime.fromISO(day, { zone: 'utc' });
}

/** The day `n` days after `day` (negative: before). */
export function addDays(day: string, n: number): string {
  return utcDay(day).plus({ days: n }).toISODate()!;
}

/** Whole days from `a` to `b` (positive when b is later). */
export function daysBetween(a: string, b: string): number {
  return Math.round(utcDay(b).diff(utcDay(a), 'days').days);
}

/** `YYYY-MM` of a day: make-up and leave allowances are per calendar month. */
export function monthOf(day: string): string {
  return day.slice(0, 7);
}

/** Whether `text` is a real calendar date written `YYYY-MM-DD`. */
export function isDay(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && utcDay(text).isValid;
}

/** `M月D日`, how a day is shown to members. */
export function showDay(day: string): string {
  const [, m, d] = day.split('-').map(Number);
  return `${m}月${d}日`;
}

/**
 * The instant at which the local wall clock in `timeZone` shows `day` at `minuteOfDay`
 * (a time skipped by a spring-forward change resolves to just after the gap).
 */
export function localInstant(day: string, minuteOfDay: number, timeZone: string): number {
  // Start the search a day early: no zone is more than 14 h off UTC.
  const from = utcDay(day).minus({ days: 1 }).toMillis();
  let t = nextLocalTime(from, minuteOfDay, timeZone);
  while (localDate(t, timeZone) < day) t = nextLocalTime(t + 60_000, minuteOfDay, timeZone);
  return t;
}

/** Parses `YYYY-MM-DD HH:MM` (local time) into its day and minute of day; undefined if malformed. */
export function parseLocalDateTime(text: string): { day: string; minute: number } | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})[ T]([01]\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (!m || !isDay(m[1]!)) return undefined;
  return { day: m[1]!, minute: Number(m[2]) * 60 + Number(m[3]) };
}
