/**
 * The Q&A confidence policy: how sure retrieval is that its best entry answers a question
 * (`confidenceOf`), and what the bot does about a question given that (`decide`): hand the
 * passages worth reading to the LLM, answer with the FAQ entry itself, or say it is not sure
 * (the `answer` action then escalates to the staff or stays silent). Pure, so each threshold can
 * be tested at its edge; src/flows/qa.ts does the talking and the recording.
 */

export interface ConfidenceFeatures {
  /** share of the query's term weight the entry matches anywhere (terms the bank lacks count as unmatched) */
  coverage: number;
  /** (top1 − top2) / top1 */
  margin: number;
  /** the entry's best phrasing score over the score the query would get against itself */
  strength: number;
}

/** Coverage below this scales confidence down linearly. */
export const COVERAGE_GATE = 0.3;
/** Confidence factor when the entry matched in its answer only, in none of its phrasings. */
export const ANSWER_ONLY_FACTOR = 0.6;

/**
 * A logistic model over the features, weights `w` = [bias, coverage, margin, strength], then two
 * gates.
 *
 * @example confidenceOf({ coverage: 1, margin: 1, strength: 1 }, [-4, 4, 4, 2]) // 0.9975…
 */
export function confidenceOf(f: ConfidenceFeatures, w: readonly [number, number, number, number]): number {
  const z = w[0] + w[1] * f.coverage + w[2] * f.margin + w[3] * f.strength;
  // Gates, not weights: an entry that matches little of the question ("good morning" meeting one
  // character trigram) or matches none of its phrasings (a digit in an answer) is not an answer,
  // however far ahead of the others it is.
  const gate = Math.min(1, f.coverage / COVERAGE_GATE) * (f.strength > 0 ? 1 : ANSWER_ONLY_FACTOR);
  return gate / (1 + Math.exp(-z));
}

/** An FAQ entry or a lesson passage retrieval found, with its confidence in [0, 1]. */
export interface Candidate {
  id: string;
  confidence: number;
}

export type QaDecision =
  /** Ask the LLM (outside the transaction) with these passages, best first. */
  | { kind: 'llm'; passages: Candidate[]; best: Candidate }
  /** Answer with this FAQ entry's own text. */
  | { kind: 'faq'; entry: Candidate }
  /** Not sure enough to answer; `why` is for the trace. */
  | { kind: 'unsure'; why: string };

/**
 * What to do with a question. With an LLM, the FAQ entries and lesson passages at
 * `minConfidence` or above are worth handing over; without one (or with nothing relevant), the
 * best-ranked FAQ entry answers by itself when it reaches `threshold`.
 *
 * @example decide({ candidates: [{ id: 'install', confidence: 0.8 }], lessons: [], llm: false, threshold: 0.6, minConfidence: 0.3 }) // { kind: 'faq', … }
 */
export function decide(q: { candidates: readonly Candidate[]; lessons: readonly Candidate[]; llm: boolean; threshold: number; minConfidence: number }): QaDecision {
  const top = q.candidates[0];
  if (q.llm) {
    const relevant = (c: Candidate) => c.confidence >= q.minConfidence;
    const lessons = q.lessons.filter(relevant);
    // The LLM is asked when the best-ranked entry, or a lesson, is relevant; it then reads every
    // relevant passage (ranking is by score, so a lower-ranked entry may be more confident).
    if ((top !== undefined && relevant(top)) || lessons.length > 0) {
      return { kind: 'llm', passages: [...q.candidates.filter(relevant), ...lessons], best: top ?? lessons[0]! };
    }
  }
  if (top && top.confidence >= q.threshold) return { kind: 'faq', entry: top };
  return { kind: 'unsure', why: top ? `best match "${top.id}" at confidence ${top.confidence.toFixed(2)} < ${q.threshold}` : 'no match' };
}

/**
 * After the LLM failed (timeout, 429, budget): the FAQ entry retrieval alone is confident enough
 * in, if any. Only the best FAQ entry counts; a lesson passage (`lessonPrefix`) is material, not
 * an answer.
 */
export function fallbackEntry(candidates: readonly Candidate[], threshold: number, lessonPrefix: string): Candidate | undefined {
  const top = candidates.find((c) => !c.id.startsWith(lessonPrefix));
  return top !== undefined && top.confidence >= threshold ? top : undefined;
}
