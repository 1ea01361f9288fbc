/**
 * Streak arithmetic on local days, kept pure so the day boundaries can be tested on their own.
 * A streak is the run of counted days (check-ins and make-ups) ending today or yesterday; leave
 * days inside the run neither count nor break it; today not checked in yet breaks nothing.
 */
import { addDays, daysBetween, localInstant } from '../../util/days.js';
import type { CheckinDay, CheckinKind } from './store.js';

/** The longest run we look back over: a course-long streak, bounded so a query stays small. */
export const STREAK_LOOKBACK_DAYS = 400;

export function streakOf(records: readonly CheckinDay[], today: string): number {
  const byDay = new Map<string, CheckinKind>(records.map((r) => [r.day, r.kind]));
  let streak = 0;
  const todayKind = byDay.get(today);
  if (todayKind === 'checkin' || todayKind === 'makeup') streak++;
  const oldest = addDays(today, -STREAK_LOOKBACK_DAYS);
  for (let d = addDays(today, -1); d >= oldest; d = addDays(d, -1)) {
    const kind = byDay.get(d);
    if (kind === undefined) break;
    if (kind !== 'leave') streak++;
  }
  return streak;
}

/**
 * Consecutive days before today with no record at all (no check-in, make-up or leave), counted
 * back from yesterday to the last recorded day, or to the day the member joined.
 */
export function missedDays(lastRecordedDay: string | undefined, joinedDay: string, today: string): number {
  // Days since the day after the last record, or since joining, whichever is fewer (a record
  // from before the join day, say a rejoin, does not stretch the run back).
  const sinceRecord = lastRecordedDay === undefined ? Infinity : daysBetween(lastRecordedDay, today) - 1;
  return Math.max(0, Math.min(sinceRecord, daysBetween(joinedDay, today)));
}

/** The instants bounding the local day a member must have gone silent on to be nudged today. */
export interface NudgeWindow {
  /** The first missed day of a run that reaches `n` days today (today - n). */
  target: string;
  /** Local midnight starting `target`, and the one after it. */
  startMs: number;
  endMs: number;
}

export function nudgeWindow(today: string, n: number, timeZone: string): NudgeWindow {
  const target = addDays(today, -n);
  return { target, startMs: localInstant(target, 0, timeZone), endMs: localInstant(addDays(target, 1), 0, timeZone) };
}

/**
 * `missedDays(last, localDate(joinedAt), today) === n`, without a time-zone conversion per
 * member (the reminder asks this for every member who has not checked in; Intl is slow):
 * the run of missed days must start exactly on `w.target`.
 */
export function reachesNudge(lastRecordedDay: string | undefined, joinedAtMs: number, w: NudgeWindow): boolean {
  // Stryker disable next-line ConditionalExpression: entering without a record changes nothing (undefined is never >= a day, and the day after it is no day); skipping with a record fails the tests
  if (lastRecordedDay !== undefined) {
    if (lastRecordedDay >= w.target) return false;
    if (addDays(lastRecordedDay, 1) === w.target) return joinedAtMs < w.endMs;
  }
  return joinedAtMs >= w.startMs && joinedAtMs < w.endMs;
}
