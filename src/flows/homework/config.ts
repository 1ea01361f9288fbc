/**
 * The `homework:` section of kequn.yaml: local times turned into instants, group handles and
 * templates checked, each problem at its key path.
 */
import { z } from 'zod';
import { checkGroups, requireTemplates } from '../../config/checks.js';
import { duration, handle, timeZone } from '../../config/schema.js';
import type { SectionContext } from '../../config/section.js';
import { section } from '../../core/feature.js';
import { parseWhen, type WhenSpec } from './schedule.js';

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
  /** A local date, or days after the cohort's start (default: 7·(week−1) days, at the start time). */
  opens: WhenSpec;
  /** A local date, or days after the week opens (`+6d 22:00`). */
  due: WhenSpec;
  /** `due` as written (local time), shown to members when it is a date. */
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
        /** `YYYY-MM-DD HH:MM`, or `+Nd [HH:MM]` after the cohort's start (default: start + 7·(week−1) days). */
        opens: z.string().optional(),
        /** `YYYY-MM-DD HH:MM`, or `+Nd HH:MM` after the week opens. */
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
    const [opens, due] = (['opens', 'due'] as const).map((key) => {
      const text = a[key];
      if (text === undefined) return { kind: 'after', days: 7 * (a.week - 1), minute: undefined } as WhenSpec;
      const w = parseWhen(text, timezone);
      if (!w) file.problem([...path, key], `expected a local date and time "YYYY-MM-DD HH:MM" or days after the ${key === 'opens' ? "cohort's start" : 'week opens'} "+6d 22:00" (got "${text}")`);
      return w;
    });
    if (opens === undefined || due === undefined) return;
    if (opens.kind === 'at' && due.kind === 'at' && due.at <= opens.at) file.problem([...path, 'due'], 'the deadline must be after the assignment opens');
    if (due.kind === 'after' && due.days === 0 && due.minute === undefined) file.problem([...path, 'due'], 'a deadline of +0d is when the week opens; give a time (+0d 22:00) or more days');
    assignments.push({ week: a.week, title: a.title, description: a.description, opens, due, dueText: a.due.trim() });
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
