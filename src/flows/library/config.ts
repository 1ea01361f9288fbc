/**
 * The `library:` section of kequn.yaml: the course materials (课件, 资料, 源码) members ask for,
 * each a link with the words members use for it and, optionally, the stages that may have it
 * (paid materials for paid members). Checked at load: ids unique, links http(s), stages known.
 */
import { z } from 'zod';
import { checkUnique, unknownStage } from '../../config/checks.js';
import { handle } from '../../config/schema.js';
import { section } from '../../core/feature.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    library: LibraryConfig;
  }
}

const itemSchema = z.strictObject({
  id: handle,
  title: z.string().trim().min(1).max(80),
  /** Where the material is: a course page, a cloud drive share, a repository. */
  link: z.string().url().refine((u) => /^https?:\/\//i.test(u), 'link must start with http:// or https://'),
  /** Words members use for it (速查表, cheatsheet); a request naming one gets only the matching items. */
  keywords: z.array(z.string().trim().min(1).max(20)).max(20).default([]),
  /** The stages whose members may have it; absent: everyone. Staff always may. */
  for_stages: z.array(z.string()).min(1).optional(),
});

const librarySchema = z
  .strictObject({
    items: z.array(itemSchema).max(200).default([]),
  })
  .default({ items: [] });

export type LibraryConfig = z.output<typeof librarySchema>;
export type LibraryItem = LibraryConfig['items'][number];

/** kequn.yaml's `library:`. */
export const librarySection = section({
  key: 'library',
  as: 'library',
  schema: librarySchema,
  resolve(raw, ctx) {
    checkUnique(ctx.file, raw.items.map((i) => i.id), (i) => ['library', 'items', i, 'id'], 'library item id');
    raw.items.forEach((item, i) =>
      item.for_stages?.forEach((s, j) => {
        const problem = unknownStage(s, ctx.stageIds, true);
        if (problem) ctx.file.problem(['library', 'items', i, 'for_stages', j], problem);
      }),
    );
    return raw;
  },
});
