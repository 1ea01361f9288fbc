/**
 * Which cohort a member is in: a join of a cohort's group puts them in it (never back into an
 * earlier cohort than the one they are in: a member deferred to 第4期 who still sits in 第3期's
 * group stays in 第4期); a paid seat puts them in the order's cohort (src/flows/orders); staff
 * move them with /defer. Shown in `/member`, kept in privacy export.
 */
import type { ReportContext, ReportLines } from '../../core/feature.js';
import type { RunContext } from '../../core/types.js';
import type { Member } from '../../store/members.js';
import { fmtLocal } from '../../util/localtime.js';
import type { Cohort } from './contracts.js';
import { movesOf, pendingRequestOf } from './store.js';

/** `member.joined`: a group of a cohort puts the member in it, unless they are in a later one. */
export function joinedCohortGroup(ctx: RunContext): void {
  const group = ctx.trigger.group;
  const cohorts = ctx.services.cohorts;
  const cohort = group ? cohorts.ofGroup(group) : undefined;
  if (!cohort) return;
  const current = cohorts.memberCohort(ctx.db, ctx.member.id);
  if (current && current.startAt >= cohort.startAt) return;
  if (cohorts.assign(ctx.db, { memberId: ctx.member.id, cohortId: cohort.id, source: 'group', reason: `joined ${group}`, by: null, now: ctx.now })) {
    ctx.note(`member in cohort ${cohort.id} (joined ${group})`);
  }
}

export function cohortLabel(c: Cohort, zone: string): string {
  return `${c.name}（${fmtDay(c.startAt, zone)} 开营）`;
}

function fmtDay(at: number, zone: string): string {
  return fmtLocal(at, zone).slice(0, 10);
}

/** `期：第4期（2026-12-21 开营），由第3期延期：生病（老师 王老师，12-07 10:00）`. */
export function memberReport(ctx: ReportContext, member: Member): ReportLines {
  const cohorts = ctx.config.cohorts;
  if (cohorts.length === 0) return {};
  const byId = (id: string | null) => cohorts.find((c) => c.id === id);
  const zone = ctx.config.course.timezone;
  const moves = movesOf(ctx.db, member.id);
  const last = moves.at(-1);
  const current = last && byId(last.to_cohort);
  if (!current) return { detail: ['期：未分期'] };
  const lines = [`期：${cohortLabel(current, zone)}`];
  for (const m of moves.filter((x) => x.by_member !== null)) {
    const from = byId(m.from_cohort)?.name ?? m.from_cohort ?? '未分期';
    const to = byId(m.to_cohort)?.name ?? m.to_cohort;
    lines.push(`转期：${from} → ${to}，${m.reason || '（原因已删除）'}（${fmtLocal(m.at, zone)}）`);
  }
  const req = pendingRequestOf(ctx.db, member.id);
  if (req) lines.push(`延期申请 R${req.id} 待处理：转到${byId(req.to_cohort)?.name ?? req.to_cohort}，${req.reason}`);
  return { detail: lines };
}
