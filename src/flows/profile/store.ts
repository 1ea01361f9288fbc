/**
 * The queries a profile is computed from: read-only, over the tables other features keep
 * (check-ins, homework, questions, orders, referrals) and the core's (members, memberships,
 * tags, stage transitions). Each is one small indexed query, so a rule naming one profile fact
 * reads only what that fact needs. Plain SQL that runs the same on SQLite and PostgreSQL.
 */
import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

/** Orders that were paid (and perhaps refunded since), oldest first. */
export function paidOrdersOf(db: Db, memberId: string): { id: string; product_id: string; paid_amount: number | null; amount: number; currency: string; paid_at: number; state: string }[] {
  return stmt(
    db,
    `SELECT id, product_id, paid_amount, amount, currency, paid_at, state FROM orders
     WHERE member_id = ? AND paid_at IS NOT NULL AND state IN ('paid', 'partially_refunded', 'refunded') ORDER BY paid_at, id`,
  ).all(memberId) as never;
}

/** Products bought and not fully refunded, in purchase order (a product once, at its first purchase). */
export function boughtProducts(db: Db, memberId: string): string[] {
  const rows = stmt(db, `SELECT product_id FROM orders WHERE member_id = ? AND state IN ('paid', 'partially_refunded') ORDER BY paid_at, id`).all(memberId) as { product_id: string }[];
  return [...new Set(rows.map((r) => r.product_id))];
}

/** FAQ entries (or lessons) the member's questions were answered from, most asked first. */
export function topicCounts(db: Db, memberId: string): { entry: string; count: number }[] {
  const rows = stmt(
    db,
    `SELECT entry_id, COUNT(*) AS n FROM questions WHERE member_id = ? AND entry_id IS NOT NULL AND status IN ('answered', 'resolved')
     GROUP BY entry_id ORDER BY n DESC, entry_id`,
  ).all(memberId) as { entry_id: string; n: number | string }[];
  return rows.map((r) => ({ entry: r.entry_id, count: Number(r.n) }));
}

/** Every check-in record on or after `sinceDay`: day and kind. */
export function checkinRecords(db: Db, memberId: string, sinceDay: string): { day: string; kind: 'checkin' | 'makeup' | 'leave' }[] {
  return stmt(db, 'SELECT day, kind FROM checkins WHERE member_id = ? AND day >= ? ORDER BY day DESC').all(memberId, sinceDay) as never;
}

/** When the member first joined any course group (null: never in a group). */
export function firstJoinedAt(db: Db, memberId: string): number | null {
  const r = stmt(db, 'SELECT MIN(joined_at) AS at FROM memberships WHERE member_id = ?').get(memberId) as { at: number | string | null } | undefined;
  return r?.at === null || r?.at === undefined ? null : Number(r.at);
}

/** Homework weeks submitted, and how many of them late. */
export function homeworkCounts(db: Db, memberId: string): { done: number; late: number } {
  const r = stmt(db, 'SELECT COUNT(*) AS done, COALESCE(SUM(late), 0) AS late FROM homework_submissions WHERE member_id = ?').get(memberId) as { done: number | string; late: number | string };
  return { done: Number(r.done), late: Number(r.late) };
}

/** Referrals made (members this one referred), and how many of those paid for an order. */
export function referralCounts(db: Db, memberId: string): { made: number; paid: number } {
  const r = stmt(
    db,
    `SELECT COUNT(*) AS made,
            COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.member_id = r.referred_id AND o.state IN ('paid', 'partially_refunded')) THEN 1 ELSE 0 END), 0) AS paid
     FROM referrals r WHERE r.referrer_id = ?`,
  ).get(memberId) as { made: number | string; paid: number | string };
  return { made: Number(r.made), paid: Number(r.paid) };
}
