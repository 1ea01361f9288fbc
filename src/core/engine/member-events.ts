import { inTransaction } from '../../store/db.js';
import { appendEvent } from '../../store/events.js';
import { getMember } from '../../store/members.js';
import { recordTrace } from '../../store/traces.js';
import type { Trigger } from '../types.js';
import { runRules } from './rules.js';
import { runContext } from './run-context.js';
import type { EngineDeps, HandleResult, MemberEvent } from './types.js';

/**
 * An event a feature emits about a member (`order.paid` from the order service, in the
 * transaction that marks the order paid), entering like a platform's: logged with its dedupe key
 * (a duplicate does nothing), then the features' handlers of its type run in list order with one
 * run context and one trace under the event's type (Feature.on: the lifecycle's stage move, the
 * receipt, the referral reward), then the `on: <type>` rules on the state they left. Runs inside
 * the caller's transaction when there is one.
 */
export function ingestMemberEvent(deps: EngineDeps, ev: MemberEvent, now: number): HandleResult {
  const config = deps.config();
  const { db, registry } = deps;
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
    const ctx = runContext(deps, config, trigger, member, now, ruleId, notes, () => messages++);
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
    const r = runRules(deps, config, trigger, getMember(db, member.id)!, now, undefined);
    return { status: 'handled', eventRowId, memberId: member.id, fired: [ruleId, ...r.fired], messages: messages + r.messages };
  });
}
