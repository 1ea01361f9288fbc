/**
 * Poster requests (table poster_requests): /海报 records one in its event's transaction, the
 * posters worker draws and queues it. Plain SQL that runs on SQLite and PostgreSQL alike.
 */
import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

export interface PosterRequest {
  id: number;
  member_id: string;
  platform: string;
  chat_id: string;
  settings_group: string | null;
  event_id: number | null;
  rule_id: string | null;
  created_at: number;
  status: 'pending' | 'drawing' | 'done' | 'failed';
  done_at: number | null;
  outbox_id: number | null;
  error: string | null;
}

export function insertPosterRequest(
  db: Db,
  r: { memberId: string; platform: string; chatId: string; settingsGroup: string | null; eventId: number | null; ruleId: string | null; now: number },
): number {
  const row = stmt(
    db,
    `INSERT INTO poster_requests (member_id, platform, chat_id, settings_group, event_id, rule_id, created_at, status)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'pending') RETURNING id`,
  ).get(r.memberId, r.platform, r.chatId, r.settingsGroup, r.eventId, r.ruleId, r.now) as { id: number };
  return row.id;
}

/** Whether a poster for the member is still waiting to be drawn (a second /海报 adds nothing). */
export function hasOpenPosterRequest(db: Db, memberId: string): boolean {
  return stmt(db, "SELECT 1 AS x FROM poster_requests WHERE member_id = ? AND status IN ('pending', 'drawing') LIMIT 1").get(memberId) !== undefined;
}

/** Requests the member made since `since` (the daily limit). */
export function countPosterRequestsSince(db: Db, memberId: string, since: number): number {
  return (stmt(db, 'SELECT COUNT(*) AS n FROM poster_requests WHERE member_id = ? AND created_at >= ?').get(memberId, since) as { n: number }).n;
}

/**
 * Claims up to `limit` pending requests, oldest first: each is marked `drawing` only if still
 * pending, so two processes on one PostgreSQL never draw the same one.
 */
export function claimPosterRequests(db: Db, limit: number): PosterRequest[] {
  const ids = stmt(db, "SELECT id FROM poster_requests WHERE status = 'pending' ORDER BY id LIMIT ?").all(limit) as { id: number }[];
  const out: PosterRequest[] = [];
  for (const { id } of ids) {
    if (stmt(db, "UPDATE poster_requests SET status = 'drawing' WHERE id = ? AND status = 'pending'").run(id).changes !== 1) continue;
    out.push(stmt(db, 'SELECT * FROM poster_requests WHERE id = ?').get(id) as PosterRequest);
  }
  return out;
}

export function finishPosterRequest(db: Db, id: number, r: { status: 'done' | 'failed'; now: number; outboxId?: number | null; error?: string | null }): void {
  stmt(db, 'UPDATE poster_requests SET status = ?, done_at = ?, outbox_id = ?, error = ? WHERE id = ?').run(r.status, r.now, r.outboxId ?? null, r.error ?? null, id);
}

/** After a crash: requests that were being drawn are drawn again (drawing has no side effect until the queueing, which commits with the `done` mark). */
export function requeueDrawing(db: Db): number {
  return stmt(db, "UPDATE poster_requests SET status = 'pending' WHERE status = 'drawing'").run().changes;
}

export function posterRequestsOf(db: Db, memberId: string): PosterRequest[] {
  return stmt(db, 'SELECT * FROM poster_requests WHERE member_id = ? ORDER BY id').all(memberId) as PosterRequest[];
}

export function forgetPosterRequests(db: Db, memberId: string): void {
  stmt(db, 'DELETE FROM poster_requests WHERE member_id = ?').run(memberId);
}
