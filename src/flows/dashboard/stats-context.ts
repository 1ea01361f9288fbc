import type { CourseConfig } from '../../core/types.js';
import type { Db } from '../../store/db.js';

/** What every dashboard figure is computed from and filtered by (metrics.ts, channel-funnel.ts). */
export interface StatsFilter {
  /** a group handle: members of that group (buyers, askers, referred members in it) */
  group?: string;
  /** a cohort id (kequn.yaml `cohorts:`): the cohort conversion of that 期 only */
  cohort?: string;
  /** epoch ms, inclusive (default: the beginning) */
  from?: number;
  /** epoch ms, exclusive (default: now) */
  to?: number;
}

export interface StatsContext {
  db: Db;
  config: Pick<CourseConfig, 'stages' | 'course' | 'checkin' | 'homework' | 'groups' | 'staff' | 'cohorts'>;
  now: number;
  /** Compute from the base tables instead of the rollups: slow at scale; the reference the rollups
   * are tested against (test/unit/stats-rollups.test.ts). */
  direct?: boolean;
}
