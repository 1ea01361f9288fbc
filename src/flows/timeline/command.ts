/**
 * `/timeline` for staff (roles by platform id, checked by the engine before `run`): the coming
 * messages of each cohort, and pause, resume, skip and unskip of an entry. Replies are private
 * and in Chinese.
 */
import { UsageError, type CommandSpec, type RunContext } from '../../core/types.js';
import { cohortsOf } from './plan.js';
import { claimOccurrence, pauseEntry, resumeEntry, unskipOccurrence } from './store.js';
import { showAt, timelineItems, timelineLines } from './view.js';

/** `2026-03-17`, `3-17`, `3/17` or `3月17日`: a local day to match an occurrence's day against. */
function dayMatcher(text: string): ((day: string) => boolean) | undefined {
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(text);
  if (m) return (day) => day === `${m![1]}-${m![2]!.padStart(2, '0')}-${m![3]!.padStart(2, '0')}`;
  m = /^(\d{1,2})[-/月](\d{1,2})日?$/.exec(text);
  if (m) return (day) => day.slice(5) === `${m![1]!.padStart(2, '0')}-${m![2]!.padStart(2, '0')}`;
  return undefined;
}

function reply(ctx: RunContext, text: string, note: string): string {
  ctx.send({ to: 'dm', text });
  return note;
}

/** The entry named by a staff member, and the cohort if they named one (checked against config). */
function pick(ctx: RunContext, entryId: string | undefined, cohortId: string | undefined): { entry: string; cohort: string | undefined } {
  if (entryId === undefined) throw new UsageError('缺少条目 id');
  const entry = ctx.config.timeline.entries.find((e) => e.id === entryId);
  const ids = ctx.config.timeline.entries.map((e) => e.id).join('、');
  if (!entry) throw new UsageError(`没有这个群 SOP 条目：${entryId}（现有：${ids || '无'}）`);
  if (cohortId !== undefined && !cohortsOf(ctx.config, entry).some((c) => c.id === cohortId)) {
    throw new UsageError(`条目 ${entryId} 不在期次 ${cohortId} 里发送（期次：${cohortsOf(ctx.config, entry).map((c) => c.id).join('、') || '无'}）`);
  }
  return { entry: entry.id, cohort: cohortId };
}

const cohortName = (ctx: RunContext, id: string) => ctx.config.cohorts.find((c) => c.id === id)?.name ?? id;

function skip(ctx: RunContext, words: string[], undo: boolean): string {
  const [, entryId, third, fourth] = words;
  // `/timeline skip live 3-17 c3`, `/timeline skip live c3`, `/timeline skip live`.
  const match = third !== undefined ? dayMatcher(third) : undefined;
  const cohortArg = match ? fourth : third;
  if (match === undefined && fourth !== undefined) throw new UsageError(`「${third}」不是日期（写 2026-03-17、3-17 或 3月17日）`);
  const { entry, cohort } = pick(ctx, entryId, cohortArg);
  if (undo && !match) throw new UsageError('撤销跳过要写日期');
  const items = timelineItems(ctx.db, ctx.config, ctx.now).filter((i) => i.entry.id === entry && (cohort === undefined || i.cohort.id === cohort) && (!match || match(i.day)));
  if (undo) {
    const undone = items.filter((i) => i.at > ctx.now && unskipOccurrence(ctx.db, { cohort: i.cohort.id, entry, occurrence: i.id }));
    if (undone.length === 0) return reply(ctx, `${entry} 在 ${third} 没有被跳过的消息。`, `nothing to unskip for ${entry} on ${third}`);
    return reply(ctx, `已恢复：${undone.map((i) => `${showAt(ctx.config, i.at)} ${entry}（${i.cohort.name}）`).join('；')}，到点照常发送。`, `unskipped ${entry} ×${undone.length}`);
  }
  const open = items.filter((i) => i.at > ctx.now && (i.status === 'waiting' || i.status === 'paused'));
  if (open.length === 0) {
    const done = items.find((i) => i.status === 'sent');
    const why = done ? `已经在 ${showAt(ctx.config, done.at)} 发送过了` : match ? `在 ${third} 没有要发送的消息` : '之后没有要发送的消息';
    return reply(ctx, `${entry} ${why}，没有可跳过的。`, `nothing to skip for ${entry}`);
  }
  // Without a date: the next occurrence (several cohorts at that moment: all of them).
  const chosen = match ? open : open.filter((i) => i.at === open[0]!.at);
  for (const i of chosen) claimOccurrence(ctx.db, { cohort: i.cohort.id, entry, occurrence: i.id, mark: 'skip', by: ctx.member.id, now: ctx.now });
  const list = chosen.map((i) => `${showAt(ctx.config, i.at)} ${entry}（${i.cohort.name}）`).join('；');
  return reply(ctx, `已跳过：${list}。撤销：/timeline unskip ${entry} ${chosen[0]!.day}`, `skipped ${entry} ×${chosen.length}`);
}

export const timelineCommand: CommandSpec = {
  name: 'timeline',
  roles: ['owner', 'instructor', 'assistant'],
  usage: '/timeline [期次]   /timeline pause|resume <条目> [期次]   /timeline skip <条目> [日期] [期次]   /timeline unskip <条目> <日期> [期次]',
  description: '群 SOP：查看接下来要发的消息，暂停、恢复、跳过某一条',
  run(args, ctx) {
    const words = args.split(/\s+/).filter(Boolean);
    const sub = words[0];
    if (sub === undefined || ctx.config.cohorts.some((c) => c.id === sub)) {
      if (words.length > 1) throw new UsageError('参数太多');
      return reply(ctx, timelineLines(ctx.db, ctx.config, ctx.now, { ...(sub !== undefined ? { cohort: sub } : {}), limit: 6, withText: false }).join('\n'), 'listed the timeline');
    }
    if (sub === 'pause' || sub === 'resume') {
      if (words.length > 3) throw new UsageError('参数太多');
      const { entry, cohort } = pick(ctx, words[1], words[2]);
      const scope = cohort === undefined ? '所有期次' : cohortName(ctx, cohort);
      if (sub === 'pause') {
        const fresh = pauseEntry(ctx.db, { entry, cohort: cohort ?? '*', by: ctx.member.id, now: ctx.now });
        return reply(
          ctx,
          fresh ? `已暂停 ${entry}（${scope}）：暂停期间到点的消息不会发送，恢复后也不补发。恢复：/timeline resume ${entry}${cohort ? ` ${cohort}` : ''}` : `${entry}（${scope}）已经是暂停状态。`,
          `paused ${entry} for ${cohort ?? 'every cohort'}`,
        );
      }
      const n = resumeEntry(ctx.db, { entry, cohort: cohort ?? '*' });
      return reply(ctx, n > 0 ? `已恢复 ${entry}（${scope}）：之后的消息到点照常发送。` : `${entry}（${scope}）没有暂停。`, `resumed ${entry} (${n})`);
    }
    if (sub === 'skip') return skip(ctx, words, false);
    if (sub === 'unskip') return skip(ctx, words, true);
    throw new UsageError(`不认识「${sub}」：既不是 pause、resume、skip、unskip，也不是期次 id`);
  },
};
