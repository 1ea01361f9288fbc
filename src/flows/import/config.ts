/**
 * kequn.yaml's `import:` section: what kequn does with the people already in a course group when
 * it starts (or when staff say /sync). They are recorded as members without a welcome, in the
 * stage the config gives existing members of that kind of group (docs/existing-groups.md).
 *
 * @example
 * import:
 *   at_login: true
 *   stages: { trial: nurture, paid: paid }
 * groups:
 *   python-101: { name: …, kind: trial, import_stage: trial }   # this group only
 */
import { z } from 'zod';
import { unknownStage } from '../../config/checks.js';
import { section } from '../../core/feature.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    import: ImportConfig;
  }
  interface GroupKeys {
    /** The stage of people found already in this group (overrides `import.stages` for its kind). */
    import_stage?: string;
  }
}

const importSchema = z
  .strictObject({
    /** Read the member lists of the course's WeChat groups when the account logs in. */
    at_login: z.boolean().default(true),
    /** The stage existing members start in, by the kind of group they were found in. */
    stages: z.strictObject({ trial: z.string().optional(), paid: z.string().optional() }).default({}),
  })
  .default({ at_login: true, stages: {} });

export interface ImportConfig {
  atLogin: boolean;
  /** Stage by group handle, for every trial and paid group (staff groups are never imported). */
  stageOf: Record<string, string>;
}

export const importGroupKeys = { import_stage: z.string().optional() };

/**
 * Defaults: trial groups → the first stage; paid groups → `paid` when the course has that stage
 * (else the first stage). A group's `import_stage` wins over its kind's.
 */
export const importSection = section({
  key: 'import',
  as: 'import',
  schema: importSchema,
  resolve(raw, ctx) {
    const first = ctx.stageIds[0]!;
    const byKind: Record<'trial' | 'paid', string> = {
      trial: raw.stages.trial ?? first,
      paid: raw.stages.paid ?? (ctx.stageIds.includes('paid') ? 'paid' : first),
    };
    for (const kind of ['trial', 'paid'] as const) {
      const s = raw.stages[kind];
      const problem = s === undefined ? undefined : unknownStage(s, ctx.stageIds, true);
      if (problem) ctx.file.problem(['import', 'stages', kind], problem);
    }
    const stageOf: Record<string, string> = {};
    for (const [handle, g] of Object.entries(ctx.main.groups)) {
      const own = (g as { import_stage?: string }).import_stage;
      if (own !== undefined) {
        const problem = unknownStage(own, ctx.stageIds, true);
        if (problem) ctx.file.problem(['groups', handle, 'import_stage'], problem);
      }
      if (g.kind === 'staff') {
        if (own !== undefined) ctx.file.problem(['groups', handle, 'import_stage'], 'a staff group is never imported (its people are staff, not students)');
        continue;
      }
      stageOf[handle] = own ?? byKind[g.kind];
    }
    return { atLogin: raw.at_login, stageOf };
  },
});
