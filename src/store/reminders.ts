import type { Db } from './db.js';
import { stmt } from './statements.js';

/**
 * Claims a logical reminder (`checkin:python-vip:2026-03-02`, `hw:2:24h:<member>`). Only the
 * first claim of a key wins, so a replayed or re-planned fan-out never queues a reminder twice.
 * Call in the same transaction as the outbox insert it guards.
 */
export function claimReminder(db: Db, key: string, now: number): boolean {
  return stmt(db, 'INSERT INTO reminders_sent (key, at) VALUES (?, ?) ON CONFLICT(key) DO NOTHING').run(key, now).changes > 0;
}

export function setReminderOutbox(db: Db, key: string, outboxId: number): void {
  stmt(db, 'UPDATE reminders_sent SET outbox_id = ? WHERE key = ?').run(outboxId, key);
}

export function reminderSent(db: Db, key: string): boolean {
  return stmt(db, 'SELECT 1 FROM reminders_sent WHERE key = ?').get(key) !== undefined;
}
