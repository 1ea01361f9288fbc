/**
 * What the join page tells staff privately: a pool running low, full, or without a valid QR code
 * (once per crossing, not on every view), and a QR code that expires within a day.
 */
import type { CourseConfig } from '../../core/types.js';
import { budgetFor } from '../../bot/pacing.js';
import { inTransaction, type Db } from '../../store/db.js';
import { findMemberByIdentity } from '../../store/members.js';
import { enqueueMessage } from '../../store/outbox.js';
import { grantedIdsOn } from '../../store/staff-roles.js';
import { fmtLocal } from '../../util/localtime.js';
import type { JoinPool } from './contracts.js';
import type { Picked, PoolState } from './pick.js';
import { poolState, setPoolState } from './store.js';

/** Owners and instructors on a platform, by platform id (config staff and granted instructors). */
export function staffIds(db: Db, config: CourseConfig, platform: 'wechat' | 'telegram'): string[] {
  const ids = new Set<string>();
  for (const s of config.staff) if ((s.role === 'owner' || s.role === 'instructor') && s[platform]) ids.add(s[platform]!);
  for (const id of grantedIdsOn(db, platform, ['instructor'])) ids.add(id);
  return [...ids];
}

export function tellStaff(db: Db, config: CourseConfig, platform: 'wechat' | 'telegram', text: string, now: number): number {
  const ids = staffIds(db, config, platform);
  const budget = budgetFor(db, config, platform, now);
  for (const id of ids) {
    const memberId = findMemberByIdentity(db, platform, id)?.id ?? null;
    enqueueMessage(db, { platform, chatKind: 'dm', chatId: id, memberId, groupId: null, text, priority: 'urgent', notBefore: now, eventId: null, ruleId: null, dryRun: config.dryRun, now, budget });
  }
  return ids.length;
}

export function poolName(config: CourseConfig, pool: JoinPool): string {
  return pool.groups.length === 1 && pool.id === pool.groups[0] ? (config.groups[pool.id]?.name ?? pool.id) : pool.id;
}

function stateText(config: CourseConfig, pool: JoinPool, p: Picked, state: PoolState): string {
  const name = poolName(config, pool);
  const fills = p.fills.map((f) => `${config.groups[f.group]?.name ?? f.group} ${f.members}/${pool.capacity}`).join('，');
  const admin = `${config.publicUrl}/join-admin`;
  if (state === 'full') return `【群活码】「${name}」的群都满了（${fills}），入群页现在进不了群。请新建群，加到 kequn.yaml 的 join.pools.${pool.id}.groups。`;
  if (state === 'no_qr') return `【群活码】「${name}」有空位的群都没有有效的群二维码，入群页显示“群正在更新”。请上传新的群二维码：${admin}`;
  return `【群活码】「${name}」快满了：还剩 ${p.free} 个位置（${fills}）。请准备新群，加到 kequn.yaml 的 join.pools.${pool.id}.groups。`;
}

/**
 * Records the pool's state and tells staff when it crossed into low, full or no_qr (from full
 * back to low, someone left: nothing to do). Returns whether staff were told.
 */
export function notePoolState(db: Db, config: CourseConfig, pool: JoinPool, p: Picked, now: number): boolean {
  const before = poolState(db, pool.id) ?? 'ok';
  if (before === p.state) return false;
  return inTransaction(db, () => {
    // Another request may have recorded the crossing meanwhile: told once.
    if ((poolState(db, pool.id) ?? 'ok') !== before) return false;
    setPoolState(db, pool.id, p.state, now);
    if (p.state === 'ok' || (before === 'full' && p.state === 'low')) return false;
    tellStaff(db, config, pool.platform, stateText(config, pool, p, p.state), now);
    return true;
  });
}

/** The reminder a day before a group's QR code expires. */
export function expiryText(config: CourseConfig, groupId: string, expiresAt: number): string {
  const name = config.groups[groupId]?.name ?? groupId;
  return `【群活码】「${name}」的群二维码将在 ${fmtLocal(expiresAt, config.course.timezone)} 过期，过期后入群页不再显示它。请在微信里重新保存群二维码并上传：${config.publicUrl}/join-admin`;
}
