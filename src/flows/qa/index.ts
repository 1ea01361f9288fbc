import { checkFaq } from './faq-check.js';
import { z } from 'zod';
import type { FinishPayload } from './llm-worker.js';
import { LESSON_PREFIX } from './service.js';
import { countQuestionsTaken, getQuestion, lastAnsweredInChat, parseQuestionCode, questionCode, quotaReads, recordLearned, recordQuestion, recordQuestionLater, resolveQuestion, settleQuestion } from './store.js';
import { prefetch } from '../../store/batch.js';
import { localDayStart } from '../../util/localtime.js';
import { escalate, faqCandidates, remindStaff, sendTo, type PendingQuestion } from './escalation.js';
import { decide, hitsNeeded } from './policy.js';
import { answerPick, menuPicked, offerMenu } from './clarify.js';
import { faqCommand } from './learned.js';
import { isSmallTalk, looksLikeQuestion } from './detect.js';
import { effectiveRole } from '../../core/roles.js';
import type { Feature } from '../../core/feature.js';
import { UsageError, type ActionSpec, type CommandSpec, type JobHandler, type RunContext, type Trigger } from '../../core/types.js';
import { faqSection, qaGroupKeys, qaSection } from './config.js';
import { llmSettingsFromEnv } from './llm.js';
import { QaService } from './service.js';
import { qaWorker } from './worker.js';

declare module '../../core/types.js' {
  interface Services {
    /** The FAQ index and what instructors taught it (rebuilt when faq.yaml changes). */
    qa: QaService;
    /** An LLM endpoint is configured: `answer` hands questions to the LLM worker. */
    llm: boolean;
  }
}

/** Templates the Q&A flow sends; checked at load when a rule uses `answer`. */
const TEMPLATES = ['qa_answer', 'qa_escalated', 'qa_to_staff', 'qa_relay', 'qa_relayed'] as const;

/** The question without the @mention of the bot, for retrieval and for the staff. */
function questionText(ctx: RunContext): string {
  return ctx.trigger.text.replaceAll(`@${ctx.config.course.bot_name}`, '').replace(/\s+/g, ' ').trim().slice(0, 500);
}

const answerArg = z.strictObject({ escalate: z.boolean().default(true) }).default({ escalate: true });

const answer: ActionSpec<z.infer<typeof answerArg>> = {
  name: 'answer',
  description: 'answer the message from the knowledge base when confident; else escalate to the staff (or stay silent)',
  schema: answerArg,
  check: (_arg, ctx) => TEMPLATES.filter((t) => !(t in ctx.config.templates)).map((t) => `answer needs a "${t}" template in templates.yaml`),
  run(arg, ctx) {
    const { db, config, trigger, member, now } = ctx;
    const text = questionText(ctx);
    if (text === '') return ctx.note('nothing to answer');
    if (isSmallTalk(text)) return ctx.note('small talk; silent');
    const dayStart = localDayStart(now, config.course.timezone);
    // Escalations count too: a flood of questions nobody can answer must not reach the staff unbounded.
    // Both counts in one request on PostgreSQL (issue 20).
    prefetch(db, () => quotaReads(member.id, trigger.group, dayStart));
    if (countQuestionsTaken(db, { memberId: member.id, since: dayStart }) >= config.qa.daily_quota.member) return ctx.note('member daily quota reached; silent');
    if (trigger.group && countQuestionsTaken(db, { groupId: trigger.group, since: dayStart }) >= config.qa.daily_quota.group) return ctx.note('group daily quota reached; silent');
    const base = {
      member_id: member.id,
      platform: trigger.platform,
      asker_platform_id: trigger.userPlatformId,
      group_id: trigger.group,
      chat_id: trigger.replyTo.id,
      text,
      event_id: trigger.eventId,
      created_at: now,
    };
    const policy = { threshold: config.qa.threshold, clarify: config.qa.clarify };
    const found = ctx.services.qa.found(text, Math.max(config.qa.llm.passages, hitsNeeded(policy)));
    const candidates = found.hits.slice(0, config.qa.llm.passages).map((h) => ({ id: h.id, confidence: h.confidence }));
    const top = candidates[0];
    // With an LLM the lessons are material too: the best two passages that are relevant at all.
    const lessons = ctx.services.llm ? ctx.services.qa.lessonCandidates(text, 2).filter((c) => c.confidence >= config.qa.llm.min_confidence) : [];
    if (ctx.services.llm && ((top && top.confidence >= config.qa.llm.min_confidence) || lessons.length > 0)) {
      // The LLM call happens outside this transaction (src/flows/qa/llm-worker.ts); a qa.finish job answers.
      const passages = [...candidates.filter((c) => c.confidence >= config.qa.llm.min_confidence), ...lessons];
      const best = top ?? lessons[0]!;
      const id = recordQuestion(db, { ...base, status: 'pending', entry_id: null, confidence: top?.confidence ?? 0, answer: null, escalate: arg.escalate, candidates: passages });
      return ctx.note(`asked the LLM as ${questionCode(id)} with ${passages.length} passages (best "${best.id}" at ${best.confidence.toFixed(2)})`);
    }
    const d = decide(found, policy);
    if (d.kind === 'answer') {
      // Written once with its outcome (answered, or dropped as a repeat), not as pending and then
      // settled: a pending row's entry in questions_pending would be written and removed again in
      // the same commit, one more WAL page per question (issue 20).
      const outcome = faqOutcome(ctx, trigger.replyTo.id, d.id);
      const q = { ...base, confidence: d.confidence, escalate: arg.escalate };
      // Nobody needs its id here: on PostgreSQL it rides with the next request.
      if (outcome.kind === 'gone') recordQuestionLater(db, { ...q, status: 'pending', entry_id: null, answer: null });
      else if (outcome.kind === 'repeat') recordQuestionLater(db, { ...q, status: 'dropped', entry_id: d.id, answer: null });
      else recordQuestionLater(db, { ...q, status: 'answered', entry_id: d.id, answer: outcome.entry.answer, answered_at: now, answered_via: 'faq' });
      return ctx.note(faqSent(ctx, outcome, { text, chat: trigger.replyTo, entryId: d.id, confidence: d.confidence }));
    }
    const why = top ? `best match "${top.id}" at confidence ${top.confidence.toFixed(2)} < ${config.qa.threshold}` : 'no match';
    if (d.kind === 'none' && !arg.escalate) return ctx.note(`${why}; silent`);
    // Kept with the question: the staff see them and can pick one (/answer Q12 =2).
    const shortlist = candidates.slice(0, STAFF_CHOICES);
    const id = recordQuestion(db, { ...base, status: 'pending', entry_id: null, confidence: top?.confidence ?? null, answer: null, escalate: arg.escalate, candidates: shortlist });
    if (d.kind === 'clarify') {
      const offered = offerMenu(ctx, { id, text, chat: trigger.replyTo, groupId: trigger.group, platform: trigger.platform }, d.ids);
      if (offered) {
        // Recorded as dropped until the member picks (then answered, via choice).
        settleQuestion(db, { id, status: 'dropped', answer: null, entryId: null, via: null, now });
        return ctx.note(`${why}; ${offered} (menu confidence ${d.confidence.toFixed(2)})`);
      }
      ctx.note(`${why}; menu limit reached (qa.clarify.member/group)`);
    }
    if (!arg.escalate) {
      settleQuestion(db, { id, status: 'dropped', answer: null, entryId: null, via: null, now });
      return ctx.note(`${why}; silent`);
    }
    ctx.note(`${why}; ${escalate(ctx, { id, text, chat: trigger.replyTo })}`);
  },
};

/** How many of retrieval's candidates an escalation shows the staff. */
const STAFF_CHOICES = 3;

type FaqOutcome = { kind: 'gone' } | { kind: 'repeat' } | { kind: 'answer'; entry: { answer: string; question: string } };

/** What answering with an FAQ entry in a chat comes to: the entry is gone, it was just answered there, or its answer. */
function faqOutcome(ctx: RunContext, chatId: string, entryId: string): FaqOutcome {
  const entry = ctx.services.qa.entry(entryId);
  if (!entry) return { kind: 'gone' };
  const last = lastAnsweredInChat(ctx.db, chatId, entryId, ctx.now - ctx.config.qa.repeat_cooldown);
  if (last !== undefined && ctx.now - last < ctx.config.qa.repeat_cooldown) return { kind: 'repeat' };
  return { kind: 'answer', entry };
}

/** Sends the FAQ answer of an outcome (if any); the note for the trace. */
function faqSent(ctx: RunContext, outcome: FaqOutcome, q: Omit<PendingQuestion, 'id'> & { entryId: string; confidence: number }): string {
  if (outcome.kind === 'gone') return `entry "${q.entryId}" is gone; silent`;
  if (outcome.kind === 'repeat') return `"${q.entryId}" was just answered here; silent`;
  sendTo(ctx, q.chat, ctx.render(ctx.config.templates.qa_answer!, { answer: outcome.entry.answer, source: outcome.entry.question, question: q.text }));
  return `answered from "${q.entryId}" (confidence ${q.confidence.toFixed(2)})`;
}

/** Answers a pending question with an FAQ entry's own text (or stays silent if it was just answered in this chat). */
function answerFromFaq(ctx: RunContext, q: PendingQuestion & { entryId: string; confidence: number }): string {
  const outcome = faqOutcome(ctx, q.chat.id, q.entryId);
  if (outcome.kind === 'repeat') settleQuestion(ctx.db, { id: q.id, status: 'dropped', answer: null, entryId: q.entryId, via: null, now: ctx.now });
  if (outcome.kind === 'answer') settleQuestion(ctx.db, { id: q.id, status: 'answered', answer: outcome.entry.answer, entryId: q.entryId, via: 'faq', now: ctx.now });
  return faqSent(ctx, outcome, q);
}

/**
 * `qa.finish`: what the LLM worker got back for a pending question. An answer citing a passage is
 * sent with that passage as its source; "the passages do not answer it" escalates (or stays
 * silent); an error (timeout, 429, bad key, budget) falls back to the FAQ answer when retrieval
 * alone was confident enough.
 */
const finishJob: JobHandler = {
  kind: 'qa',
  run(payload, ctx) {
    if (typeof (payload as { remind?: unknown }).remind === 'number') return remindStaff(ctx, (payload as { remind: number }).remind);
    const p = payload as FinishPayload;
    const q = getQuestion(ctx.db, p.question);
    if (!q || q.status !== 'pending') return `question ${p.question} already settled`;
    const pending: PendingQuestion = { id: q.id, text: q.text, chat: { kind: q.group_id ? 'group' : 'dm', id: q.chat_id } };
    const o = p.outcome;
    if (o.kind === 'answer') {
      const entry = ctx.services.qa.entry(o.source);
      const last = lastAnsweredInChat(ctx.db, q.chat_id, o.source, ctx.now - ctx.config.qa.repeat_cooldown);
      if (last !== undefined && ctx.now - last < ctx.config.qa.repeat_cooldown) {
        settleQuestion(ctx.db, { id: q.id, status: 'dropped', answer: null, entryId: o.source, via: null, now: ctx.now });
        return `LLM answer from "${o.source}", which was just answered here; silent`;
      }
      settleQuestion(ctx.db, { id: q.id, status: 'answered', answer: o.text, entryId: o.source, via: 'llm', now: ctx.now });
      sendTo(ctx, pending.chat, ctx.render(ctx.config.templates.qa_answer!, { answer: o.text, source: entry?.question ?? o.source, question: q.text }));
      return `answered by the LLM from "${o.source}"`;
    }
    if (o.kind === 'clarify') {
      const ids = o.ids.filter((id) => !id.startsWith(LESSON_PREFIX) && ctx.services.qa.has(id));
      const offered = ids.length > 0 ? offerMenu(ctx, { ...pending, groupId: q.group_id, platform: q.platform }, ids) : undefined;
      if (offered) {
        settleQuestion(ctx.db, { id: q.id, status: 'dropped', answer: null, entryId: null, via: null, now: ctx.now });
        return `the LLM asked to clarify; ${offered}`;
      }
    }
    if (o.kind === 'error') {
      // Fall back to an FAQ entry only: a lesson passage is material, not an answer.
      const top = (JSON.parse(q.candidates ?? '[]') as { id: string; confidence: number }[]).find((c) => !c.id.startsWith(LESSON_PREFIX));
      if (top && top.confidence >= ctx.config.qa.threshold) return `LLM ${o.reason}; ${answerFromFaq(ctx, { ...pending, entryId: top.id, confidence: top.confidence })}`;
    }
    const why =
      o.kind === 'none' ? 'the LLM found no answer in the passages' : o.kind === 'clarify' ? 'the LLM asked to clarify, but no menu could be sent' : `LLM ${o.reason} and retrieval not confident`;
    if (!q.escalate) {
      settleQuestion(ctx.db, { id: q.id, status: 'dropped', answer: null, entryId: null, via: null, now: ctx.now });
      return `${why}; silent`;
    }
    return `${why}; ${escalate(ctx, pending)}`;
  },
};

/**
 * `/answer Q12 <answer>` relays an instructor's answer to the student and teaches the knowledge
 * base a new entry; `/answer Q12 =<faq-id>` answers with an existing entry and teaches it the
 * student's phrasing. Either way the next student asking the same is answered by the bot.
 */
const STAFF_ROLES = ['owner', 'instructor', 'assistant'] as const;

const answerCommand: CommandSpec = {
  name: 'answer',
  roles: STAFF_ROLES,
  usage: '/answer <问题编号> <答案>   或   /answer <问题编号> =<FAQ 条目 id>',
  description: '回答转给老师的问题，并加入知识库',
  run(args, ctx) {
    const m = /^(\S+)\s+([\s\S]+)$/.exec(args.trim());
    const id = m ? parseQuestionCode(m[1]!) : undefined;
    if (!m || id === undefined) throw new UsageError('expected a question code and an answer');
    return relayStaffAnswer(ctx, id, m[2]!);
  },
};

/** Relays a staff member's answer to the student and teaches the knowledge base. */
function relayStaffAnswer(ctx: RunContext, id: number, rawBody: string): string {
  const q = getQuestion(ctx.db, id);
  if (!q || q.platform !== ctx.trigger.platform) throw new UsageError(`no question ${questionCode(id)}`);
  if (q.status !== 'escalated') {
    ctx.send({ to: 'dm', text: `${questionCode(id)} 已经回答过了。` });
    return `${questionCode(id)} already ${q.status}`;
  }
  const body = rawBody.trim().slice(0, 2000);
  let entryId: string;
  let answerText: string;
  if (body.startsWith('=')) {
    entryId = body.slice(1).trim();
    // =2: the second of the candidates the escalation showed
    if (/^[1-9]$/.test(entryId)) {
      const picked = faqCandidates(q.candidates)[Number(entryId) - 1];
      if (!picked) throw new UsageError(`${questionCode(id)} has no candidate ${entryId}`);
      entryId = picked;
    }
    const entry = entryId.startsWith(LESSON_PREFIX) ? undefined : ctx.services.qa.entry(entryId);
    if (!entry) throw new UsageError(`no FAQ entry "${entryId}"`);
    answerText = entry.answer;
    ctx.services.qa.addPhrasing(entryId, q.text);
    recordLearned(ctx.db, { entryId, question: q.text, answer: null, questionId: id, now: ctx.now, taughtBy: ctx.member.id });
  } else {
    entryId = `learned-q${id}`;
    answerText = body;
    ctx.services.qa.addEntry(entryId, q.text, answerText, []);
    recordLearned(ctx.db, { entryId, question: q.text, answer: answerText, questionId: id, now: ctx.now, taughtBy: ctx.member.id });
  }
  resolveQuestion(ctx.db, { id, answer: answerText, entryId, by: ctx.member.id, now: ctx.now });
  const teacher = ctx.member.display_name;
  ctx.send({ to: 'chat', chat: { kind: q.group_id ? 'group' : 'dm', id: q.chat_id }, text: ctx.render(ctx.config.templates.qa_relay!, { question: q.text, answer: answerText, teacher }) });
  ctx.send({ to: 'dm', text: ctx.render(ctx.config.templates.qa_relayed!, { question: q.text, code: questionCode(id) }) });
  return `${questionCode(id)} answered and learned as "${entryId}"`;
}

/**
 * WeChat delivers a quoted reply as the quote, a dashed line, then the reply:
 * `「课群助手：❓ Q12 …」\n- - - - - - - - - - - - - - -\n答案`. A quote of the bot's
 * escalation message carries the question code.
 */
const QUOTED_REPLY = /^「([\s\S]*?)」\s*\n\s*-(?:\s*-){3,}\s*\n([\s\S]*\S[\s\S]*)$/;

const QUESTION_CODE = /(?:^|[^A-Za-z0-9])Q(\d{1,12})(?![0-9])/;

export function parseQuotedReply(text: string): { code: number; body: string } | undefined {
  const m = QUOTED_REPLY.exec(text.trim());
  if (!m) return undefined;
  const code = QUESTION_CODE.exec(m[1]!);
  return code ? { code: Number(code[1]), body: m[2]!.trim() } : undefined;
}

/**
 * The escalated question a message answers by quoting it, with the answer: on Telegram a reply
 * to the bot's own message carrying a question code (the platform says who sent it, so a quote
 * of someone else's message never counts); on WeChat the quoted-reply text form.
 */
export function quotedQuestion(trigger: Pick<Trigger, 'text' | 'quoted'>): { code: number; body: string } | undefined {
  if (trigger.quoted) {
    if (!trigger.quoted.fromBot) return undefined;
    const code = QUESTION_CODE.exec(trigger.quoted.text);
    const body = trigger.text.trim();
    return code && body ? { code: Number(code[1]), body } : undefined;
  }
  return parseQuotedReply(trigger.text);
}

/**
 * Every question code in the quoted part of a staff member's quoted reply: a merged escalation
 * message ("❓ 3 个新问题：Q12–Q14 …") names several, and a quote of it answers none of them.
 */
export function quotedCodes(trigger: Pick<Trigger, 'text' | 'quoted'>): number[] {
  const quote = trigger.quoted ? (trigger.quoted.fromBot ? trigger.quoted.text : '') : (QUOTED_REPLY.exec(trigger.text.trim())?.[1] ?? '');
  return [...new Set([...quote.matchAll(new RegExp(QUESTION_CODE.source, 'g'))].map((m) => Number(m[1])))];
}

/**
 * `answer_quoted_reply`: a staff member quoting the bot's escalation message and typing the
 * answer is the same as `/answer Q12 …`. The role is checked here, by platform id, whatever the
 * rule that runs it says: a member quoting the message gets nothing.
 */
const answerQuotedReply: ActionSpec<Record<string, never> | null> = {
  name: 'answer_quoted_reply',
  description: "a staff member's quoted reply to an escalated question answers it, like /answer",
  schema: z.strictObject({}).nullable().default(null),
  run(_arg, ctx) {
    const reply = quotedQuestion(ctx.trigger);
    if (!reply) return ctx.note('not a quoted reply to a question');
    const role = effectiveRole(ctx.db, ctx.config, ctx.trigger.platform, ctx.trigger.userPlatformId);
    if (!(STAFF_ROLES as readonly string[]).includes(role)) return ctx.note(`quoted reply from a ${role}: ignored`);
    const codes = quotedCodes(ctx.trigger);
    if (codes.length > 1) {
      const list = codes.slice(0, 5).map(questionCode).join('、');
      ctx.send({ to: 'dm', text: `引用的消息里有 ${codes.length} 个问题（${list}${codes.length > 5 ? '…' : ''}），不知道你回答的是哪一个。请用：/answer 编号 你的答案` });
      return ctx.note(`quoted reply to a merged message of ${codes.length} questions: asked for /answer`);
    }
    try {
      ctx.note(relayStaffAnswer(ctx, reply.code, reply.body));
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      ctx.send({ to: 'dm', text: `${e.message}。也可以用：/answer ${questionCode(reply.code)} 你的答案` });
      ctx.note(`quoted reply: ${e.message}`);
    }
  },
};

/**
 * `pick_choice`: the asker replied with a number to their clarification menu: the chosen entry's
 * answer, and (qa.clarify.learn) their wording taught to it. The fact `picks_choice` says when.
 */
const pickChoice: ActionSpec<Record<string, never> | null> = {
  name: 'pick_choice',
  description: "the asker's number picks an entry from their clarification menu: answer it, learn the wording",
  schema: z.strictObject({}).nullable().default(null),
  run(_arg, ctx) {
    const pick = menuPicked(ctx);
    if (!pick) return ctx.note('no open menu this number picks from');
    ctx.note(answerPick(ctx, pick));
  },
};

/**
 * Q&A: students' questions answered from the course FAQ (and what instructors taught it); the
 * rest handed to the staff, whose answers come back to the student and into the knowledge base.
 */
export const qaFeature: Feature = {
  name: 'qa',
  config: [qaSection, faqSection],
  checkCourse: checkFaq,
  groupKeys: qaGroupKeys,
  templateVars: ['question', 'answer', 'source', 'code', 'teacher', 'limit'],
  provides: ['qa', 'llm'],
  uses: ['moderation'],
  services: (ctx) => ({
    qa: QaService.build(ctx.config, ctx.db),
    llm: !!ctx.llmEnv && llmSettingsFromEnv(ctx.llmEnv, ctx.config.qa, ctx.config.course.name) !== null,
  }),
  workers: (ctx) => [qaWorker(ctx)],
  facts: [
    {
      name: 'is_question',
      type: 'boolean',
      description: 'the message looks like a question (question mark, interrogative word, or @bot; per group: qa_detect)',
      get: (c) =>
        c.trigger.type === 'message' &&
        looksLikeQuestion(c.trigger.text, c.trigger.mentionsBot, (c.trigger.group ? c.config.groups[c.trigger.group]?.qa_detect : undefined) ?? c.config.qa.detect),
    },
    {
      name: 'picks_choice',
      type: 'boolean',
      description: 'the message is a number (1, 2, 选2…) that picks an entry from the sender\'s open clarification menu (same chat or private, within qa.clarify.within)',
      get: (c) => menuPicked(c) !== undefined,
    },
    {
      name: 'quotes_question',
      type: 'boolean',
      description: "the message quotes the bot's escalation of a question (❓ Q12 …) and adds text: a Telegram reply to the bot's message, or WeChat's quoted-reply form",
      get: (c) => c.trigger.type === 'message' && quotedQuestion(c.trigger) !== undefined,
    },
  ],
  actions: [answer, answerQuotedReply, pickChoice],
  commands: [answerCommand, faqCommand],
  jobs: [finishJob],
};
