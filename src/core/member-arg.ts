import type { Db } from '../store/db.js';
import { findMembers, identitiesOf, type Member } from '../store/members.js';
import { UsageError, type CourseConfig } from './types.js';

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

/** One argument naming a member (member key, platform id or display name; a leading @ is dropped). */
export function parseMemberArg(args: string, what = 'a member (name, platform id or member key)'): string {
  const q = args.trim().replace(/^@/, '');
  if (q === '') throw new UsageError(`expected ${what}`);
  return q;
}

/**
 * The one member an argument names (member key, platform id or display name). Several people
 * can share a display name (a spoofer copying a teacher's): then nothing is done and the
 * candidates are listed, to be named by member key.
 */
export function lookupMember(db: Db, query: string): Member {
  const found = findMembers(db, query);
  if (found.length === 0) throw new UsageError(`no member "${query}" (use a name, platform id or member key; /member shows them)`);
  if (found.length > 1) {
    const list = found.map((m) => `${m.id}（${identitiesOf(db, m.id).map((i) => `${i.platform}:${i.platform_id}`).join(', ')}）`).join('；');
    throw new UsageError(`"${query}" matches ${found.length} members: ${list}. Name one by member key`);
  }
  return found[0]!;
}

/** A group handle from config (a leading # is allowed). */
export function groupArg(config: CourseConfig, word: string): string {
  const handle = word.replace(/^#/, '');
  if (!(handle in config.groups)) throw new UsageError(`no group "${handle}" (groups: ${Object.keys(config.groups).join(', ')})`);
  return handle;
}
