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

/** Rule id of the one row per event that holds every rule that was checked and did not match. */
export const UNMATCHED_ROW = '*';

export interface RuleOutcome {
  ruleId: string;
  matched: boolean;
  detail: Record<string, unknown>;
}

/**
 * Records what the rules did with one event or job. A rule that fired gets its own row; the rules
 * that were checked and did not match share one row, so a course with 100 rules writes one or two
 * rows per message, not 100 (what `kequn why` shows is the same: reads expand the shared row).
 */
export function recordRuleOutcomes(db: Db, args: { eventId: number | null; jobId: number | null; memberId: string | null; at: number; trigger: string }, outcomes: RuleOutcome[]): void {
  const unmatched = outcomes.flatMap((o, i) => (o.matched ? [] : [{ i, rule: o.ruleId, ...o.detail }]));
  if (unmatched.length > 0) recordTrace(db, { ...args, ruleId: UNMATCHED_ROW, matched: false, detail: { trigger: args.trigger, unmatched } });
  outcomes.forEach((o, i) => {
    if (o.matched) recordTrace(db, { ...args, ruleId: o.ruleId, matched: true, detail: { i, trigger: args.trigger, ...o.detail } });
  });
}

/** Expands shared rows into one row per rule, in the order the rules were checked. */
function expand<T extends RuleTraceRow>(rows: T[]): T[] {
  const out: (T & { order: number })[] = [];
  for (const r of rows) {
    if (r.rule_id !== UNMATCHED_ROW) {
      const d = JSON.parse(r.detail) as { i?: number };
      out.push({ ...r, order: d.i ?? 0 });
      continue;
    }
    const d = JSON.parse(r.detail) as { trigger: string; unmatched: ({ i: number; rule: string } & Record<string, unknown>)[] };
    for (const { i, rule, ...rest } of d.unmatched) out.push({ ...r, rule_id: rule, matched: 0, detail: JSON.stringify({ trigger: d.trigger, actions: [], ...rest }), order: i });
  }
  // Rows of one event or job stay together, ordered as the rules were checked.
  const key = (r: RuleTraceRow) => `${r.event_id ?? ''}/${r.job_id ?? ''}`;
  const first = new Map<string, number>();
  out.forEach((r, n) => first.has(key(r)) || first.set(key(r), n));
  return out
    .sort((a, b) => first.get(key(a))! - first.get(key(b))! || a.order - b.order)
    .map(({ order: _order, ...r }) => r as unknown as T);
}

/** The most recent traces of a member, newest event first, with the event type they answered. */
export function recentTraces(db: Db, memberId: string, limit: number): (RuleTraceRow & { event_type: string | null })[] {
  const rows = stmt(
    db,
    `SELECT t.*, e.type AS event_type FROM rule_traces t LEFT JOIN events e ON e.id = t.event_id
     WHERE t.member_id = ? ORDER BY t.id DESC LIMIT ?`,
  ).all(memberId, limit) as (RuleTraceRow & { event_type: string | null })[];
  return expand(rows).slice(0, limit);
}

/** Every rule's outcome for one logged event, in the order the rules were checked. */
export function tracesOfEvent(db: Db, eventRowId: number): RuleTraceRow[] {
  return expand(stmt(db, 'SELECT * FROM rule_traces WHERE event_id = ? ORDER BY id').all(eventRowId) as RuleTraceRow[]);
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
