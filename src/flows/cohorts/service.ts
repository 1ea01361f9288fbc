import type { CourseConfig } from '../../core/types.js';
import type { Cohort, CohortsService } from './contracts.js';

/** Lookups over the loaded cohorts (pure: the config is the only input). */
export function cohortsService(config: CourseConfig): CohortsService {
  const all: readonly Cohort[] = config.cohorts;
  const byGroup = new Map<string, Cohort>();
  for (const c of all) for (const g of c.groups) byGroup.set(g, c);
  return {
    all: () => all,
    byId: (id) => all.find((c) => c.id === id),
    ofGroup: (group) => byGroup.get(group),
    openForSale: (now) => all.find((c) => now < c.saleUntil),
    running: (now) => all.filter((c) => c.startAt <= now && now < c.endAt).at(-1),
  };
}
