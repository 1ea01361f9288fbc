/**
 * 延期/转期: staff move a member to a later cohort with a reason (`/defer`), members ask for it
 * (`/postpone` or 「申请延期」 through the `request_deferral` action) and staff approve or refuse
 * the request (`/deferrals`). The move is kept in the history; homework, check-ins and reminders
 * read the member's cohort, so they follow it.
 */
import { z } from 'zod';
import { lookupMember } from '../../core/member-arg.js';
import { UsageError, type ActionSpec, type CommandSpec, type RunContext } from '../../core/types.js';
import { groupChats } from '../../core/group-chats.js';
import { activeGroupsOf, getMember, identitiesOf, type Member } from '../../store/members.js';
import type { Cohort } from './contracts.js';
import { cohortLabel } from './membership.js';
import { addRequest, decideRequest, getRequest, pendingRequestOf, pendingRequests } from './store.js';

const MAX_REASON = 200;
const LIST_LIMIT = 20;

/** A cohort named by id (`c4`), name (`第4期`) or `next` / 下一期 (the one after `from`). */
function cohortArg(ctx: RunContext, word: string, from: Cohort | undefined): Cohort {
  const cohorts = ctx.services.cohorts;
  if (/^(next|下一期)$/i.test(word)) {
    const next = from ? cohorts.after(from.id) : cohorts.openForSale(ctx.now);
    if (!next) throw new UsageError(from ? `${from.name}之后没有下一期（kequn.yaml cohorts:）` : '没有正在招生的一期');
    return next;
  }
  const c = cohorts.byId(word) ?? cohorts.all().find((x) => x.name === word);
  if (!c) throw new UsageError(`没有这一期「${word.slice(0, 20)}」（可选：${cohorts.all().map((x) => `${x.id} ${x.name}`).join('、')}）`);
  return c;
}

/**
 * Moves a member to `to` (a later cohort than theirs) with a reason, and tells them privately on
 * the platform of the command. Throws UsageError when the move is not allowed.
 */
function moveMember(ctx: RunContext, target: Member, to: Cohort, reason: string): string {
  const cohorts = ctx.services.cohorts;
  const from = cohorts.memberCohort(ctx.db, target.id);
  if (from?.id === to.id) throw new UsageError(`${target.display_name} 已经在${to.name}`);
  if (from && to.startAt <= from.startAt) throw new UsageError(`只能转到比${from.name}更晚开始的一期`);
  if (ctx.now >= to.endAt) throw new UsageError(`${to.name}已经结营`);
  cohorts.assign(ctx.db, { memberId: target.id, cohortId: to.id, source: 'defer', reason, by: ctx.member.id, now: ctx.now });
  const identity = identitiesOf(ctx.db, target.id).find((i) => i.platform === ctx.trigger.platform);
  if (identity) {
    // The groups of the new cohort of the kinds they are in now (paid, else trial): staff add them there.
    const inPaid = activeGroupsOf(ctx.db, target.id).some((g) => from?.paidGroups.includes(g) ?? ctx.config.groups[g]?.kind === 'paid');
    const groups = (inPaid ? to.paidGroups : to.trialGroups).filter((g) => groupChats(ctx.config, g).some((c) => c.platform === ctx.trigger.platform));
    const where = groups.length > 0 ? `\n助教会邀请你加入「${groups.map((g) => ctx.config.groups[g]!.name).join('」「')}」。` : '';
    const text = `你已${from ? `从${from.name}` : ''}转到${cohortLabel(to, ctx.config.course.timezone)}。原因：${reason}\n之后的作业、打卡和提醒都按${to.name}的安排进行。${where}`;
    ctx.send({ to: 'chat', chat: { kind: 'dm', id: identity.platform_id }, text });
  }
  return from?.id ?? 'none';
}

const defer: CommandSpec = {
  name: 'defer',
  roles: ['owner', 'instructor', 'assistant'],
  usage: '/defer <成员> <期号|next> <原因>',
  description: '把学员转到后面的一期（延期/转期），记录原因',
  run(args, ctx) {
    if (ctx.services.cohorts.all().length === 0) throw new UsageError('这个课程没有配置分期（kequn.yaml cohorts:）');
    const m = /^(\S+)\s+(\S+)\s+([\s\S]+)$/.exec(args.trim());
    if (!m) throw new UsageError('格式：/defer <成员> <期号|next> <原因>，原因必填');
    const target = lookupMember(ctx.db, m[1]!.replace(/^@/, ''));
    const to = cohortArg(ctx, m[2]!, ctx.services.cohorts.memberCohort(ctx.db, target.id));
    const reason = m[3]!.trim().slice(0, MAX_REASON);
    const from = moveMember(ctx, target, to, reason);
    // A pending request of theirs is answered by this move.
    const pending = pendingRequestOf(ctx.db, target.id);
    if (pending) decideRequest(ctx.db, { id: pending.id, status: 'approved', by: ctx.member.id, now: ctx.now });
    ctx.send({ to: 'dm', text: `已将 ${target.display_name}（${target.id}）转到${to.name}。原因：${reason}` });
    return `moved ${target.id} from ${from} to ${to.id}`;
  },
};

/** A member asks to move to the next cohort: one pending request at a time, staff are told by `/deferrals`. */
function requestDeferral(ctx: RunContext, reasonText: string): string {
  const cohorts = ctx.services.cohorts;
  const refuse = (text: string, note: string) => {
    ctx.send({ to: 'dm', text });
    return note;
  };
  if (cohorts.all().length === 0) return refuse('这个课程没有分期，无法申请延期。', 'refused: no cohorts');
  const from = cohorts.memberCohort(ctx.db, ctx.member.id);
  if (!from) return refuse('你还没有加入任何一期，无需申请延期。', 'refused: member in no cohort');
  const to = cohorts.after(from.id);
  if (!to) return refuse(`${from.name}之后还没有下一期，请联系老师。`, 'refused: no later cohort');
  const pending = pendingRequestOf(ctx.db, ctx.member.id);
  if (pending) return refuse(`你的延期申请（R${pending.id}）正在处理中，请耐心等待老师回复。`, `refused: R${pending.id} pending`);
  const reason = reasonText.trim().slice(0, MAX_REASON) || '（未说明）';
  const id = addRequest(ctx.db, { memberId: ctx.member.id, from: from.id, to: to.id, reason, now: ctx.now });
  ctx.send({ to: 'dm', text: `已收到你的延期申请（R${id}）：从${from.name}转到${cohortLabel(to, ctx.config.course.timezone)}。老师确认后会通知你。` });
  return `deferral request R${id}: ${from.id} → ${to.id}`;
}

const postpone: CommandSpec = {
  name: 'postpone',
  roles: ['owner', 'instructor', 'assistant', 'member'],
  usage: '/postpone [原因]',
  description: '申请延期到下一期',
  run: (args, ctx) => requestDeferral(ctx, args),
};

/** 「申请延期 最近出差」: what follows the words is the reason. */
const requestAction: ActionSpec<null | undefined> = {
  name: 'request_deferral',
  description: "record the member's request to move to the next cohort (「申请延期 <原因>」) for staff to approve with /deferrals",
  schema: z.null().optional(),
  run(_a, ctx) {
    ctx.note(requestDeferral(ctx, ctx.trigger.text.replace(/^\s*\/?(申请延期|延期申请|申请转期)\s*[:：，,]?/u, '')));
  },
};

const deferrals: CommandSpec = {
  name: 'deferrals',
  roles: ['owner', 'instructor', 'assistant'],
  usage: '/deferrals   或   /deferrals approve|refuse <申请编号> [说明]',
  description: '查看并处理学员的延期申请',
  run(args, ctx) {
    const words = args.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) {
      const rows = pendingRequests(ctx.db, LIST_LIMIT);
      const name = (id: string) => ctx.services.cohorts.byId(id)?.name ?? id;
      const text = rows.length === 0 ? '没有待处理的延期申请。' : ['待处理的延期申请：', ...rows.map((r) => `R${r.id} ${r.display_name}：${name(r.from_cohort)} → ${name(r.to_cohort)}，${r.reason}`)].join('\n');
      ctx.send({ to: 'dm', text });
      return `listed ${rows.length} pending requests`;
    }
    const verb = words[0];
    if (verb !== 'approve' && verb !== 'refuse') throw new UsageError(`未知操作「${verb!.slice(0, 20)}」（approve 或 refuse）`);
    const m = /^[Rr](\d{1,9})$/.exec(words[1] ?? '');
    const req = m ? getRequest(ctx.db, Number(m[1])) : undefined;
    if (!req) throw new UsageError(`没有延期申请 ${words[1] ?? ''}`.trim());
    if (req.status !== 'pending') throw new UsageError(`R${req.id} 已经处理过了（${req.status === 'approved' ? '已批准' : '已拒绝'}）`);
    const note = words.slice(2).join(' ').slice(0, MAX_REASON);
    const target = getMember(ctx.db, req.member_id);
    if (!target) throw new UsageError(`R${req.id} 的学员已不在`);
    const student = identitiesOf(ctx.db, req.member_id).find((i) => i.platform === ctx.trigger.platform);
    if (verb === 'approve') {
      const to = ctx.services.cohorts.byId(req.to_cohort);
      if (!to) throw new UsageError(`${req.to_cohort} 已不在配置里`);
      moveMember(ctx, target, to, `申请延期：${req.reason}${note ? `（${note}）` : ''}`);
      decideRequest(ctx.db, { id: req.id, status: 'approved', by: ctx.member.id, now: ctx.now });
      ctx.send({ to: 'dm', text: `已批准 R${req.id}，学员已转到${to.name}。` });
      return `R${req.id} approved: ${req.member_id} → ${to.id}`;
    }
    decideRequest(ctx.db, { id: req.id, status: 'refused', by: ctx.member.id, now: ctx.now });
    if (student) ctx.send({ to: 'chat', chat: { kind: 'dm', id: student.platform_id }, text: `你的延期申请（R${req.id}）没有通过${note ? `：${note}` : '。'}如有疑问请联系老师。` });
    ctx.send({ to: 'dm', text: `已拒绝 R${req.id}${student ? '，并通知了学员' : ''}。` });
    return `R${req.id} refused`;
  },
};

export const cohortCommands = [defer, deferrals, postpone];
export const cohortActions = [requestAction];
