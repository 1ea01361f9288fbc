import { dialectOf, type Db } from '../../store/db.js';
import type { Member } from '../../store/members.js';

/**
 * The member each platform identity resolved to lately, per store, on PostgreSQL only (issue
 * 20): a message from someone seen before sends its event insert and its rules' reads with the
 * sender's own reads, in the first request, under the member it had last time. The guess is
 * checked in the same transaction: when the identity now resolves to another member (merged,
 * forgotten, created again by another process), the handling throws `StaleMemberGuess`, its
 * transaction is rolled back (the event row written under the old member with it) and the event
 * is handled again without a guess. On SQLite reads cost no round trip: nothing is kept.
 */

/** Identities kept per store, at most; past that the oldest goes (a Map keeps insertion order). */
const LIMIT = 20_000;

const byStore = new WeakMap<Db, Map<string, Member>>();

const key = (platform: string, platformId: string) => `${platform}\u0000${platformId}`;

/** The member this identity resolved to last time in this process, if kept. */
export function guessedMember(db: Db, platform: string, platformId: string): Member | undefined {
  return byStore.get(db)?.get(key(platform, platformId));
}

/** Keeps the member an identity resolved to (PostgreSQL only). */
export function rememberMember(db: Db, platform: string, platformId: string, member: Member): void {
  if (dialectOf(db) !== 'postgres') return;
  let known = byStore.get(db);
  if (!known) byStore.set(db, (known = new Map()));
  const k = key(platform, platformId);
  known.delete(k);
  known.set(k, member);
  if (known.size > LIMIT) known.delete(known.keys().next().value!);
}

/** Drops a guess that turned out wrong. */
export function forgetMember(db: Db, platform: string, platformId: string): void {
  byStore.get(db)?.delete(key(platform, platformId));
}

/** The identity resolved to another member than guessed: the event is handled again without the guess. */
export class StaleMemberGuess extends Error {}
