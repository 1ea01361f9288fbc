/**
 * The recommend feature's tables (recommendations sent, opt-outs) and the read-only queries over
 * everyone's paid orders it ranks with. Plain SQL for SQLite and PostgreSQL.
 */
import type { Db } from '../../store/db.js';
import { stmt } from '../../store/statements.js';

export interface RecommendationRow {
  id: number;
  member_id: string;
  product_id: string;
  reason: string;
  score: number;
  rule_id: string | null;
  sent_at: number;
}

export function recordRecommendation(db: Db, r: { memberId: string; productId: string; reason: string; score: number; ruleId: string | null; now: number }): void {
  stmt(db, 'INSERT INTO recommendations (member_id, product_id, reason, score, rule_id, sent_at) VALUES (?, ?, ?, ?, ?, ?)').run(r.memberId, r.productId, r.reason, r.score, r.ruleId, r.now);
}

/** Recommendations sent to a member at or after `since`. */
export function countSentSince(db: Db, memberId: string, since: number): number {
  return Number((stmt(db, 'SELECT COUNT(*) AS n FROM recommendations WHERE member_id = ? AND sent_at >= ?').get(memberId, since) as { n: number }).n);
}

/** The member's latest recommendation. */
export function latestRecommendation(db: Db, memberId: string): RecommendationRow | undefined {
  return stmt(db, 'SELECT * FROM recommendations WHERE member_id = ? ORDER BY sent_at DESC, id DESC LIMIT 1').get(memberId) as RecommendationRow | undefined;
}

export function recommendationsOf(db: Db, memberId: string): RecommendationRow[] {
  return stmt(db, 'SELECT * FROM recommendations WHERE member_id = ? ORDER BY sent_at, id').all(memberId) as RecommendationRow[];
}

export function isOptedOut(db: Db, memberId: string): boolean {
  return stmt(db, 'SELECT 1 AS x FROM recommend_optouts WHERE member_id = ?').get(memberId) !== undefined;
}

/** Returns whether it changed anything (already opted out: no). */
export function optOut(db: Db, memberId: string, now: number): boolean {
  return stmt(db, 'INSERT INTO recommend_optouts (member_id, at) VALUES (?, ?) ON CONFLICT DO NOTHING').run(memberId, now).changes > 0;
}

export function optIn(db: Db, memberId: string): boolean {
  return stmt(db, 'DELETE FROM recommend_optouts WHERE member_id = ?').run(memberId).changes > 0;
}

export function optOutAt(db: Db, memberId: string): number | undefined {
  const r = stmt(db, 'SELECT at FROM recommend_optouts WHERE member_id = ?').get(memberId) as { at: number } | undefined;
  return r === undefined ? undefined : Number(r.at);
}

/**
 * A forgotten member's recommendations lose their reasons (they name what the member asked and
 * bought) but stay counted for the dashboard; the opt-out stays: forgetting must not start sending again.
 */
export function forgetRecommendations(db: Db, memberId: string): void {
  stmt(db, "UPDATE recommendations SET reason = '' WHERE member_id = ?").run(memberId);
}

const HELD = "('paid', 'partially_refunded')";

/**
 * The co-purchase counts one member's ranking needs, counted by the database rather than by
 * folding every order in JavaScript: buyers per product, buyers in all, and for each product the
 * member bought, how many of its buyers bought each other product.
 */
export function coPurchaseFor(db: Db, bought: readonly string[]): { buyers: Map<string, number>; pairs: Map<string, Map<string, number>>; members: number } {
  const buyers = new Map<string, number>();
  for (const r of stmt(db, `SELECT product_id, COUNT(DISTINCT member_id) AS n FROM orders WHERE state IN ${HELD} GROUP BY product_id`).all() as { product_id: string; n: number | string }[]) {
    buyers.set(r.product_id, Number(r.n));
  }
  const members = Number((stmt(db, `SELECT COUNT(DISTINCT member_id) AS n FROM orders WHERE state IN ${HELD}`).get() as { n: number | string }).n);
  const pairs = new Map<string, Map<string, number>>();
  const together = stmt(
    db,
    `SELECT o2.product_id, COUNT(DISTINCT o2.member_id) AS n FROM orders o1 JOIN orders o2 ON o2.member_id = o1.member_id
     WHERE o1.product_id = ? AND o1.state IN ${HELD} AND o2.state IN ${HELD} AND o2.product_id <> o1.product_id GROUP BY o2.product_id`,
  );
  for (const b of new Set(bought)) {
    pairs.set(b, new Map((together.all(b) as { product_id: string; n: number | string }[]).map((r) => [r.product_id, Number(r.n)])));
  }
  return { buyers, pairs, members };
}

/** Everyone's baskets: per member, the products of their paid (not fully refunded) orders (the fold coPurchaseFor is checked against). */
export function allBaskets(db: Db): string[][] {
  const rows = stmt(db, `SELECT DISTINCT member_id, product_id FROM orders WHERE state IN ('paid', 'partially_refunded') ORDER BY member_id, product_id`).all() as { member_id: string; product_id: string }[];
  const by = new Map<string, string[]>();
  for (const r of rows) {
    const b = by.get(r.member_id);
    if (b) b.push(r.product_id);
    else by.set(r.member_id, [r.product_id]);
  }
  return [...by.values()];
}

/**
 * Staff are not customers: members whose platform id is in kequn.yaml `staff`, and those granted a
 * role with /grant (the same rule as the dashboard's figures).
 */
export function staffIds(db: Db, staff: readonly { wechat?: string; telegram?: string }[]): Set<string> {
  const ids = new Set<string>();
  const byIdentity = stmt(db, 'SELECT member_id FROM identities WHERE platform = ? AND platform_id = ?');
  for (const s of staff) {
    for (const platform of ['wechat', 'telegram'] as const) {
      const id = s[platform];
      const r = id === undefined ? undefined : (byIdentity.get(platform, id) as { member_id: string } | undefined);
      if (r) ids.add(r.member_id);
    }
  }
  for (const r of stmt(db, 'SELECT member_id FROM staff_grants').all() as { member_id: string }[]) ids.add(r.member_id);
  return ids;
}

/** Per member: paid orders (not fully refunded) and net revenue in fen (CNY orders; refunds taken off). */
export function revenueByMember(db: Db): { member_id: string; orders: number; net: number }[] {
  return (
    stmt(
      db,
      `SELECT member_id,
              SUM(CASE WHEN state IN ('paid', 'partially_refunded') THEN 1 ELSE 0 END) AS orders,
              SUM(COALESCE(paid_amount, amount) - refunded_amount) AS net
       FROM orders WHERE currency = 'CNY' AND paid_at IS NOT NULL AND state IN ('paid', 'partially_refunded', 'refunded')
       GROUP BY member_id ORDER BY member_id`,
    ).all() as { member_id: string; orders: number | string; net: number | string }[]
  ).map((r) => ({ member_id: r.member_id, orders: Number(r.orders), net: Number(r.net) }));
}

/** Every group a member was ever in (left ones too), by member. */
export function groupsEverByMember(db: Db): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const r of stmt(db, 'SELECT member_id, group_id FROM memberships ORDER BY member_id, joined_at, group_id').all() as { member_id: string; group_id: string }[]) {
    const g = by.get(r.member_id);
    if (g) g.push(r.group_id);
    else by.set(r.member_id, [r.group_id]);
  }
  return by;
}

/** Every recommendation sent, with whether the member paid for that product after it. */
export function recommendationOutcomes(db: Db): { member_id: string; product_id: string; bought: number }[] {
  return (
    stmt(
      db,
      `SELECT r.member_id, r.product_id,
              CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.member_id = r.member_id AND o.product_id = r.product_id
                                 AND o.paid_at IS NOT NULL AND o.paid_at >= r.sent_at AND o.state IN ('paid', 'partially_refunded')) THEN 1 ELSE 0 END AS bought
       FROM recommendations r ORDER BY r.id`,
    ).all() as { member_id: string; product_id: string; bought: number | string }[]
  ).map((r) => ({ ...r, bought: Number(r.bought) }));
}

/** Members (every one the store knows). */
export function allMemberIds(db: Db): string[] {
  return (stmt(db, 'SELECT id FROM members ORDER BY id').all() as { id: string }[]).map((r) => r.id);
}
