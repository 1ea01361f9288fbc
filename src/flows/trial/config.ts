/**
 * The trial feature's configuration (kequn.yaml): the lessons (Markdown files in the course folder)
 * and the drip sequences that send them, checked at load.
 */
import { z } from 'zod';
import { checkUnique, unknownStage } from '../../config/checks.js';
import { readNamedFile } from '../../config/named-file.js';
import { duration, handle } from '../../config/schema.js';
import type { SectionContext } from '../../config/section.js';
import { didYouMean } from '../../util/suggest.js';
import { section } from '../../core/feature.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    lessons: Lesson[];
    sequences: SequencesConfig;
  }
}

export interface Lesson {
  n: number;
  title: string;
  file: string;
  body: string;
}

const lessonsSchema = z.array(z.strictObject({ n: z.number().int().min(1), title: z.string().min(1), file: z.string().min(1) })).default([]);

const sequencesSchema = z
  .record(
    handle,
    z.strictObject({
      while_stage: z.array(z.string()).min(1),
      /**
       * Step times count from `start` (when start_sequence runs) or from `channel`: the opening
       * of the member's private channel (the sequence waits for it, at most private_channel.hold_for).
       */
      count_from: z.enum(['start', 'channel']).default('start'),
      steps: z
        .array(
          z.strictObject({
            after: duration,
            lesson: z.number().int().optional(),
            template: z.string().optional(),
          }),
        )
        .min(1),
    }),
  )
  .default({});

export type SequencesConfig = z.output<typeof sequencesSchema>;

function resolveLessons(raw: z.output<typeof lessonsSchema>, ctx: SectionContext): Lesson[] {
  const lessons = raw.map((l, i) => {
    // Inside the config folder once symlinks are resolved, or it is never read (src/config/named-file.ts).
    const f = readNamedFile(ctx.dir, l.file);
    if (!f.ok) ctx.file.problem(['lessons', i, 'file'], `lesson ${f.message}`);
    return { ...l, body: f.ok ? f.text.trim() : '' };
  });
  checkUnique(ctx.file, lessons.map((l) => String(l.n)), (i) => ['lessons', i, 'n'], 'lesson number');
  return lessons;
}

function resolveSequences(sequences: SequencesConfig, ctx: SectionContext): SequencesConfig {
  const { file, templates, stageIds } = ctx;
  const lessons = (ctx.main.lessons ?? []) as { n: number }[];
  for (const [name, seq] of Object.entries(sequences)) {
    seq.while_stage.forEach((s, i) => {
      const p = unknownStage(s, stageIds, true);
      if (p) file.problem(['sequences', name, 'while_stage', i], p.replace(/ \(stages: .*\)$/, ''));
    });
    seq.steps.forEach((step, i) => {
      const path = ['sequences', name, 'steps', i];
      if ((step.lesson === undefined) === (step.template === undefined)) file.problem(path, 'a step sends either `lesson: N` or `template: NAME`');
      if (step.lesson !== undefined && !lessons.some((l) => l.n === step.lesson)) file.problem([...path, 'lesson'], `no lesson ${step.lesson}`);
      if (step.lesson !== undefined && !('lesson' in templates)) file.problem([...path, 'lesson'], 'lesson steps need a "lesson" template');
      if (step.template !== undefined && !(step.template in templates)) file.problem([...path, 'template'], `unknown template "${step.template}"${didYouMean(step.template, Object.keys(templates))}`);
    });
  }
  return sequences;
}

/** kequn.yaml's `lessons:`. */
export const lessonsSection = section({ key: 'lessons', as: 'lessons', schema: lessonsSchema, resolve: resolveLessons });
/** kequn.yaml's `sequences:`. */
export const sequencesSection = section({ key: 'sequences', as: 'sequences', schema: sequencesSchema, resolve: resolveSequences });
