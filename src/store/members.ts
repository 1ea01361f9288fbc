import { randomBytes } from 'node:crypto';
import { later, type StoreRead } from './batch.js';
import type { Db } from './db.js';
import { stmt } from './statements.js';

export interface Member {
  id: string;
  display_name: string;
  stage: string;
  stage_since: number;
  created_at: number;
  last_seen_at: number;
}

export interface StageTransition {
  id: number;
  member_id: string;
  from_stage: string | null;
  to_stage: string;
  event_id: number | null;
  rule_id: string | null;
  actor: string;
  at: number;
}

/** How stale members.last_seen_at may be in the store: written at most once a minute per member. */
export const LAST_SEEN_STEP_MS = 60_000;

function newMemberId(): string {
  return 'm_' + randomBytes(8).toString('hex');
}

/**
 * Finds the member behind a platform identity, creating both on first sight.
 * Returns `created: true` the first time this person is seen on any platform.
 */
export function resolveMember(
  db: Db,
  args: { platform: string; platformId: string; displayName: string; initialStage: string; now: number },
): { member: Member; created: boolean } {
  // The identity and its member in one read (one round trip on PostgreSQL, or loaded ahead).
  const row = stmt(db, IDENTITY_MEMBER).get(args.platform, args.platformId) as (Member & { identity_name: string }) | undefined;
  if (row) {
    // `member` is a new object (the row less its identity name; the row itself may be shared, loaded
    // ahead on PostgreSQL): changed in place rather than copied again, every event comes here.
    const { identity_name: identityName, ...member } = row;
    if (args.displayName && args.displayName !== identityName) {
      later(db, 'UPDATE identities SET display_name = ? WHERE platform = ? AND platform_id = ?', args.displayName, args.platform, args.platformId);
      later(db, 'UPDATE members SET display_name = ? WHERE id = ?', args.displayName, row.id);
      member.display_name = args.displayName;
    }
    // Stored to the minute: a member's every message rewrote their row, one WAL page per message
    // (issue 20). The event itself sees the exact time; only readers of the store (the inactivity
    // job, the member's card) may see a time up to a minute old.
    if (args.now - member.last_seen_at >= LAST_SEEN_STEP_MS) later(db, 'UPDATE members SET last_seen_at = ? WHERE id = ?', args.now, row.id);
    member.last_seen_at = Math.max(member.last_seen_at, args.now);
    return { member, created: false };
  }
  const id = newMemberId();
  // On PostgreSQL the member row (a new random key: it never conflicts) goes in the identity's
  // request, the first transition with the next request, and the member is the row as written:
  // one request where there were four (issue 20). The identity's insert is the one another
  // process may have made first (a unique key): it still fails here, as before.
  const member: Member = { id, display_name: args.displayName, stage: args.initialStage, stage_since: args.now, created_at: args.now, last_seen_at: args.now };
  later(db, 'INSERT INTO members (id, display_name, stage, stage_since, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)', id, member.display_name, member.stage, args.now, args.now, args.now);
  stmt(db, 'INSERT INTO identities (platform, platform_id, member_id, display_name) VALUES (?, ?, ?, ?)').run(
    args.platform,
    args.platformId,
    id,
    args.displayName,
  );
  later(db, 'INSERT INTO stage_transitions (member_id, from_stage, to_stage, event_id, rule_id, actor, at) VALUES (?, NULL, ?, NULL, NULL, ?, ?)', id, args.initialStage, 'first-seen', args.now);
  return { member, created: true };
}

const IDENTITY_MEMBER = 'SELECT i.display_name AS identity_name, m.* FROM identities i JOIN members m ON m.id = i.member_id WHERE i.platform = ? AND i.platform_id = ?';

/** resolveMember's read of a known identity, to load ahead with an event's other reads. */
export function identityMemberRead(platform: string, platformId: string): StoreRead {
  return { sql: IDENTITY_MEMBER, params: [platform, platformId], tables: ['identities', 'members'] };
}

/** getMember's read, to load ahead. */
export function memberRead(id: string): StoreRead {
  return { sql: GET_MEMBER, params: [id], tables: ['members'] };
}

const GET_MEMBER = 'SELECT * FROM members WHERE id = ?';

export function getMember(db: Db, id: string): Member | undefined {
  return stmt(db, GET_MEMBER).get(id) as Member | undefined;
}

export function findMemberByIdentity(db: Db, platform: string, platformId: string): Member | undefined {
  return stmt(db, 'SELECT m.* FROM identities i JOIN members m ON m.id = i.member_id WHERE i.platform = ? AND i.platform_id = ?').get(
    platform,
    platformId,
  ) as Member | undefined;
}

/** Looks a member up by member key, platform id (any platform) or exact display name. */
export function findMembers(db: Db, query: string): Member[] {
  const byKey = getMember(db, query);
  if (byKey) return [byKey];
  const rows = stmt(
    db,
    `SELECT DISTINCT m.* FROM members m JOIN identities i ON i.member_id = m.id
     WHERE i.platform_id = ? OR m.display_name = ? OR i.display_name = ? ORDER BY m.created_at`,
  ).all(query, query, query) as Member[];
  return rows;
}

export function identitiesOf(db: Db, memberId: string): { platform: string; platform_id: string; display_name: string }[] {
  return stmt(db, 'SELECT platform, platform_id, display_name FROM identities WHERE member_id = ? ORDER BY platform').all(memberId) as {
    platform: string;
    platform_id: string;
    display_name: string;
  }[];
}

/** Moves a member to `to` and records the transition; a move to the current stage records nothing. */
export function setStage(
  db: Db,
  args: { memberId: string; to: string; eventId: number | null; ruleId: string | null; actor: string; now: number },
): { from: string; changed: boolean } {
  const m = getMember(db, args.memberId);
  if (!m) throw new Error(`no member ${args.memberId}`);
  if (m.stage === args.to) return { from: m.stage, changed: false };
  // Nobody reads these results: on PostgreSQL they go with the next request (issue 20); a read
  // of the member after them is sent with them and sees the move.
  later(db, 'UPDATE members SET stage = ?, stage_since = ? WHERE id = ?', args.to, args.now, args.memberId);
  later(db, 'INSERT INTO stage_transitions (member_id, from_stage, to_stage, event_id, rule_id, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?)', args.memberId, m.stage, args.to, args.eventId, args.ruleId, args.actor, args.now);
  return { from: m.stage, changed: true };
}

export function stageHistory(db: Db, memberId: string): StageTransition[] {
  return stmt(db, 'SELECT * FROM stage_transitions WHERE member_id = ? ORDER BY at, id').all(memberId) as StageTransition[];
}

export function tagsOf(db: Db, memberId: string): string[] {
  return (stmt(db, 'SELECT tag FROM member_tags WHERE member_id = ? ORDER BY tag').all(memberId) as { tag: string }[]).map((r) => r.tag);
}

export function addTag(db: Db, memberId: string, tag: string, now: number): boolean {
  return stmt(db, 'INSERT INTO member_tags (member_id, tag, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(memberId, tag, now).changes > 0;
}

export function removeTag(db: Db, memberId: string, tag: string): boolean {
  return stmt(db, 'DELETE FROM member_tags WHERE member_id = ? AND tag = ?').run(memberId, tag).changes > 0;
}

export interface Membership {
  member_id: string;
  group_id: string;
  joined_at: number;
  left_at: number | null;
  inviter_id: string | null;
  join_count: number;
}

/** Records a join; returns the previous membership row (undefined on a first join). */
export function recordJoin(
  db: Db,
  args: { memberId: string; groupId: string; inviterId: string | null; now: number },
): { previous: Membership | undefined } {
  const previous = getMembership(db, args.memberId, args.groupId);
  if (!previous) {
    stmt(db, 'INSERT INTO memberships (member_id, group_id, joined_at, left_at, inviter_id, join_count) VALUES (?, ?, ?, NULL, ?, 1)').run(
      args.memberId,
      args.groupId,
      args.now,
      args.inviterId,
    );
  } else if (previous.left_at !== null) {
    stmt(db, 'UPDATE memberships SET joined_at = ?, left_at = NULL, join_count = join_count + 1 WHERE member_id = ? AND group_id = ?').run(
      args.now,
      args.memberId,
      args.groupId,
    );
  }
  return { previous };
}

/**
 * Someone wrote in a group kequn never saw them join: they were in it before the bot was, or
 * their join event was lost (WeChat joins by QR code). They are a member of it from now on (the
 * check-in leaderboard, the daily reminder, the group's figures count them), with `join_count` 0:
 * the join itself was never seen, so no join rule ran. A membership kequn already has, current or
 * left, is left as it is. Written with the event's other writes (nothing reads whether it was new).
 */
export function recordPresence(db: Db, args: { memberId: string; groupId: string; now: number }): void {
  later(db, 'INSERT INTO memberships (member_id, group_id, joined_at, left_at, inviter_id, join_count) VALUES (?, ?, ?, NULL, NULL, 0) ON CONFLICT DO NOTHING', args.memberId, args.groupId, args.now);
}

/**
 * recordPresence for a member guessed before their identity was read (PostgreSQL's first request,
 * src/core/engine/known-members.ts): written only if that member still exists, so a wrong guess
 * (a member forgotten since) fails nothing; the guess is checked and the transaction rolled back.
 */
export function recordPresenceOfGuess(db: Db, args: { memberId: string; groupId: string; now: number }): void {
  later(
    db,
    'INSERT INTO memberships (member_id, group_id, joined_at, left_at, inviter_id, join_count) SELECT ?, ?, ?, NULL, NULL, 0 WHERE EXISTS (SELECT 1 FROM members WHERE id = ?) ON CONFLICT DO NOTHING',
    args.memberId,
    args.groupId,
    args.now,
    args.memberId,
  );
}

export function recordLeave(db: Db, args: { memberId: string; groupId: string; now: number }): boolean {
  return (
    stmt(db, 'UPDATE memberships SET left_at = ? WHERE member_id = ? AND group_id = ? AND left_at IS NULL').run(args.now, args.memberId, args.groupId)
      .changes > 0
  );
}

export function getMembership(db: Db, memberId: string, groupId: string): Membership | undefined {
  return stmt(db, 'SELECT * FROM memberships WHERE member_id = ? AND group_id = ?').get(memberId, groupId) as Membership | undefined;
}

export function activeGroupsOf(db: Db, memberId: string): string[] {
  return (stmt(db, 'SELECT group_id FROM memberships WHERE member_id = ? AND left_at IS NULL ORDER BY group_id').all(memberId) as { group_id: string }[]).map(
    (r) => r.group_id,
  );
}

export function countMembers(db: Db): number {
  return (stmt(db, 'SELECT COUNT(*) AS n FROM members').get() as { n: number }).n;
}
