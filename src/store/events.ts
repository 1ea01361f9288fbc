import type { Db } from './db.js';
import type { StoreRead } from './batch.js';
import { stmt } from './statements.js';

export interface NewEvent {
  type: string;
  platform: string;
  dedupeKey: string;
  memberId: string | null;
  groupId: string | null;
  payload: unknown;
  at: number;
}

const INSERT_EVENT = 'INSERT INTO events (type, platform, dedupe_key, member_id, group_id, payload, at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING RETURNING id';

const eventValues = (args: NewEvent) => [args.type, args.platform, args.dedupeKey, args.memberId, args.groupId, JSON.stringify(args.payload), args.at];

/**
 * appendEvent's insert, to send ahead with the event's reads (PostgreSQL: one request): the
 * appendEvent that follows with the same arguments gets its id without another.
 */
export function eventInsertRead(args: NewEvent): StoreRead {
  return { sql: INSERT_EVENT, params: eventValues(args), tables: ['events'] };
}

/**
 * Appends an event to the log. Returns undefined when an event with the same dedupe key was
 * already logged: the caller then does nothing (a redelivered event must not act twice).
 */
export function appendEvent(db: Db, args: NewEvent): number | undefined {
  const r = stmt(db, INSERT_EVENT).get(...eventValues(args)) as { id: number } | undefined;
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
