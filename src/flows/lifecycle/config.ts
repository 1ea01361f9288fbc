/**
 * The `lifecycle:` section of kequn.yaml: the stage a payment moves a member to, and the stage a
 * full refund moves them back to (docs/lifecycle.md). The stages themselves are the core's.
 */
import { z } from 'zod';
import { unknownStage } from '../../config/checks.js';
import type { SectionContext } from '../../config/section.js';
import { section } from '../../core/feature.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    /** Stage moves caused by payments. */
    lifecycle: LifecycleConfig;
  }
}

const lifecycleSchema = z
  .strictObject({
    on_paid: z.string().nullable().default(null),
    on_refunded: z.string().nullable().default(null),
  })
  .default({ on_paid: null, on_refunded: null });

export type LifecycleConfig = z.output<typeof lifecycleSchema>;

function resolveLifecycle(l: LifecycleConfig, ctx: SectionContext): LifecycleConfig {
  for (const key of ['on_paid', 'on_refunded'] as const) {
    const s = l[key];
    const p = s === null ? undefined : unknownStage(s, ctx.stageIds);
    if (p) ctx.file.problem(['lifecycle', key], p);
  }
  return l;
}

/** kequn.yaml's `lifecycle:` (the stage moves payments cause; applied by this feature's `order.paid` handler). */
export const lifecycleSection = section({ key: 'lifecycle', as: 'lifecycle', schema: lifecycleSchema, resolve: resolveLifecycle });
