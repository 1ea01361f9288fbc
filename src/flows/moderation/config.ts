/** The `moderation:` section of kequn.yaml (docs/instructors.md) and the `moderation: true` key of a group. */
import { z } from 'zod';
import { duration } from '../../config/schema.js';
import { section } from '../../core/feature.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    moderation: ModerationConfig;
  }
  interface GroupKeys {
    /** Ads and spam in this group are warned and removed (settings: the moderation section). */
    moderation?: boolean;
  }
}

const moderationSchema = z
  .strictObject({
    /** Links to these domains (and their subdomains) are fine; any other link is an ad. */
    allowed_domains: z.array(z.string().min(1)).default([]),
    /** Words or phrases that mark a message as an ad (case-insensitive). */
    keywords: z.array(z.string().min(1)).default([]),
    /** WeChat ids and QQ numbers posted as contact details ("加微信 abc123") are ads. */
    contact_ids: z.boolean().default(true),
    /** The same text this many times within `within` is spam (texts of 6+ characters). */
    repeat: z.strictObject({ count: z.number().int().min(2).default(3), within: duration.default(10 * 60_000) }).default({ count: 3, within: 10 * 60_000 }),
    /** This many messages in one group within `within` is one flood (one offence); each further `count` is another. */
    flood: z.strictObject({ count: z.number().int().min(2).default(8), within: duration.default(60_000) }).default({ count: 8, within: 60_000 }),
    /** Warnings before removal: the offence after the last warning removes the member. */
    warnings: z.number().int().min(0).default(2),
    /** Ask the platform to delete the offending message where it allows the bot to. */
    delete: z.boolean().default(true),
    /** Warnings and removal notices to a group (and removal notices to the staff) within this time of the last one are merged. */
    merge: duration.default(60_000),
  })
  .default({ allowed_domains: [], keywords: [], contact_ids: true, repeat: { count: 3, within: 10 * 60_000 }, flood: { count: 8, within: 60_000 }, warnings: 2, delete: true, merge: 60_000 });

export type ModerationConfig = z.output<typeof moderationSchema>;

/** kequn.yaml's `moderation:`. */
export const moderationSection = section({ key: 'moderation', as: 'moderation', schema: moderationSchema, resolve: (m) => m });
/** A group's `moderation: true`. */
export const moderationGroupKeys = { moderation: z.boolean().optional() };
