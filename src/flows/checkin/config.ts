/**
 * The `checkin:` section of kequn.yaml: schedules parsed, group handles and templates checked,
 * each problem at its key path.
 */
import { z } from 'zod';
import { checkGroups, requireTemplates, resolveSchedule } from '../../config/checks.js';
import { handle, scheduleSchema } from '../../config/schema.js';
import type { SectionContext } from '../../config/section.js';
import { section } from '../../core/feature.js';
import type { Schedule } from '../../core/schedule/schedules.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    /** Check-ins (打卡), when kequn.yaml has a `checkin:` section. */
    checkin: CheckinConfig | null;
  }
}

export interface CheckinConfig {
  groups: string[];
  minLength: number;
  maxLength: number;
  groupErrors: 'reply' | 'silent';
  makeup: { within: number; perMonth: number };
  leave: { maxDays: number; perMonth: number };
  rankSize: number;
  reminder: (Schedule & { groups: string[]; nudgeAfter: number }) | null;
}

export const CHECKIN_TEMPLATES = ['checkin_ok', 'checkin_makeup', 'checkin_leave', 'checkin_rank'] as const;

/** Check-ins (打卡): streaks, make-ups, leave, the leaderboard and the daily reminder. */
export const checkinSchema = z.strictObject({
  /** Groups whose members are reminded (default: every group not of kind staff). */
  groups: z.array(handle).optional(),
  min_length: z.number().int().min(0).default(0),
  max_length: z.number().int().min(1).default(500),
  /** A refused check-in in a group: answer it there, or stay silent (private chats always answer). */
  group_errors: z.enum(['reply', 'silent']).default('reply'),
  makeup: z
    .strictObject({ within: z.number().int().min(0).max(31).default(2), per_month: z.number().int().min(0).default(2) })
    .default({ within: 2, per_month: 2 }),
  leave: z
    .strictObject({ max_days: z.number().int().min(1).max(31).default(7), per_month: z.number().int().min(0).default(4) })
    .default({ max_days: 7, per_month: 4 }),
  rank_size: z.number().int().min(1).max(50).default(10),
  reminder: scheduleSchema
    .extend({
      /** Groups that get the reminder (default: checkin.groups). */
      groups: z.array(handle).optional(),
      nudge_after: z.number().int().min(0).default(0),
    })
    .optional(),
});

function resolveCheckin(c: z.output<typeof checkinSchema> | undefined, ctx: SectionContext): CheckinConfig | null {
  const { main, templates, file } = ctx;
  if (!c) return null;
  checkGroups(c.groups, ['checkin', 'groups'], main, file);
  if (c.min_length > c.max_length) file.problem(['checkin', 'min_length'], `min_length ${c.min_length} is more than max_length ${c.max_length}`);
  const names: string[] = [...CHECKIN_TEMPLATES];
  const groups = c.groups ?? Object.entries(main.groups).filter(([, g]) => g.kind !== 'staff').map(([h]) => h);
  let reminder: CheckinConfig['reminder'] = null;
  if (c.reminder) {
    checkGroups(c.reminder.groups, ['checkin', 'reminder', 'groups'], main, file);
    const s = resolveSchedule(c.reminder, ['checkin', 'reminder'], main, file);
    if (s) reminder = { ...s, groups: c.reminder.groups ?? groups, nudgeAfter: c.reminder.nudge_after };
    names.push('checkin_reminder');
    if (c.reminder.nudge_after > 0) names.push('checkin_nudge');
  }
  requireTemplates(names, templates, ['checkin'], file, 'checkin');
  return {
    groups,
    minLength: c.min_length,
    maxLength: c.max_length,
    groupErrors: c.group_errors,
    makeup: { within: c.makeup.within, perMonth: c.makeup.per_month },
    leave: { maxDays: c.leave.max_days, perMonth: c.leave.per_month },
    rankSize: c.rank_size,
    reminder,
  };
}

/** kequn.yaml's `checkin:` (absent: check-ins off). */
export const checkinSection = section({ key: 'checkin', as: 'checkin', schema: checkinSchema.optional(), resolve: resolveCheckin });
