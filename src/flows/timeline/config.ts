/**
 * timeline.yaml: the group timeline (群 SOP) — messages at offsets from each cohort's start, to
 * the cohort's trial or paid groups or privately to its members in a stage (docs/timeline.md).
 * A file of its own, like catalog.yaml and faq.yaml: a seller's SOP is long and edited on its
 * own, apart from the course's settings.
 *
 * @example
 * timeline:
 *   - { id: preview, when: "-1d 20:00", to: trial, template: timeline_preview }
 *   - { id: live, when: "every tue,thu 19:30 until end", to: paid, text: "今晚 19:30 直播，{cohort}的同学准时来哦" }
 *   - { id: survey, when: "+56d 10:00", to: { stage: paid }, text: "结营问卷：https://…" }
 */
import { z } from 'zod';
import { checkUnique, unknownStage } from '../../config/checks.js';
import { duration, handle } from '../../config/schema.js';
import type { SectionContext } from '../../config/section.js';
import { fileSection } from '../../core/feature.js';
import { inWindow } from '../../util/localtime.js';
import { parseWhen, type When } from './when.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    /** timeline.yaml (absent: no entries). */
    timeline: TimelineConfig;
  }
}

/** Where an entry goes: the cohort's groups of a kind, or privately to its members in a stage. */
export type TimelineTarget = { kind: 'trial' | 'paid' | 'groups' } | { kind: 'stage'; stage: string };

export interface TimelineEntry {
  id: string;
  /** As written (`every tue,thu 19:30 until end`), for listings. */
  label: string;
  when: When;
  to: TimelineTarget;
  /** A template of templates.yaml, or the text itself (exactly one). */
  template?: string;
  text?: string;
  /** The cohorts it runs for (absent: every cohort). */
  cohorts?: string[];
  /** How late a send missed while kequn was down may still go out (absent: scheduler.grace). */
  grace?: number;
}

export interface TimelineConfig {
  entries: TimelineEntry[];
}

/** The file it lives in, for problems reported from checkCourse. */
export const TIMELINE_FILE = 'timeline.yaml';

const targetSchema = z.union([z.enum(['trial', 'paid', 'groups']), z.strictObject({ stage: z.string().min(1) })]);

const entrySchema = z.strictObject({
  id: handle,
  /** `-1d 20:00`, `0d 09:00`, `+56d 10:00`, `every tue,thu 19:30 [from +7d] [until end|+27d]`. */
  when: z.string().min(1).max(120),
  /** `trial` / `paid` (the cohort's groups of that kind), `groups` (all its groups), or `{ stage: paid }` (privately). */
  to: targetSchema,
  template: z.string().min(1).optional(),
  text: z.string().min(1).max(4000).optional(),
  cohorts: z.array(handle).min(1).optional(),
  grace: duration.optional(),
});

export const timelineSchema = z.strictObject({
  timeline: z.array(entrySchema).max(200).default([]),
});

function resolveTimeline(raw: z.output<typeof timelineSchema> | undefined, ctx: SectionContext): TimelineConfig {
  if (raw === undefined) return { entries: [] };
  const { file, main } = ctx;
  checkUnique(file, raw.timeline.map((e) => e.id), (i) => ['timeline', i, 'id'], 'timeline entry id');
  // The cohorts as written in kequn.yaml (their section resolves beside this one).
  const cohortIds = new Set(Array.isArray(main.cohorts) ? (main.cohorts as { id?: unknown }[]).map((c) => String(c.id)) : []);
  const q = main.quiet_hours;
  const entries: TimelineEntry[] = [];
  raw.timeline.forEach((e, i) => {
    const path = ['timeline', i];
    let ok = true;
    let when: When | undefined;
    try {
      when = parseWhen(e.when);
    } catch (err) {
      file.problem([...path, 'when'], (err as Error).message);
      ok = false;
    }
    // A group message held by quiet hours would go out the next morning, about the wrong day:
    // refused, as resolveSchedule refuses a daily reminder inside them.
    if (when && q && inWindow(when.minute, q.start, q.end)) {
      file.problem([...path, 'when'], `runs inside quiet hours (kequn.yaml quiet_hours); it would only go out when they end. Pick a time outside them`);
      ok = false;
    }
    if ((e.template === undefined) === (e.text === undefined)) {
      file.problem(path, 'an entry has either `template:` (a name in templates.yaml) or `text:`');
      ok = false;
    } else if (e.template !== undefined && !(e.template in ctx.templates)) {
      file.problem([...path, 'template'], `unknown template "${e.template}" (add it to templates.yaml)`);
      ok = false;
    }
    if (typeof e.to === 'object') {
      const bad = unknownStage(e.to.stage, ctx.stageIds, true);
      if (bad) {
        file.problem([...path, 'to', 'stage'], bad);
        ok = false;
      }
    }
    e.cohorts?.forEach((c, j) => {
      if (!cohortIds.has(c)) {
        file.problem([...path, 'cohorts', j], `unknown cohort "${c}" (cohorts in kequn.yaml: ${[...cohortIds].join(', ') || 'none'})`);
        ok = false;
      }
    });
    if (!ok || !when) return;
    entries.push({
      id: e.id,
      label: e.when.trim(),
      when,
      to: typeof e.to === 'object' ? { kind: 'stage', stage: e.to.stage } : { kind: e.to },
      ...(e.template !== undefined ? { template: e.template } : {}),
      ...(e.text !== undefined ? { text: e.text } : {}),
      ...(e.cohorts ? { cohorts: e.cohorts } : {}),
      ...(e.grace !== undefined ? { grace: e.grace } : {}),
    });
  });
  return { entries };
}

/** timeline.yaml (absent: no timeline). */
export const timelineSection = fileSection({ key: 'timeline', file: TIMELINE_FILE, as: 'timeline', schema: timelineSchema, resolve: resolveTimeline });
