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

/** True when an event with this dedupe key is already in the log (a redelivery). */
export function isEventLogged(db: Db, dedupeKey: string): boolean {
  return stmt(db, 'SELECT 1 FROM events WHERE dedupe_key = ?').get(dedupeKey) !== undefined;
}

export function countEvents(db: Db): number {
  return (stmt(db, 'SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
}

/** The normalised ChatEvent as logged, for fields a newer adapter adds (Telegram's inviteLink). */
export function eventPayload(db: Db, eventId: number): Record<string, unknown> | undefined {
  const row = stmt(db, 'SELECT payload FROM events WHERE id = ?').get(eventId) as { payload: string } | undefined;
  return row ? (JSON.parse(row.payload) as Record<string, unknown>) : undefined;
}
