/**
 * The import's rows: who was found already in a group (member_imports) and each reading of the
 * member lists (member_import_runs). Plain SQL that runs on SQLite and PostgreSQL.
 */
import type { Db } from '../../store/db.js';
import { findMemberByIdentity, getMember, getMembership, resolveMember, setStage } from '../../store/members.js';
import { stmt } from '../../store/statements.js';

/** What recording one person found in a group did. */
export type ImportOutcome = 'new' | 'added' | 'back' | 'present';

/**
 * Records a person found in a group's member list, without a welcome: a person kequn never met
 * becomes a member in `stage` (the transition's actor is `imported`, and member_imports says so);
 * a known member keeps their stage. Their membership is recorded with join_count 0 (the join
 * itself was never seen), or reopened when kequn had them as gone. Idempotent.
 *
 * - `new`: a member kequn did not know; `added`: known, now also a member of this group;
 * - `back`: kequn had them as gone from this group; `present`: nothing to change.
 */
export function importMember(db: Db, args: { platform: string; platformId: string; name: string; groupId: string; stage: string; now: number }): ImportOutcome {
  // Someone known is looked up, not "seen": being in a list is no activity (last_seen_at feeds
  // "about to churn") and their name is what their own events last said.
  const known = findMemberByIdentity(db, args.platform, args.platformId);
  const { member, created } = known
    ? { member: known, created: false }
    : resolveMember(db, { platform: args.platform, platformId: args.platformId, displayName: args.name, initialStage: args.stage, now: args.now });
  if (created) {
    stmt(db, "UPDATE stage_transitions SET actor = 'imported' WHERE member_id = ? AND from_stage IS NULL").run(member.id);
    stmt(db, 'INSERT INTO member_imports (member_id, platform, group_id, stage, imported_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING').run(
      member.id,
      args.platform,
      args.groupId,
      args.stage,
      args.now,
    );
  }
  const previous = getMembership(db, member.id, args.groupId);
  if (!previous) {
    stmt(db, 'INSERT INTO memberships (member_id, group_id, joined_at, left_at, inviter_id, join_count) VALUES (?, ?, ?, NULL, NULL, 0)').run(member.id, args.groupId, args.now);
    return created ? 'new' : 'added';
  }
  if (previous.left_at !== null) {
    // Their join again was never reported (a QR join, a lost event): in the group now, all the same.
    stmt(db, 'UPDATE memberships SET left_at = NULL WHERE member_id = ? AND group_id = ?').run(member.id, args.groupId);
    return 'back';
  }
  return 'present';
}

/** Whether kequn first met this member in a group's member list. */
export function isImported(db: Db, memberId: string): boolean {
  return stmt(db, 'SELECT 1 AS x FROM member_imports WHERE member_id = ?').get(memberId) !== undefined;
}

/** The import of a member (the group they were found in, the stage it gave them), if any. */
export function importRowOf(db: Db, memberId: string): { platform: string; group_id: string; stage: string; imported_at: number } | undefined {
  return stmt(db, 'SELECT platform, group_id, stage, imported_at FROM member_imports WHERE member_id = ?').get(memberId) as
    | { platform: string; group_id: string; stage: string; imported_at: number }
    | undefined;
}

/** Members of a group kequn has as current (platform ids on `platform`), for "no longer in the list". */
export function currentPlatformIdsIn(db: Db, platform: string, groupId: string): { member_id: string; platform_id: string }[] {
  return stmt(
    db,
    `SELECT ms.member_id, i.platform_id FROM memberships ms JOIN identities i ON i.member_id = ms.member_id AND i.platform = ?
     WHERE ms.group_id = ? AND ms.left_at IS NULL`,
  ).all(platform, groupId) as { member_id: string; platform_id: string }[];
}

export interface ImportRun {
  id: number;
  platform: string;
  cause: 'login' | 'sync';
  reply_kind: 'group' | 'dm' | null;
  reply_id: string | null;
  requested_at: number;
}

/** Asks for a reading of `platform`'s member lists (the worker does it: the platform is asked asynchronously). */
export function requestImportRun(db: Db, args: { platform: string; cause: 'login' | 'sync'; reply?: { kind: 'group' | 'dm'; id: string }; now: number }): number {
  const r = stmt(db, 'INSERT INTO member_import_runs (platform, cause, reply_kind, reply_id, requested_at) VALUES (?, ?, ?, ?, ?) RETURNING id').get(
    args.platform,
    args.cause,
    args.reply?.kind ?? null,
    args.reply?.id ?? null,
    args.now,
  ) as { id: number };
  return Number(r.id);
}

export function pendingImportRuns(db: Db, platform: string): ImportRun[] {
  return (stmt(db, 'SELECT id, platform, cause, reply_kind, reply_id, requested_at FROM member_import_runs WHERE platform = ? AND done_at IS NULL ORDER BY id').all(platform) as ImportRun[]).map(
    (r) => ({ ...r, id: Number(r.id) }),
  );
}

export function finishImportRun(db: Db, id: number, result: unknown, now: number): boolean {
  return stmt(db, 'UPDATE member_import_runs SET done_at = ?, result = ? WHERE id = ? AND done_at IS NULL').run(now, JSON.stringify(result), id).changes > 0;
}

/** Members the import made known in [from, to): they are not new arrivals. */
export function countImportedBetween(db: Db, from: number, to: number): number {
  return Number((stmt(db, 'SELECT COUNT(*) AS n FROM member_imports WHERE imported_at >= ? AND imported_at < ?').get(from, to) as { n: number }).n);
}

/**
 * Telegram gives bots no member list: someone kequn first met by their message in a group (no
 * join seen: the membership was recorded by that message, with join_count 0, when the member was
 * made) was in the group before the bot. They start in `stage` as an import would have put them,
 * and are recorded as imported. Anyone kequn knew before, or who moved since, is left alone.
 * Returns whether they were recorded.
 */
export function importSpeaker(db: Db, args: { memberId: string; groupId: string; stage: string; now: number }): boolean {
  const member = getMember(db, args.memberId);
  const ms = getMembership(db, args.memberId, args.groupId);
  if (!member || !ms || ms.join_count !== 0 || Number(ms.joined_at) !== Number(member.created_at)) return false;
  const moves = Number((stmt(db, 'SELECT COUNT(*) AS n FROM stage_transitions WHERE member_id = ?').get(args.memberId) as { n: number }).n);
  if (moves !== 1 || isImported(db, args.memberId)) return false;
  stmt(db, 'INSERT INTO member_imports (member_id, platform, group_id, stage, imported_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING').run(
    args.memberId,
    'telegram',
    args.groupId,
    args.stage,
    args.now,
  );
  setStage(db, { memberId: args.memberId, to: args.stage, eventId: null, ruleId: null, actor: 'imported', now: args.now });
  return true;
}
