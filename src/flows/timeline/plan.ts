/**
 * The timeline as config says it is now: every (entry, cohort, occurrence), and the standing jobs
 * that send them. Planning is syncStanding's (src/core/schedule/standing.ts): a job per
 * occurrence, keyed by kind, due time and (entry, cohort), so a moved entry or cohort start
 * cancels the old job and plans the new one, and planning twice plans nothing new.
 */
import type { CourseConfig, StandingJob } from '../../core/types.js';
import type { Cohort } from '../cohorts/contracts.js';
import type { TimelineEntry } from './config.js';
import { occurrences, type Occurrence } from './when.js';

export const SEND_KIND = 'timeline.send';

export interface Planned extends Occurrence {
  entry: TimelineEntry;
  cohort: Cohort;
}

/** The cohorts an entry runs for. */
export function cohortsOf(config: CourseConfig, entry: TimelineEntry): Cohort[] {
  return entry.cohorts ? config.cohorts.filter((c) => entry.cohorts!.includes(c.id)) : config.cohorts;
}

/** Every occurrence of the timeline, in time order (ties: cohort, then entry order). */
export function timelineOccurrences(config: CourseConfig, filter?: { cohort?: string }): Planned[] {
  const zone = config.course.timezone;
  const out: Planned[] = [];
  for (const entry of config.timeline?.entries ?? []) {
    for (const cohort of cohortsOf(config, entry)) {
      if (filter?.cohort !== undefined && cohort.id !== filter.cohort) continue;
      for (const o of occurrences(entry.when, cohort, zone)) out.push({ ...o, entry, cohort });
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

/** What a send job carries: the job reads the entry from the config in force when it runs. */
export interface SendPayload {
  entry: string;
  cohort: string;
  occurrence: string;
  grace?: number;
  /** A continuation of a private fan-out: the last member done. */
  after?: string;
}

/** The standing jobs of the timeline: one per future occurrence (past ones are not planned). */
export function planTimeline(config: CourseConfig, now: number): StandingJob[] {
  return timelineOccurrences(config)
    .filter((o) => o.at >= now)
    .map((o) => ({
      kind: SEND_KIND,
      dueAt: o.at,
      payload: { entry: o.entry.id, cohort: o.cohort.id, occurrence: o.id, ...(o.entry.grace !== undefined ? { grace: o.entry.grace } : {}) } satisfies SendPayload,
      key: `${o.entry.id}/${o.cohort.id}`,
    }));
}
