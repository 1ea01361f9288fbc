import { DateTime } from 'luxon';
import type { CourseConfig } from '../../core/types.js';

const WEEKDAY = ['', '周一', '周二', '周三', '周四', '周五', '周六', '周日'];

/**
 * Homework deadlines templates and FAQ answers may name, so they are written once (kequn.yaml):
 * `{homework.week1.due}` → `3月22日（周日）22:00`, and `{homework.due}` → `每周日 22:00` when
 * every week's deadline falls on the same weekday and time.
 */
export function homeworkValues(config: CourseConfig): Record<string, string> {
  const h = config.homework;
  if (!h) return {};
  const out: Record<string, string> = {};
  const shapes = new Set<string>();
  for (const a of h.assignments) {
    const d = DateTime.fromMillis(a.dueAt, { zone: h.timezone });
    const time = d.toFormat('HH:mm');
    out[`homework.week${a.week}.due`] = `${d.month}月${d.day}日（${WEEKDAY[d.weekday]}）${time}`;
    shapes.add(`${WEEKDAY[d.weekday]} ${time}`);
  }
  if (shapes.size === 1) out['homework.due'] = `每${[...shapes][0]!}`;
  return out;
}
