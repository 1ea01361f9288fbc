import { describeStore, openStore, storeExists, type Db } from '../store/db.js';
import { ConfigError, formatProblem } from '../config/errors.js';
import type { CourseConfig } from '../core/types.js';
import { loadConfig } from '../app.js';

/**
 * Loads the config or prints every problem; used by check, start and why. `stored`: large files
 * as validated at a previous start are read from beside the store (`kequn start` only).
 */
export function loadConfigOrReport(configDir: string, write: (line: string) => void, opts: { stored?: boolean } = {}): CourseConfig | undefined {
  try {
    return loadConfig(configDir, { stored: opts.stored });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    write(`configuration ${configDir} has ${e.problems.length} problem(s):`);
    for (const p of e.problems) write(`  ${formatProblem(p)}`);
    return undefined;
  }
}

/**
 * Loads the course and opens its store for a command that reads it; reports why not and returns
 * the exit code when it cannot (2: bad configuration, 1: no data yet).
 */
export function withCourseStore(configDir: string, write: (line: string) => void, run: (config: CourseConfig, db: Db) => number): number {
  const config = loadConfigOrReport(configDir, write);
  if (!config) return 2;
  if (!storeExists(config.dataPath)) {
    write(`no data yet: ${config.dataPath} does not exist (start kequn first)`);
    return 1;
  }
  const db = openStore(config.dataPath);
  try {
    return run(config, db);
  } finally {
    db.close();
  }
}

export function runCheck(opts: { configDir: string; write: (line: string) => void }): number {
  const config = loadConfigOrReport(opts.configDir, opts.write);
  if (!config) return 2;
  opts.write(
    `configuration ${opts.configDir} is valid: ${Object.keys(config.groups).length} groups, ${config.staff.length} staff, ` +
      `${config.stageIds.length} stages, ${config.lessons.length} lessons, ${Object.keys(config.templates).length} templates, ` +
      `${config.rules.length} rules; data ${describeStore(config.dataPath)}`,
  );
  for (const w of config.warnings) opts.write(`  warning: ${formatProblem(w)}`);
  return 0;
}
