/** The `announce:` section of kequn.yaml: how long a preview waits for /confirm, how often progress is told. */
import { z } from 'zod';
import { duration } from '../../config/schema.js';
import { section } from '../../core/feature.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    announce: AnnounceConfig;
  }
}

const announceSchema = z
  .strictObject({
    /** A preview not confirmed within this time is void. */
    confirm_within: duration.default(10 * 60_000),
    /** While an announcement is going out, the author hears how far it got this often. */
    progress_every: duration.default(60_000),
  })
  .default({ confirm_within: 10 * 60_000, progress_every: 60_000 });

export type AnnounceConfig = z.output<typeof announceSchema>;

/** kequn.yaml's `announce:`. */
export const announceSection = section({ key: 'announce', as: 'announce', schema: announceSchema, resolve: (a) => a });
