/**
 * Which group the join page hands out (群活码): the first group of the pool, in config order,
 * that has room (members counted from the store) and, on WeChat, a QR code that has not
 * expired; and the pool's state for staff (ok, low, full, no_qr).
 */
import type { CourseConfig } from '../../core/types.js';
import type { Db } from '../../store/db.js';
import type { JoinPool } from './contracts.js';
import { countGroupMembers, currentQr, joinLink, type QrRow } from './store.js';

export type PoolState = 'ok' | 'low' | 'full' | 'no_qr';

export type Choice =
  /** WeChat: this group's QR code. */
  | { kind: 'qr'; group: string; qr: QrRow }
  /** Telegram: this group's invite link for the channel. */
  | { kind: 'link'; group: string; url: string }
  /** Telegram: the link for this group and channel is not made yet (queued by the caller). */
  | { kind: 'link_pending'; group: string }
  /** Every group with room lacks a valid QR code: the page says the group is being updated. */
  | { kind: 'updating' }
  | { kind: 'full' };

export interface GroupFill {
  group: string;
  members: number;
  free: number;
}

export interface Picked {
  choice: Choice;
  state: PoolState;
  /** Free places of the whole pool. */
  free: number;
  fills: GroupFill[];
}

export function fillsOf(db: Db, pool: JoinPool): GroupFill[] {
  return pool.groups.map((group) => {
    const members = countGroupMembers(db, group);
    return { group, members, free: Math.max(0, pool.capacity - members) };
  });
}

export function pickGroup(db: Db, config: CourseConfig, pool: JoinPool, channel: string, now: number): Picked {
  const fills = fillsOf(db, pool);
  const free = fills.reduce((a, f) => a + f.free, 0);
  const open = fills.filter((f) => f.free > 0);
  if (open.length === 0) return { choice: { kind: 'full' }, state: 'full', free, fills };
  const state: PoolState = free <= pool.lowAt ? 'low' : 'ok';
  if (pool.platform === 'telegram') {
    const group = open[0]!.group;
    const url = joinLink(db, 'telegram', group, channel);
    return { choice: url ? { kind: 'link', group, url } : { kind: 'link_pending', group }, state, free, fills };
  }
  // A group whose QR expired is passed over: an expired code is never shown.
  for (const f of open) {
    const qr = currentQr(db, f.group, now);
    if (qr) return { choice: { kind: 'qr', group: f.group, qr }, state, free, fills };
  }
  void config;
  return { choice: { kind: 'updating' }, state: 'no_qr', free, fills };
}
