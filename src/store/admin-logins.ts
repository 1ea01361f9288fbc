/**
 * The admin area's logins (src/web/login.ts): one-time links an owner gets from the bot's
 * /dashboard, and the sessions they open. Only SHA-256 hashes of the secrets are stored.
 */
import type { Db } from './db.js';
import { stmt } from './statements.js';

export function insertDashboardLogin(db: Db, args: { tokenHash: string; memberId: string; now: number; expiresAt: number }): void {
  stmt(db, 'INSERT INTO dashboard_logins (token_hash, member_id, created_at, expires_at) VALUES (?, ?, ?, ?)').run(args.tokenHash, args.memberId, args.now, args.expiresAt);
}

/** Marks a login link used; returns its member only the first time and before it expires. */
export function consumeDashboardLogin(db: Db, args: { tokenHash: string; now: number }): string | undefined {
  const row = stmt(db, 'UPDATE dashboard_logins SET used_at = @now WHERE token_hash = @h AND used_at IS NULL AND expires_at > @now RETURNING member_id').get({
    h: args.tokenHash,
    now: args.now,
  }) as { member_id: string } | undefined;
  return row?.member_id;
}

export function insertDashboardSession(db: Db, args: { idHash: string; memberId: string | null; now: number; expiresAt: number }): void {
  stmt(db, 'DELETE FROM dashboard_sessions WHERE expires_at <= ?').run(args.now);
  stmt(db, 'INSERT INTO dashboard_sessions (id_hash, member_id, created_at, expires_at) VALUES (?, ?, ?, ?)').run(args.idHash, args.memberId, args.now, args.expiresAt);
}

export function findDashboardSession(db: Db, args: { idHash: string; now: number }): { member_id: string | null } | undefined {
  return stmt(db, 'SELECT member_id FROM dashboard_sessions WHERE id_hash = ? AND expires_at > ?').get(args.idHash, args.now) as { member_id: string | null } | undefined;
}

export function deleteDashboardSession(db: Db, idHash: string): void {
  stmt(db, 'DELETE FROM dashboard_sessions WHERE id_hash = ?').run(idHash);
}
