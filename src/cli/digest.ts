import { openStore, storeExists } from '../store/db.js';
import { buildServices } from '../core/registry.js';
import { registry } from '../app.js';
import { composeDigest, digestDay } from '../flows/digest/compose.js';
import { addDays, isDay } from '../util/days.js';
import { localDate } from '../util/localtime.js';
import { loadConfigOrReport } from './check.js';
import { storeNow } from '../core/schedule/store-clock.js';

/**
 * `kequn digest [--date YYYY-MM-DD]`: the staff's daily digest of that local day (default
 * yesterday), exactly as staff get it privately (docs/digest.md).
 */
export function runDigest(opts: { configDir: string; args: string[]; date?: string; write: (line: string) => void }): number {
  const { write } = opts;
  if (opts.args.length > 0 || (opts.date !== undefined && !isDay(opts.date))) {
    write('usage: kequn digest [--date YYYY-MM-DD] [--config DIR]   (default: yesterday, in the course time zone)');
    return 2;
  }
  const config = loadConfigOrReport(opts.configDir, write);
  if (!config) return 2;
  if (!storeExists(config.dataPath)) {
    write(`no data yet: ${config.dataPath} does not exist (start kequn first)`);
    return 1;
  }
  const db = openStore(config.dataPath);
  try {
    // The store's "now" (the playground may have fast-forwarded it), as the bot sees it.
    const now = storeNow(db);
    const tz = config.course.timezone;
    const day = opts.date ?? addDays(localDate(now, tz), -1);
    write(composeDigest(db, config, buildServices(registry, { db, config }), digestDay(day, tz), now));
    return 0;
  } finally {
    db.close();
  }
}
