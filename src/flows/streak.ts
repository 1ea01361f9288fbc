/**
 * Streak arithmetic on local days, kept pure so the day boundaries can be tested on their own.
 * A streak is the run of counted days (check-ins and make-ups) ending today or yesterday; leave
 * days inside the run neither count nor break it; today not checked in yet breaks nothing.
 */
import { addDays, daysBetween } from '../util/days.js';
import type { CheckinDay, CheckinKind } from '../store/checkins.js';

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
  const from = lastRecordedDay !== undefined && lastRecordedDay >= joinedDay ? addDays(lastRecordedDay, 1) : joinedDay;
  return Math.max(0, daysBetween(from, today));
}
