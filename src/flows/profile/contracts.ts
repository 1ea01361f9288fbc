/**
 * The profile feature's public types: a member's profile (画像) as kequn computes it from what it
 * already records, and the `profile` service other features read it through
 * (`ctx.services.profile`). Another feature may import these types, and nothing else of this folder.
 */
import type { Services } from '../../core/types.js';
import type { Db } from '../../store/db.js';

/** One paid purchase (an order paid, possibly refunded in part or whole). */
export interface Purchase {
  orderId: string;
  productId: string;
  /** The product's title now, or the id when the catalog no longer has it. */
  title: string;
  /** What the buyer paid (fen; Stars for XTR) and in which currency. */
  paid: number;
  currency: string;
  paidAt: number;
  /** `paid`, `partially_refunded` or `refunded` (a refunded purchase is not counted as bought). */
  state: string;
}

/** A member's check-ins since they first joined a course group. */
export interface CheckinFigures {
  /** Days counted (check-ins and make-ups). */
  counted: number;
  /** Leave days (请假): neither counted nor expected. */
  leave: number;
  /** Days expected: from the first join's local day to today (today only once checked in), minus leave days. */
  expected: number;
  /** counted / expected, 0..1 (0 when nothing was expected yet). */
  rate: number;
  /** The current run of days, as the check-in feature counts it (leave days neither count nor break it). */
  streak: number;
}

/** The FAQ entry (or lesson) a member's questions were answered from, and how often. */
export interface TopicCount {
  entry: string;
  count: number;
}

/**
 * A member's profile: stage and its history, tags, groups and cohorts, check-ins, homework,
 * topics asked, purchases, referrals made, last activity. Computed on demand; nothing of it is
 * stored.
 */
export interface Profile {
  memberId: string;
  name: string;
  stage: string;
  stageSince: number;
  stageHistory: { from: string | null; to: string; at: number; rule: string | null; actor: string }[];
  tags: string[];
  /** Groups they are in now, with the cohort each belongs to (if any). */
  groups: { id: string; name: string; cohort: string | null }[];
  /** Their cohort (期) by membership; with none, the cohorts of those groups, distinct. */
  cohorts: { id: string; name: string }[];
  firstJoinedAt: number | null;
  checkins: CheckinFigures;
  homework: { done: number; late: number; weeks: number };
  topics: TopicCount[];
  purchases: Purchase[];
  /** Products bought and not fully refunded, in purchase order. */
  bought: string[];
  referrals: { made: number; paid: number };
  lastActiveAt: number;
}

/** A member a segment holds, with what a private message to them needs. */
export interface SegmentMember {
  member_id: string;
  platform_id: string;
  display_name: string;
  stage: string;
}

/** What the profile feature offers others (`ctx.services.profile`). */
export interface ProfileService {
  /** The whole profile of a member at `now` (undefined: no such member); `services`: the caller's (cohorts, check-ins). */
  of(db: Db, memberId: string, now: number, services: Services): Profile | undefined;
  /** Products the member bought and did not get fully refunded, in purchase order. */
  bought(db: Db, memberId: string): string[];
  /** Homework weeks handed in, late ones, and the weeks the course has. */
  homework(db: Db, memberId: string): { done: number; late: number; weeks: number };
  /** FAQ entries their questions were answered from, most asked first. */
  topics(db: Db, memberId: string): TopicCount[];
  /** The segments kequn.yaml `profile.segments` names. */
  segmentNames(): string[];
  /** The members of a segment with an identity on `platform`, now; never one who said 退订 (the recommend service). */
  segmentMembers(db: Db, name: string, platform: string, now: number, services: Services): SegmentMember[];
}
