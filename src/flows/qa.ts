import { z } from 'zod';
import { countBotAnswers, getQuestion, lastAnsweredInChat, parseQuestionCode, questionCode, recordLearned, recordQuestion, resolveQuestion } from '../store/questions.js';
import { localDayStart } from '../util/localtime.js';
import { staffChats } from './roles.js';
import { UsageError, type ActionSpec, type CommandSpec, type Flow, type RunContext } from './types.js';

/** Templates the Q&A flow sends; checked at load when a rule uses `answer`. */
const TEMPLATES = ['qa_answer', 'qa_escalated', 'qa_to_staff', 'qa_relay', 'qa_relayed'] as const;

const INTERROGATIVE_ZH = /(怎么|怎样|如何|为什么|为啥|什么|哪里|哪儿|哪个|哪些|多少|几点|几号|能不能|可不可以|可以吗|是否|有没有|请问|求助|[吗呢嘛]\s*[。.!！~～]*$)/u;
const INTERROGATIVE_EN = /^(how|what|why|when|where|which|who|can|could|is|are|does|do|did|should|will|would|any(one|body))\b/i;

/** Acknowledgements and small talk: never questions, never answered, even in private. */
const SMALL_TALK = /^(?:收到|好的?|好滴|好嘞|行|嗯+|哦+|噢+|OK|okay|谢谢(?:老师|你|您|啦)?|多谢|感谢|辛苦了?|老师辛苦了|thanks?(?: you)?|thx|ty|哈+|呵+|\+1|1|👍|🙏|你好|您好|hi|hello|hey|在吗|在不在)[\s!！。.~～]*$/iu;

export function isSmallTalk(text: string): boolean {
  return SMALL_TALK.test(text.trim());
}

/** Whether a group message is a question, by the group's detection settings. */
export function looksLikeQuestion(text: string, mentionsBot: boolean, detect: readonly string[]): boolean {
  const t = text.trim();
  if (t === '' || t.startsWith('/') || isSmallTalk(t)) return false;
  if (detect.includes('mention') && mentionsBot) return true;
  if (detect.includes('question_mark') && /[?？]/.test(t)) return true;
  if (detect.includes('interrogative') && (INTERROGATIVE_ZH.test(t) || INTERROGATIVE_EN.test(t))) return true;
  return false;
}

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
    if (countBotAnswers(db, { memberId: member.id, since: dayStart }) >= config.qa.daily_quota.member) return ctx.note('member daily quota reached; silent');
    if (trigger.group && countBotAnswers(db, { groupId: trigger.group, since: dayStart }) >= config.qa.daily_quota.group) return ctx.note('group daily quota reached; silent');
    const hit = ctx.services.qa.ask(text);
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
    if (hit && hit.confidence >= config.qa.threshold) {
      const last = lastAnsweredInChat(db, trigger.replyTo.id, hit.entryId);
      if (last !== undefined && now - last < config.qa.repeat_cooldown) return ctx.note(`"${hit.entryId}" was just answered here; silent`);
      recordQuestion(db, { ...base, status: 'answered', entry_id: hit.entryId, confidence: hit.confidence, answer: hit.answer, answered_at: now });
      ctx.send({ to: 'reply', text: ctx.render(config.templates.qa_answer!, { answer: hit.answer, source: hit.question, question: text }) });
      return ctx.note(`answered from "${hit.entryId}" (confidence ${hit.confidence.toFixed(2)})`);
    }
    const why = hit ? `best match "${hit.entryId}" at confidence ${hit.confidence.toFixed(2)} < ${config.qa.threshold}` : 'no match';
    if (!arg.escalate) return ctx.note(`${why}; silent`);
    const id = recordQuestion(db, { ...base, status: 'escalated', entry_id: null, confidence: hit?.confidence ?? null, answer: null });
    const code = questionCode(id);
    ctx.send({ to: 'reply', text: ctx.render(config.templates.qa_escalated!, { question: text, code }) });
    const toStaff = ctx.render(config.templates.qa_to_staff!, { question: text, code });
    for (const chat of staffChats(ctx.db, config, trigger.platform)) ctx.send({ to: 'chat', chat, text: toStaff });
    ctx.note(`${why}; escalated as ${code}`);
  },
};

/**
 * `/answer Q12 <answer>` relays an instructor's answer to the student and teaches the knowledge
 * base a new entry; `/answer Q12 =<faq-id>` answers with an existing entry and teaches it the
 * student's phrasing. Either way the next student asking the same is answered by the bot.
 */
const answerCommand: CommandSpec = {
  name: 'answer',
  roles: ['owner', 'instructor', 'assistant'],
  usage: '/answer <问题编号> <答案>   或   /answer <问题编号> =<FAQ 条目 id>',
  description: '回答转给老师的问题，并加入知识库',
  run(args, ctx) {
    const m = /^(\S+)\s+([\s\S]+)$/.exec(args.trim());
    const id = m ? parseQuestionCode(m[1]!) : undefined;
    if (!m || id === undefined) throw new UsageError('expected a question code and an answer');
    const q = getQuestion(ctx.db, id);
    if (!q || q.platform !== ctx.trigger.platform) throw new UsageError(`no question ${m[1]}`);
    if (q.status !== 'escalated') {
      ctx.send({ to: 'dm', text: `${questionCode(id)} 已经回答过了。` });
      return `${questionCode(id)} already ${q.status}`;
    }
    const body = m[2]!.trim().slice(0, 2000);
    let entryId: string;
    let answerText: string;
    if (body.startsWith('=')) {
      entryId = body.slice(1).trim();
      const entry = ctx.services.qa.entry(entryId);
      if (!entry) throw new UsageError(`no FAQ entry "${entryId}"`);
      answerText = entry.answer;
      ctx.services.qa.addPhrasing(entryId, q.text);
      recordLearned(ctx.db, { entryId, question: q.text, answer: null, questionId: id, now: ctx.now });
    } else {
      entryId = `learned-q${id}`;
      answerText = body;
      ctx.services.qa.addEntry(entryId, q.text, answerText, []);
      recordLearned(ctx.db, { entryId, question: q.text, answer: answerText, questionId: id, now: ctx.now });
    }
    resolveQuestion(ctx.db, { id, answer: answerText, entryId, by: ctx.member.id, now: ctx.now });
    const teacher = ctx.member.display_name;
    ctx.send({ to: 'chat', chat: { kind: q.group_id ? 'group' : 'dm', id: q.chat_id }, text: ctx.render(ctx.config.templates.qa_relay!, { question: q.text, answer: answerText, teacher }) });
    ctx.send({ to: 'dm', text: ctx.render(ctx.config.templates.qa_relayed!, { question: q.text, code: questionCode(id) }) });
    return `${questionCode(id)} answered and learned as "${entryId}"`;
  },
};

/**
 * Q&A: students' questions answered from the course FAQ (and what instructors taught it); the
 * rest handed to the staff, whose answers come back to the student and into the knowledge base.
 */
export const qaFlow: Flow = {
  name: 'qa',
  facts: [
    {
      name: 'is_question',
      type: 'boolean',
      description: 'the message looks like a question (question mark, interrogative word, or @bot; per group: qa_detect)',
      get: (c) =>
        c.trigger.type === 'message' &&
        looksLikeQuestion(c.trigger.text, c.trigger.mentionsBot, (c.trigger.group ? c.config.groups[c.trigger.group]?.qa_detect : undefined) ?? c.config.qa.detect),
    },
  ],
  actions: [answer],
  commands: [answerCommand],
};
