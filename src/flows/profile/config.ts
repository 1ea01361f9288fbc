/**
 * kequn.yaml's `profile:`: named segments of members, each a condition map over the profile facts
 * as rules write them (`profile.checkin_rate: { gte: 0.8 }`), for `/announce segment:<name> …`.
 * The conditions are compiled against the profile facts when the course loads (checkCourse in
 * segments.ts), so a typo is a load error at file:line, never an empty audience.
 *
 * @example
 * profile:
 *   segments:
 *     勤奋学员: { profile.checkin_rate: { gte: 0.8 } }
 *     老学员未进阶: { profile.bought: python-vip, not: { profile.bought: data-pro } }
 */
import { z } from 'zod';
import { section } from '../../core/feature.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    profile: ProfileConfig;
  }
}

/** A segment's name, typed after `segment:` in a command: letters (Chinese too), digits, - and _. */
export const SEGMENT_NAME = /^[\p{L}\p{N}_-]{1,32}$/u;

const profileSchema = z
  .strictObject({
    segments: z.record(z.string().regex(SEGMENT_NAME, 'a segment name is 1-32 letters, digits, - or _'), z.record(z.string(), z.unknown())).default({}),
  })
  .default({ segments: {} });

export type ProfileConfig = z.output<typeof profileSchema>;

export const profileSection = section({
  key: 'profile',
  as: 'profile',
  schema: profileSchema,
  resolve: (raw) => raw,
});
