/**
 * What the timeline will send when, and what became of what is past: `npx kequn timeline` and
 * the staff's `/timeline` read the same lines (Chinese, local times).
 */
import type { CourseConfig } from '../../core/types.js';
import type { Db } from '../../store/db.js';
import { fmtLocal, localDate } from '../../util/localtime.js';
import { showDay } from '../../util/days.js';
import type { Cohort } from '../cohorts/contracts.js';
import type { TimelineEntry } from './config.js';
import { timelineOccurrences, type Planned } from './plan.js';
import { renderEntry, targetGroups } from './send.js';
import { allMarks, allPauses } from './store.js';
import { weekdayName } from './when.js';

export type Status = 'sent' | 'skipped' | 'paused' | 'held' | 'to-skip' | 'waiting' | 'missed' | 'nowhere';

export const STATUS_TEXT: Record<Status, string> = {
  sent: '已发送',
  skipped: '已跳过',
  paused: '暂停中',
  held: '未发送（当时已暂停）',
  'to-skip': '将跳过',
  waiting: '待发送',
  missed: '未发送（当时 kequn 未运行，或已超过宽限时间）',
  nowhere: '不发送',
};

export interface ViewItem extends Planned {
  status: Status;
}

/** Every occurrence with what became of it (or will), in time order. */
export function timelineItems(db: Db, config: CourseConfig, now: number, filter?: { cohort?: string }): ViewItem[] {
  const marks = new Map(allMarks(db).map((m) => [`${m.cohort_id}|${m.entry_id}|${m.occurrence}`, m.mark]));
  const pauses = new Set(allPauses(db).map((p) => `${p.entry_id}|${p.cohort_id}`));
  const paused = (entry: string, cohort: string) => pauses.has(`${entry}|${cohort}`) || pauses.has(`${entry}|*`);
  return timelineOccurrences(config, filter).map((o) => {
    const mark = marks.get(`${o.cohort.id}|${o.entry.id}|${o.id}`);
    const future = o.at > now;
    // A group message for a cohort without groups of that kind goes nowhere (describeTarget says why).
    const nowhere = o.entry.to.kind !== 'stage' && targetGroups(o.entry, o.cohort).length === 0;
    let status: Status;
    if (nowhere) status = 'nowhere';
    else if (mark === 'sent') status = 'sent';
    else if (mark === 'skip') status = future ? 'to-skip' : 'skipped';
    else if (mark === 'paused') status = 'held';
    else if (!future) status = 'missed';
    else status = paused(o.entry.id, o.cohort.id) ? 'paused' : 'waiting';
    return { ...o, status };
  });
}

/** `体验群「Python 入门体验群」`, `私聊：paid 阶段的学员`. */
export function describeTarget(config: CourseConfig, entry: TimelineEntry, cohort: Cohort): string {
  if (entry.to.kind === 'stage') return `私聊：${entry.to.stage} 阶段的学员`;
  const kind = entry.to.kind === 'trial' ? '体验群' : entry.to.kind === 'paid' ? '正式班' : '全部群';
  const groups = targetGroups(entry, cohort).map((g) => `「${config.groups[g]?.name ?? g}」`);
  return `${kind}${groups.length > 0 ? groups.join('') : '（这一期没有这类群）'}`;
}

/** `3月15日（周日）20:00`. */
export function showAt(config: CourseConfig, at: number): string {
  const zone = config.course.timezone;
  const day = localDate(at, zone);
  return `${showDay(day)}（${weekdayName(day)}）${fmtLocal(at, zone).slice(11)}`;
}

const preview = (text: string) => {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 30 ? `${one.slice(0, 30)}…` : one;
};

/**
 * The listing: per cohort a heading, then one line per occurrence. `upcoming` leaves out what is
 * past except the last few (a chat reply stays short).
 */
export function timelineLines(db: Db, config: CourseConfig, now: number, opts: { cohort?: string; limit?: number; withText?: boolean } = {}): string[] {
  const items = timelineItems(db, config, now, opts.cohort !== undefined ? { cohort: opts.cohort } : undefined);
  const lines: string[] = [];
  const cohorts = config.cohorts.filter((c) => opts.cohort === undefined || c.id === opts.cohort);
  for (const c of cohorts) {
    let mine = items.filter((i) => i.cohort.id === c.id);
    if (mine.length === 0) continue;
    if (opts.limit !== undefined) {
      // The last past occurrence (what just happened), then what comes.
      const firstFuture = mine.findIndex((i) => i.at > now);
      const from = firstFuture < 0 ? Math.max(0, mine.length - 1) : Math.max(0, firstFuture - 1);
      mine = mine.slice(from, from + opts.limit);
    }
    lines.push(`${c.name}（${c.id}）：${showAt(config, c.startAt)} 开营，${showAt(config, c.endAt)} 结营`);
    for (const i of mine) {
      const text = opts.withText === false ? '' : `  「${preview(renderEntry(config, i.entry, c, { group: config.groups[targetGroups(i.entry, c)[0] ?? '']?.name ?? '', name: '（学员名）' }))}」`;
      lines.push(`  ${showAt(config, i.at)}  ${i.entry.id} → ${describeTarget(config, i.entry, c)}  ${STATUS_TEXT[i.status]}${text}`);
    }
  }
  if (lines.length === 0) lines.push(config.timeline.entries.length === 0 ? '没有配置群 SOP（timeline.yaml）。' : config.cohorts.length === 0 ? '没有配置期次（kequn.yaml 的 cohorts:），群 SOP 不会发送。' : '这一期没有要发送的消息。');
  return lines;
}
