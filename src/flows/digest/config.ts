/**
 * kequn.yaml's `digest:` section: the staff's daily digest (日报), sent privately at a local time
 * to the staff it names, by role or by name (docs/digest.md).
 *
 * @example
 * digest:
 *   at: "08:30"
 *   to: [owner, instructor]      # roles, or names from staff: (王老师)
 *   quiet_days: 5                # "about to churn": a paying member silent this many days
 */
import { z } from 'zod';
import { timeOfDay } from '../../config/schema.js';
import { section } from '../../core/feature.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    /** null: no digest is sent (`npx kequn digest` still prints one). */
    digest: DigestConfig | null;
  }
}

const ROLES = ['owner', 'instructor', 'assistant'] as const;
type StaffRole = (typeof ROLES)[number];

const digestSchema = z
  .strictObject({
    at: timeOfDay,
    to: z.array(z.string().trim().min(1)).min(1).default(['owner', 'instructor']),
    quiet_days: z.number().int().min(1).max(60).default(5),
  })
  .nullable()
  .default(null);

export interface DigestConfig {
  /** Minute of the local day it is sent at. */
  minute: number;
  atText: string;
  /** Roles whose staff get it (config staff and /grant). */
  roles: StaffRole[];
  /** Staff entries named in `to` (by their `name`). */
  names: string[];
  quietDays: number;
}

export const digestSection = section({
  key: 'digest',
  as: 'digest',
  schema: digestSchema,
  resolve(raw, ctx) {
    if (raw === null) return null;
    const roles: StaffRole[] = [];
    const names: string[] = [];
    const staffNames = ctx.main.staff.map((s) => s.name);
    raw.to.forEach((who, i) => {
      if ((ROLES as readonly string[]).includes(who)) roles.push(who as StaffRole);
      else if (staffNames.includes(who)) names.push(who);
      else ctx.file.problem(['digest', 'to', i], `"${who}" is neither a role (${ROLES.join(', ')}) nor the name of someone under staff: (${staffNames.join(', ') || 'none'})`);
    });
    const two = (n: number) => String(n).padStart(2, '0');
    return { minute: raw.at, atText: `${two(Math.floor(raw.at / 60))}:${two(raw.at % 60)}`, roles, names, quietDays: raw.quiet_days };
  },
});
