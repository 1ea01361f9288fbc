/**
 * Five-field cron expressions (`minute hour day-of-month month day-of-week`) evaluated in an IANA
 * time zone, from any instant: the persisted scheduler needs "the next run after T", which
 * node-cron only computes from now. croner does the work; this file keeps kequn's contract:
 * exactly five fields, errors that name the field, "never runs" as an error, and the minutes of
 * the day a schedule can fire at (for the quiet-hours check at load).
 *
 * Day of week 0 or 7 is Sunday. As in Vixie cron, when both day fields are restricted a day
 * matching either runs (croner's default, domAndDow: false).
 *
 * @example nextCronTime(Date.parse('2026-03-02T00:00:00Z'), parseCron('0 20 * * 1-5'), 'Asia/Shanghai')
 */
import { CronPattern, Cron as Croner } from 'croner';

export interface Cron {
  source: string;
  /** Hours (0-23) and minutes (0-59) at which it can run. */
  hours: Set<number>;
  minutes: Set<number>;
}

/** croner reads five fields as six with seconds 0 in front, and numbers its entries from there. */
const FIELD_OF_ENTRY = ['second', 'minute', 'hour', 'day of month', 'month', 'day of week'];

/** Parses a five-field cron expression; throws an Error naming the bad field. */
export function parseCron(source: string): Cron {
  const parts = source.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`a cron expression has 5 fields (minute hour day month weekday), got ${parts.length}`);
  let p: CronPattern;
  try {
    p = new CronPattern(parts.join(' '), undefined, { mode: '5-part' });
  } catch (e) {
    const msg = (e as Error).message.replace(/^CronPattern: /, '');
    const entry = /configuration entry (\d)/.exec(msg);
    throw new Error(entry ? `cron ${FIELD_OF_ENTRY[Number(entry[1])]} field: ${msg}` : `cron: ${msg}`);
  }
  const on = (flags: number[]) => new Set(flags.flatMap((f, i) => (f ? [i] : [])));
  return { source: parts.join(' '), hours: on(p.hour), minutes: on(p.minute) };
}

/** The first run strictly after `afterMs`, in `timeZone`; throws if it never runs. */
export function nextCronTime(afterMs: number, cron: Cron, timeZone: string): number {
  const next = new Croner(cron.source, { mode: '5-part', timezone: timeZone, paused: true }).nextRun(new Date(afterMs));
  if (!next) throw new Error(`cron "${cron.source}" never runs`);
  return next.getTime();
}
