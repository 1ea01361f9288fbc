import { getKv, setKv, type Db } from '../../store/db.js';
import { OffsetClock, type Clock } from './clock.js';

/**
 * "Now" is the store's time: what the process running the bot on it reads from its clock. On a
 * real account that is the system clock. The playground's offset clock can be fast-forwarded, and
 * everything it writes (joins, orders, check-ins, the dashboard's rollup watermarks) carries its
 * time; so the offset is kept in the store, where `kequn stats` (another process) reads it and a
 * restarted playground continues from it. Without that the command line counted only what was
 * written before the fast-forward (1 member and ¥149 where the page showed 5 and ¥328), and a
 * restarted playground wrote rows behind the rollups' watermarks.
 */
const KEY = 'clock:offset_ms';

/** The offset from the system clock the store's bot last ran at (0: the system clock, or none yet). */
export function readClockOffset(db: Db): number {
  const v = Number(getKv(db, KEY) ?? 0);
  return Number.isFinite(v) ? v : 0;
}

/** Records the offset the bot's clock runs at (the playground calls it on every fast-forward). */
export function recordClockOffset(db: Db, offsetMs: number): void {
  setKv(db, KEY, String(Math.round(offsetMs)));
}

/** The store's "now": the system time plus the offset its bot runs at. */
export function storeNow(db: Db, systemNow = Date.now()): number {
  return systemNow + readClockOffset(db);
}

/**
 * At start: an offset clock (the playground) resumes at the store's time; any other clock is the
 * system's, and the store is told so (a store the playground had fast-forwarded, now run by a
 * real account, reads real time again).
 */
export function resumeStoreClock(db: Db, clock: Clock): void {
  if (clock instanceof OffsetClock) clock.advance(readClockOffset(db) - clock.offsetMs);
  else recordClockOffset(db, 0);
}
