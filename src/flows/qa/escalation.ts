import { askerToldSince, countEscalations, getQuestion, markAskerTold, questionCode, settleQuestion } from './store.js';
import { formatDuration } from '../../util/duration.js';
import { sendNotice } from '../../core/notices.js';
import { planJob } from '../../store/jobs.js';
import { staffChats } from '../../core/roles.js';
import type { RunContext } from '../../core/types.js';
import { LESSON_PREFIX } from './service.js';

/** A question on its way to an answer: its id, its text, and where the asker waits. */
export interface PendingQuestion {
  id: number;
  text: string;
  /** where the asker is waiting */
  chat: { kind: 'group' | 'dm'; id: string };
}

/** A reply when the chat is where the trigger came from (the message is then about the member). */
export function sendTo(ctx: RunContext, chat: { kind: 'group' | 'dm'; id: string }, text: string): void {
  const r = ctx.trigger.replyTo;
  if (chat.kind === r.kind && chat.id === r.id) ctx.send({ to: 'reply', text });
  else ctx.send({ to: 'chat', chat, text, priority: 'reply' });
}

/** What the asker hears when their question is recorded but not forwarded (templates.yaml `qa_limited` replaces it). */
export const DEFAULT_LIMITED_TEXT = '这段时间的问题比较多，老师会先回答已经转过去的那些；这个问题我先记下了，暂时不再转给老师，过一会儿可以再问。';

/** How a staff chat lists escalations merged into one message (src/core/notices.ts). */
const STAFF_HEAD = '❓ {count} 个新问题：{code}';
const STAFF_FOOT = '回复：/answer 编号 你的答案　或　/answer 编号 =条目id（或 =候选序号）';
/** A question's text in a merged list is cut to this. */
const LINE_CHARS = 60;

/** FAQ entries retrieval found for a question (lesson passages left out), best first: what `=2` picks. */
export function faqCandidates(candidates: string | null): string[] {
  if (!candidates) return [];
  return (JSON.parse(candidates) as { id: string }[]).map((c) => c.id).filter((id) => !id.startsWith(LESSON_PREFIX));
}

/** The candidates shown to the staff under an escalated question, so `/answer Q12 =2` picks one. */
function candidatesBlock(ctx: RunContext, candidates: string | null, code: string): string {
  const entries = faqCandidates(candidates).flatMap((id) => {
    const e = ctx.services.qa.entry(id);
    return e ? [`${id}：${e.question.length > LINE_CHARS ? `${e.question.slice(0, LINE_CHARS)}…` : e.question}`] : [];
  });
  if (entries.length === 0) return '';
  return `\n知识库里最接近的：\n${entries.map((e, i) => `${i + 1}. ${e}`).join('\n')}\n是其中一条就回复 /answer ${code} =序号`;
}

/**
 * Hands a question the bot cannot answer to the staff, within the limits of `qa.escalation`
 * (docs/qa.md):
 * - at most `member` of one member's and `group` of one group's questions per `window` go to
 *   the staff; more are recorded (status dropped) and not forwarded;
 * - the asker is told once per window, not once per question;
 * - each staff chat gets the first escalation at once and the ones within `merge` after it as
 *   one merged message ("❓ 5 个新问题：Q12–Q16 …").
 * Returns a note for the trace.
 */
export function escalate(ctx: RunContext, q: PendingQuestion): string {
  const { db, config, now } = ctx;
  const limits = config.qa.escalation;
  const row = getQuestion(db, q.id)!;
  const since = now - limits.window;
  const window = formatDuration(limits.window);
  const mine = countEscalations(db, { memberId: row.member_id, since });
  const inGroup = row.group_id !== null ? countEscalations(db, { groupId: row.group_id, since }) : 0;
  const over =
    mine >= limits.member ? `member limit: ${mine} escalated in ${window}` : row.group_id !== null && inGroup >= limits.group ? `group limit: ${inGroup} escalated from ${row.group_id} in ${window}` : null;
  const told = askerToldSince(db, row.member_id, since);
  const code = questionCode(q.id);
  if (over) {
    settleQuestion(db, { id: q.id, status: 'dropped', answer: null, entryId: null, via: null, now });
    if (told) return `not escalated (${over}); the asker was already told in this window`;
    sendTo(ctx, q.chat, ctx.render(config.templates.qa_limited ?? DEFAULT_LIMITED_TEXT, { question: q.text, code }));
    markAskerTold(db, q.id, now);
    return `not escalated (${over}); the asker was told`;
  }
  settleQuestion(db, { id: q.id, status: 'escalated', answer: null, entryId: null, via: null, now });
  if (!told) {
    sendTo(ctx, q.chat, ctx.render(config.templates.qa_escalated!, { question: q.text, code }));
    markAskerTold(db, q.id, now);
  }
  const text = ctx.render(config.templates.qa_to_staff!, { question: q.text, code }) + candidatesBlock(ctx, row.candidates, code);
  const where = row.group_id !== null ? (config.groups[row.group_id]?.name ?? row.group_id) : '私信';
  const short = q.text.length > LINE_CHARS ? `${q.text.slice(0, LINE_CHARS)}…` : q.text;
  const line = `${code} ${ctx.member.display_name}（${where}）：${short}`;
  const staff = staffChats(db, config, ctx.trigger.platform);
  if (config.qa.remind_after > 0) {
    planJob(db, { kind: 'qa.remind', memberId: row.member_id, payload: { remind: q.id }, dueAt: now + config.qa.remind_after, dedupeKey: `qa.remind:${q.id}`, now });
  }
  let held = 0;
  for (const chat of staff) {
    const r = sendNotice(ctx, { chat, memberId: row.member_id, topic: 'qa.escalation', text, line, ref: code, head: STAFF_HEAD, foot: STAFF_FOOT, every: limits.merge });
    if (r === 'held') held++;
  }
  const merged = held > 0 ? `; ${held} held to be merged` : '';
  return `escalated as ${code} to ${staff.length} staff chat(s)${merged}${told ? '; the asker was already told in this window' : ''}`;
}

/**
 * `qa.remind`: an escalated question still unanswered `qa.remind_after` after it went to the
 * staff is reminded to them once, with its code and the closest entries (answered, or dropped
 * meanwhile: nothing).
 */
export function remindStaff(ctx: RunContext, questionId: number): string {
  const { db, config } = ctx;
  const q = getQuestion(db, questionId);
  if (!q || q.status !== 'escalated') return `question ${questionId} is ${q?.status ?? 'gone'}; no reminder`;
  const code = questionCode(q.id);
  const where = q.group_id !== null ? (config.groups[q.group_id]?.name ?? q.group_id) : '私信';
  const waited = zhWaited(ctx.now - q.created_at);
  const text = `⏰ ${code} 还没有人回答（${waited}前）：${ctx.member.display_name}（${where}）问：${q.text}${candidatesBlock(ctx, q.candidates, code)}\n回复：/answer ${code} 你的答案`;
  const staff = staffChats(db, config, q.platform as Parameters<typeof staffChats>[2]);
  for (const chat of staff) ctx.send({ to: 'chat', chat, text, priority: 'reply' });
  return `reminded ${staff.length} staff chat(s) of ${code}`;
}

/** 4 小时, 2 天, 30 分钟: how long a question has waited, for the staff. */
function zhWaited(ms: number): string {
  if (ms >= 86_400_000) return `${Math.floor(ms / 86_400_000)} 天`;
  if (ms >= 3_600_000) return `${Math.floor(ms / 3_600_000)} 小时`;
  return `${Math.max(1, Math.floor(ms / 60_000))} 分钟`;
}
