/**
 * When an assignment opens and is due, for a cohort (期). An assignment either gives local dates
 * (`opens: "2026-03-16 10:00"`: the same for everyone, as before cohorts) or is relative to the
 * cohort's start: week N opens on start + 7·(N−1) days (at the cohort's start time, or at
 * `opens: +7d 10:00`), and `due: +6d 22:00` is six days after the week opens, at 22:00.
 */
import type { Cohort } from '../cohorts/contracts.js';
import { addDays, localInstant, parseLocalDateTime } from '../../util/days.js';
import { localDate, localMinuteOfDay, localParts } from '../../util/localtime.js';

/** A local date and time, or days after a reference day (the cohort's start; for `due`, the day the week opens) at a time. */
export type WhenSpec = { kind: 'at'; at: number } | { kind: 'after'; days: number; minute: number | undefined };

export interface AssignmentTimes {
  opensAt: number;
  dueAt: number;
  /** The deadline as members read it, local: `3月22日 22:00`. */
  dueText: string;
}

const RELATIVE = /^\+(\d{1,3})d(?:\s+([01]?\d|2[0-3]):([0-5]\d))?$/;

/** Parses `opens`/`due`: a local `YYYY-MM-DD HH:MM`, or `+Nd [HH:MM]`; undefined when it is neither. */
export function parseWhen(text: string, zone: string): WhenSpec | undefined {
  const abs = parseLocalDateTime(text);
  if (abs) return { kind: 'at', at: localInstant(abs.day, abs.minute, zone) };
  const m = RELATIVE.exec(text.trim());
  if (!m) return undefined;
  return { kind: 'after', days: Number(m[1]), minute: m[2] === undefined ? undefined : Number(m[2]) * 60 + Number(m[3]) };
}

/** `3月22日 22:00` in `zone`. */
export function showLocal(at: number, zone: string): string {
  const p = localParts(at, zone);
  return `${p.month}月${p.day}日 ${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
}

/** Days after the local day of `from`, at `minute` (default: the time of day of `from`). */
function after(from: number, spec: { days: number; minute: number | undefined }, zone: string): number {
  return localInstant(addDays(localDate(from, zone), spec.days), spec.minute ?? localMinuteOfDay(from, zone), zone);
}

/**
 * The times of week `week` for `cohort` (undefined cohort: dates only). Undefined when the
 * assignment is relative and there is no cohort to count from.
 */
export function timesFor(a: { week: number; opens: WhenSpec; due: WhenSpec; dueText?: string }, cohort: Pick<Cohort, 'startAt'> | undefined, zone: string): AssignmentTimes | undefined {
  let opensAt: number;
  if (a.opens.kind === 'at') opensAt = a.opens.at;
  else if (cohort) opensAt = after(cohort.startAt, a.opens, zone);
  else return undefined;
  const dueAt = a.due.kind === 'at' ? a.due.at : after(opensAt, a.due, zone);
  return { opensAt, dueAt, dueText: a.due.kind === 'at' && a.dueText ? a.dueText : showLocal(dueAt, zone) };
}

/** Whether any of the times count from a cohort's start. */
export function isRelative(a: { opens: WhenSpec; due: WhenSpec }): boolean {
  return a.opens.kind === 'after' || a.due.kind === 'after';
}
