import type { Logger } from 'pino';
import { eventGroup, type ChatEvent, type FriendRequested, type Platform, type RoomInvited } from '../bot/events.js';
import { renderTemplate } from './templates.js';
import type { Db } from '../store/db.js';
import { inTransaction } from '../store/db.js';
import { appendEvent, isEventLogged } from '../store/events.js';
import { getMember, identitiesOf, recordJoin, recordLeave, resolveMember, type Member } from '../store/members.js';
import { enqueueMessage, type DailyBudget, type Priority } from '../store/outbox.js';
import { dueJobs, finishJob, getJob, lockPendingJob, type Job } from '../store/jobs.js';
import { isTransientConflict } from '../store/postgres.js';
import { lastFired, recordFire, recordRuleOutcomes, recordTrace, traceCatalog, type RuleOutcome, type TraceCatalog } from '../store/traces.js';
import { cleanName } from '../util/display-text.js';
import { formatDuration } from '../util/duration.js';
import { conditionLabels, evaluate, type CondResult } from './rules/conditions.js';
import type { CompiledRule } from './rules/compile.js';
import type { Registry } from './registry.js';
import { UsageError, type CourseConfig, type FactSpec, type JobContext, type RunContext, type SystemJobContext, type Trigger, type TriggerType } from './types.js';
import { planStandingJob } from './schedule/standing.js';
import type { Services } from './types.js';
import { effectiveRole, groupAcceptsCommands, groupDelivery } from './roles.js';
import { budgetFor } from '../bot/pacing.js';
import { observeChannel } from './channel/observe.js';
import { handleFriendRequest, handleRoomInvite } from './channel/requests.js';
import { channelTemplateVars } from './channel/vars.js';
import { markAnnounced } from '../store/private-channels.js';

/**
 * An event a feature emits about a member (src/core/engine.ts handleMemberEvent): its type, the
 * key that makes a redelivery a duplicate, the member and their platform chat, and what the
 * trigger carries besides (the order of `order.paid`).
 */
export interface MemberEvent {
  type: TriggerType;
  dedupeKey: string;
  memberId: string;
  platform: Platform;
  platformId: string;
  fields?: Partial<Trigger>;
}

/** Rule types the actions asked to run next (`on: checkin`), with the template variables they carry. */
type FollowUps = Map<Trigger['type'], Record<string, string>>;

export interface HandleResult {
  status: 'handled' | 'duplicate' | 'ignored';
  reason?: string;
  eventRowId?: number;
  memberId?: string;
  fired: string[];
  messages: number;
  /** For a room invitation: whether it is to be accepted (the kernel does it once this commits). */
  accept?: boolean;
}

export interface EngineDeps {
  db: Db;
  config: () => CourseConfig;
  registry: Registry;
  log: Logger;
  services: () => Services;
  /** Random delays (friend-request acceptances); seeded in tests. */
  random?: () => number;
}

/** The first word of a message starting with `/`, as Telegram and instructors write commands. */
export function parseCommand(text: string): { name: string; args: string } | null {
  const m = /^\/([a-zA-Z][\w-]{0,31})(?:@\w+)?(?:\s+([\s\S]*))?$/.exec(text.trim());
  return m ? { name: m[1]!.toLowerCase(), args: (m[2] ?? '').trim() } : null;
}

/**
 * The rule engine. Each event is handled in one transaction: log it (a redelivered event is
 * dropped here), resolve the member, update memberships, evaluate the rules against the state
 * as it was when the event arrived, run the matching rules' actions, and record the trace.
 */
/** A condition's result for the trace, its value cut short: a 4,000-character message need not be stored once per rule. */
function brief(c: CondResult): CondResult {
  return typeof c.actual === 'string' && c.actual.length > TRACE_VALUE_CHARS ? { ...c, actual: `${c.actual.slice(0, TRACE_VALUE_CHARS)}…` } : c;
}

const TRACE_VALUE_CHARS = 120;

/**
 * The outbox lane of what a rule sends when it names none (docs/operations.md): a newcomer's
 * welcome is urgent, in the group at the join and privately when their private channel opens
 * (they just added the bot and wait for it); everything else a reply (lessons of a drip, notices
 * and announcements name theirs).
 */
function laneOfTrigger(trigger: Trigger): Priority {
  return trigger.type === 'member.joined' || trigger.type === 'channel.opened' ? 'urgent' : 'reply';
}

/** The trace catalog of a rule set (its condition texts, see traces.ts), built once per config. */
const catalogs = new WeakMap<CompiledRule[], TraceCatalog>();

function catalogOf(rules: CompiledRule[]): TraceCatalog {
  let c = catalogs.get(rules);
  if (!c) {
    c = traceCatalog(rules.map((r) => ({ id: r.id, labels: [...conditionLabels(r.when), ...(r.cooldown !== undefined ? [cooldownLabel(r.cooldown)] : [])] })));
    catalogs.set(rules, c);
  }
  return c;
}

function cooldownLabel(ms: number): string {
  return `cooldown ${formatDuration(ms)}`;
}

export class Engine {
  /** Jobs that lost a race with another process, and how often (see runDueJobs). */
  private readonly jobRaces = new Map<number, number>();

  constructor(private readonly deps: EngineDeps) {}

  handleEvent(event: ChatEvent, now: number): HandleResult {
    const config = this.deps.config();
    const { db } = this.deps;
    if (event.type === 'friend.requested' || event.type === 'room.invited') return this.handleRequest(config, event, now);
    const groupId = eventGroup(event)?.id ?? null;
    const group = groupId !== null ? config.groupOf(event.platform, groupId) : undefined;
    if (groupId !== null && group === undefined) {
      return { status: 'ignored', reason: `group ${groupId} is not a course group in config`, fired: [], messages: 0 };
    }
    return inTransaction(db, () => {
      const dedupeKey = `${event.platform}:${event.eventId}`;
      if (isEventLogged(db, dedupeKey)) return { status: 'duplicate', reason: 'event already handled', fired: [], messages: 0 };
      const { member, created } = resolveMember(db, {
        platform: event.platform,
        platformId: event.user.id,
        // Normalised here too, whatever the adapter did: the one door every name comes in by.
        displayName: cleanName(event.user.name),
        initialStage: config.stageIds[0]!,
        now,
      });
      // The row is written once with its member: inserting it bare and setting the member after
      // rewrote two of its index entries, about 2.5 more pages per event in the WAL.
      const eventRowId = appendEvent(db, { type: event.type, platform: event.platform, dedupeKey, memberId: member.id, groupId: group ?? null, payload: event, at: now });
      // Checked above in this same transaction: a conflict here means the log is inconsistent.
      if (eventRowId === undefined) throw new Error(`event ${dedupeKey} was logged during its own handling`);

      let inviterMemberId: string | null = null;
      if (event.type === 'member.joined') {
        if (event.inviter && event.inviter.id !== event.user.id) {
          inviterMemberId = resolveMember(db, {
            platform: event.platform,
            platformId: event.inviter.id,
            displayName: cleanName(event.inviter.name),
            initialStage: config.stageIds[0]!,
            now,
          }).member.id;
        }
        recordJoin(db, { memberId: member.id, groupId: group!, inviterId: inviterMemberId, now });
      } else if (event.type === 'member.left') {
        recordLeave(db, { memberId: member.id, groupId: group!, now });
      }

      // Before any rule: the private channel as the platform just described it (held messages
      // released when it opened), so every rule and action sees it as it is now.
      const channel = observeChannel(db, config, event, member.id, now, this.deps.registry.channel);
      if (event.type === 'channel.closed' || (event.type === 'channel.opened' && !channel.opening)) {
        recordTrace(db, { eventId: eventRowId, jobId: null, memberId: member.id, ruleId: 'channel', matched: true, detail: { trigger: event.type, conditions: [], actions: channel.notes }, at: now });
        return { status: 'handled', eventRowId, memberId: member.id, fired: [], messages: 0 };
      }
      if (channel.notes.length > 0) {
        recordTrace(db, { eventId: eventRowId, jobId: null, memberId: member.id, ruleId: 'channel', matched: true, detail: { trigger: event.type, conditions: [], actions: channel.notes }, at: now });
      }

      const isDm = (event.type === 'message' && event.chat.kind === 'dm') || event.type === 'channel.opened';
      const text = event.type === 'message' ? event.text : event.type === 'channel.opened' ? channel.opening!.text : '';
      const command = event.type === 'message' ? parseCommand(text) : null;
      const trigger: Trigger = {
        type: event.type === 'message' && command ? 'command' : event.type,
        platform: event.platform,
        eventId: eventRowId,
        jobId: null,
        group: group ?? null,
        replyTo: isDm || groupId === null ? { kind: 'dm', id: event.user.id } : { kind: 'group', id: groupId },
        userPlatformId: event.user.id,
        text,
        isDm,
        mentionsBot: event.type === 'message' && event.mentionsBot,
        quoted: event.type === 'message' ? event.quoted : undefined,
        command,
        isNewMember: created,
        inviterMemberId,
        channel: event.type === 'channel.opened' ? channel.opening : undefined,
      };
      const c = trigger.command ? this.runCommand(config, trigger, member, now) : { fired: [], messages: 0 };
      // A group where staff paused the bot: the event is recorded, no rule runs (commands do).
      const paused = trigger.group !== null && groupDelivery(db, config, trigger.group).paused;
      if (paused) {
        recordTrace(db, { eventId: eventRowId, jobId: null, memberId: member.id, ruleId: 'group:paused', matched: true, detail: { trigger: trigger.type, conditions: [], actions: [`bot paused in ${trigger.group}: no rules run`] }, at: now });
      }
      const r = paused ? { fired: [], messages: 0 } : this.runRules(config, trigger, member, now, undefined);
      // The channel opened with another event (a join of someone already a friend, a first private
      // message): the channel.opened rules run after the event's own, on the state they left.
      const o =
        channel.opening && trigger.type !== 'channel.opened' && !paused
          ? this.runRules(
              config,
              { ...trigger, type: 'channel.opened', replyTo: { kind: 'dm', id: event.user.id }, text: '', isDm: true, mentionsBot: false, quoted: undefined, command: null, channel: channel.opening },
              getMember(db, member.id) ?? member,
              now,
              undefined,
            )
          : { fired: [], messages: 0 };
      if (channel.opening && !paused) markAnnounced(db, event.platform, event.user.id, now);
      return { status: 'handled', eventRowId, memberId: member.id, fired: [...c.fired, ...r.fired, ...o.fired], messages: c.messages + r.messages + o.messages };
    });
  }

  /**
   * A friend request or a group invitation to the bot's account: not a member's event (no member
   * is made for a stranger's request); logged with its dedupe key, then decided by the course's
   * policy (src/core/channel/requests.ts) in the same transaction.
   */
  private handleRequest(config: CourseConfig, event: FriendRequested | RoomInvited, now: number): HandleResult {
    const { db } = this.deps;
    return inTransaction(db, () => {
      const dedupeKey = `${event.platform}:${event.eventId}`;
      const eventRowId = appendEvent(db, { type: event.type, platform: event.platform, dedupeKey, memberId: null, groupId: null, payload: event, at: now });
      if (eventRowId === undefined) return { status: 'duplicate', reason: 'event already handled', fired: [], messages: 0 };
      if (event.type === 'friend.requested') {
        const r = handleFriendRequest(db, config, event, now, this.deps.random ?? Math.random, this.deps.registry.channel);
        const what = !r.recorded ? 'already recorded' : r.decision.accept ? `to be accepted (${r.decision.reason})` : `ignored (${r.decision.reason})`;
        return { status: 'handled', eventRowId, reason: `friend request ${what}`, fired: [], messages: 0, accept: r.recorded && r.decision.accept };
      }
      const r = handleRoomInvite(db, config, event, now);
      return { status: 'handled', eventRowId, reason: `group invitation ${r.accept ? 'accepted' : 'declined'}: ${r.reason}`, fired: [], messages: 0, accept: r.accept && r.id !== undefined };
    });
  }

  /**
   * An event a feature emits about a member (`order.paid` from the order service, in the
   * transaction that marks the order paid), entering like a platform's: logged with its dedupe key
   * (a duplicate does nothing), then the features' handlers of its type run in list order with one
   * run context and one trace under the event's type (Feature.on: the lifecycle's stage move, the
   * receipt, the referral reward), then the `on: <type>` rules on the state they left. Runs inside
   * the caller's transaction when there is one.
   */
  handleMemberEvent(ev: MemberEvent, now: number): HandleResult {
    const config = this.deps.config();
    const { db, registry } = this.deps;
    return inTransaction(db, () => {
      const member = getMember(db, ev.memberId);
      if (!member) throw new Error(`no member ${ev.memberId}`);
      // Logged flat, as it always was: `{ type, dedupeKey, memberId, platform, platformId, order }`.
      const { fields, ...head } = ev;
      const eventRowId = appendEvent(db, { type: ev.type, platform: ev.platform, dedupeKey: ev.dedupeKey, memberId: member.id, groupId: null, payload: { ...head, ...fields }, at: now });
      if (eventRowId === undefined) return { status: 'duplicate', reason: `${ev.type} event already handled`, fired: [], messages: 0 };
      const trigger: Trigger = {
        type: ev.type,
        platform: ev.platform,
        eventId: eventRowId,
        jobId: null,
        group: null,
        replyTo: { kind: 'dm', id: ev.platformId },
        userPlatformId: ev.platformId,
        text: '',
        isDm: true,
        mentionsBot: false,
        command: null,
        isNewMember: false,
        inviterMemberId: null,
        ...ev.fields,
      };
      const ruleId = ev.type;
      const notes: string[] = [];
      let messages = 0;
      const ctx = this.runContext(config, trigger, member, now, ruleId, notes, () => messages++);
      for (const h of registry.handlers(ev.type)) h.run({ ...ctx, member: getMember(db, member.id) ?? member });
      recordTrace(db, {
        eventId: eventRowId,
        jobId: null,
        memberId: member.id,
        ruleId,
        matched: true,
        detail: { trigger: ev.type, conditions: [], actions: notes },
        at: now,
      });
      // Rules see the member as the handlers left them (stage paid, for example).
      const r = this.runRules(config, trigger, getMember(db, member.id)!, now, undefined);
      return { status: 'handled', eventRowId, memberId: member.id, fired: [ruleId, ...r.fired], messages: messages + r.messages };
    });
  }

  /**
   * Runs the jobs due at `now`, each in its own transaction with its effects. A job later than
   * the grace window (kequn was down) is skipped and recorded instead. Returns how many ran.
   */
  runDueJobs(now: number, limit = 200): number {
    const { db, log } = this.deps;
    const config = this.deps.config();
    let count = 0;
    for (const job of dueJobs(db, now, limit)) {
      // An earlier job of this batch may have cancelled this one (a sequence restarted).
      if (getJob(db, job.id)?.status !== 'pending') continue;
      try {
        // Locked for this transaction (FOR UPDATE SKIP LOCKED on PostgreSQL): a process that finds
        // the same job due skips it instead of waiting, and finishJob commits with the effects.
        const ran = inTransaction(db, () => {
          if (!lockPendingJob(db, job.id)) return false;
          this.runJob(config, job, now);
          return true;
        });
        if (!ran) continue;
        this.jobRaces.delete(job.id);
      } catch (e) {
        // Lost a race with another process on PostgreSQL: rolled back and still pending, so the
        // next tick runs it again (marking it failed would lose a reminder to a deadlock).
        // Three times at most: a unique violation that is not a race would come back forever.
        const lost = (this.jobRaces.get(job.id) ?? 0) + 1;
        if (isTransientConflict(e) && lost < 3) {
          this.jobRaces.set(job.id, lost);
          log.info({ job: job.id, kind: job.kind, err: (e as Error).message }, 'job lost a race with another kequn process; it runs again on the next tick');
          continue;
        }
        this.jobRaces.delete(job.id);
        // The job's effects were rolled back; mark it failed so it is not retried in a loop.
        log.error({ job: job.id, kind: job.kind, err: (e as Error).message }, 'job failed');
        finishJob(db, job.id, 'failed', now, (e as Error).message.slice(0, 500));
      }
      count++;
    }
    return count;
  }

  private runJob(config: CourseConfig, job: Job, now: number): void {
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
    if (job.member_id === null && handler?.runSystem) return this.runSystemJob(config, job, payload, now);
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
      ...this.runContext(config, trigger, member, now, `job:${job.kind}`, notes),
      jobId: job.id,
      runRule: (ruleId) => {
        const r = this.runRules(config, trigger, member, now, ruleId);
        return r.fired.length ? `rule ${ruleId} fired` : `rule ${ruleId} conditions not met`;
      },
    };
    const note = handler.run(payload, ctx);
    this.finishJobRun(job, member.id, [...notes, note], note, now);
  }

  /** A job of a standing schedule (no member): the handler's effects, a trace, the done mark. */
  private runSystemJob(config: CourseConfig, job: Job, payload: unknown, now: number): void {
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
        const { paused, dryRun } = groupDelivery(db, config, m.groupId);
        // A group where staff paused the bot hears nothing from scheduled work either (0: not queued).
        if (paused && m.chat.kind === 'group') {
          notes.push(`not sent: bot paused in ${m.groupId}`);
          return 0;
        }
        if (dryRun) log.info({ dryRun: true, chat: m.chat.id, job: job.kind, text: m.text }, 'dry run: message recorded, not sent');
        return enqueueMessage(db, {
          platform: m.platform,
          chatKind: m.chat.kind,
          chatId: m.chat.id,
          memberId: m.memberId,
          groupId: m.groupId,
          text: m.text,
          priority: m.priority ?? 'push',
          notBefore: now,
          eventId: null,
          ruleId: `job:${job.kind}`,
          dryRun,
          now,
          budget: budgetOf(m.platform),
        });
      },
    };
    const note = this.deps.registry.jobs.get(job.kind.split('.')[0]!)!.runSystem!(payload, ctx);
    this.finishJobRun(job, null, [...notes, note], note, now);
  }

  /**
   * Scheduled work leaves a trace too, so `kequn why` explains a drip lesson as well as a welcome;
   * then the job is marked done (or skipped) in the same transaction as its effects.
   */
  private finishJobRun(job: Job, memberId: string | null, actions: string[], note: string, now: number): void {
    const { db } = this.deps;
    const skipped = note.startsWith('skipped');
    recordTrace(db, { eventId: null, jobId: job.id, memberId, ruleId: `job:${job.kind}`, matched: !skipped, detail: { trigger: 'timer', conditions: [], actions }, at: now });
    if (!finishJob(db, job.id, skipped ? 'skipped' : 'done', now, note)) throw new Error(`job ${job.id} was finished by another run`);
  }

  /**
   * A built-in command. The sender's role comes from their platform id (config staff), never
   * from a display name; a refusal or a usage error is answered privately and traced.
   */
  private runCommand(config: CourseConfig, trigger: Trigger, member: Member, now: number): { fired: string[]; messages: number } {
    const { db, registry, log } = this.deps;
    const spec = registry.commands.get(trigger.command!.name);
    if (!spec) return { fired: [], messages: 0 };
    const ruleId = `command:/${spec.name}`;
    const role = effectiveRole(db, config, trigger.platform, trigger.userPlatformId);
    // Staff commands typed in a group run only where the group accepts them.
    const placeOk = trigger.group === null || spec.roles.includes('member') || groupAcceptsCommands(config, trigger.group);
    const allowed = spec.roles.includes(role) && placeOk;
    const notes: string[] = [];
    let messages = 0;
    const followUps: FollowUps = new Map();
    // A staff command's answer (a login link too) goes in the urgent lane: never behind a flood.
    const lane: Priority = allowed && role !== 'member' ? 'urgent' : 'reply';
    const ctx = this.runContext(config, trigger, member, now, ruleId, notes, () => messages++, followUps, lane);
    if (!spec.roles.includes(role)) {
      log.warn({ command: spec.name, platform: trigger.platform, user: trigger.userPlatformId, role }, 'command refused: role not allowed');
      ctx.send({ to: 'dm', text: `你没有权限使用 /${spec.name}。` });
      notes.push(`refused: role ${role}`);
    } else if (!placeOk) {
      log.warn({ command: spec.name, platform: trigger.platform, user: trigger.userPlatformId, group: trigger.group }, 'command refused: not accepted in this group');
      ctx.send({ to: 'dm', text: `这个群不接受 /${spec.name}，请私信我发送。` });
      notes.push(`refused: group ${trigger.group} does not accept staff commands`);
    } else {
      // Savepoint: a command that fails half-way leaves nothing behind, the event is still logged.
      try {
        db.transaction(() => notes.push(spec.run(trigger.command!.args, ctx)))();
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        messages = 0;
        ctx.send({ to: 'dm', text: `${e.message}\n用法：${spec.usage}` });
        notes.push(`usage error: ${e.message}`);
      }
    }
    recordTrace(db, {
      eventId: trigger.eventId,
      jobId: null,
      memberId: member.id,
      ruleId,
      matched: allowed,
      detail: {
        trigger: 'command',
        conditions: [
          { condition: `role in [${spec.roles.join(', ')}]`, actual: role, ok: spec.roles.includes(role) },
          ...(placeOk ? [] : [{ condition: 'group accepts staff commands', actual: trigger.group, ok: false }]),
        ],
        actions: notes,
      },
      at: now,
    });
    const f = this.runFollowUps(config, trigger, member, now, followUps);
    return { fired: allowed ? [ruleId, ...f.fired] : [], messages: messages + f.messages };
  }

  /** Rules of the types the actions emitted (`on: checkin`), once, on the state as it is now. */
  private runFollowUps(config: CourseConfig, trigger: Trigger, member: Member, now: number, types: FollowUps): { fired: string[]; messages: number } {
    const out = { fired: [] as string[], messages: 0 };
    for (const [type, vars] of types) {
      const current = getMember(this.deps.db, member.id) ?? member;
      const r = this.runRules(config, { ...trigger, type, vars: { ...trigger.vars, ...vars } }, current, now, undefined, true);
      out.fired.push(...r.fired);
      out.messages += r.messages;
    }
    return out;
  }

  private runRules(
    config: CourseConfig,
    trigger: Trigger,
    member: Member,
    now: number,
    onlyRule: string | undefined,
    isFollowUp = false,
  ): { fired: string[]; messages: number } {
    const { db } = this.deps;
    const cache = new Map<string, unknown>();
    const factCtx = { db, config, now, trigger, member, services: this.deps.services() };
    const getFact = (spec: FactSpec, param?: string): unknown => {
      const key = param === undefined ? spec.name : `${spec.name}.${param}`;
      if (!cache.has(key)) cache.set(key, spec.get(factCtx, param));
      return cache.get(key);
    };
    const matched: CompiledRule[] = [];
    const traces: { rule: CompiledRule; ok: boolean; conditions: CondResult[] }[] = [];
    for (const rule of config.rules) {
      if (onlyRule !== undefined ? rule.id !== onlyRule : rule.on !== trigger.type) continue;
      const conditions: CondResult[] = [];
      let ok = evaluate(rule.when, getFact, conditions);
      if (rule.cooldown !== undefined) {
        const last = lastFired(db, member.id, rule.id);
        const cooling = last !== undefined && now - last < rule.cooldown;
        conditions.push({
          condition: cooldownLabel(rule.cooldown),
          actual: last === undefined ? 'never fired' : `fired ${formatDuration(now - last)} ago`,
          ok: !cooling,
        });
        ok = ok && !cooling;
      }
      traces.push({ rule, ok, conditions });
      if (ok) {
        matched.push(rule);
        if (rule.final) break;
      }
    }
    let messages = 0;
    // A follow-up's own emits are dropped: a check-in rule cannot loop into itself.
    const followUps: FollowUps = new Map();
    const outcomes: RuleOutcome[] = [];
    for (const t of traces) {
      const notes: string[] = [];
      if (t.ok) {
        const ctx = this.runContext(config, trigger, member, now, t.rule.id, notes, () => messages++, followUps);
        for (const a of t.rule.actions) a.spec.run(a.arg, ctx);
        recordFire(db, member.id, t.rule.id, now);
      }
      // A rule that did not match keeps only the conditions that failed: that is what `why` shows.
      const conditions = t.ok ? t.conditions.map(brief) : t.conditions.filter((c) => !c.ok).map(brief);
      outcomes.push({ ruleId: t.rule.id, matched: t.ok, detail: t.ok ? { conditions, actions: notes } : { conditions } });
    }
    recordRuleOutcomes(db, { eventId: trigger.eventId, jobId: trigger.jobId, memberId: member.id, at: now, trigger: trigger.type }, outcomes, catalogOf(config.rules));
    const fired = matched.map((r) => r.id);
    if (!isFollowUp && followUps.size > 0) {
      const f = this.runFollowUps(config, trigger, member, now, followUps);
      fired.push(...f.fired);
      messages += f.messages;
    }
    return { fired, messages };
  }

  private runContext(
    config: CourseConfig,
    trigger: Trigger,
    member: Member,
    now: number,
    ruleId: string,
    notes: string[],
    onSend: () => void = () => {},
    followUps: FollowUps = new Map(),
    lane: Priority = laneOfTrigger(trigger),
  ): RunContext {
    const { db } = this.deps;
    const groupName = trigger.group ? config.groups[trigger.group]!.name : '';
    let budget: DailyBudget | undefined;
    return {
      db,
      config,
      now,
      trigger,
      member,
      ruleId,
      services: this.deps.services(),
      note: (text) => notes.push(text),
      emit: (type, vars = {}) => void followUps.set(type, { ...followUps.get(type), ...vars }),
      render: (template, extra = {}) => {
        const base = { name: member.display_name, group: groupName, course: config.course.name, bot: config.course.bot_name };
        return renderTemplate(template, {
          ...base,
          stage: getMember(db, member.id)?.stage ?? member.stage,
          ...channelTemplateVars(db, config, { platform: trigger.platform, group: trigger.group, template, base }),
          ...trigger.vars,
          ...extra,
        });
      },
      send: (args) => {
        const { text, priority = lane } = args;
        // A reply or DM concerns this member; a message to another chat (an instructor, the
        // staff group) does not.
        const chat = args.to === 'chat' ? args.chat : args.to === 'dm' ? { kind: 'dm' as const, id: trigger.userPlatformId } : trigger.replyTo;
        const aboutMember = args.to !== 'chat' || (chat.kind === 'dm' && chat.id === trigger.userPlatformId);
        const groupId = chat.kind !== 'group' ? null : args.to === 'chat' ? (config.groupOf(trigger.platform, chat.id) ?? null) : trigger.group;
        // Private messages follow the dry-run setting of the group the event came from.
        const { paused, dryRun } = groupDelivery(db, config, groupId ?? trigger.group);
        if (paused && groupId !== null) {
          notes.push(`not sent: bot paused in ${groupId}`);
          return;
        }
        enqueueMessage(db, {
          platform: trigger.platform,
          chatKind: chat.kind,
          chatId: chat.id,
          memberId: aboutMember ? member.id : null,
          groupId,
          text,
          priority,
          notBefore: now,
          eventId: trigger.eventId,
          ruleId,
          dryRun,
          now,
          budget: (budget ??= budgetFor(db, config, trigger.platform, now)),
          lesson: args.lesson ?? null,
        });
        if (dryRun) this.deps.log.info({ dryRun: true, chat: chat.id, rule: ruleId, text }, 'dry run: message recorded, not sent');
        onSend();
      },
    };
  }
}
