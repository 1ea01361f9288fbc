import { nextCronTime, type Cron } from '../../util/cron.js';
import { nextLocalTime } from '../../util/localtime.js';

/**
 * A recurring time from config, resolved at load: a local time of day or a cron expression, in
 * a time zone, with its grace window (how late a run missed during downtime may still go out).
 */
export interface Schedule {
  /** As written in config (`20:00`, `0 20 * * 1-5`), for logs and job notes. */
  label: string;
  timezone: string;
  grace: number;
  /** Minute of the local day, for `at:` schedules. */
  at?: number;
  cron?: Cron;
}

/** The first run strictly after `afterMs`. */
export function nextRun(s: Schedule, afterMs: number): number {
  if (s.cron) return nextCronTime(afterMs, s.cron, s.timezone);
  return nextLocalTime(afterMs + 1, s.at!, s.timezone);
}

/** Minutes of the day at which the schedule can run (for the quiet-hours check at load). */
export function runMinutes(s: Schedule): number[] {
  if (!s.cron) return [s.at!];
  return [...s.cron.hours].flatMap((h) => [...s.cron!.minutes].map((m) => h * 60 + m));
}
