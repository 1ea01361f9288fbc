import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from 'pino';
import { ConfigError, formatProblem } from './errors.js';
import { loadConfig, type CourseConfig } from './load.js';

/**
 * Reloads the configuration when a file under its folder changes. A broken edit keeps the old
 * configuration running and logs every problem, so a typo never takes the bot down.
 */
export function watchConfig(dir: string, log: Logger, apply: (config: CourseConfig) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  const reload = () => {
    try {
      const config = loadConfig(dir);
      apply(config);
      log.info({ rules: config.rules.length }, 'config reloaded');
    } catch (e) {
      const problems = e instanceof ConfigError ? e.problems.map(formatProblem) : [(e as Error).message];
      log.error({ problems }, 'config change rejected; the previous configuration stays in force');
    }
  };
  try {
    watcher = watch(dir, { recursive: true }, () => {
      clearTimeout(timer);
      // Editors write in several steps; reload once they are done.
      timer = setTimeout(reload, 300);
    });
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'config: cannot watch for changes; restart to apply edits');
  }
  return () => {
    clearTimeout(timer);
    watcher?.close();
  };
}
