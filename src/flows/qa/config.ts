/**
 * The Q&A feature's configuration: kequn.yaml's `qa:` (confidence threshold, question detection,
 * escalation, quotas, the LLM mode) and the course FAQ in faq.yaml (docs/qa.md).
 */
import { z } from 'zod';
import { checkUnique } from '../../config/checks.js';
import { duration, handle } from '../../config/schema.js';
import type { SectionContext } from '../../config/section.js';
import { fileSection, section } from '../../core/feature.js';
import { DEFAULT_CLARIFY, DEFAULT_THRESHOLD } from './policy.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    qa: QaConfig;
    /** FAQ entries from faq.yaml (empty when the file does not exist). */
    faq: FaqEntry[];
  }
  interface GroupKeys {
    /** How the bot recognises a question in this group (overrides qa.detect). */
    qa_detect?: QuestionSign[];
  }
}

const questionSigns = z.array(z.enum(['question_mark', 'interrogative', 'mention']));
export type QuestionSign = z.output<typeof questionSigns>[number];

/** `qa.clarify`: the menu the bot offers when it is not sure (docs/qa.md, "Clarification"). */
const CLARIFY_DEFAULTS = { ...DEFAULT_CLARIFY, within: 5 * 60_000, member: 3, group: 6, learn: true };
const clarifySchema = z.strictObject({
  /** false: below the threshold the question escalates (or the bot stays silent) as before. */
  enabled: z.boolean().default(CLARIFY_DEFAULTS.enabled),
  /** A menu only when the right entry is at least this likely (0-1) to be among its choices. */
  min: z.number().min(0).max(1).default(CLARIFY_DEFAULTS.min),
  /** At most this many choices. */
  choices: z.number().int().min(1).max(5).default(CLARIFY_DEFAULTS.choices),
  /** A runner-up is a choice when it scores at least this share of the best entry. */
  ratio: z.number().min(0).max(1).default(CLARIFY_DEFAULTS.ratio),
  /** A number from the asker within this time picks an entry; then the menu is closed. */
  within: duration.default(CLARIFY_DEFAULTS.within),
  /** Menus per member per qa.escalation.window; past it the question is escalated (within its limits). */
  member: z.number().int().min(0).default(CLARIFY_DEFAULTS.member),
  /** Menus per group per qa.escalation.window, so menus never pile up in a group. */
  group: z.number().int().min(0).default(CLARIFY_DEFAULTS.group),
  /** A member's pick teaches the entry their wording (not from members flagged by moderation). */
  learn: z.boolean().default(CLARIFY_DEFAULTS.learn),
});

const qaSchema = z
  .strictObject({
    /** Answer only when the retrieval confidence (0-1) is at least this (chosen on the dev split: docs/qa.md, "Measured"). */
    threshold: z.number().min(0).max(1).default(DEFAULT_THRESHOLD),
    /** Below the threshold: a numbered menu of the plausible entries instead of a guess (docs/qa.md, "Clarification"). */
    clarify: clarifySchema.default(CLARIFY_DEFAULTS),
    /** An escalated question nobody answered is reminded to the staff after this long (0: never). */
    remind_after: duration.default(4 * 3_600_000),
    detect: z.array(z.enum(['question_mark', 'interrogative', 'mention'])).default(['question_mark', 'interrogative', 'mention']),
    /** `instructors` (each instructor and assistant privately) or the handle of a staff group. */
    escalate_to: z.string().default('instructors'),
    /** Questions the bot takes up (answers or escalates) per member and per group per local day. */
    daily_quota: z
      .strictObject({ member: z.number().int().min(0).default(20), group: z.number().int().min(0).default(200) })
      .default({ member: 20, group: 200 }),
    /** How many questions go to the staff, how they are merged, and how often the asker hears (docs/qa.md). */
    escalation: z
      .strictObject({
        /** Escalations are counted, and the asker told, per this rolling window. */
        window: duration.default(10 * 60_000),
        /** At most this many of one member's questions go to the staff per window; the rest are recorded, not forwarded. */
        member: z.number().int().min(0).default(3),
        /** At most this many of one group's questions go to the staff per window. */
        group: z.number().int().min(0).default(20),
        /** Escalations to a staff chat within this time of the last one are merged into one message. */
        merge: duration.default(2 * 60_000),
      })
      .default({ window: 10 * 60_000, member: 3, group: 20, merge: 2 * 60_000 }),
    /** The same FAQ entry is not answered again in the same group within this time. */
    repeat_cooldown: duration.default(10 * 60_000),
    /** The LLM mode, used when OPENAI_API_KEY is set (see docs/qa.md). */
    llm: z
      .strictObject({
        /** false: never call the LLM, even with a key in the environment. */
        enabled: z.boolean().default(true),
        /** OPENAI_MODEL overrides it. */
        model: z.string().min(1).default('gpt-4o-mini'),
        /** Prompt + completion tokens per local day; then FAQ-only answers until tomorrow. */
        daily_token_budget: z.number().int().min(0).default(200_000),
        timeout: duration.default(20_000),
        /** How many retrieved FAQ entries the LLM sees. */
        passages: z.number().int().min(1).max(10).default(4),
        /** Below this retrieval confidence nothing in the FAQ is relevant: no LLM call. */
        min_confidence: z.number().min(0).max(1).default(0.15),
        /** Longer answers are cut. */
        max_answer_chars: z.number().int().min(50).max(2000).default(500),
        /** The endpoint's /embeddings model (bge-m3, text-embedding-v3, text-embedding-3-small…), fused with BM25; empty: none. OPENAI_EMBEDDING_MODEL overrides it. */
        embedding_model: z.string().default(''),
      })
      .default({ enabled: true, model: 'gpt-4o-mini', daily_token_budget: 200_000, timeout: 20_000, passages: 4, min_confidence: 0.15, max_answer_chars: 500, embedding_model: '' }),
  })
  .default({
    threshold: DEFAULT_THRESHOLD,
    clarify: CLARIFY_DEFAULTS,
    remind_after: 4 * 3_600_000,
    detect: ['question_mark', 'interrogative', 'mention'],
    escalate_to: 'instructors',
    daily_quota: { member: 20, group: 200 },
    escalation: { window: 10 * 60_000, member: 3, group: 20, merge: 2 * 60_000 },
    repeat_cooldown: 10 * 60_000,
    llm: { enabled: true, model: 'gpt-4o-mini', daily_token_budget: 200_000, timeout: 20_000, passages: 4, min_confidence: 0.15, max_answer_chars: 500, embedding_model: '' },
  });

export type QaConfig = z.output<typeof qaSchema>;

/** `qa:` as a course that says nothing gets it (what `kequn eval-qa` measures without a course folder). */
export function qaDefaults(): QaConfig {
  return qaSchema.parse(undefined);
}

/** The course FAQ: questions with alternate phrasings and their answers (config/faq.yaml). */
export const faqSchema = z.strictObject({
  entries: z
    .array(
      z.strictObject({
        id: handle,
        q: z.string().min(1),
        also: z.array(z.string().min(1)).default([]),
        a: z.string().min(1),
      }),
    )
    .default([]),
});

export interface FaqEntry {
  id: string;
  question: string;
  alternates: string[];
  answer: string;
}

function resolveQa(qa: QaConfig, ctx: SectionContext): QaConfig {
  const escalateTo = qa.escalate_to;
  if (escalateTo !== 'instructors' && ctx.main.groups[escalateTo]?.kind !== 'staff') {
    ctx.file.problem(['qa', 'escalate_to'], `"${escalateTo}" is neither "instructors" nor a group of kind staff`);
  }
  return qa;
}

function resolveFaq(faq: z.output<typeof faqSchema> | undefined, ctx: SectionContext): FaqEntry[] {
  // The FAQ is optional: a course without one simply has nothing to answer from.
  if (!faq) return [];
  checkUnique(ctx.file, faq.entries.map((e) => e.id), (i) => ['entries', i, 'id'], 'FAQ id');
  return faq.entries.map((e) => ({ id: e.id, question: e.q, alternates: e.also, answer: e.a }));
}

/** kequn.yaml's `qa:`. */
export const qaSection = section({ key: 'qa', as: 'qa', schema: qaSchema, resolve: resolveQa });
/** faq.yaml, optional; up to 2 MB of plain strings, kept validated beside the store by `kequn start`. */
export const faqSection = fileSection({ key: 'faq', file: 'faq.yaml', as: 'faq', schema: faqSchema, resolve: resolveFaq, stored: true });
/** A group's `qa_detect:`. */
export const qaGroupKeys = { qa_detect: questionSigns.optional() };
