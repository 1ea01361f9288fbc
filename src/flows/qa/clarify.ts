/**
 * Clarification: when retrieval is not sure, the asker gets a short numbered menu of the
 * plausible entries instead of a guess, and a number picks the answer.
 *
 *   你想问的是哪一个？
 *   1. 试听课在哪里看？
 *   2. 正式课多少钱？
 *   （回复数字）
 *
 * - One open menu per member: a new one closes the old. A number from the asker in the same
 *   chat, or privately, within `qa.clarify.within` picks; nobody else's number does.
 * - Menus never pile up: at most `qa.clarify.member` per member and `qa.clarify.group` per group
 *   per `qa.escalation.window`; past them the question goes the escalation way (with its own
 *   limits), and the daily quotas count menus like any question taken up.
 * - A pick teaches the entry the asker's wording (qa.clarify.learn), as an instructor's answer
 *   does: recorded with who taught it, listed by `kequn faq list` and `/faq`, removable with
 *   `/faq remove L12`; never from a member moderation has warned or removed, and at most
 *   LEARN_PER_DAY phrasings per member per day.
 */
import { localDayStart } from '../../util/localtime.js';
import { sendTo } from './escalation.js';
import { answerByChoice, countLearnedBy, countMenus, getQuestion, openMenu, openMenuOf, pickMenu, recordLearned, type Menu } from './store.js';
import type { RunContext, Services } from '../../core/types.js';

/** What the menu says (templates.yaml `qa_clarify` replaces it; {choices} is the numbered list). */
export const DEFAULT_CLARIFY_TEXT = '你想问的是哪一个？\n{choices}\n（回复数字）';
/** A menu of one: a question back (templates.yaml `qa_confirm` replaces it). */
export const DEFAULT_CONFIRM_TEXT = '你想问的是这个吗？\n{choices}\n（是的话回复 1）';
/** A choice is the entry's question, cut to this many characters: the menu stays short. */
const CHOICE_CHARS = 30;
/** Phrasings one member may teach by picking, per local day. */
export const LEARN_PER_DAY = 5;

/** A number alone (full-width too), or 选 2 / 2号 / 第2个: the pick. */
const PICK = /^\s*(?:选|第)?\s*([1-9])\s*(?:号|个)?\s*[。.!！]?\s*$/u;

export function pickedNumber(text: string): number | undefined {
  const m = PICK.exec(text.normalize('NFKC'));
  return m ? Number(m[1]) : undefined;
}

/** The member's open menu that this message picks from: same platform, same chat or private, a number within its choices. */
export function menuPicked(ctx: Pick<RunContext, 'db' | 'trigger' | 'member' | 'now'>): { menu: Menu; entryId: string; n: number } | undefined {
  const { trigger } = ctx;
  if (trigger.type !== 'message') return undefined;
  const n = pickedNumber(trigger.text);
  if (n === undefined) return undefined;
  const menu = openMenuOf(ctx.db, ctx.member.id, trigger.platform, ctx.now);
  if (!menu) return undefined;
  // In a group, only in the group the menu went to; privately, any open menu of theirs.
  if (!trigger.isDm && trigger.replyTo.id !== menu.chat_id) return undefined;
  const choices = JSON.parse(menu.choices) as string[];
  const entryId = choices[n - 1];
  return entryId === undefined ? undefined : { menu, entryId, n };
}

export function renderChoices(entries: { question: string }[]): string {
  return entries.map((e, i) => `${i + 1}. ${[...e.question].length > CHOICE_CHARS ? `${[...e.question].slice(0, CHOICE_CHARS).join('')}…` : e.question}`).join('\n');
}

/**
 * Sends a menu for question `questionId` if the limits allow; returns a note, or undefined when a
 * limit is reached (the caller escalates instead).
 */
export function offerMenu(
  ctx: RunContext,
  q: { id: number; text: string; chat: { kind: 'group' | 'dm'; id: string }; groupId: string | null; platform: string },
  ids: string[],
): string | undefined {
  const { db, config, now, member } = ctx;
  const c = config.qa.clarify;
  if (!c.enabled) return undefined;
  const since = now - config.qa.escalation.window;
  const mine = countMenus(db, { memberId: member.id, since });
  if (mine >= c.member) return undefined;
  if (q.groupId && countMenus(db, { groupId: q.groupId, since }) >= c.group) return undefined;
  const entries = ids.slice(0, c.choices).flatMap((id) => {
    const e = ctx.services.qa.entry(id);
    return e ? [{ id, question: e.question }] : [];
  });
  if (entries.length === 0) return undefined;
  openMenu(db, { questionId: q.id, memberId: member.id, platform: q.platform, groupId: q.groupId, chatId: q.chat.id, choices: entries.map((e) => e.id), now, closesAt: now + c.within });
  const template = entries.length === 1 ? (config.templates.qa_confirm ?? DEFAULT_CONFIRM_TEXT) : (config.templates.qa_clarify ?? DEFAULT_CLARIFY_TEXT);
  sendTo(ctx, q.chat, ctx.render(template, { choices: renderChoices(entries), question: q.text }));
  return `offered a menu of ${entries.length}: ${entries.map((e) => e.id).join(', ')}`;
}

/**
 * Whether moderation flagged the member (warned and not pardoned since, or removed). Without the
 * moderation feature in the list nobody is flagged.
 */
function flaggedByModeration(ctx: Pick<RunContext, 'db' | 'member' | 'services'>): boolean {
  return (ctx.services as Partial<Services>).moderation?.flagged(ctx.db, ctx.member.id) ?? false;
}

/** The member picked entry `entryId` from their menu: answer, close the menu, maybe learn. */
export function answerPick(ctx: RunContext, pick: { menu: Menu; entryId: string; n: number }): string {
  const { db, config, now } = ctx;
  const entry = ctx.services.qa.entry(pick.entryId);
  if (!pickMenu(db, pick.menu.id, pick.entryId)) return 'menu already closed';
  if (!entry) return `entry "${pick.entryId}" is gone; silent`;
  const q = getQuestion(db, pick.menu.question_id);
  answerByChoice(db, { id: pick.menu.question_id, entryId: pick.entryId, answer: entry.answer, now });
  ctx.send({ to: 'reply', text: ctx.render(config.templates.qa_answer!, { answer: entry.answer, source: entry.question, question: q?.text ?? '' }) });
  let learned = 'not learned (qa.clarify.learn is off)';
  if (config.qa.clarify.learn && q) learned = learnFromPick(ctx, q.id, q.text, pick.entryId);
  return `picked ${pick.n}: answered from "${pick.entryId}"; ${learned}`;
}

function learnFromPick(ctx: RunContext, questionId: number, text: string, entryId: string): string {
  const { db, config, now, member } = ctx;
  if (flaggedByModeration(ctx)) return 'not learned: the member is flagged by moderation';
  const dayStart = localDayStart(now, config.course.timezone);
  if (countLearnedBy(db, member.id, dayStart) >= LEARN_PER_DAY) return `not learned: ${LEARN_PER_DAY} phrasings from this member today`;
  if (!ctx.services.qa.addPhrasing(entryId, text)) return 'not learned: no usable words';
  const id = recordLearned(db, { entryId, question: text, answer: null, questionId, now, via: 'choice', taughtBy: member.id });
  return `learned as a phrasing of "${entryId}" (L${id})`;
}
