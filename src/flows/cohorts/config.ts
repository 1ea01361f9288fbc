/**
 * kequn.yaml's `cohorts:` — the course's 期 (第3期, 第4期): each a start date in the course zone,
 * a length in weeks, its groups, and seats. What runs relative to the start (homework weeks, the
 * group timeline) reads `startAt`; sales pick the cohort open for sale.
 *
 * @example
 * cohorts:
 *   - { id: c3, name: 第3期, start: "2026-03-16", weeks: 8, groups: [python-101, python-vip], seats: 200 }
 */
import { z } from 'zod';
import { checkGroups, checkUnique } from '../../config/checks.js';
import { duration, handle } from '../../config/schema.js';
import type { SectionContext } from '../../config/section.js';
import { section } from '../../core/feature.js';
import { isDay, localInstant } from '../../util/days.js';
import { parseTimeOfDay } from '../../util/localtime.js';
import type { Cohort } from './contracts.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    /** The course's cohorts in start order (empty: the course has no cohorts). */
    cohorts: Cohort[];
  }
}

const WEEK = 7 * 86_400_000;

const cohortSchema = z.strictObject({
  id: handle,
  name: z.string().trim().min(1).max(40),
  /** Local day in course.timezone: "2026-03-16". */
  start: z.string(),
  /** Local time of day the cohort starts (开营), default 00:00; offsets such as `0d 09:00` are days from the start day. */
  start_time: z.string().optional(),
  weeks: z.number().int().min(1).max(104).default(8),
  /** Local day the cohort ends (default: start + weeks·7 days). */
  end: z.string().optional(),
  groups: z.array(handle).default([]),
  seats: z.number().int().min(1).optional(),
  /** How long after the start it is still sold as the open cohort (default 0: sales move to the next cohort at the start). */
  sell_after_start: duration.default(0),
});

export const cohortsSchema = z.array(cohortSchema).max(100).default([]);

function resolveCohorts(raw: z.output<typeof cohortsSchema>, ctx: SectionContext): Cohort[] {
  const { main, file } = ctx;
  const zone = main.course.timezone;
  checkUnique(file, raw.map((c) => c.id), (i) => ['cohorts', i, 'id'], 'cohort id');
  const owner = new Map<string, string>();
  const out: Cohort[] = [];
  raw.forEach((c, i) => {
    const path = ['cohorts', i];
    checkGroups(c.groups, [...path, 'groups'], main, file);
    c.groups.forEach((g, j) => {
      const other = owner.get(g);
      if (other !== undefined && other !== c.id) file.problem([...path, 'groups', j], `group "${g}" is already in cohort "${other}"; a group belongs to one cohort`);
      owner.set(g, c.id);
    });
    if (!isDay(c.start)) {
      file.problem([...path, 'start'], `expected a local date "YYYY-MM-DD" (got "${c.start}")`);
      return;
    }
    let minute = 0;
    if (c.start_time !== undefined) {
      try {
        minute = parseTimeOfDay(c.start_time);
      } catch (e) {
        file.problem([...path, 'start_time'], (e as Error).message);
        return;
      }
    }
    const startAt = localInstant(c.start, minute, zone);
    let endAt = startAt + c.weeks * WEEK;
    if (c.end !== undefined) {
      if (!isDay(c.end)) {
        file.problem([...path, 'end'], `expected a local date "YYYY-MM-DD" (got "${c.end}")`);
        return;
      }
      endAt = localInstant(c.end, 24 * 60 - 1, zone) + 60_000;
      if (endAt <= startAt) file.problem([...path, 'end'], 'the end must be after the start');
    }
    const kindOf = (g: string) => (main.groups as Record<string, { kind?: string }>)[g]?.kind;
    out.push({
      id: c.id,
      name: c.name,
      startDay: c.start,
      startAt,
      endAt,
      weeks: c.weeks,
      groups: c.groups,
      trialGroups: c.groups.filter((g) => kindOf(g) === 'trial'),
      paidGroups: c.groups.filter((g) => kindOf(g) === 'paid'),
      ...(c.seats !== undefined ? { seats: c.seats } : {}),
      saleUntil: startAt + c.sell_after_start,
    });
  });
  return out.sort((a, b) => a.startAt - b.startAt);
}

/** kequn.yaml's `cohorts:` (absent: none). */
export const cohortsSection = section({ key: 'cohorts', as: 'cohorts', schema: cohortsSchema, resolve: resolveCohorts });
