import type { Db } from '../store/db.js';
import { findMembers, identitiesOf, type Member } from '../store/members.js';
import { UsageError } from './types.js';

/**
 * The member a staff command names: a member key, a platform id or an exact display name (a
 * leading @ is ignored). None or several matches are usage errors that say what to type instead.
 */
export function findOneMember(db: Db, query: string): Member {
  const q = query.trim().replace(/^@/, '');
  if (q === '') throw new UsageError('expected a member (member id, platform id or display name)');
  const found = findMembers(db, q);
  if (found.length === 0) throw new UsageError(`no member "${q}"`);
  if (found.length > 1) {
    const ids = found.map((m) => `${m.id} ${m.display_name} (${identitiesOf(db, m.id).map((i) => i.platform_id).join(', ')})`);
    throw new UsageError(`"${q}" matches ${found.length} members; use an id:\n${ids.join('\n')}`);
  }
  return found[0]!;
}
