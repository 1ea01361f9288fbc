/**
 * Wall-clock arithmetic in a course's IANA time zone: quiet hours, "09:00 local" schedule times
 * and local day boundaries all go through here. Luxon reads an instant's local fields and offset.
 *
 * nextLocalTime stays our own on purpose: kequn's contract on the days clocks change (a time in
 * the skipped hour means the first instant past the gap, a repeated time is found at its first
 * occurrence, then at its second) is not what Luxon, date-fns-tz or Temporal do by default (they
 * shift a skipped 02:30 to 03:30 and pick one offset for a repeated time), so the search below
 * finds every instant showing the wanted wall time from the zone's offsets.
 */
import { DateTime } from 'luxon';

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function localParts(epochMs: number, timeZone: string): LocalParts {
  const d = DateTime.fromMillis(epochMs, { zone: timeZone });
  return { year: d.year, month: d.month, day: d.day, hour: d.hour, minute: d.minute, second: d.second };
}

/** Minutes since local midnight. */
export function localMinuteOfDay(epochMs: number, timeZone: string): number {
  const p = localParts(epochMs, timeZone);
  return p.hour * 60 + p.minute;
}

/** `YYYY-MM-DD` of the local day containing `epochMs`. */
export function localDate(epochMs: number, timeZone: string): string {
  return DateTime.fromMillis(epochMs, { zone: timeZone }).toISODate()!;
}

/** Offset of the zone from UTC at `epochMs`, in ms (positive east of Greenwich). */
export function zoneOffsetMs(epochMs: number, timeZone: string): number {
  return DateTime.fromMillis(epochMs, { zone: timeZone }).offset * 60_000;
}

/**
 * The first instant at or after `fromMs` whose local time of day is `minuteOfDay`.
 * A time repeated when clocks go back is found at its first occurrence (then its second); a
 * time skipped when clocks go forward resolves to the first instant past the gap.
 */
export function nextLocalTime(fromMs: number, minuteOfDay: number, timeZone: string): number {
  const p = localParts(fromMs, timeZone);
  for (let dayOffset = 0; dayOffset <= 2; dayOffset++) {
    // The wanted wall-clock time, read as if it were UTC.
    const wall = Date.UTC(p.year, p.month - 1, p.day + dayOffset, Math.floor(minuteOfDay / 60), minuteOfDay % 60);
    // The offsets in force half a day either side differ only on a day the clocks change. Each
    // one that really applies at its instant gives an instant showing that wall time: two in the
    // repeated hour of autumn, none in the skipped hour of spring.
    const before = zoneOffsetMs(wall - 12 * 3_600_000, timeZone);
    const after = zoneOffsetMs(wall + 12 * 3_600_000, timeZone);
    const valid = [...new Set([wall - before, wall - after])].filter((t) => zoneOffsetMs(t, timeZone) === wall - t).sort((a, b) => a - b);
    if (valid.length === 0) {
      // In the gap: find the change (to the minute) between the two readings of the wall time.
      let lo = wall - after; // still on the old offset
      let hi = wall - before; // already on the new one
      while (hi - lo > 60_000) {
        const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
        if (zoneOffsetMs(mid, timeZone) === before) lo = mid;
        else hi = mid;
      }
      valid.push(hi);
    }
    const t = valid.find((v) => v >= fromMs);
    if (t !== undefined) return t;
  }
  throw new Error('unreachable: no local time found within two days');
}

/** Parses `HH:MM` into minutes since midnight; throws on malformed input. */
export function parseTimeOfDay(text: string): number {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (!m) throw new Error(`invalid time of day "${text}" (use HH:MM, 24-hour)`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Whether a minute of day lies in the window [start, end), which may wrap past midnight. */
export function inWindow(minute: number, start: number, end: number): boolean {
  if (start === end) return false;
  return start < end ? minute >= start && minute < end : minute >= start || minute < end;
}

/** The instant of the last local midnight at or before `epochMs`. */
export function localDayStart(epochMs: number, timeZone: string): number {
  // Asked for every question (the daily answer quota), nearly always about the same day: the
  // day found last time is reused while `epochMs` lies within it (each zone lookup costs µs).
  const day = lastDay.get(timeZone);
  if (day && epochMs >= day.start && epochMs < day.end) return day.start;
  const minute = localMinuteOfDay(epochMs, timeZone);
  // Step back to just before today's midnight, then find that midnight going forward.
  const start = nextLocalTime(epochMs - (minute + 1) * 60_000, 0, timeZone);
  // Only a day with one offset throughout (and around it) is remembered: on a day the clocks
  // change, the answer for an instant depends on more than the day it falls in.
  const end = nextLocalTime(start + 60_000, 0, timeZone);
  const offset = zoneOffsetMs(start, timeZone);
  if ([start - 43_200_000, end, end + 43_200_000].every((t) => zoneOffsetMs(t, timeZone) === offset)) lastDay.set(timeZone, { start, end });
  else lastDay.delete(timeZone);
  return start;
}

const lastDay = new Map<string, { start: number; end: number }>();

/** `2026-03-05 20:00` in the course time zone. */
export function fmtLocal(epochMs: number, timeZone: string): string {
  const p = localParts(epochMs, timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}`;
}
