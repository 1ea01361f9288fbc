import { openStore, storeExists } from '../store/db.js';
import { listCosts, setCost } from '../flows/dashboard/store/dashboard.js';
import { dashboard, parseFilter, StatsFilterError } from '../flows/dashboard/metrics.js';
import { dashboardTables, toText } from '../flows/dashboard/tables.js';
import { parseYuan } from '../util/money.js';
import { loadConfigOrReport } from './check.js';
import { storeNow } from '../core/schedule/store-clock.js';

/**
 * `kequn stats [--group G] [--cohort ID] [--from DAY] [--to DAY] [--json]`: the dashboard's figures
 * in the terminal (`--cohort`: a 期's members only, by cohort membership); `kequn stats cost SOURCE YUAN|none`: the cost of an acquisition source, for ROI.
 */
export function runStats(opts: {
  configDir: string;
  args: string[];
  group?: string;
  cohort?: string;
  from?: string;
  to?: string;
  json: boolean;
  write: (line: string) => void;
}): number {
  const { write } = opts;
  const config = loadConfigOrReport(opts.configDir, write);
  if (!config) return 2;
  if (opts.args[0] === 'cost') return runCost(opts, config);
  if (opts.args.length > 0) {
    write('usage: kequn stats [--group G] [--cohort ID] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json] | kequn stats cost SOURCE YUAN|none');
    return 2;
  }
  let filter;
  try {
    filter = parseFilter({ group: opts.group, cohort: opts.cohort, from: opts.from, to: opts.to }, config);
  } catch (e) {
    if (e instanceof StatsFilterError) {
      write(e.message);
      return 2;
    }
    throw e;
  }
  if (!storeExists(config.dataPath)) {
    write(`no data yet: ${config.dataPath} does not exist (start kequn first)`);
    return 1;
  }
  const db = openStore(config.dataPath);
  try {
    // The store's "now" (the playground may have fast-forwarded it): the figures the page shows.
    const d = dashboard({ db, config, now: storeNow(db) }, filter);
    if (opts.json) write(JSON.stringify({ ...d, tables: dashboardTables(d) }, null, 2));
    else for (const t of dashboardTables(d)) write(toText(t) + '\n');
    return 0;
  } finally {
    db.close();
  }
}

function runCost(opts: { args: string[]; write: (line: string) => void }, config: NonNullable<ReturnType<typeof loadConfigOrReport>>): number {
  const { write } = opts;
  const [, source, amount] = opts.args;
  const db = () => openStore(config.dataPath);
  if (source === undefined) {
    const s = db();
    try {
      const costs = listCosts(s);
      if (costs.length === 0) write('no costs entered');
      for (const c of costs) write(`${c.source}  ${(c.cost_fen / 100).toFixed(2)} 元${c.note ? `  ${c.note}` : ''}`);
      return 0;
    } finally {
      s.close();
    }
  }
  const group = source.startsWith('group:') ? source.slice(6) : undefined;
  if (!/^(referral|direct|channel:[A-Za-z0-9_-]{1,64}|group:.+)$/.test(source) || (group !== undefined && !config.groups[group])) {
    write(`source must be referral, direct, channel:<tag> or group:<handle> (groups: ${Object.keys(config.groups).join(', ')})`);
    return 2;
  }
  const remove = amount === 'none';
  const fen = parseYuan(amount);
  if (!remove && fen === undefined) {
    write(`${amount === undefined ? 'no amount' : `"${amount}" is not an amount`}: YUAN is plain decimal yuan with at most 2 decimals, such as 500 or 12.50`);
    write('usage: kequn stats cost SOURCE YUAN   (e.g. kequn stats cost referral 500; "none" removes it)');
    return 2;
  }
  const s = db();
  try {
    setCost(s, { source, costFen: remove ? null : fen!, now: storeNow(s) });
    write(remove ? `cost of ${source} removed` : `cost of ${source}: ${(fen! / 100).toFixed(2)} 元`);
    return 0;
  } finally {
    s.close();
  }
}
