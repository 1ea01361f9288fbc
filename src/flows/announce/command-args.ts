import { localDate, localMinuteOfDay, nextLocalTime, zoneOffsetMs } from '../../util/localtime.js';
import { UsageError } from '../../core/types.js';

/**
 * Strict parsers for the staff commands' arguments. They only check the form; names of groups,
 * stages and members are checked against the course by the command. Every failure is a
 * UsageError, which the engine answers with the command's usage line, changing nothing.
 */

/** When: a date and time, or a time of day (the next time the clock shows it), course-local. */
export type When = { date: string; minute: number } | { date: null; minute: number };

/** Who an announcement reaches. */
export type TargetSpec = { kind: 'all' } | { kind: 'group'; handle: string } | { kind: 'group-kind'; groupKind: string } | { kind: 'stage'; stage: string } | { kind: 'segment'; segment: string };

export interface AnnounceRequest {
  at: When | null;
  dryRun: boolean;
  /** Empty: all course groups. */
  targets: TargetSpec[];
  text: string;
}

const DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
const TIME = /^([01]?\d|2[0-3]):([0-5]\d)$/;

function minuteOf(time: string): number | undefined {
  const m = TIME.exec(time);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

function normaliseDate(date: string): string | undefined {
  const m = DATE.exec(date);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) return undefined;
  return `${y}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Splits off the first whitespace-separated word. */
function shift(rest: string): { word: string; rest: string } | undefined {
  const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(rest.trim());
  return m ? { word: m[1]!, rest: m[2] ?? '' } : undefined;
}

/** `2026-03-05 20:00` or `20:00` at the start of `rest`; returns the time and what follows. */
function parseWhenPrefix(rest: string): { when: When; rest: string } {
  const first = shift(rest);
  if (!first) throw new UsageError('expected a time after "at" (YYYY-MM-DD HH:MM or HH:MM)');
  const minute = minuteOf(first.word);
  if (minute !== undefined) return { when: { date: null, minute }, rest: first.rest };
  const date = normaliseDate(first.word);
  if (date === undefined) throw new UsageError(`"${first.word}" is not a date or time (use YYYY-MM-DD HH:MM or HH:MM, 24-hour)`);
  const second = shift(first.rest);
  const m = second ? minuteOf(second.word) : undefined;
  if (!second || m === undefined) throw new UsageError(`expected a time of day (HH:MM, 24-hour) after ${date}`);
  return { when: { date, minute: m }, rest: second.rest };
}

function parseTarget(word: string): TargetSpec | undefined {
  if (word === 'all') return { kind: 'all' };
  if (word.startsWith('#') && word.length > 1) return { kind: 'group', handle: word.slice(1) };
  const m = /^(group|kind|stage|segment):(.+)$/.exec(word);
  if (!m) return undefined;
  if (m[1] === 'group') return { kind: 'group', handle: m[2]! };
  if (m[1] === 'kind') return { kind: 'group-kind', groupKind: m[2]! };
  if (m[1] === 'segment') return { kind: 'segment', segment: m[2]! };
  return { kind: 'stage', stage: m[2]! };
}

/**
 * `/announce [at YYYY-MM-DD HH:MM] [dry-run] [targets…] <text>`; targets are `all`, `#group`
 * (or `group:handle`), `kind:paid`, `stage:nurture`, `segment:勤奋学员` (kequn.yaml profile.segments).
 *
 * @example parseAnnounce('at 2026-03-05 20:00 #python-101 stage:trial 今晚直播') // at, 2 targets, text
 */
export function parseAnnounce(args: string): AnnounceRequest {
  let rest = args.trim();
  let at: When | null = null;
  let dryRun = false;
  const targets: TargetSpec[] = [];
  let w = shift(rest);
  if (w?.word === 'at') {
    const p = parseWhenPrefix(w.rest);
    at = p.when;
    rest = p.rest;
    w = shift(rest);
  }
  if (w && (w.word === 'dry-run' || w.word === '--dry-run')) {
    dryRun = true;
    rest = w.rest;
    w = shift(rest);
  }
  for (;;) {
    if (!w) break;
    const t = parseTarget(w.word);
    if (!t) break;
    targets.push(t);
    rest = w.rest;
    w = shift(rest);
  }
  const text = rest.trim();
  if (text === '') throw new UsageError(targets.length > 0 || at ? 'the announcement has no text' : 'expected the text of the announcement');
  if (text.length > 2000) throw new UsageError(`the text is ${text.length} characters; at most 2000`);
  return { at, dryRun, targets, text };
}

/**
 * `/remind <group> <text> at <YYYY-MM-DD HH:MM | HH:MM>`.
 *
 * @example parseRemind('python-vip 今晚 8 点交作业 at 19:30') // { group: 'python-vip', text: '今晚 8 点交作业', at: { date: null, minute: 1170 } }
 */
export function parseRemind(args: string): { group: string; text: string; at: When } {
  const m = /^(\S+)\s+([\s\S]+?)\s+at\s+(\S+(?:\s+\S+)?)\s*$/.exec(args.trim());
  if (!m) throw new UsageError('expected a group, the text and "at <time>" at the end');
  const { when, rest } = parseWhenPrefix(m[3]!);
  if (rest.trim() !== '') throw new UsageError(`unexpected "${rest.trim()}" after the time`);
  const group = m[1]!.replace(/^#/, '');
  return { group, text: m[2]!.trim(), at: when };
}

/**
 * The instant a course-local `When` stands for, after `now`. A date-time in the past, or a date
 * that does not exist, is a UsageError.
 */
export function resolveWhen(when: When, now: number, timeZone: string): number {
  if (when.date === null) return nextLocalTime(now, when.minute, timeZone);
  const [y, mo, d] = when.date.split('-').map(Number) as [number, number, number];
  // The wall-clock time read as UTC, moved by the zone's offset (read twice: the offset at the
  // instant itself is what counts on a day the clocks change).
  const wall = Date.UTC(y, mo - 1, d, Math.floor(when.minute / 60), when.minute % 60);
  const first = wall - zoneOffsetMs(wall, timeZone);
  const t = wall - zoneOffsetMs(first, timeZone);
  if (localDate(t, timeZone) !== when.date || localMinuteOfDay(t, timeZone) !== when.minute) {
    throw new UsageError(`${when.date} ${fmtMinute(when.minute)} does not exist in ${timeZone}`);
  }
  if (t <= now) throw new UsageError(`${when.date} ${fmtMinute(when.minute)} is in the past`);
  return t;
}

export function fmtMinute(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

