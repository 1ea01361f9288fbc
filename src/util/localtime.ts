/**
 * Wall-clock arithmetic in a course's IANA time zone, without a date library: quiet hours,
 * "09:00 local" schedule times and local day boundaries all go through here.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function localParts(epochMs: number, timeZone: string): LocalParts {
  const out: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(epochMs))) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return out as unknown as LocalParts;
}

/** Minutes since local midnight. */
export function localMinuteOfDay(epochMs: number, timeZone: string): number {
  const p = localParts(epochMs, timeZone);
  return p.hour * 60 + p.minute;
}

/** `YYYY-MM-DD` of the local day containing `epochMs`. */
export function localDate(epochMs: number, timeZone: string): string {
  const p = localParts(epochMs, timeZone);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** Offset of the zone from UTC at `epochMs`, in ms (positive east of Greenwich). */
export function zoneOffsetMs(epochMs: number, timeZone: string): number {
  const p = localParts(epochMs, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(epochMs / 1000) * 1000;
}

/**
 * The first instant at or after `fromMs` whose local time of day is `minuteOfDay`.
 * Handles DST gaps by taking the first instant past the gap.
 */
export function nextLocalTime(fromMs: number, minuteOfDay: number, timeZone: string): number {
  const p = localParts(fromMs, timeZone);
  for (let dayOffset = 0; dayOffset <= 2; dayOffset++) {
    const guessUtc = Date.UTC(p.year, p.month - 1, p.day + dayOffset, Math.floor(minuteOfDay / 60), minuteOfDay % 60);
    // Two passes converge on the right offset even across a DST change.
    let t = guessUtc - zoneOffsetMs(guessUtc, timeZone);
    t = guessUtc - zoneOffsetMs(t, timeZone);
    if (t >= fromMs) return t;
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
