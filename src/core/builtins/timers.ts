import { z } from 'zod';
import { planJob } from '../../store/jobs.js';
import { isDuration, parseDuration, formatDuration } from '../../util/duration.js';
import type { ActionSpec } from '../types.js';
import type { Feature } from '../feature.js';

const scheduleArg = z.strictObject({
  rule: z.string().min(1),
  after: z.string().refine(isDuration, { message: 'expected a duration such as 2h or 1d' }),
});

const schedule: ActionSpec<z.infer<typeof scheduleArg>> = {
  name: 'schedule',
  description: 'run an `on: timer` rule for this member after a delay (persisted; survives restarts)',
  schema: scheduleArg,
  check(arg, ctx) {
    const rule = ctx.config.rawRules.find((r) => r.id === arg.rule);
    if (!rule) return [`no rule with id "${arg.rule}"`];
    if (rule.on !== 'timer') return [`rule "${arg.rule}" is "on: ${rule.on}"; scheduled rules must be "on: timer"`];
    return [];
  },
  run(arg, ctx) {
    const after = parseDuration(arg.after);
    planJob(ctx.db, {
      kind: `rule.${arg.rule}`,
      memberId: ctx.member.id,
      payload: { rule: arg.rule, platform: ctx.trigger.platform, group: ctx.trigger.group ?? undefined },
      dueAt: ctx.now + after,
      now: ctx.now,
    });
    ctx.note(`rule ${arg.rule} scheduled in ${formatDuration(after)}`);
  },
};

/** Timers: rules that run later for a member (`on: timer`), planned by the `schedule` action. */
export const timersFlow: Feature = {
  name: 'timers',
  actions: [schedule],
  jobs: [
    {
      kind: 'rule',
      run(payload, ctx) {
        const { rule } = z.object({ rule: z.string() }).parse(payload);
        return ctx.runRule(rule);
      },
    },
  ],
};
