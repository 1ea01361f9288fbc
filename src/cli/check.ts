import { ConfigError, formatProblem } from '../config/errors.js';
import { loadConfig, type CourseConfig } from '../config/load.js';

/** Loads the config or prints every problem; used by check, start and why. */
export function loadConfigOrReport(configDir: string, write: (line: string) => void): CourseConfig | undefined {
  try {
    return loadConfig(configDir);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    write(`configuration ${configDir} has ${e.problems.length} problem(s):`);
    for (const p of e.problems) write(`  ${formatProblem(p)}`);
    return undefined;
  }
}

export function runCheck(opts: { configDir: string; write: (line: string) => void }): number {
  const config = loadConfigOrReport(opts.configDir, opts.write);
  if (!config) return 2;
  opts.write(
    `configuration ${opts.configDir} is valid: ${Object.keys(config.groups).length} groups, ${config.staff.length} staff, ` +
      `${config.stageIds.length} stages, ${config.lessons.length} lessons, ${Object.keys(config.templates).length} templates, ` +
      `${config.rules.length} rules; data file ${config.dataPath}`,
  );
  return 0;
}
