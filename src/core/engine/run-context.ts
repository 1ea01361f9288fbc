import type { DailyBudget, Priority } from '../../store/outbox.js';
import { budgetFor } from '../../bot/pacing.js';
import { getMember, type Member } from '../../store/members.js';
import { channelTemplateVars } from '../channel/vars.js';
import { renderTemplate } from '../templates.js';
import type { CourseConfig, RunContext, Trigger } from '../types.js';
import { deliverLater, laneOfTrigger } from './delivery.js';
import type { EngineDeps, FollowUps } from './types.js';

/**
 * What a rule's actions, a command and a feature's event handler get: the state, `render` with
 * the member's template variables, `send` through the one delivery policy, `emit` of follow-up
 * rule types, and `note` for the trace.
 */
export function runContext(
  deps: EngineDeps,
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
  const { db } = deps;
  const groupName = trigger.group ? config.groups[trigger.group]!.name : '';
  let budget: DailyBudget | undefined;
  return {
    db,
    config,
    now,
    trigger,
    member,
    ruleId,
    services: deps.services(),
    note: (text) => notes.push(text),
    emit: (type, vars = {}) => void followUps.set(type, { ...followUps.get(type), ...vars }),
    render: (template, extra = {}) => {
      const base = { name: member.display_name, group: groupName, course: config.course.name, bot: config.course.bot_name };
      return renderTemplate(template, {
        ...config.values,
        ...base,
        stage: getMember(db, member.id)?.stage ?? member.stage,
        ...channelTemplateVars(db, config, { platform: trigger.platform, group: trigger.group, template, base }),
        ...trigger.vars,
        ...extra,
      });
    },
    send: (args) => {
      // A reply or DM concerns this member; a message to another chat (an instructor, the
      // staff group) does not.
      const chat = args.to === 'chat' ? args.chat : args.to === 'dm' ? { kind: 'dm' as const, id: trigger.userPlatformId } : trigger.replyTo;
      const aboutMember = args.to !== 'chat' || (chat.kind === 'dm' && chat.id === trigger.userPlatformId);
      const groupId = chat.kind !== 'group' ? null : args.to === 'chat' ? (config.groupOf(trigger.platform, chat.id) ?? null) : trigger.group;
      // The row's id is not needed here: queued with the next request on PostgreSQL.
      const r = deliverLater(db, config, deps.log, {
        platform: trigger.platform,
        chat,
        memberId: aboutMember ? member.id : null,
        groupId,
        // Private messages follow the dry-run setting of the group the event came from.
        settingsGroup: groupId ?? trigger.group,
        text: args.text,
        priority: args.priority ?? lane,
        eventId: trigger.eventId,
        ruleId,
        lesson: args.lesson ?? null,
        now,
        budget: () => (budget ??= budgetFor(db, config, trigger.platform, now)),
      });
      if (r.notSent) {
        notes.push(r.notSent);
        return;
      }
      onSend();
    },
  };
}
