import type { Db } from '../store/db.js';
import { findMembers, identitiesOf, type Member } from '../store/members.js';
import { oneLine } from '../util/display-text.js';

/**
 * The one member a CLI query names (member id, platform id or display name). None, or several,
 * is reported through `write` (several are listed with their ids and accounts) and gives
 * undefined: the command then exits 1.
 */
export function findOneMember(db: Db, query: string, write: (line: string) => void): Member | undefined {
  const matches = findMembers(db, query);
  if (matches.length === 0) {
    write(`no member matches "${oneLine(query)}" (give a member id, a platform id or a display name)`);
    return undefined;
  }
  if (matches.length > 1) {
    write(`"${oneLine(query)}" matches ${matches.length} members; use one of these ids:`);
    for (const m of matches) write(`  ${m.id}  ${oneLine(m.display_name)}  (${identitiesOf(db, m.id).map((i) => `${i.platform}:${i.platform_id}`).join(', ')})`);
    return undefined;
  }
  return matches[0]!;
}
