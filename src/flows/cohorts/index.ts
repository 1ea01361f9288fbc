/**
 * Cohorts (期): a course runs 第3期, then 第4期, each with a start date, its groups and seats
 * (docs/cohorts.md). This folder holds the cohort definitions and the `cohorts` service other
 * features read them through.
 */
import type { Feature } from '../../core/feature.js';
import { cohortsSection } from './config.js';
import type { CohortsService } from './contracts.js';
import { cohortValues } from './course-values.js';
import { cohortsService } from './service.js';

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
};
