/**
 * When a timeline entry runs, relative to a cohort's start day (pure: no clock, no store).
 *
 * @example
 * parseWhen('-1d 20:00')                         // the day before the start, 20:00
 * parseWhen('0d 09:00')                          // the start day, 09:00
 * parseWhen('+56d 10:00')                        // 56 days after the start day
 * parseWhen('every tue,thu 19:30 until end')     // from the start day until the cohort's end
 * parseWhen('every mon 08:30 from +7d until +27d')
 */
import { localInstant } from '../../util/days.js';
import { parseTimeOfDay, zoneOffsetMs } from '../../util/localtime.js';

/** A time of a timeline entry, parsed. Days are offsets from the cohort's start day. */
export type When =
  | { kind: 'once'; day: number; minute: number }
  | {
      kind: 'every';
      /** ISO weekdays, 1 = Monday … 7 = Sunday, ascending. */
      weekdays: number[];
      minute: number;
      /** First day offset (inclusive); default 0, the start day. */
      from: number;
      /** Last day offset (inclusive), or the cohort's end (occurrences before its end instant). */
      until: number | 'end';
    };

const WEEKDAYS: Record<string, number> = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };
const WEEKDAY_ZH = ['', '一', '二', '三', '四', '五', '六', '日'];
/** A cohort is at most 104 weeks; an offset far outside it is a typo. */
const MAX_DAYS = 800;

/** A day offset: `0d`, `+56d`, `-1d`. */
function parseOffset(text: string): number {
  const m = /^([+-]?)(\d{1,4})d$/.exec(text);
  if (!m) throw new Error(`invalid day offset "${text}" (use -1d, 0d, +56d: days from the cohort's start day)`);
  const n = Number(m[2]) * (m[1] === '-' ? -1 : 1);
  if (Math.abs(n) > MAX_DAYS) throw new Error(`day offset "${text}" is more than ${MAX_DAYS} days from the start`);
  return n;
}

function parseClock(text: string | undefined): number {
  if (text === undefined) throw new Error('missing the time of day (HH:MM, 24-hour, 00:00–23:59)');
  if (!/^\d{1,2}:\d{2}$/.test(text)) throw new Error(`invalid time of day "${text}" (use HH:MM, 24-hour, 00:00–23:59)`);
  try {
    return parseTimeOfDay(text);
  } catch {
    throw new Error(`invalid time of day "${text}" (use HH:MM, 24-hour, 00:00–23:59)`);
  }
}

/** Parses an entry's `when:`; throws an Error whose message says what is wrong and how to write it. */
export function parseWhen(text: string): When {
  const words = text.trim().split(/\s+/);
  if (words[0] !== 'every') {
    if (words.length !== 2) throw new Error(`expected "<day offset> HH:MM" such as "-1d 20:00", or "every tue,thu 19:30 until end" (got "${text}")`);
    return { kind: 'once', day: parseOffset(words[0]!), minute: parseClock(words[1]) };
  }
  const days = words[1];
  if (days === undefined) throw new Error('"every" needs weekdays: every tue,thu 19:30 (mon tue wed thu fri sat sun, or daily)');
  const weekdays =
    days === 'daily'
      ? [1, 2, 3, 4, 5, 6, 7]
      : days.split(',').map((d) => {
          const n = WEEKDAYS[d.toLowerCase()];
          if (n === undefined) throw new Error(`unknown weekday "${d}" (mon tue wed thu fri sat sun, or daily)`);
          return n;
        });
  const minute = parseClock(words[2]);
  let from = 0;
  let until: number | 'end' = 'end';
  const seen = new Set<string>();
  for (let i = 3; i < words.length; i += 2) {
    const key = words[i]!;
    const value = words[i + 1];
    if ((key !== 'from' && key !== 'until') || value === undefined) throw new Error(`expected "from <offset>" or "until <offset>|end" after the time (got "${words.slice(i).join(' ')}")`);
    if (seen.has(key)) throw new Error(`"${key}" given twice`);
    seen.add(key);
    if (key === 'from') from = parseOffset(value);
    else until = value === 'end' ? 'end' : parseOffset(value);
  }
  if (until !== 'end' && until < from) throw new Error(`"until ${until}d" is before "from ${from}d"`);
  return { kind: 'every', weekdays: [...new Set(weekdays)].sort((a, b) => a - b), minute, from, until };
}

/** One occurrence of an entry for a cohort: when, and its identity (`once`, or the local day). */
export interface Occurrence {
  at: number;
  /** `once` for a one-off entry (moving it does not make it a new message), else the local day. */
  id: string;
  /** The local day it falls on. */
  day: string;
}

const DAY_MS = 86_400_000;

/** A `YYYY-MM-DD` day as UTC midnight: calendar arithmetic without a zone (days are 24 h in UTC). */
function utcMidnight(day: string): number {
  const [y, m, d] = day.split('-').map(Number);
  return Date.UTC(y!, m! - 1, d!);
}

const dayOf = (utc: number) => new Date(utc).toISOString().slice(0, 10);

/**
 * The instant `day` shows `minute` in `zone`. The offset half a day either side is the same on
 * every day but those the clocks change: then it is that offset (two zone lookups); on those
 * days, localInstant's search (a skipped time resolves past the gap, a repeated one to its first).
 */
function localAt(day: string, minute: number, zone: string): number {
  const wall = utcMidnight(day) + minute * 60_000;
  const before = zoneOffsetMs(wall - DAY_MS / 2, zone);
  return before === zoneOffsetMs(wall + DAY_MS / 2, zone) ? wall - before : localInstant(day, minute, zone);
}

/** ISO weekday (1 = Monday) of a `YYYY-MM-DD` day. */
function weekdayOf(day: string): number {
  return ((new Date(utcMidnight(day)).getUTCDay() + 6) % 7) + 1;
}

/**
 * Every occurrence of `w` for a cohort starting on `startDay` (and ending at `endAt`, for
 * `until end`), in time order, in `zone`.
 */
export function occurrences(w: When, cohort: { startDay: string; endAt: number }, zone: string): Occurrence[] {
  const start = utcMidnight(cohort.startDay);
  if (w.kind === 'once') {
    const day = dayOf(start + w.day * DAY_MS);
    return [{ at: localAt(day, w.minute, zone), id: 'once', day }];
  }
  const out: Occurrence[] = [];
  const last = w.until === 'end' ? MAX_DAYS : w.until;
  const startWeekday = weekdayOf(cohort.startDay);
  for (let n = w.from; n <= last; n++) {
    // Weekday of day n, without a Date: Monday = 1.
    if (!w.weekdays.includes(((((startWeekday - 1 + n) % 7) + 7) % 7) + 1)) continue;
    const day = dayOf(start + n * DAY_MS);
    const at = localAt(day, w.minute, zone);
    if (w.until === 'end' && at >= cohort.endAt) break;
    out.push({ at, id: day, day });
  }
  return out;
}

const hhmm = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

/** How a member reads an entry's time: `每周二、周四 19:30`, `开营前 1 天 20:00`, `开营当天 09:00`. */
export function describeWhen(w: When): string {
  if (w.kind === 'every') {
    const days = w.weekdays.length === 7 ? '每天' : `每${w.weekdays.map((d) => `周${WEEKDAY_ZH[d]}`).join('、')}`;
    return `${days} ${hhmm(w.minute)}`;
  }
  const day = w.day === 0 ? '开营当天' : w.day < 0 ? `开营前 ${-w.day} 天` : `开营后第 ${w.day} 天`;
  return `${day} ${hhmm(w.minute)}`;
}

/** `周二` for a local day. */
export function weekdayName(day: string): string {
  return `周${WEEKDAY_ZH[weekdayOf(day)]}`;
}
