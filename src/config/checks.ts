/**
 * Checks the config sections share: group handles and stages that must exist, templates a
 * section needs, recurring schedules. Each reports at the key path, so `kequn check` prints
 * file:line and the key.
 */
import { inWindow, parseTimeOfDay } from '../util/localtime.js';
import { parseCron } from '../util/cron.js';
import { runMinutes, type Schedule } from '../core/schedule/schedules.js';
import { didYouMean } from '../util/suggest.js';
import type { MainConfig } from './schema.js';
import type { YamlFile } from './yaml-file.js';

export type KeyPath = (string | number)[];

/** Each handle must name a group of kequn.yaml's `groups:`. */
export function checkGroups(groups: string[] | undefined, path: KeyPath, main: Pick<MainConfig, 'groups'>, file: YamlFile): void {
  groups?.forEach((g, i) => {
    if (!(g in main.groups)) file.problem([...path, i], `unknown group "${g}" (groups: ${Object.keys(main.groups).join(', ')})`);
  });
}

/** A stage id that must exist: its problem, or undefined. */
export function unknownStage(stage: string, stageIds: string[], suggest = false): string | undefined {
  return stageIds.includes(stage) ? undefined : `unknown stage "${stage}"${suggest ? didYouMean(stage, stageIds) : ''} (stages: ${stageIds.join(', ')})`;
}

/** The templates a section sends must be in templates.yaml. */
export function requireTemplates(names: readonly string[], templates: Record<string, string>, path: KeyPath, file: YamlFile, what: string): void {
  const missing = names.filter((t) => !(t in templates));
  if (missing.length > 0) file.problem(path, `${what} needs these templates in templates.yaml: ${missing.join(', ')}`);
}

/** Reports each value met before at its key path (`duplicate stage "trial"`). */
export function checkUnique(file: YamlFile, values: string[], pathOf: (i: number) => KeyPath, what: string): void {
  const seen = new Set<string>();
  values.forEach((v, i) => {
    if (seen.has(v)) file.problem(pathOf(i), `duplicate ${what} "${v}"`);
    seen.add(v);
  });
}

/**
 * A recurring time of a section (`at: "20:00"` or `cron:`), in its zone (default course.timezone),
 * with its grace window (default scheduler.grace). A time inside quiet hours is refused: it would
 * only go out when they end, about the wrong day.
 */
export function resolveSchedule(
  raw: { at?: string; cron?: string; timezone?: string; grace?: number },
  path: KeyPath,
  main: Pick<MainConfig, 'course' | 'scheduler' | 'quiet_hours'>,
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
