import type { StatsScope } from './dashboard.js';
import { jsonArrayValuesSql } from './sql.js';
import type { Db } from '../../../store/db.js';
import { stmt } from '../../../store/statements.js';

/**
 * The join page's channels (src/flows/join, docs/join.md): members whose join was credited to a
 * channel in the range (with a group filter: through that group), staff left out; of them, who
 * paid (an order paid at any time since) and their net revenue (CNY, fen); and the page views of
 * each channel in the range (one per client and match window).
 */
export function joinChannelCounts(db: Db, s: StatsScope): { channel: string; joined: number; paid: number; net: number }[] {
  return stmt(
    db,
    `WITH credited AS (
       SELECT a.member_id, a.channel FROM join_attributions a
       WHERE a.at >= @from AND a.at < @to AND (CAST(@group AS TEXT) IS NULL OR a.group_id = @group)
         AND (CAST(@cohort AS TEXT) IS NULL OR a.member_id IN (SELECT cm.member_id FROM cohort_members cm WHERE cm.cohort_id = @cohort))
         AND a.member_id NOT IN (${jsonArrayValuesSql(db, 'staff')})
     ), bought AS (
       SELECT o.member_id, SUM(o.paid_amount - o.refunded_amount) AS net FROM orders o
       WHERE o.paid_at IS NOT NULL AND o.currency = 'CNY' AND o.member_id IN (SELECT member_id FROM credited)
       GROUP BY o.member_id
     )
     SELECT c.channel AS channel, COUNT(*) AS joined,
            COALESCE(SUM(CASE WHEN b.member_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS paid,
            COALESCE(SUM(b.net), 0) AS net
     FROM credited c LEFT JOIN bought b ON b.member_id = c.member_id
     GROUP BY c.channel ORDER BY c.channel`,
  ).all({ from: s.from, to: s.to, group: s.group, cohort: s.cohort, staff: JSON.stringify(s.staff) }) as { channel: string; joined: number; paid: number; net: number }[];
}

export function joinChannelViews(db: Db, s: StatsScope): { channel: string; views: number }[] {
  return stmt(
    db,
    `SELECT channel, COUNT(*) AS views FROM join_views
     WHERE at >= @from AND at < @to AND channel != '' AND (CAST(@group AS TEXT) IS NULL OR group_id = @group)
     GROUP BY channel ORDER BY channel`,
  ).all({ from: s.from, to: s.to, group: s.group }) as { channel: string; views: number }[];
}
