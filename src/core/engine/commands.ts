import type { Member } from '../../store/members.js';
import type { Priority } from '../../store/outbox.js';
import { recordTrace } from '../../store/traces.js';
import { effectiveRole, groupAcceptsCommands } from '../roles.js';
import { UsageError, type CourseConfig, type Trigger } from '../types.js';
import { runFollowUps } from './rules.js';
import { runContext } from './run-context.js';
import type { EngineDeps, Fired, FollowUps } from './types.js';

/**
 * A command a feature registered. The sender's role comes from their platform id (config staff
 * and /grant), never from a display name; staff commands typed in a group run only where the
 * group accepts them; a refusal or a usage error is answered privately and traced, and a command
 * that fails half-way leaves nothing behind.
 */
export function runCommand(deps: EngineDeps, config: CourseConfig, trigger: Trigger, member: Member, now: number): Fired {
  const { db, registry, log } = deps;
  const spec = registry.commands.get(trigger.command!.name);
  if (!spec) return { fired: [], messages: 0 };
  const ruleId = `command:/${spec.name}`;
  const role = effectiveRole(db, config, trigger.platform, trigger.userPlatformId);
  const placeOk = trigger.group === null || spec.roles.includes('member') || groupAcceptsCommands(config, trigger.group);
  const allowed = spec.roles.includes(role) && placeOk;
  const notes: string[] = [];
  let messages = 0;
  const followUps: FollowUps = new Map();
  // A staff command's answer (a login link too) goes in the urgent lane: never behind a flood.
  const lane: Priority = allowed && role !== 'member' ? 'urgent' : 'reply';
  const ctx = runContext(deps, config, trigger, member, now, ruleId, notes, () => messages++, followUps, lane);
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
  const f = runFollowUps(deps, config, trigger, member, now, followUps);
  return { fired: allowed ? [ruleId, ...f.fired] : [], messages: messages + f.messages };
}
