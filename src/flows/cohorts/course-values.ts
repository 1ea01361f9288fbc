import { DateTime } from 'luxon';
import type { CourseConfig } from '../../core/types.js';

const WEEKDAY = ['', '周一', '周二', '周三', '周四', '周五', '周六', '周日'];

/**
 * Cohort facts templates and FAQ answers may name: `{cohort.c4.name}` → `第4期`,
 * `{cohort.c4.start}` → `5月11日（周一）`.
 */
export function cohortValues(config: CourseConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of config.cohorts) {
    const d = DateTime.fromMillis(c.startAt, { zone: config.course.timezone });
    out[`cohort.${c.id}.name`] = c.name;
    out[`cohort.${c.id}.start`] = `${d.month}月${d.day}日（${WEEKDAY[d.weekday]}）`;
  }
  return out;
}
