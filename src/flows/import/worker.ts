/**
 * The import's worker: when a platform's account logs in (and again on /sync), it asks the
 * platform for the member lists (asynchronously, outside any transaction), records them, and
 * queues the counts for whoever asked as a job (`import.report`) the scheduler runs at once.
 */
import type { Worker, WorkerContext } from '../../core/feature.js';
import { inTransaction } from '../../store/db.js';
import { planJob } from '../../store/jobs.js';
import { applyRosters, emptyCounts, readRosters, type ImportCounts } from './roster.js';
import { effectiveRole } from '../../core/roles.js';
import { findMemberByIdentity } from '../../store/members.js';
import { finishImportRun, importSpeaker, pendingImportRuns, requestImportRun } from './store.js';

/** A puppet service may list some rooms only a while after login: groups not found are read again this often, this many times. */
const RETRY_MS = 60_000;
const RETRIES = 3;
/** How long one reading of the member lists may take before it counts as failed (tried again at the next tick). */
const ROSTER_TIMEOUT_MS = 10_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export function importWorker(ctx: WorkerContext): Worker {
  const wasReady = new Map<string, boolean>();
  const retries = new Map<string, { at: number; left: number }>();
  let busy = false;
  const run = async (): Promise<number> => {
    let done = 0;
    for (const [platform, adapter] of ctx.adapters) {
      const ready = adapter.isReady();
      const now = ctx.clock.now();
      const config = ctx.config();
      // A login (first, or again after a logout): read the lists once more.
      if (ready && !wasReady.get(platform) && config.import.atLogin && adapter.listGroupMembers) {
        requestImportRun(ctx.db, { platform, cause: 'login', now });
        retries.set(platform, { at: now + RETRY_MS, left: RETRIES });
      }
      wasReady.set(platform, ready);
      if (!ready) continue;
      const retry = retries.get(platform);
      if (retry && retry.left > 0 && now >= retry.at && pendingImportRuns(ctx.db, platform).length === 0) {
        retry.left--;
        retry.at = now + RETRY_MS;
        requestImportRun(ctx.db, { platform, cause: 'login', now });
      }
      const runs = pendingImportRuns(ctx.db, platform);
      if (runs.length === 0) continue;
      let counts: ImportCounts;
      try {
        // A puppet that never answers (a room it has not loaded, a server gone mid-call) must not
        // hold the worker, and with it the kernel's sends, past this.
        const read = await withTimeout(readRosters(adapter, config), ROSTER_TIMEOUT_MS);
        counts = read ? applyRosters(ctx.db, config, adapter.platform, read, ctx.clock.now()) : emptyCounts(true);
      } catch (e) {
        ctx.log.warn({ platform, err: (e as Error).message }, 'import: reading the group member lists failed; trying again at the next tick');
        continue;
      }
      // Every group found: no more retries after this login.
      if (counts.missing.length === 0) retries.delete(platform);
      const finished = ctx.clock.now();
      inTransaction(ctx.db, () => {
        for (const r of runs) {
          if (!finishImportRun(ctx.db, r.id, counts, finished)) continue;
          if (r.cause === 'sync' && r.reply_kind && r.reply_id) {
            planJob(ctx.db, { kind: 'import.report', memberId: null, payload: { platform, chat: { kind: r.reply_kind, id: r.reply_id }, counts }, dueAt: finished, dedupeKey: `import.report:${r.id}`, now: finished });
          }
        }
      });
      ctx.log.info({ platform, ...counts, runs: runs.map((r) => r.cause) }, 'import: group member lists read');
      done++;
      if (runs.some((r) => r.cause === 'sync')) ctx.tick();
    }
    return done;
  };
  return {
    /**
     * On a platform with no member list (Telegram), someone first met by their message in a group
     * was there before the bot: they start where the import would have put them. After the
     * event's transaction (its rules ran on the first stage), in one of its own.
     *
     * Only the message that made the member can show that (importSpeaker asks for a membership
     * made with the member): anyone else's message costs nothing here. Reading the member's
     * records after every group message added about 6 requests to each on PostgreSQL.
     */
    afterEvent(event, result) {
      if (!result.newMember || event.type !== 'message' || event.chat.kind !== 'group') return;
      const adapter = ctx.adapters.get(event.platform);
      const config = ctx.config();
      if (!adapter || adapter.listGroupMembers || !config.import.atLogin) return;
      const group = config.groupOf(event.platform, event.chat.group.id);
      const stage = group === undefined ? undefined : config.import.stageOf[group];
      if (stage === undefined || effectiveRole(ctx.db, config, event.platform, event.user.id) !== 'member') return;
      try {
        inTransaction(ctx.db, () => {
          const member = findMemberByIdentity(ctx.db, event.platform, event.user.id);
          if (member && importSpeaker(ctx.db, { memberId: member.id, groupId: group!, stage, now: ctx.clock.now() })) {
            ctx.log.info({ member: member.id, group, stage }, 'import: a member who was in the group before the bot spoke: recorded as imported');
          }
        });
      } catch (e) {
        ctx.log.warn({ err: (e as Error).message }, 'import: recording a speaker as imported failed');
      }
    },
    async dispatch() {
      // Live mode calls this every tick without waiting: one reading at a time.
      if (busy) return 0;
      busy = true;
      try {
        return await run();
      } finally {
        busy = false;
      }
    },
  };
}
