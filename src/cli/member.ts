import { openStore, storeExists } from '../store/db.js';
import { findOneMember } from './find-member.js';
import { exportMember, forgetMember, recordPrivacyRequest } from '../store/privacy.js';
import { loadConfigOrReport } from './check.js';
import { oneLine } from '../util/display-text.js';
import { FEATURES } from '../app.js';
import type { Db } from '../store/db.js';
import type { CourseConfig } from '../core/types.js';

/** The store's export plus what each feature keeps in tables of its own (Feature.privacy.export), under the feature's name. */
export function memberExport(db: Db, memberId: string, now: number): Record<string, unknown> | undefined {
  const core = exportMember(db, memberId, now);
  if (!core) return undefined;
  const features = Object.fromEntries(FEATURES.flatMap((f) => (f.privacy?.export ? [[f.name, f.privacy.export(db, memberId)]] : [])));
  return { ...core, features };
}

/** Each feature's part of forgetting (Feature.privacy.forget), run in forgetMember's transaction. */
export function featureForgets(config: CourseConfig): ((db: Db, memberId: string) => void)[] {
  return FEATURES.flatMap((f) => {
    const forget = f.privacy?.forget;
    return forget ? [(db: Db, memberId: string) => forget(db, memberId, config)] : [];
  });
}

/**
 * `kequn member export <member>` prints everything the store holds about a member as JSON;
 * `kequn member forget <member id>` erases their personal data (docs/operations.md).
 */
export function runMember(opts: { configDir: string; action: string; query: string | undefined; now?: number; write: (line: string) => void }): number {
  const { write } = opts;
  if ((opts.action !== 'export' && opts.action !== 'forget') || !opts.query) {
    write('usage: kequn member export <member id | platform id | name>\n       kequn member forget <member id>');
    return 2;
  }
  const config = loadConfigOrReport(opts.configDir, write);
  if (!config) return 2;
  if (!storeExists(config.dataPath)) {
    write(`no data yet: ${config.dataPath} does not exist`);
    return 1;
  }
  const now = opts.now ?? Date.now();
  const db = openStore(config.dataPath);
  try {
    const member = findOneMember(db, opts.query, write);
    if (!member) return 1;
    if (opts.action === 'export') {
      recordPrivacyRequest(db, member.id, 'export', now);
      write(JSON.stringify(memberExport(db, member.id, now), null, 2));
      return 0;
    }
    // Erasing is irreversible: only the exact member key, never a name that might be someone else's.
    if (member.id !== opts.query) {
      write(`forget takes the member id; "${opts.query}" is ${oneLine(member.display_name)} — run: kequn member forget ${member.id}`);
      return 2;
    }
    const r = forgetMember(db, member.id, now, featureForgets(config))!;
    write(`forgot member ${r.memberId}: ${r.removed.length} names, ids and texts removed (${r.rowsChanged} rows changed); ${r.ordersKept} orders kept for accounting under the member id`);
    return 0;
  } finally {
    db.close();
  }
}
