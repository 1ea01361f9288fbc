import type { Platform } from '../../bot/events.js';
import { budgetFor } from '../../bot/pacing.js';
import { inTransaction } from '../../store/db.js';
import { dueJobs, finishJob, getJob, lockPendingJob, type Job } from '../../store/jobs.js';
import { getMember, identitiesOf } from '../../store/members.js';
import type { DailyBudget } from '../../store/outbox.js';
import { analyseAfterOwnBurst } from '../../store/planner-stats.js';
import { isTransientConflict } from '../../store/postgres.js';
import { recordTrace } from '../../store/traces.js';
import { formatDuration } from '../../util/duration.js';
import { planStandingJob } from '../schedule/standing.js';
import type { CourseConfig, JobContext, SystemJobContext, Trigger } from '../types.js';
import { deliver } from './delivery.js';
import { runRules } from './rules.js';
import { runContext } from './run-context.js';
import type { EngineDeps } from './types.js';

/**
 * Runs scheduled work: each due job in its own transaction with its effects, a member's job
 * through the feature's handler with a run context, a standing job (no member) through its
 * system handler. Jobs that lose a race with another process are retried on the next tick.
 */
export class JobRunner {
  /** Jobs that lost a race with another process, and how often (see runDue). */
  private readonly races = new Map<number, number>();

  constructor(private readonly deps: EngineDeps) {}

  /**
   * Runs the jobs due at `now`, each in its own transaction with its effects. A job later than
   * the grace window (kequn was down) is skipped and recorded instead. Returns how many ran.
   */
  runDue(now: number, limit = 200): number {
    const { db, log } = this.deps;
    const config = this.deps.config();
    let count = 0;
    // Jobs this process just planned by the thousand: read with fresh planner statistics (PostgreSQL).
    analyseAfterOwnBurst(db);
    for (const job of dueJobs(db, now, limit)) {
      // An earlier job of this batch may have cancelled this one (a sequence restarted).
      if (getJob(db, job.id)?.status !== 'pending') continue;
      try {
        // Locked for this transaction (FOR UPDATE SKIP LOCKED on PostgreSQL): a process that finds
        // the same job due skips it instead of waiting, and finishJob commits with the effects.
        const ran = inTransaction(db, () => {
          if (!lockPendingJob(db, job.id)) return false;
          this.run(config, job, now);
          return true;
        });
        if (!ran) continue;
        this.races.delete(job.id);
        // A fan-out just committed: analysed now, before this or another process reads the window.
        analyseAfterOwnBurst(db);
      } catch (e) {
        // Lost a race with another process on PostgreSQL: rolled back and still pending, so the
        // next tick runs it again (marking it failed would lose a reminder to a deadlock).
        // Three times at most: a unique violation that is not a race would come back forever.
        const lost = (this.races.get(job.id) ?? 0) + 1;
        if (isTransientConflict(e) && lost < 3) {
          this.races.set(job.id, lost);
          log.info({ job: job.id, kind: job.kind, err: (e as Error).message }, 'job lost a race with another kequn process; it runs again on the next tick');
          continue;
        }
        this.races.delete(job.id);
        // The job's effects were rolled back; mark it failed so it is not retried in a loop.
        log.error({ job: job.id, kind: job.kind, err: (e as Error).message }, 'job failed');
        finishJob(db, job.id, 'failed', now, (e as Error).message.slice(0, 500));
      }
      count++;
    }
    return count;
  }

  private run(config: CourseConfig, job: Job, now: number): void {
    const { db, log, registry } = this.deps;
    const late = now - job.due_at;
    const payload = JSON.parse(job.payload) as { platform?: Platform; group?: string; grace?: number };
    // A schedule may carry its own grace window (a daily reminder is stale sooner than a lesson).
    const grace = typeof payload.grace === 'number' ? payload.grace : config.scheduler.grace;
    if (late > grace) {
      finishJob(db, job.id, 'skipped', now, `missed by ${formatDuration(late)} (grace ${formatDuration(grace)})`);
      log.warn({ job: job.id, kind: job.kind, late: formatDuration(late) }, 'job skipped: fell due while kequn was down, past the grace window');
      return;
    }
    const handler = registry.jobs.get(job.kind.split('.')[0]!);
    if (job.member_id === null && handler?.runSystem) return this.runSystem(config, job, payload, now);
    const member = job.member_id ? getMember(db, job.member_id) : undefined;
    if (!handler || !member) {
      finishJob(db, job.id, 'failed', now, handler ? `member ${job.member_id} not found` : `no handler for job kind ${job.kind}`);
      return;
    }
    const platform = payload.platform ?? 'wechat';
    // The group whose event planned the job (its dry_run and {group} apply), if still configured.
    const group = payload.group !== undefined && payload.group in config.groups ? payload.group : null;
    const identity = identitiesOf(db, member.id).find((i) => i.platform === platform);
    if (!identity) {
      finishJob(db, job.id, 'failed', now, `member has no ${platform} identity`);
      return;
    }
    const trigger: Trigger = {
      type: 'timer',
      platform,
      eventId: null,
      jobId: job.id,
      group,
      replyTo: { kind: 'dm', id: identity.platform_id },
      userPlatformId: identity.platform_id,
      text: '',
      isDm: false,
      mentionsBot: false,
      command: null,
      isNewMember: false,
      inviterMemberId: null,
    };
    const notes: string[] = [];
    const ctx: JobContext = {
      ...runContext(this.deps, config, trigger, member, now, `job:${job.kind}`, notes),
      jobId: job.id,
      runRule: (ruleId) => {
        const r = runRules(this.deps, config, trigger, member, now, ruleId);
        return r.fired.length ? `rule ${ruleId} fired` : `rule ${ruleId} conditions not met`;
      },
    };
    const note = handler.run(payload, ctx);
    this.finish(job, member.id, [...notes, note], note, now);
  }

  /** A job of a standing schedule (no member): the handler's effects, a trace, the done mark. */
  private runSystem(config: CourseConfig, job: Job, payload: unknown, now: number): void {
    const { db, log } = this.deps;
    const notes: string[] = [];
    // A fan-out queues thousands of messages in one job: the budget is read once per platform.
    const budgets = new Map<string, DailyBudget>();
    const budgetOf = (platform: string) => budgets.get(platform) ?? budgets.set(platform, budgetFor(db, config, platform, now)).get(platform)!;
    const ctx: SystemJobContext = {
      db,
      config,
      now,
      jobId: job.id,
      kind: job.kind,
      dueAt: job.due_at,
      services: this.deps.services(),
      note: (text) => notes.push(text),
      plan: (j) => planStandingJob(db, j, now),
      send: (m) => {
        const r = deliver(db, config, log, {
          platform: m.platform,
          chat: m.chat,
          memberId: m.memberId,
          groupId: m.groupId,
          settingsGroup: m.groupId,
          text: m.text,
          priority: m.priority ?? 'push',
          eventId: null,
          ruleId: `job:${job.kind}`,
          now,
          budget: () => budgetOf(m.platform),
        });
        if (r.notSent) notes.push(r.notSent);
        return r.id;
      },
    };
    const note = this.deps.registry.jobs.get(job.kind.split('.')[0]!)!.runSystem!(payload, ctx);
    this.finish(job, null, [...notes, note], note, now);
  }

  /**
   * Scheduled work leaves a trace too, so `kequn why` explains a drip lesson as well as a welcome;
   * then the job is marked done (or skipped) in the same transaction as its effects.
   */
  private finish(job: Job, memberId: string | null, actions: string[], note: string, now: number): void {
    const skipped = note.startsWith('skipped');
    recordTrace(this.deps.db, { eventId: null, jobId: job.id, memberId, ruleId: `job:${job.kind}`, matched: !skipped, detail: { trigger: 'timer', conditions: [], actions }, at: now });
    if (!finishJob(this.deps.db, job.id, skipped ? 'skipped' : 'done', now, note)) throw new Error(`job ${job.id} was finished by another run`);
  }
}
