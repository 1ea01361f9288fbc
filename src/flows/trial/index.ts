import { z } from 'zod';
import type { Db } from '../../store/db.js';
import { cancelJobs, cancelJobsLater, planJobLater } from '../../store/jobs.js';
import { addChannelWait, cancelChannelWaits, finishChannelWait, getChannel, waitingSequences } from '../../store/private-channels.js';
import type { Feature } from '../../core/feature.js';
import type { ChannelHooks } from '../../core/channel/hooks.js';
import type { ActionSpec, CourseConfig, RunContext } from '../../core/types.js';
import { lessonsSection, sequencesSection } from './config.js';

const LESSON_TEMPLATE = 'lesson';

function lessonText(n: number, ctx: RunContext): string {
  const lesson = ctx.config.lessons.find((l) => l.n === n)!;
  return ctx.render(ctx.config.templates[LESSON_TEMPLATE]!, {
    lesson_n: String(lesson.n),
    lesson_title: lesson.title,
    lesson_body: lesson.body,
  });
}

const sendLesson: ActionSpec<number> = {
  name: 'send_lesson',
  description: 'send lesson N privately (rendered with the "lesson" template)',
  schema: z.number().int().min(1),
  check(n, ctx) {
    const problems: string[] = [];
    if (!ctx.config.lessons.some((l) => l.n === n)) problems.push(`no lesson ${n} (lessons: ${ctx.config.lessons.map((l) => l.n).join(', ') || 'none'})`);
    if (!(LESSON_TEMPLATE in ctx.config.templates)) problems.push(`send_lesson needs a "${LESSON_TEMPLATE}" template in templates.yaml`);
    return problems;
  },
  run(n, ctx) {
    ctx.send({ to: 'dm', text: lessonText(n, ctx), lesson: n });
    ctx.note(`lesson ${n} sent privately`);
  },
};

/**
 * Plans the steps of sequence `name` for a member, counted from `from` (replacing pending steps:
 * a restart never doubles them). Used by start_sequence and, for a sequence that counts from the
 * private channel's opening, when the channel opens (src/core/channel/observe.ts).
 */
export function planSequence(
  db: Db,
  config: CourseConfig,
  args: { memberId: string; name: string; platform: string; group: string | null; from: number; now: number },
): number {
  const seq = config.sequences[args.name]!;
  // Nothing here is read back: on PostgreSQL these go with the next request (issue 20).
  cancelJobsLater(db, { memberId: args.memberId, kind: `sequence.${args.name}`, now: args.now, note: 'sequence restarted' });
  seq.steps.forEach((step, i) => {
    planJobLater(db, {
      kind: `sequence.${args.name}`,
      memberId: args.memberId,
      payload: { sequence: args.name, step: i, platform: args.platform, group: args.group ?? undefined },
      dueAt: args.from + step.after,
      now: args.now,
    });
  });
  return seq.steps.length;
}

const startSequence: ActionSpec<string> = {
  name: 'start_sequence',
  description: 'plan the steps of a drip sequence for the member on the scheduler (from now, or from the private channel opening: sequences.<name>.count_from)',
  schema: z.string().min(1),
  check: (name, ctx) => (name in ctx.config.sequences ? [] : [`unknown sequence "${name}" (sequences: ${Object.keys(ctx.config.sequences).join(', ') || 'none'})`]),
  run(name, ctx) {
    const seq = ctx.config.sequences[name]!;
    const { db, trigger, member, now } = ctx;
    if (seq.count_from === 'channel' && getChannel(db, trigger.platform, trigger.userPlatformId)?.state !== 'open') {
      // Nothing can reach them privately yet: the steps are planned from the channel's opening.
      cancelJobsLater(db, { memberId: member.id, kind: `sequence.${name}`, now, note: 'sequence restarted' });
      addChannelWait(db, { memberId: member.id, platform: trigger.platform, sequence: name, groupId: trigger.group, now });
      ctx.note(`sequence ${name}: waits for the private channel to open (${seq.steps.length} steps)`);
      return;
    }
    cancelChannelWaits(db, { memberId: member.id, sequence: name, now, note: 'sequence restarted' });
    const n = planSequence(db, ctx.config, { memberId: member.id, name, platform: trigger.platform, group: trigger.group, from: now, now });
    ctx.note(`sequence ${name}: ${n} steps planned`);
  },
};

const stopSequence: ActionSpec<string> = {
  name: 'stop_sequence',
  description: 'cancel the pending steps of a drip sequence for the member',
  schema: z.string().min(1),
  check: (name, ctx) => (name in ctx.config.sequences ? [] : [`unknown sequence "${name}"`]),
  run(name, ctx) {
    const n = cancelJobs(ctx.db, { memberId: ctx.member.id, kind: `sequence.${name}`, now: ctx.now, note: `stopped by rule ${ctx.ruleId}` });
    const waiting = cancelChannelWaits(ctx.db, { memberId: ctx.member.id, sequence: name, now: ctx.now, note: `stopped by rule ${ctx.ruleId}` });
    ctx.note(`sequence ${name}: ${n} pending steps cancelled${waiting ? ' (it was waiting for the private channel)' : ''}`);
  },
};

const stepPayload = z.object({ sequence: z.string(), step: z.number().int() });

/**
 * The member's private channel opened: the sequences that count from it (`count_from: channel`)
 * and waited are planned from now; those that waited past the window expire (the core's
 * private_channel.hold_for), those no longer in config are cancelled.
 */
const plannedOnOpening: ChannelHooks['opened'] = (db, config, { memberId, platform, now, cutoff }) => {
  const notes: string[] = [];
  for (const w of waitingSequences(db, memberId, platform)) {
    if (!(w.sequence in config.sequences)) {
      finishChannelWait(db, w.id, 'cancelled', now, 'sequence no longer in config');
      continue;
    }
    if (w.created_at <= cutoff) {
      finishChannelWait(db, w.id, 'expired', now, 'the private channel opened after the window');
      continue;
    }
    const steps = planSequence(db, config, { memberId, name: w.sequence, platform, group: w.group_id, from: now, now });
    finishChannelWait(db, w.id, 'started', now, `${steps} steps planned from the channel's opening`);
    notes.push(`sequence ${w.sequence}: ${steps} steps planned from the channel's opening`);
  }
  return notes;
};

/**
 * Trial: free lessons, the first with the welcome and the rest dripped on the scheduler. A step
 * falls due → if the member is still in one of the sequence's stages, the lesson goes out
 * privately as a proactive message (so quiet hours hold it until morning).
 */
export const trialFeature: Feature = {
  name: 'trial',
  config: [lessonsSection, sequencesSection],
  templateVars: ['lesson_n', 'lesson_title', 'lesson_body'],
  channel: { opened: plannedOnOpening },
  actions: [sendLesson, startSequence, stopSequence],
  jobs: [
    {
      kind: 'sequence',
      run(payload, ctx) {
        const { sequence, step } = stepPayload.parse(payload);
        const seq = ctx.config.sequences[sequence];
        const s = seq?.steps[step];
        if (!seq || !s) return `skipped: sequence ${sequence} step ${step} no longer in config`;
        if (!seq.while_stage.includes(ctx.member.stage)) return `skipped: member is in stage ${ctx.member.stage}, not ${seq.while_stage.join('/')}`;
        const text = s.lesson !== undefined ? lessonText(s.lesson, ctx) : ctx.render(ctx.config.templates[s.template!]!);
        ctx.send({ to: 'dm', text, priority: 'push', lesson: s.lesson });
        return s.lesson !== undefined ? `lesson ${s.lesson} sent` : `template ${s.template} sent`;
      },
    },
  ],
};
