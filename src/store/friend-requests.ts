import { dialectOf, type Db } from './db.js';
import { stmt } from './statements.js';

/**
 * WeChat friend requests and room invitations to the bot's account: what came in, what the
 * course's policy decided, and (for accepted ones) the paced acceptance. An acceptance is claimed
 * (`accepting`, committed) before the platform is called, so a crash never repeats it.
 */
export type FriendRequestStatus = 'pending' | 'accepting' | 'accepted' | 'ignored' | 'failed';

export interface FriendRequestRow {
  id: number;
  platform: string;
  request_id: string;
  user_id: string;
  user_name: string;
  greeting: string;
  received_at: number;
  status: FriendRequestStatus;
  reason: string;
  accept_at: number | null;
  done_at: number | null;
  error: string | null;
  received_by: string | null;
  claimed_by: string | null;
}

/**
 * Records a request with the policy's decision: `pending` with the time it may be accepted, or
 * `ignored`. A request already recorded (the platform delivered it again) is left as it is:
 * returns undefined.
 */
export function recordFriendRequest(
  db: Db,
  r: { platform: string; requestId: string; userId: string; userName: string; greeting: string; now: number; accept: boolean; reason: string; acceptAt: number | null },
): number | undefined {
  const row = stmt(
    db,
    `INSERT INTO friend_requests (platform, request_id, user_id, user_name, greeting, received_at, status, reason, accept_at, done_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (platform, request_id) DO NOTHING RETURNING id`,
  ).get(r.platform, r.requestId, r.userId, r.userName, r.greeting, r.now, r.accept ? 'pending' : 'ignored', r.reason, r.accept ? r.acceptAt : null, r.accept ? null : r.now) as
    | { id: number }
    | undefined;
  return row?.id;
}

export function getFriendRequest(db: Db, id: number): FriendRequestRow | undefined {
  return stmt(db, 'SELECT * FROM friend_requests WHERE id = ?').get(id) as FriendRequestRow | undefined;
}

/**
 * The account that got a request is the one that can accept it: with several kequn instances on
 * one store (each its own WeChat account), a request is marked with the instance that received it.
 */
export function markFriendRequestReceived(db: Db, platform: string, requestId: string, instance: string): void {
  stmt(db, 'UPDATE friend_requests SET received_by = ? WHERE platform = ? AND request_id = ? AND received_by IS NULL').run(instance, platform, requestId);
}

/** Pending acceptances due by `now` on a platform that `instance`'s account received, oldest first. */
export function dueFriendRequests(db: Db, platform: string, now: number, limit: number, instance: string): FriendRequestRow[] {
  return stmt(
    db,
    "SELECT * FROM friend_requests WHERE status = 'pending' AND platform = ? AND accept_at <= ? AND (received_by IS NULL OR received_by = ?) ORDER BY accept_at, id LIMIT ?",
  ).all(platform, now, instance, limit) as FriendRequestRow[];
}

/** When the next pending acceptance of `instance`'s account falls due (any platform). */
export function nextFriendRequestAt(db: Db, instance: string): number | undefined {
  const r = stmt(db, "SELECT MIN(accept_at) AS t FROM friend_requests WHERE status = 'pending' AND (received_by IS NULL OR received_by = ?)").get(instance) as {
    t: number | null;
  };
  return r.t ?? undefined;
}

/** Acceptances by `instance`'s account done (or under way) since `since`: what its daily cap counts. */
export function countAcceptedSince(db: Db, platform: string, since: number, instance: string): number {
  return (
    stmt(db, "SELECT COUNT(*) AS n FROM friend_requests WHERE platform = ? AND ((status = 'accepted' AND done_at >= ?) OR status = 'accepting') AND (claimed_by = ? OR claimed_by IS NULL)").get(
      platform,
      since,
      instance,
    ) as { n: number }
  ).n;
}

/** Claims a pending acceptance (committed before the platform call); false if someone else did. */
export function claimFriendRequest(db: Db, id: number, instance: string): boolean {
  return stmt(db, "UPDATE friend_requests SET status = 'accepting', claimed_by = ? WHERE id = ? AND status = 'pending'").run(instance, id).changes > 0;
}

export function finishFriendRequest(db: Db, id: number, status: 'accepted' | 'failed', now: number, error?: string): void {
  stmt(db, "UPDATE friend_requests SET status = ?, done_at = ?, error = ? WHERE id = ? AND status = 'accepting'").run(status, now, error ?? null, id);
}

/** Moves a pending acceptance later (the daily cap is reached). */
export function deferFriendRequest(db: Db, id: number, acceptAt: number): void {
  stmt(db, "UPDATE friend_requests SET accept_at = ? WHERE id = ? AND status = 'pending'").run(acceptAt, id);
}

/** After a crash: an acceptance interrupted mid-call may have happened; failed, never repeated. */
export function failInterruptedAcceptances(db: Db, instance?: string): number {
  const sql =
    instance === undefined || dialectOf(db) === 'sqlite'
      ? "UPDATE friend_requests SET status = 'failed', error = 'process stopped during the acceptance' WHERE status = 'accepting'"
      : "UPDATE friend_requests SET status = 'failed', error = 'process stopped during the acceptance' WHERE status = 'accepting' AND (claimed_by = ? OR claimed_by IS NULL)";
  return (instance === undefined || dialectOf(db) === 'sqlite' ? stmt(db, sql).run() : stmt(db, sql).run(instance)).changes;
}

export function friendRequestsOf(db: Db, platform: string, userId: string): FriendRequestRow[] {
  return stmt(db, 'SELECT * FROM friend_requests WHERE platform = ? AND user_id = ? ORDER BY id').all(platform, userId) as FriendRequestRow[];
}

export function friendRequestCounts(db: Db): Record<string, number> {
  const rows = stmt(db, 'SELECT status, COUNT(*) AS n FROM friend_requests GROUP BY status').all() as { status: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

export interface RoomInviteRow {
  id: number;
  platform: string;
  invitation_id: string;
  inviter_id: string;
  topic: string;
  received_at: number;
  status: 'accepting' | 'accepted' | 'declined' | 'failed';
  reason: string;
  done_at: number | null;
}

/** Records an invitation with the decision; undefined when it was recorded before (a redelivery). */
export function recordRoomInvite(
  db: Db,
  r: { platform: string; invitationId: string; inviterId: string; topic: string; accept: boolean; reason: string; now: number },
): number | undefined {
  const row = stmt(
    db,
    `INSERT INTO room_invites (platform, invitation_id, inviter_id, topic, received_at, status, reason, done_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (platform, invitation_id) DO NOTHING RETURNING id`,
  ).get(r.platform, r.invitationId, r.inviterId, r.topic, r.now, r.accept ? 'accepting' : 'declined', r.reason, r.accept ? null : r.now) as { id: number } | undefined;
  return row?.id;
}

export function finishRoomInvite(db: Db, id: number, status: 'accepted' | 'failed', now: number, reason?: string): void {
  stmt(db, "UPDATE room_invites SET status = ?, done_at = ?, reason = COALESCE(?, reason) WHERE id = ? AND status = 'accepting'").run(status, now, reason ?? null, id);
}

export function roomInvites(db: Db): RoomInviteRow[] {
  return stmt(db, 'SELECT * FROM room_invites ORDER BY id').all() as RoomInviteRow[];
}

/** When `instance`'s account last accepted a request (spacing survives a restart). */
export function lastAcceptedAt(db: Db, platform: string, instance: string): number | undefined {
  const r = stmt(db, "SELECT MAX(done_at) AS t FROM friend_requests WHERE platform = ? AND status = 'accepted' AND (claimed_by = ? OR claimed_by IS NULL)").get(platform, instance) as {
    t: number | null;
  };
  return r.t ?? undefined;
}
