/**
 * The `homework:` section of kequn.yaml: local times turned into instants, group handles and
 * templates checked, each problem at its key path.
 */
import { z } from 'zod';
import { checkGroups, requireTemplates } from '../../config/checks.js';
import { duration, handle, timeZone } from '../../config/schema.js';
import type { SectionContext } from '../../config/section.js';
import { section } from '../../core/feature.js';
import { localInstant, parseLocalDateTime } from '../../util/days.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    /** Homework, when kequn.yaml has a `homework:` section. */
    homework: HomeworkConfig | null;
  }
}

export interface Assignment {
  week: number;
  title: string;
  description: string;
  opensAt: number;
  dueAt: number;
  /** `due` as written (local time), shown to members. */
  dueText: string;
}

export interface HomeworkConfig {
  groups: string[];
  timezone: string;
  reminders: number[];
  lateUntil: number;
  grace: number;
  assignments: Assignment[];
}

export const HOMEWORK_TEMPLATES = ['homework_open', 'homework_received', 'homework_reminder', 'homework_reviewed'] as const;

/** Homework: one assignment per cohort week, submitted privately, reminded before the deadline. */
export const homeworkSchema = z.strictObject({
  /** Groups whose members get the assignments (default: every group of kind paid). */
  groups: z.array(handle).optional(),
  /** Zone of `opens`/`due` (default: course.timezone). */
  timezone: timeZone.optional(),
  reminders: z.array(duration).default([24 * 3_600_000, 2 * 3_600_000]),
  /** Submissions after the deadline are accepted, flagged late, until this long after it. */
  late_until: duration.default(7 * 86_400_000),
  grace: duration.optional(),
  assignments: z
    .array(
      z.strictObject({
        week: z.number().int().min(1),
        title: z.string().min(1),
        description: z.string().default(''),
        opens: z.string(),
        due: z.string(),
      }),
    )
    .min(1),
});

function resolveHomework(h: z.output<typeof homeworkSchema> | undefined, ctx: SectionContext): HomeworkConfig | null {
  const { main, templates, file } = ctx;
  if (!h) return null;
  checkGroups(h.groups, ['homework', 'groups'], main, file);
  requireTemplates(HOMEWORK_TEMPLATES, templates, ['homework'], file, 'homework');
  const timezone = h.timezone ?? main.course.timezone;
  const weeks = new Set<number>();
  const assignments: Assignment[] = [];
  h.assignments.forEach((a, i) => {
    const path = ['homework', 'assignments', i];
    if (weeks.has(a.week)) file.problem([...path, 'week'], `duplicate week ${a.week}`);
    weeks.add(a.week);
    const times = (['opens', 'due'] as const).map((key) => {
      const p = parseLocalDateTime(a[key]);
      if (!p) file.problem([...path, key], `expected a local date and time "YYYY-MM-DD HH:MM" (got "${a[key]}")`);
      return p && localInstant(p.day, p.minute, timezone);
    });
    const [opensAt, dueAt] = times;
    if (opensAt === undefined || dueAt === undefined) return;
    if (dueAt <= opensAt) file.problem([...path, 'due'], 'the deadline must be after the assignment opens');
    assignments.push({ week: a.week, title: a.title, description: a.description, opensAt, dueAt, dueText: a.due.trim() });
  });
  h.reminders.forEach((r, i) => {
    if (r <= 0) file.problem(['homework', 'reminders', i], 'a reminder is a duration before the deadline, such as 24h');
  });
  return {
    groups: h.groups ?? Object.entries(main.groups).filter(([, g]) => g.kind === 'paid').map(([k]) => k),
    timezone,
    reminders: [...new Set(h.reminders)].sort((a, b) => b - a),
    lateUntil: h.late_until,
    grace: h.grace ?? main.scheduler.grace,
    assignments: assignments.sort((a, b) => a.week - b.week),
  };
}

/** kequn.yaml's `homework:` (absent: homework off). */
export const homeworkSection = section({ key: 'homework', as: 'homework', schema: homeworkSchema.optional(), resolve: resolveHomework });
