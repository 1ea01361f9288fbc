import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../store/db.js';
import { consumeDashboardLogin, deleteDashboardSession, findDashboardSession, insertDashboardLogin, insertDashboardSession } from '../store/admin-logins.js';

/**
 * Dashboard logins: a one-time link the bot sends an owner privately (`/dashboard`), and the
 * session it opens. The store keeps only SHA-256 hashes of the secrets.
 */
export const LOGIN_LINK_TTL_MS = 10 * 60_000;
export const SESSION_TTL_MS = 12 * 3_600_000;

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A new single-use login token for `memberId`, valid for `ttlMs`. */
export function createLoginToken(db: Db, args: { memberId: string; now: number; ttlMs?: number }): string {
  const token = randomBytes(24).toString('base64url');
  insertDashboardLogin(db, { tokenHash: hashSecret(token), memberId: args.memberId, now: args.now, expiresAt: args.now + (args.ttlMs ?? LOGIN_LINK_TTL_MS) });
  return token;
}

/** Uses a login token: the member it was made for, the first time and before it expires; else undefined. */
export function redeemLoginToken(db: Db, token: string, now: number): string | undefined {
  if (!/^[\w-]{20,64}$/.test(token)) return undefined;
  return consumeDashboardLogin(db, { tokenHash: hashSecret(token), now });
}

/** Opens a session (member: who logged in by link; null: the admin token) and returns its cookie value. */
export function openSession(db: Db, args: { memberId: string | null; now: number }): string {
  const id = randomBytes(24).toString('base64url');
  insertDashboardSession(db, { idHash: hashSecret(id), memberId: args.memberId, now: args.now, expiresAt: args.now + SESSION_TTL_MS });
  return id;
}

export function sessionValid(db: Db, id: string, now: number): boolean {
  return /^[\w-]{20,64}$/.test(id) && findDashboardSession(db, { idHash: hashSecret(id), now }) !== undefined;
}

export function closeSession(db: Db, id: string): void {
  deleteDashboardSession(db, hashSecret(id));
}
