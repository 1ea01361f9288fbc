/**
 * Resolves the `checkin:` and `homework:` sections of kequn.yaml: schedules parsed, local times
 * turned into instants, group handles and templates checked, each problem at its key path.
 */
import type { MainConfig } from '../../config/schema.js';
import type { YamlFile } from '../../config/yaml-file.js';
import { parseCron } from '../../util/cron.js';
import { localInstant, parseLocalDateTime } from '../../util/days.js';
import { inWindow, parseTimeOfDay } from '../../util/localtime.js';
import { runMinutes, type Schedule } from '../../core/schedule/schedules.js';

export interface CheckinConfig {
  groups: string[];
  minLength: number;
  maxLength: number;
  groupErrors: 'reply' | 'silent';
  makeup: { within: number; perMonth: number };
  leave: { maxDays: number; perMonth: number };
  rankSize: number;
  reminder: (Schedule & { groups: string[]; nudgeAfter: number }) | null;
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

export const CHECKIN_TEMPLATES = ['checkin_ok', 'checkin_makeup', 'checkin_leave', 'checkin_rank'] as const;
export const HOMEWORK_TEMPLATES = ['homework_open', 'homework_received', 'homework_reminder', 'homework_reviewed'] as const;

type Path = (string | number)[];

function resolveSchedule(
  raw: { at?: string; cron?: string; timezone?: string; grace?: number },
  path: Path,
  main: MainConfig,
  file: YamlFile,
): Schedule | undefined {
  const timezone = raw.timezone ?? main.course.timezone;
  const grace = raw.grace ?? main.scheduler.grace;
  if ((raw.at === undefined) === (raw.cron === undefined)) {
    file.problem(path, 'a schedule has either `at: "HH:MM"` or `cron: "m h dom mon dow"`');
    return undefined;
  }
  let s: Schedule;
  try {
    s = raw.at !== undefined ? { label: raw.at, timezone, grace, at: parseTimeOfDay(raw.at) } : { label: raw.cron!, timezone, grace, cron: parseCron(raw.cron!) };
  } catch (e) {
    file.problem([...path, raw.at !== undefined ? 'at' : 'cron'], (e as Error).message);
    return undefined;
  }
  // A reminder held by quiet hours would arrive the next morning, about the wrong day.
  const q = main.quiet_hours;
  if (q && timezone === main.course.timezone && runMinutes(s).some((m) => inWindow(m, q.start, q.end))) {
    file.problem([...path, raw.at !== undefined ? 'at' : 'cron'], `runs inside quiet hours; it would only go out when they end. Pick a time outside them`);
  }
  return s;
}

function checkGroups(groups: string[] | undefined, path: Path, main: MainConfig, file: YamlFile): void {
  groups?.forEach((g, i) => {
    if (!(g in main.groups)) file.problem([...path, i], `unknown group "${g}" (groups: ${Object.keys(main.groups).join(', ')})`);
  });
}

function requireTemplates(names: readonly string[], templates: Record<string, string>, path: Path, file: YamlFile, what: string): void {
  const missing = names.filter((t) => !(t in templates));
  if (missing.length > 0) file.problem(path, `${what} needs these templates in templates.yaml: ${missing.join(', ')}`);
}

export function resolveCheckin(main: MainConfig, templates: Record<string, string>, file: YamlFile): CheckinConfig | null {
  const c = main.checkin;
  if (!c) return null;
  checkGroups(c.groups, ['checkin', 'groups'], main, file);
  if (c.min_length > c.max_length) file.problem(['checkin', 'min_length'], `min_length ${c.min_length} is more than max_length ${c.max_length}`);
  const names: string[] = [...CHECKIN_TEMPLATES];
  const groups = c.groups ?? Object.entries(main.groups).filter(([, g]) => g.kind !== 'staff').map(([h]) => h);
  let reminder: CheckinConfig['reminder'] = null;
  if (c.reminder) {
    checkGroups(c.reminder.groups, ['checkin', 'reminder', 'groups'], main, file);
    const s = resolveSchedule(c.reminder, ['checkin', 'reminder'], main, file);
    if (s) reminder = { ...s, groups: c.reminder.groups ?? groups, nudgeAfter: c.reminder.nudge_after };
    names.push('checkin_reminder');
    if (c.reminder.nudge_after > 0) names.push('checkin_nudge');
  }
  requireTemplates(names, templates, ['checkin'], file, 'checkin');
  return {
    groups,
    minLength: c.min_length,
    maxLength: c.max_length,
    groupErrors: c.group_errors,
    makeup: { within: c.makeup.within, perMonth: c.makeup.per_month },
    leave: { maxDays: c.leave.max_days, perMonth: c.leave.per_month },
    rankSize: c.rank_size,
    reminder,
  };
}

export function resolveHomework(main: MainConfig, templates: Record<string, string>, file: YamlFile): HomeworkConfig | null {
  const h = main.homework;
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
