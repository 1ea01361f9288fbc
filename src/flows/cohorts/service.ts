import type { CourseConfig } from '../../core/types.js';
import type { Cohort, CohortsService } from './contracts.js';
import { allCohortMemberships, cohortMembersInStage, cohortOfMember, membersOfCohort, setMemberCohort } from './store.js';

/** Lookups over the loaded cohorts, and members' cohorts in the store. */
export function cohortsService(config: CourseConfig): CohortsService {
  const all: readonly Cohort[] = config.cohorts;
  const byGroup = new Map<string, Cohort>();
  for (const c of all) for (const g of c.groups) byGroup.set(g, c);
  const byId = (id: string) => all.find((c) => c.id === id);
  return {
    all: () => all,
    byId,
    ofGroup: (group) => byGroup.get(group),
    openForSale: (now) => all.find((c) => now < c.saleUntil),
    running: (now) => all.filter((c) => c.startAt <= now && now < c.endAt).at(-1),
    after: (id) => {
      const c = byId(id);
      return c && all.find((x) => x.startAt > c.startAt);
    },
    // A membership of a cohort no longer in config reads as none: the member is treated as the
    // course without cohorts would treat them, until a join, payment or staff put them in one.
    memberCohort: (db, memberId) => {
      const row = cohortOfMember(db, memberId);
      return row && byId(row.cohort_id);
    },
    membersOf: (db, cohortId, afterMemberId, limit) => membersOfCohort(db, cohortId, afterMemberId, limit),
    membersInStage: (db, cohortId, stage, after, limit) => cohortMembersInStage(db, { cohortId, groups: byId(cohortId)?.groups ?? [], stage, after, limit }),
    memberships: (db) => allCohortMemberships(db),
    assign: (db, args) => setMemberCohort(db, args) !== undefined,
  };
}
