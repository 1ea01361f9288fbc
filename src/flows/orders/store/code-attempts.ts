import type { Db } from '../../../store/db.js';
import { stmt } from '../../../store/statements.js';

export type CodeAttemptOutcome = 'accepted' | 'refused' | 'limited';

/**
 * One code typed into a checkout page (src/flows/orders/code-attempts.ts decides and records it). A
 * `limited` attempt right after another on the same order adds to that row's `repeats` instead
 * of a row of its own, so hammering the page past its limit cannot grow the store.
 */
export function recordCodeAttempt(db: Db, a: { orderId: string; memberId: string; client: string; code: string; outcome: CodeAttemptOutcome; now: number }): void {
  if (a.outcome === 'limited') {
    const merged = stmt(
      db,
      "UPDATE code_attempts SET repeats = repeats + 1, at = ?, code = ?, client = ? WHERE id = (SELECT MAX(id) FROM code_attempts WHERE order_id = ?) AND outcome = 'limited'",
    ).run(a.now, a.code, a.client, a.orderId);
    if (merged.changes > 0) return;
  }
  stmt(db, 'INSERT INTO code_attempts (order_id, member_id, client, code, outcome, at) VALUES (?, ?, ?, ?, ?, ?)').run(a.orderId, a.memberId, a.client, a.code, a.outcome, a.now);
}

const REFUSED_SINCE = {
  order: "SELECT COUNT(*) AS n, MIN(at) AS first FROM code_attempts WHERE order_id = ? AND outcome = 'refused' AND at > ?",
  member: "SELECT COUNT(*) AS n, MIN(at) AS first FROM code_attempts WHERE member_id = ? AND outcome = 'refused' AND at > ?",
  client: "SELECT COUNT(*) AS n, MIN(at) AS first FROM code_attempts WHERE client = ? AND outcome = 'refused' AND at > ?",
} as const;

/** Refused codes of an order, a member or a client address after `since`, and when the first of them was. */
export function refusedCodeAttempts(db: Db, by: keyof typeof REFUSED_SINCE, key: string, since: number): { n: number; first: number | null } {
  const r = stmt(db, REFUSED_SINCE[by]).get(key, since) as { n: number | string; first: number | string | null };
  return { n: Number(r.n), first: r.first === null ? null : Number(r.first) };
}
