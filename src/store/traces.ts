import type { Db } from './db.js';
import { stmt } from './statements.js';

export interface RuleTraceRow {
  id: number;
  event_id: number | null;
  job_id: number | null;
  member_id: string | null;
  rule_id: string;
  matched: number;
  detail: string;
  at: number;
}

export function recordTrace(
  db: Db,
  args: { eventId: number | null; jobId: number | null; memberId: string | null; ruleId: string; matched: boolean; detail: unknown; at: number },
): void {
  stmt(db, 'INSERT INTO rule_traces (event_id, job_id, member_id, rule_id, matched, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    args.eventId,
    args.jobId,
    args.memberId,
    args.ruleId,
    args.matched ? 1 : 0,
    JSON.stringify(args.detail),
    args.at,
  );
}

/** The most recent traces of a member, newest first, with the event type they answered. */
export function recentTraces(db: Db, memberId: string, limit: number): (RuleTraceRow & { event_type: string | null })[] {
  return stmt(
    db,
    `SELECT t.*, e.type AS event_type FROM rule_traces t LEFT JOIN events e ON e.id = t.event_id
     WHERE t.member_id = ? ORDER BY t.id DESC LIMIT ?`,
  ).all(memberId, limit) as (RuleTraceRow & { event_type: string | null })[];
}

export function lastFired(db: Db, memberId: string, ruleId: string): number | undefined {
  const r = stmt(db, 'SELECT at FROM rule_fires WHERE member_id = ? AND rule_id = ?').get(memberId, ruleId) as { at: number } | undefined;
  return r?.at;
}

export function recordFire(db: Db, memberId: string, ruleId: string, at: number): void {
  stmt(db, 'INSERT INTO rule_fires (member_id, rule_id, at) VALUES (?, ?, ?) ON CONFLICT(member_id, rule_id) DO UPDATE SET at = excluded.at').run(
    memberId,
    ruleId,
    at,
  );
}
