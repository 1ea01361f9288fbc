/**
 * The dashboard's public types: the figures other features read through `ctx.services.metrics`
 * (the daily digest), so that what staff read in a message and on the dashboard agree. Types only.
 */
import type { CheckinStats, QaStats, Revenue } from './metrics.js';
import type { StatsFilter } from './stats-context.js';

export type { CheckinStats, QaStats, Revenue, StatsFilter };

/**
 * The dashboard's figures for a filter (a time range, a group), computed as the dashboard does
 * (staff left out), at `now`.
 *
 * @example ctx.services.metrics.revenue({ from: dayStart, to: dayEnd }, now).cny.net
 */
export interface MetricsService {
  revenue(f: StatsFilter, now: number): Revenue;
  checkins(f: StatsFilter, now: number): CheckinStats;
  qa(f: StatsFilter, now: number): QaStats;
  /** Member keys of the staff (config `staff` by platform id, and /grant): left out of every member figure. */
  staffIds(): string[];
}
