import type { Db } from './db.js';
import type { StoreRead } from './batch.js';
import { stmt } from './statements.js';

export type GrantableRole = 'instructor' | 'assistant';

export interface StaffGrant {
  member_id: string;
  role: GrantableRole;
  granted_by: string;
  granted_at: number;
}

/** The role an owner granted to the member behind a platform identity, if any. */
export function grantedRoleOf(db: Db, platform: string, platformId: string): GrantableRole | undefined {
  const row = stmt(db, GRANTED_ROLE).get(
    platform,
    platformId,
  ) as { role: GrantableRole } | undefined;
  return row?.role;
}

const GRANTED_ROLE = 'SELECT g.role FROM identities i JOIN staff_grants g ON g.member_id = i.member_id WHERE i.platform = ? AND i.platform_id = ?';

/** grantedRoleOf's read, to load ahead with an event's other reads. */
export function grantedRoleRead(platform: string, platformId: string): StoreRead {
  return { sql: GRANTED_ROLE, params: [platform, platformId], tables: ['identities', 'staff_grants'] };
}

export function getGrant(db: Db, memberId: string): StaffGrant | undefined {
  return stmt(db, 'SELECT * FROM staff_grants WHERE member_id = ?').get(memberId) as StaffGrant | undefined;
}

export function listGrants(db: Db): StaffGrant[] {
  return stmt(db, 'SELECT * FROM staff_grants ORDER BY granted_at, member_id').all() as StaffGrant[];
}

/** Grants (or changes) a role and records it; returns the previous role. */
export function grantRole(db: Db, args: { memberId: string; role: GrantableRole; by: string; eventId: number | null; now: number }): GrantableRole | undefined {
  const previous = getGrant(db, args.memberId)?.role;
  stmt(
    db,
    'INSERT INTO staff_grants (member_id, role, granted_by, granted_at) VALUES (?, ?, ?, ?) ON CONFLICT(member_id) DO UPDATE SET role = excluded.role, granted_by = excluded.granted_by, granted_at = excluded.granted_at',
  ).run(args.memberId, args.role, args.by, args.now);
  stmt(db, "INSERT INTO role_changes (member_id, action, role, by_member, event_id, at) VALUES (?, 'grant', ?, ?, ?, ?)").run(args.memberId, args.role, args.by, args.eventId, args.now);
  return previous;
}

/** Revokes a granted role and records it; returns the role revoked (undefined: there was none). */
export function revokeRole(db: Db, args: { memberId: string; by: string; eventId: number | null; now: number }): GrantableRole | undefined {
  const previous = getGrant(db, args.memberId)?.role;
  if (!previous) return undefined;
  stmt(db, 'DELETE FROM staff_grants WHERE member_id = ?').run(args.memberId);
  stmt(db, "INSERT INTO role_changes (member_id, action, role, by_member, event_id, at) VALUES (?, 'revoke', ?, ?, ?, ?)").run(args.memberId, previous, args.by, args.eventId, args.now);
  return previous;
}

export function roleChanges(db: Db, memberId: string): { action: string; role: string; by_member: string; at: number }[] {
  return stmt(db, 'SELECT action, role, by_member, at FROM role_changes WHERE member_id = ? ORDER BY id').all(memberId) as {
    action: string;
    role: string;
    by_member: string;
    at: number;
  }[];
}

/** Platform ids of members granted one of `roles`, on one platform. */
export function grantedIdsOn(db: Db, platform: string, roles: GrantableRole[]): string[] {
  return (stmt(db, 'SELECT i.platform_id, g.role FROM staff_grants g JOIN identities i ON i.member_id = g.member_id WHERE i.platform = ? ORDER BY i.platform_id').all(platform) as {
    platform_id: string;
    role: GrantableRole;
  }[])
    .filter((r) => roles.includes(r.role))
    .map((r) => r.platform_id);
}
