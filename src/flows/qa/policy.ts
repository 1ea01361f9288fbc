/**
 * The Q&A policy: what the bot does with a question, given what retrieval found.
 *
 * - **answer** when the best entry is confident enough (`threshold`);
 * - **clarify** when it is not, but a few entries are plausible: the member gets a short numbered
 *   menu of them (「你想问的是哪一个？1 … 2 …（回复数字）」) and a number picks the answer;
 * - **none** when nothing fits: the caller escalates to the staff, or stays silent.
 *
 * A wrong answer in front of a whole group costs more than a question back, so the answer
 * threshold is set for few wrong answers, and the menu catches the questions retrieval ranks
 * well but not confidently (recall@5 is far higher than top-1 on phrasings nobody tuned for).
 * The numbers are calibrated on the dev half of the public sets only (docs/qa.md, "Measured").
 *
 * Pure: the same hits give the same decision, in the bot and in `kequn eval-qa`.
 *
 * @example
 *   decide(index.search(text, 5), { threshold: 0.6, clarify: { enabled: true, min: 0.25, choices: 3, ratio: 0.6 } })
 *   // → { kind: 'clarify', ids: ['install-python', 'pip-slow'], confidence: 0.41 }
 */
import { confidenceOf, type ConfidenceFeatures, type SearchHit } from './retrieval.js';

/** What QaIndex.searchDetailed returns, and the index's confidence weights. */
export interface Found {
  hits: readonly SearchHit[];
  /** the top hit's confidence features */
  features: ConfidenceFeatures;
  /** the score the query would get against itself */
  self: number;
  weights: readonly [number, number, number, number];
}

export interface ClarifySettings {
  /** false: no menus; below the threshold the question escalates as before. */
  enabled: boolean;
  /**
   * A menu only when the menu's confidence is at least this (below: nothing fits). The menu's
   * confidence is the top entry's, with its lead measured over the first entry left out of the
   * menu instead of the runner-up: how likely the right entry is among the choices.
   */
  min: number;
  /** At most this many choices. */
  choices: number;
  /** A runner-up is a choice when its score is at least this share of the best entry's score. */
  ratio: number;
}

export interface PolicySettings {
  threshold: number;
  clarify: ClarifySettings;
}

export type Decision =
  | { kind: 'answer'; id: string; confidence: number }
  | { kind: 'clarify'; ids: string[]; confidence: number }
  | { kind: 'none'; confidence: number };

/** The `qa.threshold` default (the qa section's schema in src/flows/qa/config.ts uses it). */
export const DEFAULT_THRESHOLD = 0.7;
/** The `qa.clarify` defaults (likewise). */
export const DEFAULT_CLARIFY: ClarifySettings = { enabled: true, min: 0.25, choices: 3, ratio: 0.6 };

/** How many hits the policy needs to see (the menu's choices come from them). */
export function hitsNeeded(s: PolicySettings): number {
  return Math.max(2, s.clarify.choices);
}

/** How likely the right entry is among the first `k` hits (the confidence model, its margin taken over hit k+1). */
export function menuConfidence(f: Found, k: number): number {
  const top = f.hits[0];
  if (!top) return 0;
  const next = f.hits[k]?.score ?? 0;
  const margin = top.score > 0 ? Math.max(-1, (top.score - next) / Math.max(top.score, f.self)) : 0;
  return confidenceOf({ ...f.features, margin }, f.weights);
}

export function decide(f: Found, s: PolicySettings): Decision {
  const top = f.hits[0];
  if (!top) return { kind: 'none', confidence: 0 };
  if (top.confidence >= s.threshold) return { kind: 'answer', id: top.id, confidence: top.confidence };
  if (!s.clarify.enabled || s.clarify.choices < 1) return { kind: 'none', confidence: top.confidence };
  const menu = f.hits.slice(0, s.clarify.choices).filter((h) => h.score >= s.clarify.ratio * top.score);
  const confidence = menuConfidence(f, menu.length);
  if (confidence < s.clarify.min) return { kind: 'none', confidence: top.confidence };
  return { kind: 'clarify', ids: menu.map((h) => h.id), confidence };
}
