/**
 * A member's profile (画像), computed from what kequn already records: nothing here is stored.
 * Each part is its own function so a rule fact (facts.ts) reads only the part it names.
 */
import type { CourseConfig, Services } from '../../core/types.js';
import type { Db } from '../../store/db.js';
import { activeGroupsOf, getMember, stageHistory, tagsOf } from '../../store/members.js';
import { daysBetween } from '../../util/days.js';
import { localDate } from '../../util/localtime.js';
import type { CheckinFigures, Profile, Purchase } from './contracts.js';
import { boughtProducts, checkinRecords, firstJoinedAt, homeworkCounts, paidOrdersOf, referralCounts, topicCounts } from './store.js';

/** What computing a profile needs besides the store: the course and the services it may use. */
export interface ProfileDeps {
  db: Db;
  config: CourseConfig;
  services: Partial<Pick<Services, 'cohorts' | 'checkins'>>;
  now: number;
}

/**
 * Check-ins since the member's first join (as memberships record it) to today, local days:
 * expected are the days from the join day to yesterday, plus today once checked in (a day not
 * over yet is not a missed day), minus leave days; the rate is counted / expected.
 *
 * @example joined 4 days ago, checked in on 3 of those days, none today: 3 / 4 = 0.75
 */
export function checkinFigures(d: ProfileDeps, memberId: string): CheckinFigures {
  const today = localDate(d.now, d.config.course.timezone);
  return { ...checkinRate(d, memberId), streak: d.services.checkins?.streak(d.db, memberId, today) ?? 0 };
}

/** The check-in figures without the streak (what `profile.checkin_rate` reads: two small indexed queries, no streak walk). */
export function checkinRate(d: ProfileDeps, memberId: string): Omit<CheckinFigures, 'streak'> {
  const tz = d.config.course.timezone;
  const today = localDate(d.now, tz);
  const joined = firstJoinedAt(d.db, memberId);
  if (joined === null) return { counted: 0, leave: 0, expected: 0, rate: 0 };
  const first = localDate(joined, tz);
  const records = checkinRecords(d.db, memberId, first).filter((r) => r.day <= today);
  const counted = records.filter((r) => r.kind !== 'leave').length;
  const leave = records.filter((r) => r.kind === 'leave' && r.day < today).length;
  const todayCounted = records.some((r) => r.day === today && r.kind !== 'leave');
  const expected = Math.max(0, daysBetween(first, today) + (todayCounted ? 1 : 0) - leave);
  return { counted, leave, expected, rate: expected > 0 ? Math.min(1, counted / expected) : 0 };
}

/** Paid purchases with the product's title now. */
export function purchasesOf(d: ProfileDeps, memberId: string): Purchase[] {
  return paidOrdersOf(d.db, memberId).map((o) => ({
    orderId: o.id,
    productId: o.product_id,
    title: d.config.catalog.products[o.product_id]?.title ?? o.product_id,
    paid: o.paid_amount ?? o.amount,
    currency: o.currency,
    paidAt: Number(o.paid_at),
    state: o.state,
  }));
}

/** The groups a member is in now, with each group's cohort (through the cohorts service). */
export function groupsOf(d: ProfileDeps, memberId: string): Profile['groups'] {
  return activeGroupsOf(d.db, memberId).map((id) => ({ id, name: d.config.groups[id]?.name ?? id, cohort: d.services.cohorts?.ofGroup(id)?.id ?? null }));
}

/**
 * The member's cohort by membership (the cohorts service: a join, a paid seat, a deferral), so a
 * member deferred to 第4期 who still sits in 第3期's group reads 第4期. A member with no
 * membership (imported, or there before the course had cohorts): the cohorts of the groups they
 * are in now.
 */
export function cohortsOf(d: Pick<ProfileDeps, 'db' | 'services'>, memberId: string, groups: () => readonly { cohort: string | null }[]): string[] {
  const own = d.services.cohorts?.memberCohort(d.db, memberId);
  if (own) return [own.id];
  return [...new Set(groups().flatMap((g) => (g.cohort ? [g.cohort] : [])))];
}

/** Weeks submitted and late; `weeks`: the assignments the course has (0 without homework). */
export function homeworkOf(d: ProfileDeps, memberId: string): Profile['homework'] {
  return { ...homeworkCounts(d.db, memberId), weeks: d.config.homework?.assignments.length ?? 0 };
}

/** The whole profile of a member; undefined when there is no such member. */
export function computeProfile(d: ProfileDeps, memberId: string): Profile | undefined {
  const m = getMember(d.db, memberId);
  if (!m) return undefined;
  const groups = groupsOf(d, memberId);
  const joined = firstJoinedAt(d.db, memberId);
  return {
    memberId: m.id,
    name: m.display_name,
    stage: m.stage,
    stageSince: Number(m.stage_since),
    stageHistory: stageHistory(d.db, memberId).map((t) => ({ from: t.from_stage, to: t.to_stage, at: Number(t.at), rule: t.rule_id, actor: t.actor })),
    tags: tagsOf(d.db, memberId),
    groups,
    cohorts: cohortsOf(d, memberId, () => groups).map((id) => ({ id, name: d.services.cohorts?.byId(id)?.name ?? id })),
    firstJoinedAt: joined,
    checkins: checkinFigures(d, memberId),
    homework: homeworkOf(d, memberId),
    topics: topicCounts(d.db, memberId),
    purchases: purchasesOf(d, memberId),
    bought: boughtProducts(d.db, memberId),
    referrals: referralCounts(d.db, memberId),
    lastActiveAt: Number(m.last_seen_at),
  };
}

/** Local days since `at` up to `now` (0 the same day). */
export function daysSince(at: number, now: number, timeZone: string): number {
  return daysBetween(localDate(at, timeZone), localDate(now, timeZone));
}

