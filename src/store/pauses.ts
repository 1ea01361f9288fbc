import type { Db } from './db.js';
import type { StoreRead } from './batch.js';
import { stmt } from './statements.js';

const PAUSED = 'SELECT 1 FROM paused_groups WHERE group_id = ?';

export function isGroupPaused(db: Db, groupId: string): boolean {
  return stmt(db, PAUSED).get(groupId) !== undefined;
}

/** isGroupPaused's read, to load ahead with an event's other reads. */
export function pausedRead(groupId: string): StoreRead {
  return { sql: PAUSED, params: [groupId], tables: ['paused_groups'] };
}

/** Pauses the bot in a group; false if it already was. */
export function pauseGroup(db: Db, args: { groupId: string; by: string; now: number }): boolean {
  return stmt(db, 'INSERT INTO paused_groups (group_id, by_member, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(args.groupId, args.by, args.now).changes > 0;
}

/** Resumes the bot in a group; false if it was not paused. */
export function resumeGroup(db: Db, groupId: string): boolean {
  return stmt(db, 'DELETE FROM paused_groups WHERE group_id = ?').run(groupId).changes > 0;
}

export function pausedGroups(db: Db): { group_id: string; by_member: string; at: number }[] {
  return stmt(db, 'SELECT * FROM paused_groups ORDER BY group_id').all() as { group_id: string; by_member: string; at: number }[];
}

/**
 * Messages still waiting in the outbox for a group that was just paused: they are dropped
 * (marked failed, with the reason), so a paused group hears nothing more from the bot.
 */
export function dropPendingForGroup(db: Db, groupId: string, reason: string): number {
  return stmt(db, "UPDATE outbox SET status = 'failed', last_error = ? WHERE group_id = ? AND chat_kind = 'group' AND status = 'pending'").run(reason, groupId).changes;
}
