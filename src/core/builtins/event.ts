import { localParts } from '../../util/localtime.js';
import { activeGroupsOf } from '../../store/members.js';
import { grantedRoleRead } from '../../store/staff-roles.js';
import { lastFired, lastFiredRead } from '../../store/traces.js';
import type { Feature } from '../feature.js';
import { effectiveRole } from '../roles.js';

/**
 * Facts about the event itself and the member's place in the course: what happened, where,
 * who said it, when (in the course's time zone).
 */
export const eventFlow: Feature = {
  name: 'event',
  facts: [
    { name: 'event', type: 'string', description: 'event type: member.joined, member.left, message, command, timer', get: (c) => c.trigger.type },
    { name: 'platform', type: 'string', description: 'wechat or telegram', get: (c) => c.trigger.platform },
    { name: 'group', type: 'string', description: 'handle of the course group (null in private chat)', get: (c) => c.trigger.group },
    {
      name: 'group.kind',
      type: 'string',
      description: 'kind of the course group: trial, paid or staff (null in private chat)',
      get: (c) => (c.trigger.group ? (c.config.groups[c.trigger.group]?.kind ?? null) : null),
    },
    { name: 'is_dm', type: 'boolean', description: 'the message came in private chat', get: (c) => c.trigger.isDm },
    { name: 'text', type: 'string', description: 'message text', get: (c) => c.trigger.text },
    { name: 'mentions_bot', type: 'boolean', description: 'the message @-mentions the bot', get: (c) => c.trigger.mentionsBot },
    { name: 'command', type: 'string', description: 'command name without the slash (null if not a command)', get: (c) => c.trigger.command?.name ?? null },
    { name: 'args', type: 'string', description: 'command arguments', get: (c) => c.trigger.command?.args ?? '' },
    {
      name: 'role',
      type: 'string',
      description: 'owner, instructor, assistant or member, by platform id (config staff, then roles granted by /grant)',
      get: (c) => effectiveRole(c.db, c.config, c.trigger.platform, c.trigger.userPlatformId),
      reads: (c) => [grantedRoleRead(c.platform, c.userPlatformId)],
    },
    { name: 'is_new_member', type: 'boolean', description: 'first time the bot sees this person', get: (c) => c.trigger.isNewMember },
    { name: 'invited', type: 'boolean', description: 'the platform says who invited the member', get: (c) => c.trigger.inviterMemberId !== null },
    { name: 'active_groups', type: 'number', description: 'course groups the member is in now', get: (c) => activeGroupsOf(c.db, c.member.id).length },
    { name: 'local_hour', type: 'number', description: 'hour of day (0-23) in the course time zone', get: (c) => localParts(c.now, c.config.course.timezone).hour },
    {
      name: 'weekday',
      type: 'number',
      description: 'day of week in the course time zone, 1 = Monday … 7 = Sunday',
      get: (c) => {
        const p = localParts(c.now, c.config.course.timezone);
        const d = new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay();
        return d === 0 ? 7 : d;
      },
    },
    {
      name: 'fired_ago',
      type: 'duration',
      description: 'fired_ago.<rule>: time since that rule last fired for the member (null if never)',
      param: {
        describe: 'a rule id',
        check: (param, config) => (config.ruleIds.has(param) ? undefined : `fired_ago.${param}: no rule with id "${param}"`),
      },
      get: (c, param) => {
        const at = lastFired(c.db, c.member.id, param!);
        return at === undefined ? null : c.now - at;
      },
      reads: (c, param) => [lastFiredRead(c.member.id, param!)],
    },
  ],
};
