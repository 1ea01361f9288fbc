/**
 * Cohorts (期): a course runs 第3期, then 第4期, each with a start date, its groups and seats
 * (docs/cohorts.md). This folder holds the cohort definitions, the `cohorts` service other
 * features read them and members' cohorts through, membership (a join of a cohort's group, a
 * paid seat) and 延期/转期 (`/defer`, requests approved with `/deferrals`).
 */
import type { Feature } from '../../core/feature.js';
import { cohortActions, cohortCommands } from './commands.js';
import { cohortsSection } from './config.js';
import type { CohortsService } from './contracts.js';
import { cohortValues } from './course-values.js';
import { joinedCohortGroup, memberReport } from './membership.js';
import { cohortsService } from './service.js';
import { cohortExport, cohortForget } from './store.js';

declare module '../../core/types.js' {
  interface Services {
    cohorts: CohortsService;
  }
}

export const cohortsFeature: Feature = {
  name: 'cohorts',
  provides: ['cohorts'],
  config: [cohortsSection],
  services: ({ config }) => ({ cohorts: cohortsService(config) }),
  courseValues: cohortValues,
  on: { 'member.joined': joinedCohortGroup },
  commands: cohortCommands,
  actions: cohortActions,
  memberReport,
  privacy: { export: cohortExport, forget: cohortForget },
};
