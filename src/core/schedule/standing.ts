import type { CourseConfig } from '../types.js';
import type { StandingJob } from '../types.js';
import type { Feature } from '../feature.js';
import type { Db } from '../../store/db.js';
import { inTransaction } from '../../store/db.js';
import { cancelJob, pendingStandingJobs, planJob } from '../../store/jobs.js';

/** The dedupe key of a standing job: the same occurrence is planned once, whoever plans it. */
export function standingKey(job: StandingJob): string {
  return `${job.kind}@${job.dueAt}${job.key ? `#${job.key}` : ''}`;
}

/** Plans a member-less job once (a second plan of the same kind, due time and key is a no-op). */
export function planStandingJob(db: Db, job: StandingJob, now: number): number | undefined {
  return planJob(db, { kind: job.kind, memberId: null, payload: job.payload, dueAt: job.dueAt, dedupeKey: standingKey(job), now });
}

/**
 * Brings the planned jobs in line with the flows' standing schedules after a start or a config
 * reload, in one transaction:
 * - a wanted occurrence is planned unless it already is (same kind and due time);
 * - a planned future job a flow no longer wants (time moved, assignment removed) is cancelled;
 * - a job already due is left alone: the scheduler runs it if within its grace window, or skips
 *   and records it.
 * Returns what changed, for the log.
 */
export function syncStanding(db: Db, flows: readonly Feature[], config: CourseConfig, now: number): { planned: number; cancelled: number } {
  return inTransaction(db, () => {
    let planned = 0;
    let cancelled = 0;
    for (const flow of flows) {
      if (!flow.plan) continue;
      const wanted = flow.plan(config, now);
      const keys = new Set(wanted.map(standingKey));
      for (const kind of flow.jobs?.map((j) => j.kind) ?? []) {
        for (const job of pendingStandingJobs(db, `${kind}.`)) {
          if (job.due_at > now && job.dedupe_key !== null && !keys.has(job.dedupe_key) && cancelJob(db, job.id, now, 'schedule changed in config')) cancelled++;
        }
      }
      for (const job of wanted) if (job.dueAt >= now && planStandingJob(db, job, now) !== undefined) planned++;
    }
    return { planned, cancelled };
  });
}
