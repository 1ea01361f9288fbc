/**
 * The 忠诚期 figures of the dashboard: repeat-purchase rate, revenue per member (LTV) per cohort,
 * recommendations sent → bought. Staff are left out of every one. Money in fen (CNY orders; Stars
 * are another currency and not added in), net of refunds.
 */
import type { CourseConfig, Services } from '../../core/types.js';
import type { Db } from '../../store/db.js';
import { allMemberIds, groupsEverByMember, recommendationOutcomes, revenueByMember, staffIds } from './store.js';

export interface CohortValue {
  /** Cohort handle; null: members in no cohort's group. */
  cohort: string | null;
  name: string;
  members: number;
  buyers: number;
  /** Net revenue of the cohort's members, fen. */
  revenue: number;
  /** revenue / members, fen (0 with no members). */
  perMember: number;
}

export interface LoyaltyFigures {
  /** Members with a paid order (not fully refunded). */
  buyers: number;
  /** Of those, members with two or more. */
  repeatBuyers: number;
  repeatRate: number;
  cohorts: CohortValue[];
  recommendations: { sent: number; bought: number; rate: number };
}

/**
 * A member belongs to their cohort by membership (the cohorts service: a join of a cohort's
 * group, a paid seat, a deferral); a member with no membership (imported, or there before the
 * course had cohorts) to the earliest cohort (in start order) among the groups they were ever
 * in. Each member is counted in exactly one row and the rows add up to all members.
 */
export function loyaltyFigures(db: Db, config: CourseConfig, services: Pick<Services, 'cohorts'>): LoyaltyFigures {
  const staff = staffIds(db, config.staff);
  const revenue = revenueByMember(db).filter((r) => !staff.has(r.member_id));
  const buyers = revenue.filter((r) => r.orders >= 1).length;
  const repeatBuyers = revenue.filter((r) => r.orders >= 2).length;
  const net = new Map(revenue.map((r) => [r.member_id, r]));
  const groups = groupsEverByMember(db);
  const membership = services.cohorts?.memberships(db) ?? new Map<string, string>();
  const order = services.cohorts?.all().map((c) => c.id) ?? [];
  const rows = new Map<string | null, CohortValue>();
  for (const c of services.cohorts?.all() ?? []) rows.set(c.id, { cohort: c.id, name: c.name, members: 0, buyers: 0, revenue: 0, perMember: 0 });
  for (const id of allMemberIds(db)) {
    if (staff.has(id)) continue;
    const own = membership.get(id);
    const byGroups = () => (groups.get(id) ?? []).flatMap((g) => services.cohorts?.ofGroup(g)?.id ?? []).sort((a, b) => order.indexOf(a) - order.indexOf(b))[0];
    // A membership of a cohort no longer in config reads as none, as the cohorts service does.
    const cohort = (own !== undefined && services.cohorts?.byId(own) ? own : byGroups()) ?? null;
    let row = rows.get(cohort);
    if (!row) rows.set(cohort, (row = { cohort, name: '（不属于任何一期）', members: 0, buyers: 0, revenue: 0, perMember: 0 }));
    row.members++;
    const r = net.get(id);
    if (r && r.orders >= 1) row.buyers++;
    row.revenue += r?.net ?? 0;
  }
  for (const row of rows.values()) row.perMember = row.members > 0 ? Math.round(row.revenue / row.members) : 0;
  const outcomes = recommendationOutcomes(db).filter((o) => !staff.has(o.member_id));
  const bought = outcomes.filter((o) => o.bought === 1).length;
  return {
    buyers,
    repeatBuyers,
    repeatRate: buyers > 0 ? repeatBuyers / buyers : 0,
    cohorts: [...rows.values()],
    recommendations: { sent: outcomes.length, bought, rate: outcomes.length > 0 ? bought / outcomes.length : 0 },
  };
}

const yuan = (fen: number) => `¥${(fen / 100).toFixed(2)}`;
const pct = (r: number) => `${(r * 100).toFixed(1)}%`;

/** The figures as Chinese sections (the page and `kequn recommend --stats`). */
export function loyaltySections(f: LoyaltyFigures): { title: string; lines: string[] }[] {
  return [
    { title: '复购', lines: [`购买过的学员 ${f.buyers} 人，其中购买 2 次及以上 ${f.repeatBuyers} 人，复购率 ${pct(f.repeatRate)}`] },
    {
      title: '每期学员价值（LTV）',
      lines: f.cohorts.map((c) => `${c.name}${c.cohort ? `（${c.cohort}）` : ''}：学员 ${c.members} 人，付费 ${c.buyers} 人，收入 ${yuan(c.revenue)}，人均 ${yuan(c.perMember)}`),
    },
    { title: '课程推荐', lines: [`已发送 ${f.recommendations.sent} 次，之后购买了推荐课程 ${f.recommendations.bought} 次，转化率 ${pct(f.recommendations.rate)}`] },
  ];
}
