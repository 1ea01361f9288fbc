import type { Db } from './db.js';
import { planJobLater } from './jobs.js';

const HOUR = 3_600_000;
/** Expiry is never stale: a check that fell due while kequn was down runs whenever it starts again. */
export const EXPIRY_GRACE = 10 * 365 * 86_400_000;

/**
 * Plans a `channel.expire` check (src/core/channel/expiry.ts) at `dueAt`, once per due time: the
 * check expires what waited longer than private_channel.hold_for and plans the next one at the
 * next expiry. Something newly held plans a check at the next full hour (the store does not know
 * the window; the check does), so nothing is planned while nothing waits. Nobody reads the job's
 * id: on PostgreSQL it goes with the next request.
 */
export function planExpiryCheck(db: Db, dueAt: number, now: number): void {
  planJobLater(db, { kind: 'channel.expire', memberId: null, payload: { grace: EXPIRY_GRACE }, dueAt, dedupeKey: `channel.expire@${dueAt}`, now });
}

/** The next full hour after `now`: when something newly held is first checked. */
export function nextHour(now: number): number {
  return (Math.floor(now / HOUR) + 1) * HOUR;
}
