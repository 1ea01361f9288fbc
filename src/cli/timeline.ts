import { openStore, storeExists } from '../store/db.js';
import { storeNow } from '../core/schedule/store-clock.js';
import { timelineLines } from '../flows/timeline/view.js';
import { loadConfigOrReport } from './check.js';

/**
 * `kequn timeline [--cohort ID]`: what the group timeline (timeline.yaml) sends when, per cohort,
 * dated in local time, with what was already sent, skipped or paused (docs/timeline.md).
 */
export function runTimeline(opts: { configDir: string; cohort?: string; args: string[]; write: (line: string) => void }): number {
  const { write } = opts;
  if (opts.args.length > 0) {
    write('usage: kequn timeline [--cohort ID] [--config DIR]');
    return 2;
  }
  const config = loadConfigOrReport(opts.configDir, write);
  if (!config) return 2;
  if (opts.cohort !== undefined && !config.cohorts.some((c) => c.id === opts.cohort)) {
    write(`没有期次 "${opts.cohort}"（kequn.yaml 的 cohorts: ${config.cohorts.map((c) => c.id).join('、') || '无'}）`);
    return 2;
  }
  // Before the first start there is no store: the plan is shown as not yet run.
  const fresh = !storeExists(config.dataPath);
  const db = openStore(fresh ? ':memory:' : config.dataPath);
  try {
    if (fresh) write(`（还没有数据：${config.dataPath} 不存在，下面按尚未运行显示）`);
    for (const line of timelineLines(db, config, fresh ? Date.now() : storeNow(db), opts.cohort !== undefined ? { cohort: opts.cohort } : {})) write(line);
    return 0;
  } finally {
    db.close();
  }
}
