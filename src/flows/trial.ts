import { z } from 'zod';
import { planJob, cancelJobs } from '../store/jobs.js';
import type { ActionSpec, Flow, RunContext } from './types.js';

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
    ctx.send({ to: 'dm', text: lessonText(n, ctx) });
    ctx.note(`lesson ${n} sent privately`);
  },
};

const startSequence: ActionSpec<string> = {
  name: 'start_sequence',
  description: 'plan the steps of a drip sequence for the member on the scheduler',
  schema: z.string().min(1),
  check: (name, ctx) => (name in ctx.config.sequences ? [] : [`unknown sequence "${name}" (sequences: ${Object.keys(ctx.config.sequences).join(', ') || 'none'})`]),
  run(name, ctx) {
    const seq = ctx.config.sequences[name]!;
    // Restarting a sequence replaces the pending steps rather than doubling them.
    cancelJobs(ctx.db, { memberId: ctx.member.id, kind: `sequence.${name}`, now: ctx.now, note: 'sequence restarted' });
    seq.steps.forEach((step, i) => {
      planJob(ctx.db, {
        kind: `sequence.${name}`,
        memberId: ctx.member.id,
        payload: { sequence: name, step: i, platform: ctx.trigger.platform, group: ctx.trigger.group ?? undefined },
        dueAt: ctx.now + step.after,
        now: ctx.now,
      });
    });
    ctx.note(`sequence ${name}: ${seq.steps.length} steps planned`);
  },
};

const stopSequence: ActionSpec<string> = {
  name: 'stop_sequence',
  description: 'cancel the pending steps of a drip sequence for the member',
  schema: z.string().min(1),
  check: (name, ctx) => (name in ctx.config.sequences ? [] : [`unknown sequence "${name}"`]),
  run(name, ctx) {
    const n = cancelJobs(ctx.db, { memberId: ctx.member.id, kind: `sequence.${name}`, now: ctx.now, note: `stopped by rule ${ctx.ruleId}` });
    ctx.note(`sequence ${name}: ${n} pending steps cancelled`);
  },
};

const stepPayload = z.object({ sequence: z.string(), step: z.number().int() });

/**
 * Trial: free lessons, the first with the welcome and the rest dripped on the scheduler. A step
 * falls due → if the member is still in one of the sequence's stages, the lesson goes out
 * privately as a proactive message (so quiet hours hold it until morning).
 */
export const trialFlow: Flow = {
  name: 'trial',
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
        ctx.send({ to: 'dm', text, priority: 'push' });
        return s.lesson !== undefined ? `lesson ${s.lesson} sent` : `template ${s.template} sent`;
      },
    },
  ],
};
