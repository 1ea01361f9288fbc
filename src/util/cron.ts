/**
 * Five-field cron expressions (`minute hour day-of-month month day-of-week`) evaluated in an IANA
 * time zone, from any instant: the persisted scheduler needs "the next run after T", which
 * node-cron only computes from now.
 *
 * Supported per field: `*`, numbers, ranges `a-b`, lists `a,b`, steps `*\/n` and `a-b/n`.
 * Day of week 0 or 7 is Sunday. As in Vixie cron, when both day fields are restricted a day
 * matching either runs.
 *
 * @example nextCronTime(Date.parse('2026-03-02T00:00:00Z'), parseCron('0 20 * * 1-5'), 'Asia/Shanghai')
 */
import { addDays, localInstant } from './days.js';
import { localDate, localMinuteOfDay } from './localtime.js';

export interface Cron {
  source: string;
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number>;
  months: Set<number>;
  daysOfWeek: Set<number>;
  domAny: boolean;
  dowAny: boolean;
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

function parseField(text: string, f: (typeof FIELDS)[number]): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`cron ${f.name} field: cannot read "${part}"`);
    const lo = m[1] === '*' ? f.min : Number(m[2]);
    const hi = m[1] === '*' ? f.max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? f.max : lo;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (lo < f.min || hi > f.max || lo > hi || step < 1) throw new Error(`cron ${f.name} field: "${part}" is outside ${f.min}-${f.max}`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Parses a five-field cron expression; throws an Error naming the bad field. */
export function parseCron(source: string): Cron {
  const parts = source.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`a cron expression has 5 fields (minute hour day month weekday), got ${parts.length}`);
  const [mi, h, dom, mon, dow] = parts.map((p, i) => parseField(p, FIELDS[i]!));
  if (dow!.has(7)) dow!.add(0);
  return { source, minutes: mi!, hours: h!, daysOfMonth: dom!, months: mon!, daysOfWeek: dow!, domAny: parts[2] === '*', dowAny: parts[4] === '*' };
}

function dayMatches(cron: Cron, day: string): boolean {
  const [y, m, d] = day.split('-').map(Number);
  if (!cron.months.has(m!)) return false;
  const dow = new Date(Date.UTC(y!, m! - 1, d!)).getUTCDay();
  const domOk = cron.daysOfMonth.has(d!);
  const dowOk = cron.daysOfWeek.has(dow);
  if (cron.domAny || cron.dowAny) return domOk && dowOk;
  return domOk || dowOk;
}

/** The first run strictly after `afterMs`, in `timeZone`; throws if none within 5 years. */
export function nextCronTime(afterMs: number, cron: Cron, timeZone: string): number {
  const times = [...cron.hours].flatMap((h) => [...cron.minutes].map((m) => h * 60 + m)).sort((a, b) => a - b);
  let day = localDate(afterMs, timeZone);
  const fromMinute = localMinuteOfDay(afterMs, timeZone);
  for (let i = 0; i < 366 * 5; i++, day = addDays(day, 1)) {
    if (!dayMatches(cron, day)) continue;
    for (const minute of times) {
      if (i === 0 && minute < fromMinute) continue;
      const t = localInstant(day, minute, timeZone);
      if (t > afterMs) return t;
    }
  }
  throw new Error(`cron "${cron.source}" never runs`);
}
