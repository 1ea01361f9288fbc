import type { CourseConfig, Role } from './types.js';
import { groupChatId } from './group-chats.js';
import type { Platform } from '../bot/events.js';
import type { Db } from '../store/db.js';
import { grantedIdsOn, grantedRoleOf } from '../store/staff-roles.js';
import { isGroupPaused } from '../store/pauses.js';

/** Roles that make someone staff: exempt from moderation, allowed the staff commands. */
export const STAFF_ROLES: readonly Role[] = ['owner', 'instructor', 'assistant'];

/**
 * The sender's role, by platform id only: config `staff` first (the only source of owners, and
 * it cannot be overridden from chat), then a role an owner granted with /grant, else member.
 * A display name never enters into it.
 *
 * @example effectiveRole(db, config, 'wechat', 'teacher') // 'instructor'
 */
export function effectiveRole(db: Db, config: CourseConfig, platform: Platform, platformId: string): Role {
  const configured = config.roleOf(platform, platformId);
  if (configured !== 'member') return configured;
  return grantedRoleOf(db, platform, platformId) ?? 'member';
}

/** Staff commands typed in a group run only where the group allows them (staff groups by default). */
export function groupAcceptsCommands(config: CourseConfig, group: string): boolean {
  const g = config.groups[group];
  return g !== undefined && (g.commands ?? g.kind === 'staff');
}

/**
 * How a message to a course group is delivered: not at all while the bot is paused there, and
 * logged instead of sent when the bot or that group is in dry-run mode.
 */
export function groupDelivery(db: Db, config: CourseConfig, group: string | null): { paused: boolean; dryRun: boolean } {
  if (group === null) return { paused: false, dryRun: config.dryRun };
  return { paused: isGroupPaused(db, group), dryRun: config.dryRun || config.groups[group]?.dry_run === true };
}

/**
 * Where staff hear about things (moderation removals, appeals): each instructor and assistant
 * privately (config staff and granted roles), or the staff group named by `qa.escalate_to`.
 */
export function staffChats(db: Db, config: CourseConfig, platform: Platform): { kind: 'group' | 'dm'; id: string }[] {
  if (config.qa.escalate_to !== 'instructors') {
    const id = groupChatId(config, platform, config.qa.escalate_to);
    return id ? [{ kind: 'group', id }] : [];
  }
  const ids = new Set<string>();
  for (const s of config.staff) if ((s.role === 'instructor' || s.role === 'assistant') && s[platform]) ids.add(s[platform]!);
  for (const id of grantedIdsOn(db, platform, ['instructor', 'assistant'])) ids.add(id);
  return [...ids].map((id) => ({ kind: 'dm' as const, id }));
}
