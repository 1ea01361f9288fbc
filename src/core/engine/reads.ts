import type { ChatEvent } from '../../bot/events.js';
import type { StoreRead } from '../../store/batch.js';
import { identityMemberRead, memberRead, type Member } from '../../store/members.js';
import { pausedRead } from '../../store/pauses.js';
import { channelRead } from '../../store/private-channels.js';
import { grantedRoleRead } from '../../store/staff-roles.js';
import { lastFiredRead } from '../../store/traces.js';
import type { CompiledRule, Cond, CourseConfig, FactReadContext, FactSpec, TriggerType } from '../types.js';

/**
 * What an event's handling will read, listed before it runs so the store loads it in one request
 * (src/store/batch.ts; on PostgreSQL a round trip saved per read, on SQLite nothing happens).
 * A read listed here and not used costs the server a lookup, not a wait; a read not listed still
 * happens, as a request of its own: this list only makes the usual path fast.
 */

/** Before the member is known: their identity and member row, their private channel, their granted role, the group's pause. */
export function senderReads(event: ChatEvent, group: string | undefined): StoreRead[] {
  return [
    identityMemberRead(event.platform, event.user.id),
    channelRead(event.platform, event.user.id),
    grantedRoleRead(event.platform, event.user.id),
    ...(group !== undefined ? [pausedRead(group)] : []),
  ];
}

/**
 * Once the member is known: the member row as handlers and templates read it again, what the
 * facts of the rules of these types read (FactSpec.reads), and each such rule's cooldown.
 */
export function ruleReads(rules: CompiledRule[], types: TriggerType[], ctx: FactReadContext): StoreRead[] {
  const out: StoreRead[] = [memberRead(ctx.member.id)];
  const { facts, cooldowns } = usedBy(rules, types);
  for (const { fact, param } of facts) out.push(...fact.reads!(ctx, param));
  for (const ruleId of cooldowns) out.push(lastFiredRead(ctx.member.id, ruleId));
  const seen = new Set<string>();
  return out.filter((r) => {
    const key = `${r.sql}\u0000${JSON.stringify(r.params)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

type Used = { facts: { fact: FactSpec; param?: string }[]; cooldowns: string[] };

/** The facts with reads and the cooldown rules of each set of trigger types, per rule set (built once per config). */
const usedCache = new WeakMap<CompiledRule[], Map<string, Used>>();

function usedBy(rules: CompiledRule[], types: TriggerType[]): Used {
  let byTypes = usedCache.get(rules);
  if (!byTypes) usedCache.set(rules, (byTypes = new Map()));
  const key = types.join(',');
  let used = byTypes.get(key);
  if (!used) {
    const facts = new Map<string, { fact: FactSpec; param?: string }>();
    const cooldowns: string[] = [];
    const walk = (c: Cond): void => {
      if (c.kind === 'leaf') {
        if (c.fact.reads) facts.set(`${c.fact.name}.${c.param ?? ''}`, { fact: c.fact, param: c.param });
      } else if (c.kind === 'not') walk(c.item);
      else c.items.forEach(walk);
    };
    for (const r of rules) {
      if (!types.includes(r.on)) continue;
      walk(r.when);
      if (r.cooldown !== undefined) cooldowns.push(r.id);
    }
    used = { facts: [...facts.values()], cooldowns };
    byTypes.set(key, used);
  }
  return used;
}

/** The member a fact's reads are about, with who sent the event. */
export function factReadContext(member: Member, event: ChatEvent, group: string | undefined, now: number, config: CourseConfig): FactReadContext {
  return { member, platform: event.platform, userPlatformId: event.user.id, group: group ?? null, now, config };
}
