/**
 * The cohorts feature's public types: what a cohort (期) is once loaded. Other features read
 * cohorts through `ctx.services.cohorts` and may import these types, nothing else of this folder.
 */
import type { Db } from '../../store/db.js';

export interface Cohort {
  /** Handle from config (`c3`). */
  id: string;
  /** What members and staff read (`第3期`). */
  name: string;
  /** The start's local day (`2026-03-16`) in the course zone. */
  startDay: string;
  /** The start instant (the local day's `start_time`, default 00:00). */
  startAt: number;
  /** The end instant: `end` as given, else start + weeks·7 days. */
  endAt: number;
  /** Length in weeks (homework weeks, the timeline's `until end`). */
  weeks: number;
  /** Its groups by handle, in config order. */
  groups: string[];
  /** Its groups of kind trial (体验群) and paid (正式班), for messages and invitations. */
  trialGroups: string[];
  paidGroups: string[];
  /** Seats for sale (absent: as many as the product sells). */
  seats?: number;
  /** Until when it is sold as the open cohort (default: its start + `sell_after_start`). */
  saleUntil: number;
}

/** What the cohorts feature offers other features (`ctx.services.cohorts`). */
export interface CohortsService {
  /** Every cohort, in start order. */
  all(): readonly Cohort[];
  byId(id: string): Cohort | undefined;
  /** The cohort a group belongs to (a group belongs to at most one cohort). */
  ofGroup(group: string): Cohort | undefined;
  /** The cohort open for sale at `now`: the earliest whose sale has not closed. */
  openForSale(now: number): Cohort | undefined;
  /** The cohort running at `now` (start ≤ now < end), the latest started when several are. */
  running(now: number): Cohort | undefined;
  /** The first cohort that starts after `id` (where a deferral goes by default). */
  after(id: string): Cohort | undefined;
  /** Members in a cohort after `afterMemberId` in key order, one page (reminder fan-outs). */
  membersOf(db: Db, cohortId: string, afterMemberId: string, limit: number): string[];
  /** The cohort a member is in (membership in the store), if any. */
  memberCohort(db: Db, memberId: string): Cohort | undefined;
  /**
   * One page of a cohort's members in a stage (private sends): by membership, and members in its
   * groups with no membership at all (imported, or there before the course had cohorts).
   */
  membersInStage(db: Db, cohortId: string, stage: string, afterMemberId: string, limit: number): { member_id: string; display_name: string }[];
  /** Every member's cohort handle by membership (figures per 期 over all members). */
  memberships(db: Db): Map<string, string>;
  /**
   * Puts a member in a cohort in the caller's transaction (a paid seat: `source: 'order'`),
   * the move kept with its reason. Returns whether it changed anything.
   */
  assign(db: Db, args: { memberId: string; cohortId: string; source: 'group' | 'order' | 'defer'; reason: string; by: string | null; now: number }): boolean;
}
