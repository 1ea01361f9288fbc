/**
 * The timeline's job: one occurrence of an entry for a cohort, sent through the outbox (its
 * pacing and quiet hours) in the job's transaction, exactly once: the occurrence's mark
 * (timeline_marks) is claimed with the sends, so a replayed, re-planned or moved job finds it
 * and sends nothing. A paused entry or a skipped occurrence is marked and not sent.
 */
import type { Platform } from '../../bot/events.js';
import { groupChats } from '../../core/group-chats.js';
import { renderTemplate } from '../../core/templates.js';
import type { CourseConfig, SystemJobContext } from '../../core/types.js';
import { identitiesOf } from '../../store/members.js';
import { claimReminder } from '../../store/reminders.js';
import type { Cohort } from '../cohorts/contracts.js';
import type { TimelineEntry } from './config.js';
import { SEND_KIND, type SendPayload } from './plan.js';
import { claimOccurrence, isPaused, membersInStage, setMark } from './store.js';

/** Members messaged per job run of a private fan-out; the next page is another job. */
export const TIMELINE_DMS_PER_BATCH = 500;

/** The entry's text for a cohort (course values, `{cohort}`, `{group}`, `{name}` filled). */
export function renderEntry(config: CourseConfig, entry: TimelineEntry, cohort: Cohort, vars: Record<string, string>): string {
  const text = entry.template !== undefined ? config.templates[entry.template]! : entry.text!;
  return renderTemplate(text, { ...config.values, course: config.course.name, bot: config.course.bot_name, cohort: cohort.name, ...vars });
}

/** The groups an entry goes to in a cohort (for a private entry: whose members it reaches). */
export function targetGroups(entry: TimelineEntry, cohort: Cohort): string[] {
  switch (entry.to.kind) {
    case 'trial':
      return cohort.trialGroups;
    case 'paid':
      return cohort.paidGroups;
    default:
      return cohort.groups;
  }
}

export function runSend(payload: unknown, ctx: SystemJobContext): string {
  const p = payload as SendPayload;
  const config = ctx.config;
  const entry = config.timeline.entries.find((e) => e.id === p.entry);
  const cohort = config.cohorts.find((c) => c.id === p.cohort);
  const what = `timeline ${p.entry} for ${p.cohort} (${p.occurrence})`;
  if (!entry || !cohort || (entry.cohorts && !entry.cohorts.includes(cohort.id))) return `skipped: ${what} is no longer in config`;
  if (p.after === undefined) {
    // The first run of the occurrence decides its fate, once.
    const paused = isPaused(ctx.db, entry.id, cohort.id);
    const { mark, won } = claimOccurrence(ctx.db, { cohort: cohort.id, entry: entry.id, occurrence: p.occurrence, mark: paused ? 'paused' : 'sent', by: null, now: ctx.now });
    if (mark === 'skip') return `skipped: staff skipped ${what}`;
    if (mark === 'paused') return `skipped: ${what} is paused`;
    if (!won) return `skipped: ${what} was already sent`;
  }
  if (entry.to.kind === 'stage') return sendPrivately(ctx, entry, cohort, entry.to.stage, p, what);
  let sent = 0;
  let chats = 0;
  for (const group of targetGroups(entry, cohort)) {
    const g = config.groups[group];
    if (!g) continue;
    for (const chat of groupChats(config, group)) {
      chats++;
      const id = ctx.send({ platform: chat.platform, chat: { kind: 'group', id: chat.id }, text: renderEntry(config, entry, cohort, { group: g.name }), memberId: null, groupId: group });
      if (id > 0) sent++;
    }
  }
  // Every chat held back by staff's /pause of the group: the listing says paused, not sent.
  if (chats > 0 && sent === 0) {
    setMark(ctx.db, { cohort: cohort.id, entry: entry.id, occurrence: p.occurrence, mark: 'paused' });
    return `${what}: not sent, the bot is paused in its groups`;
  }
  return `${what}: sent to ${sent} group chats`;
}

/**
 * One page of private messages to the cohort's members in `stage`; the next page is another job.
 * Members by cohort membership (the cohorts service): a member deferred into this cohort hears
 * it before they are in its groups, one deferred away does not, whatever group they still sit in.
 * Without the cohorts feature, the members in its groups.
 */
function sendPrivately(ctx: SystemJobContext, entry: TimelineEntry, cohort: Cohort, stage: string, p: SendPayload, what: string): string {
  const after = p.after ?? '';
  const cohorts = ctx.services.cohorts;
  const page = cohorts
    ? cohorts.membersInStage(ctx.db, cohort.id, stage, after, TIMELINE_DMS_PER_BATCH)
    : membersInStage(ctx.db, { groups: cohort.groups, stage, afterMemberId: after, limit: TIMELINE_DMS_PER_BATCH });
  const more = page.length === TIMELINE_DMS_PER_BATCH;
  const platforms = new Set<string>(cohort.groups.flatMap((g) => groupChats(ctx.config, g).map((c) => c.platform)));
  let sent = 0;
  for (const m of page) {
    // On a platform of the cohort's groups; a member deferred in from another cohort's groups on
    // another platform (or to a cohort without groups yet) is reached where kequn knows them.
    const identities = identitiesOf(ctx.db, m.member_id);
    const identity = identities.find((i) => platforms.has(i.platform)) ?? identities[0];
    if (!identity) continue;
    const platform = identity.platform as Platform;
    // Staff are not the cohort's students.
    if (ctx.config.roleOf(platform, identity.platform_id) !== 'member') continue;
    if (!claimReminder(ctx.db, `timeline:${cohort.id}:${entry.id}:${p.occurrence}:${m.member_id}`, ctx.now)) continue;
    ctx.send({ platform, chat: { kind: 'dm', id: identity.platform_id }, text: renderEntry(ctx.config, entry, cohort, { name: m.display_name }), memberId: m.member_id, groupId: null });
    sent++;
  }
  const last = page.at(-1)?.member_id;
  if (more && last !== undefined) ctx.plan({ kind: SEND_KIND, dueAt: ctx.dueAt, payload: { ...p, after: last } satisfies SendPayload, key: `${entry.id}/${cohort.id}/${last}` });
  return `${what}: ${sent} private messages to members in ${stage}${more ? ', more to come' : ''}`;
}
