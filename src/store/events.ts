import type { Db } from './db.js';
import { stmt } from './statements.js';

/**
 * Appends an event to the log. Returns undefined when an event with the same dedupe key was
 * already logged: the caller then does nothing (a redelivered event must not act twice).
 */
export function appendEvent(
  db: Db,
  args: { type: string; platform: string; dedupeKey: string; memberId: string | null; groupId: string | null; payload: unknown; at: number },
): number | undefined {
  const r = stmt(
    db,
    'INSERT INTO events (type, platform, dedupe_key, member_id, group_id, payload, at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING RETURNING id',
  ).get(args.type, args.platform, args.dedupeKey, args.memberId, args.groupId, JSON.stringify(args.payload), args.at) as { id: number } | undefined;
  return r?.id;
}

export function setEventMember(db: Db, eventId: number, memberId: string): void {
  stmt(db, 'UPDATE events SET member_id = ? WHERE id = ?').run(memberId, eventId);
}

export function countEvents(db: Db): number {
  return (stmt(db, 'SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
}
