import { openStore, storeExists } from '../store/db.js';
import { buildServices } from '../core/registry.js';
import { storeNow } from '../core/schedule/store-clock.js';
import { registry } from '../app.js';
import { profileText } from '../flows/profile/format.js';
import { rankingLines } from '../flows/recommend/service.js';
import { loyaltyFigures, loyaltySections } from '../flows/recommend/figures.js';
import { loadConfigOrReport } from './check.js';
import { findOneMember } from './find-member.js';

/**
 * `kequn member show <member>`: the member's profile (画像) in Chinese, local times;
 * `kequn recommend <member>`: the next-course ranking with reasons; `kequn recommend --stats`:
 * repeat purchases, value per cohort, recommendations sent → bought (docs/recommendations.md).
 */
export function runProfile(opts: { configDir: string; what: 'show' | 'recommend' | 'stats'; query?: string; now?: number; write: (line: string) => void }): number {
  const { write } = opts;
  const config = loadConfigOrReport(opts.configDir, write);
  if (!config) return 2;
  if (!storeExists(config.dataPath)) {
    write(`no data yet: ${config.dataPath} does not exist`);
    return 1;
  }
  const db = openStore(config.dataPath);
  try {
    const services = buildServices(registry, { db, config });
    // The store's "now" (the playground may have fast-forwarded it), as the dashboard reads it.
    const now = opts.now ?? storeNow(db);
    if (opts.what === 'stats') {
      for (const s of loyaltySections(loyaltyFigures(db, config, services))) write([`【${s.title}】`, ...s.lines.map((l) => `  ${l}`)].join('\n'));
      return 0;
    }
    const member = findOneMember(db, opts.query ?? '', write);
    if (!member) return 1;
    if (opts.what === 'show') {
      for (const line of profileText(services.profile.of(db, member.id, now, services)!, config)) write(line);
      return 0;
    }
    write(`给 ${member.display_name || member.id}（${member.id}）的课程推荐：`);
    for (const line of rankingLines(services.recommend.rank(db, member.id, now, services))) write(`  ${line}`);
    return 0;
  } finally {
    db.close();
  }
}
