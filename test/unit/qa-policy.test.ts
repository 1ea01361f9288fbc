import { describe, expect, it } from 'vitest';
import { ANSWER_ONLY_FACTOR, COVERAGE_GATE, confidenceOf, decide, fallbackEntry, type Candidate } from '../../src/qa/policy.js';

// Figures by hand: the logistic 1 / (1 + e^−z) is 0.5 at z = 0 and 0.7310585786300049 at z = 1.
const SIG1 = 0.7310585786300049;

describe('confidence of the best entry', () => {
  it('is the logistic of the weighted features: each weight counts', () => {
    const full = { coverage: 1, margin: 1, strength: 1 };
    expect(confidenceOf(full, [0, 0, 0, 0])).toBe(0.5);
    expect(confidenceOf(full, [1, 0, 0, 0])).toBeCloseTo(SIG1, 15);
    expect(confidenceOf({ coverage: 0.5, margin: 0, strength: 1 }, [0, 2, 0, 0])).toBeCloseTo(SIG1, 15);
    expect(confidenceOf({ coverage: 1, margin: 0.25, strength: 1 }, [0, 0, 4, 0])).toBeCloseTo(SIG1, 15);
    expect(confidenceOf({ coverage: 1, margin: 0, strength: 0.5 }, [0, 0, 0, 2])).toBeCloseTo(SIG1, 15);
    // The shipped weights [-4, 4, 4, 2] on a perfect match: z = 6, 1 / (1 + e^−6).
    expect(confidenceOf(full, [-4, 4, 4, 2])).toBeCloseTo(0.9975273768433653, 15);
    // A negative z: z = −1 gives 1 − 0.731… = 0.2689…
    expect(confidenceOf(full, [-1, 0, 0, 0])).toBeCloseTo(1 - SIG1, 15);
  });

  it('coverage below 0.3 scales it down linearly; from 0.3 up it does not', () => {
    expect(COVERAGE_GATE).toBe(0.3);
    const at = (coverage: number) => confidenceOf({ coverage, margin: 0, strength: 1 }, [0, 0, 0, 0]);
    expect(at(0.3)).toBe(0.5);
    expect(at(0.6)).toBe(0.5);
    expect(at(0.15)).toBeCloseTo(0.25, 15);
    expect(at(0.03)).toBeCloseTo(0.05, 15);
    expect(at(0)).toBe(0);
  });

  it('an entry matched in none of its phrasings (strength 0) gets 0.6 of it; any strength above 0 gets all', () => {
    expect(ANSWER_ONLY_FACTOR).toBe(0.6);
    expect(confidenceOf({ coverage: 1, margin: 0, strength: 0 }, [0, 0, 0, 0])).toBeCloseTo(0.3, 15);
    expect(confidenceOf({ coverage: 1, margin: 0, strength: 1e-9 }, [0, 0, 0, 0])).toBeCloseTo(0.5, 8);
    // Both gates: 0.5 × (0.15 / 0.3) × 0.6 = 0.15.
    expect(confidenceOf({ coverage: 0.15, margin: 0, strength: 0 }, [0, 0, 0, 0])).toBeCloseTo(0.15, 15);
  });
});

describe('what the bot does with a question', () => {
  const c = (id: string, confidence: number): Candidate => ({ id, confidence });
  const base = { candidates: [] as Candidate[], lessons: [] as Candidate[], llm: false, threshold: 0.6, minConfidence: 0.3 };

  it('without an LLM: answers from the FAQ at the threshold exactly, not below; says why it is unsure', () => {
    expect(decide({ ...base, candidates: [c('install', 0.6), c('pandas', 0.2)] })).toEqual({ kind: 'faq', entry: c('install', 0.6) });
    expect(decide({ ...base, candidates: [c('install', 0.599)] })).toEqual({ kind: 'unsure', why: 'best match "install" at confidence 0.60 < 0.6' });
    expect(decide({ ...base, candidates: [c('install', 0.42)] })).toEqual({ kind: 'unsure', why: 'best match "install" at confidence 0.42 < 0.6' });
    expect(decide(base)).toEqual({ kind: 'unsure', why: 'no match' });
    // Lessons are never an answer by themselves.
    expect(decide({ ...base, lessons: [c('lesson:1', 0.9)] })).toEqual({ kind: 'unsure', why: 'no match' });
  });

  it('with an LLM: the relevant passages (at min_confidence exactly, not below), FAQ entries first, then lessons', () => {
    const llm = { ...base, llm: true };
    expect(decide({ ...llm, candidates: [c('install', 0.3), c('pandas', 0.31), c('excel', 0.29)], lessons: [c('lesson:2', 0.5), c('lesson:3', 0.1)] })).toEqual({
      kind: 'llm',
      passages: [c('install', 0.3), c('pandas', 0.31), c('lesson:2', 0.5)],
      best: c('install', 0.3),
    });
    // A relevant entry and no lesson at all: the LLM reads it (rather than retrieval answering or not).
    expect(decide({ ...llm, candidates: [c('install', 0.5)] })).toEqual({ kind: 'llm', passages: [c('install', 0.5)], best: c('install', 0.5) });
    // The best-ranked entry below min_confidence and no relevant lesson: retrieval decides alone.
    expect(decide({ ...llm, candidates: [c('install', 0.29), c('pandas', 0.31)], lessons: [c('lesson:2', 0.29)] })).toEqual({
      kind: 'unsure',
      why: 'best match "install" at confidence 0.29 < 0.6',
    });
    // Only a lesson is relevant: the LLM reads it (the best-ranked entry is still named best).
    expect(decide({ ...llm, candidates: [c('install', 0.1)], lessons: [c('lesson:2', 0.3)] })).toEqual({ kind: 'llm', passages: [c('lesson:2', 0.3)], best: c('install', 0.1) });
    expect(decide({ ...llm, lessons: [c('lesson:2', 0.3)] })).toEqual({ kind: 'llm', passages: [c('lesson:2', 0.3)], best: c('lesson:2', 0.3) });
    expect(decide(llm)).toEqual({ kind: 'unsure', why: 'no match' });
  });

  it('with an LLM configured to need more than the threshold, a confident entry is still answered from the FAQ', () => {
    expect(decide({ ...base, llm: true, minConfidence: 0.8, candidates: [c('install', 0.7)] })).toEqual({ kind: 'faq', entry: c('install', 0.7) });
  });

  it('after an LLM error: the best FAQ entry at the threshold or above, never a lesson passage', () => {
    const p = 'lesson:';
    expect(fallbackEntry([c('lesson:1', 0.95), c('install', 0.6), c('pandas', 0.9)], 0.6, p)).toEqual(c('install', 0.6));
    expect(fallbackEntry([c('install', 0.59), c('pandas', 0.9)], 0.6, p)).toBeUndefined();
    expect(fallbackEntry([c('lesson:1', 0.95)], 0.6, p)).toBeUndefined();
    expect(fallbackEntry([], 0.6, p)).toBeUndefined();
  });
});
