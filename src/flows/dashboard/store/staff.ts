import type { Db } from '../../../store/db.js';
import { stmt } from '../../../store/statements.js';

/**
 * Staff are not students: the owner, instructors and assistants of config `staff` (by platform id)
 * and the members an owner granted a role with /grant. Every member-based figure of the dashboard
 * (funnel, trial → paid, retention, check-ins, homework, the private channel) leaves them out; a
 * seller who tried the playground as the principal must not see themselves as a conversion.
 * The list is read when the figures are, so a /grant or a config edit shows at the next read.
 */
export function staffMemberIds(db: Db, staff: readonly { wechat?: string; telegram?: string }[]): string[] {
  const ids = new Set<string>();
  const byIdentity = stmt(db, 'SELECT member_id FROM identities WHERE platform = ? AND platform_id = ?');
  for (const s of staff) {
    for (const platform of ['wechat', 'telegram'] as const) {
      const platformId = s[platform];
      if (platformId === undefined) continue;
      const r = byIdentity.get(platform, platformId) as { member_id: string } | undefined;
      if (r) ids.add(r.member_id);
    }
  }
  for (const r of stmt(db, 'SELECT member_id FROM staff_grants').all() as { member_id: string }[]) ids.add(r.member_id);
  return [...ids].sort();
}
