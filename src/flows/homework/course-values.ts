import { DateTime } from 'luxon';
import type { CourseConfig } from '../../core/types.js';
import { timesFor } from './schedule.js';

const WEEKDAY = ['', '周一', '周二', '周三', '周四', '周五', '周六', '周日'];

/**
 * Homework deadlines templates and FAQ answers may name, so they are written once (kequn.yaml):
 * `{homework.week1.due}` → `3月22日（周日）22:00`, and `{homework.due}` → `每周日 22:00` when
 * every week's deadline falls on the same weekday and time (in every cohort, for weeks counted
 * from a cohort's start).
 */
export function homeworkValues(config: CourseConfig): Record<string, string> {
  const h = config.homework;
  if (!h) return {};
  const out: Record<string, string> = {};
  const shapes = new Set<string>();
  const shape = (at: number) => {
    const d = DateTime.fromMillis(at, { zone: h.timezone });
    shapes.add(`${WEEKDAY[d.weekday]} ${d.toFormat('HH:mm')}`);
    return d;
  };
  for (const a of h.assignments) {
    if (a.due.kind === 'at' && a.opens.kind === 'at') {
      const d = shape(a.due.at);
      out[`homework.week${a.week}.due`] = `${d.month}月${d.day}日（${WEEKDAY[d.weekday]}）${d.toFormat('HH:mm')}`;
      continue;
    }
    // Counted from each cohort's start: a week's date differs per cohort (no weekN value), the
    // weekday and time may still be the same for all.
    for (const c of config.cohorts) shape(timesFor(a, c, h.timezone)!.dueAt);
  }
  if (shapes.size === 1) out['homework.due'] = `每${[...shapes][0]!}`;
  return out;
}
