import { z } from 'zod';
import { tagsOf, addTag, removeTag, stageHistory } from '../../store/members.js';
import { countQuestionsOf, questionsOfRead } from './store.js';
import { cancelJobsLater, planJob, planJobLater } from '../../store/jobs.js';
import { formatDuration, isDuration, parseDuration } from '../../util/duration.js';
import { localParts } from '../../util/localtime.js';
import { allowedFrom, describeMove, moveStage } from './stage-machine.js';
import { findOneMember } from '../../core/member-arg.js';
import type { Feature } from '../../core/feature.js';
import { UsageError, type ActionSpec, type CommandSpec } from '../../core/types.js';
import { didYouMean } from '../../util/suggest.js';
import { lifecycleSection } from './config.js';
import { moveOnPayment, moveOnRefund } from './payments.js';
import { moveByRule, type StagesService } from './move.js';

declare module '../../core/types.js' {
  interface Services {
    stages: StagesService;
  }
}

const watchArg = z.strictObject({
  after: z.string().refine(isDuration, { message: 'expected a duration such as 14d' }),
  rule: z.string().min(1),
});

/**
 * `watch_inactivity: { after: 14d, rule: churn-inactive }`: one pending `inactivity` job per
 * member, due when they will have been silent for `after`. When it falls due and the member was
 * active since, it re-plans itself from their last activity; otherwise it runs the rule (once).
 */
const watchInactivity: ActionSpec<z.infer<typeof watchArg>> = {
  name: 'watch_inactivity',
  description: 'run an `on: timer` rule once the member has been inactive (no message, join or leave) for a time',
  schema: watchArg,
  check(arg, ctx) {
    const rule = ctx.config.rawRules.find((r) => r.id === arg.rule);
    if (!rule) return [`no rule with id "${arg.rule}"`];
    if (rule.on !== 'timer') return [`rule "${arg.rule}" is "on: ${rule.on}"; the inactivity rule must be "on: timer"`];
    return [];
  },
  run(arg, ctx) {
    const after = parseDuration(arg.after);
    // Nothing here is read back: on PostgreSQL both go with the next request (issue 20).
    cancelJobsLater(ctx.db, { memberId: ctx.member.id, kind: 'inactivity', now: ctx.now, note: 'watch restarted' });
    planJobLater(ctx.db, {
      kind: 'inactivity',
      memberId: ctx.member.id,
      payload: { rule: arg.rule, after, platform: ctx.trigger.platform, group: ctx.trigger.group ?? undefined },
      dueAt: ctx.now + after,
      now: ctx.now,
    });
    ctx.note(`inactivity watch: rule ${arg.rule} after ${formatDuration(after)} of silence`);
  },
};

const inactivityPayload = z.object({ rule: z.string(), after: z.number().int().min(1), platform: z.string().optional(), group: z.string().optional() });

function when(t: number, tz: string): string {
  const p = localParts(t, tz);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}`;
}

/** `/stage <member>` shows the stage history; `/stage <member> <stage>` moves by hand, within the transitions. */
const stageCommand: CommandSpec = {
  name: 'stage',
  roles: ['owner', 'instructor'],
  usage: '/stage <成员> [阶段]',
  description: '查看成员的阶段记录；带阶段时手动调整（须符合配置的阶段流转）',
  run(args, ctx) {
    const { db, config } = ctx;
    const words = args.match(/\S+/g) ?? [];
    if (words.length === 0) throw new UsageError('expected a member');
    const last = words.at(-1)!;
    const to = words.length > 1 && config.stageIds.includes(last) ? last : undefined;
    const member = findOneMember(db, to ? words.slice(0, -1).join(' ') : words.join(' '));
    if (to === undefined) {
      const tz = config.course.timezone;
      const history = stageHistory(db, member.id).map((t) => `${when(t.at, tz)} ${t.from_stage ?? '—'} → ${t.to_stage}（${t.rule_id ?? t.actor}${t.rule_id && t.actor !== 'bot' ? `，${t.actor}` : ''}）`);
      const next = allowedFrom(config, member.stage);
      ctx.send({ to: 'dm', text: [`${member.display_name}（${member.id}）现在：${member.stage}`, ...history, `可以调整到：${(next ?? config.stageIds.filter((s) => s !== member.stage)).join(', ')}`].join('\n') });
      return `stage history of ${member.id} shown`;
    }
    const r = ctx.services.stages.move(db, config, { memberId: member.id, to, eventId: ctx.trigger.eventId, ruleId: 'command:/stage', actor: `staff:${ctx.member.id}`, now: ctx.now });
    const text =
      r.status === 'moved'
        ? `已把 ${member.display_name} 从 ${r.from} 调整到 ${to}。${r.told.join('')}`
        : r.status === 'same'
          ? `${member.display_name} 已经在 ${to}。`
          : `不能把 ${member.display_name} 从 ${r.from} 调整到 ${to}：配置只允许 ${r.from} → ${r.allowed.join(', ') || '（无）'}。`;
    ctx.send({ to: 'dm', text });
    return describeMove(r);
  },
};

/** `/tag <member> vip -trial`: adds tags, removes those written with a leading minus. */
const tagCommand: CommandSpec = {
  name: 'tag',
  roles: ['owner', 'instructor', 'assistant'],
  usage: '/tag <成员> 标签 [-要去掉的标签 …]',
  description: '给成员加标签（-标签 去掉）',
  run(args, ctx) {
    // Stryker disable next-line ArrayDeclaration: no words or one word get the same usage error below
    const words = args.match(/\S+/g) ?? [];
    // The member is the first word (an id, platform id or one-word name); the rest are tags.
    if (words.length < 2) throw new UsageError('expected a member and at least one tag');
    const member = findOneMember(ctx.db, words[0]!);
    const done: string[] = [];
    for (const w of words.slice(1)) {
      const remove = w.startsWith('-');
      const tag = remove ? w.slice(1) : w.replace(/^\+/, '');
      if (tag === '' || tag.length > 64) throw new UsageError(`bad tag "${w}"`);
      if (remove) done.push(removeTag(ctx.db, member.id, tag) ? `-${tag}` : `(没有 ${tag})`);
      else done.push(addTag(ctx.db, member.id, tag, ctx.now) ? `+${tag}` : `(已有 ${tag})`);
    }
    ctx.send({ to: 'dm', text: `${member.display_name}：${done.join(' ')}\n现在的标签：${tagsOf(ctx.db, member.id).join(', ') || '无'}` });
    return `tags of ${member.id}: ${done.join(' ')}`;
  },
};

/**
 * Lifecycle: the member's stage on the growth path and their tags. Every stage move goes
 * through the state machine (stage-machine.ts) and is recorded with its cause (event, rule,
 * actor) so the funnel is computed from the record alone.
 */
export const lifecycleFeature: Feature = {
  name: 'lifecycle',
  config: [lifecycleSection],
  provides: ['stages'],
  services: (ctx) => ({
    stages: { move: (db, config, args) => moveStage(db, config, args, (m) => ctx.stageEntered(db, config, m, args.now)) },
  }),
  // A payment's stage move: `lifecycle.on_paid` (else the catalog's paid stage), recorded with the
  // order event; a full refund moves back (docs/lifecycle.md).
  on: { 'order.paid': moveOnPayment, 'order.refunded': moveOnRefund },
  facts: [
    { name: 'stage', type: 'string', description: 'current lifecycle stage', get: (c) => c.member.stage },
    { name: 'tags', type: 'strings', description: 'tags the member carries', get: (c) => tagsOf(c.db, c.member.id) },
    { name: 'in_stage_for', type: 'duration', description: 'time since the member entered the current stage', get: (c) => c.now - c.member.stage_since },
    { name: 'member_for', type: 'duration', description: 'time since the bot first saw the member', get: (c) => c.now - c.member.created_at },
    {
      name: 'inactive_for',
      type: 'duration',
      description: 'time since the member last did anything (message, join, leave); 0 during their own events, so use it in timer rules',
      get: (c) => c.now - c.member.last_seen_at,
    },
    {
      name: 'questions_asked',
      type: 'number',
      description: 'questions of the member the bot took up before this message (0 on the first question)',
      get: (c) => countQuestionsOf(c.db, c.member.id),
      reads: (c) => [questionsOfRead(c.member.id)],
    },
  ],
  actions: [
    {
      name: 'set_stage',
      description: 'move the member to a stage, if `stages[].to` allows it (recorded with event and rule; a refused move changes nothing)',
      schema: z.string(),
      check: (stage, ctx) => (ctx.config.stageIds.includes(stage) ? [] : [`unknown stage "${stage}"${didYouMean(stage, ctx.config.stageIds)} (stages: ${ctx.config.stageIds.join(', ')})`]),
      run(stage, ctx) {
        moveByRule(ctx, stage);
      },
    },
    {
      name: 'tag',
      description: 'add a tag to the member',
      schema: z.string().min(1).max(64),
      run(tag, ctx) {
        ctx.note(addTag(ctx.db, ctx.member.id, tag, ctx.now) ? `tagged ${tag}` : `already tagged ${tag}`);
      },
    },
    {
      name: 'untag',
      description: 'remove a tag from the member',
      schema: z.string().min(1).max(64),
      run(tag, ctx) {
        ctx.note(removeTag(ctx.db, ctx.member.id, tag) ? `untagged ${tag}` : `had no tag ${tag}`);
      },
    },
    watchInactivity,
  ],
  commands: [stageCommand, tagCommand],
  jobs: [
    {
      kind: 'inactivity',
      run(payload, ctx) {
        const p = inactivityPayload.parse(payload);
        const idle = ctx.now - ctx.member.last_seen_at;
        if (idle >= p.after) return `inactive for ${formatDuration(idle)}: ${ctx.runRule(p.rule)}`;
        // Active since the watch was planned: look again when they will have been silent long enough.
        planJob(ctx.db, { kind: 'inactivity', memberId: ctx.member.id, payload: p, dueAt: ctx.member.last_seen_at + p.after, now: ctx.now });
        return `active ${formatDuration(idle)} ago; next check in ${formatDuration(p.after - idle)}`;
      },
    },
  ],
};
