import { describe, expect, it } from 'vitest';
import { outcomeOf, parseFaqYaml, parseQueries, policyOf, runQueries, splitQueries, OUTCOMES, type QaQuery } from '../../src/flows/qa/eval.js';
import { PlainBm25, plainTerms } from '../../src/flows/qa/baseline.js';
import { decide, hitsNeeded, menuConfidence, DEFAULT_CLARIFY, DEFAULT_THRESHOLD, type Found } from '../../src/flows/qa/policy.js';
import { pickedNumber, renderChoices } from '../../src/flows/qa/clarify.js';
import { buildIndex, DEFAULT_PARAMS } from '../../src/flows/qa/retrieval.js';
import { loadConfig } from '../../src/app.js';
import { DEMO_CONFIG_DIR } from '../helpers/fixtures.js';
import { main } from '../../src/cli/main.js';

const W = DEFAULT_PARAMS.confidence;
const policy = { threshold: 0.7, clarify: { enabled: true, min: 0.25, choices: 3, ratio: 0.6 } };
const found = (hits: [string, number, number][], f: Partial<Found['features']> = {}, self = 10): Found => ({
  hits: hits.map(([id, score, confidence]) => ({ id, score, confidence })),
  features: { coverage: 0.5, margin: 0, strength: 0.6, ...f },
  self,
  weights: W,
});

describe('Q&A policy: answer, clarify or nothing', () => {
  it('answers at the threshold, not below', () => {
    expect(decide(found([['a', 10, 0.7], ['b', 2, 0]]), policy)).toEqual({ kind: 'answer', id: 'a', confidence: 0.7 });
    expect(decide(found([['a', 10, 0.69], ['b', 9, 0]]), policy).kind).not.toBe('answer');
  });

  it('offers the entries within ratio of the best, at most `choices`, when the menu is likely to hold the right one', () => {
    const d = decide(found([['a', 10, 0.3], ['b', 9, 0.1], ['c', 6.5, 0], ['d', 6.2, 0], ['e', 1, 0]]), policy);
    expect(d).toMatchObject({ kind: 'clarify', ids: ['a', 'b', 'c'] });
    // a runner-up far behind is not a choice
    expect(decide(found([['a', 10, 0.5], ['b', 5, 0]]), policy)).toMatchObject({ kind: 'clarify', ids: ['a'] });
  });

  it('gives up when nothing fits: no hits, weak coverage, menus off', () => {
    expect(decide(found([]), policy)).toEqual({ kind: 'none', confidence: 0 });
    expect(decide(found([['a', 1, 0.01], ['b', 0.9, 0]], { coverage: 0.05, strength: 0.1 }), policy).kind).toBe('none');
    expect(decide(found([['a', 10, 0.3], ['b', 9, 0.1]]), { ...policy, clarify: { ...policy.clarify, enabled: false } }).kind).toBe('none');
  });

  it("measures the menu's confidence against the first entry left out, so a tie inside the menu does not sink it", () => {
    const f = found([['a', 10, 0.1], ['b', 9.9, 0.1], ['c', 1, 0]], { margin: 0.01 });
    expect(menuConfidence(f, 2)).toBeGreaterThan(menuConfidence(f, 1));
  });

  it('has the same defaults as the configuration', () => {
    const config = loadConfig(DEMO_CONFIG_DIR, { env: {} });
    expect(config.qa.threshold).toBe(DEFAULT_THRESHOLD);
    expect({ enabled: config.qa.clarify.enabled, min: config.qa.clarify.min, choices: config.qa.clarify.choices, ratio: config.qa.clarify.ratio }).toEqual(DEFAULT_CLARIFY);
  });
});

describe('Q&A menus: what a pick looks like', () => {
  it('takes a number alone, full-width, 选2, 第2个; nothing else', () => {
    expect(['2', ' 2 ', '２', '选2', '第2个', '2号', '2。'].map(pickedNumber)).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(['12', '0', '2个人', '我选了2', '', 'two'].map(pickedNumber)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });

  it('numbers the choices and cuts long questions', () => {
    expect(renderChoices([{ question: '短问题？' }, { question: '长'.repeat(40) }])).toBe(`1. 短问题？\n2. ${'长'.repeat(30)}…`);
  });
});

describe('Q&A evaluation of the policy', () => {
  it('judges outcomes against the gold entry; for no gold, an answer is wrong and escalating right', () => {
    expect(outcomeOf('a', { kind: 'answer', id: 'a', confidence: 1 }, false)).toBe('answered_right');
    expect(outcomeOf('a', { kind: 'answer', id: 'b', confidence: 1 }, false)).toBe('answered_wrong');
    expect(outcomeOf(null, { kind: 'answer', id: 'b', confidence: 1 }, false)).toBe('answered_wrong');
    expect(outcomeOf('a', { kind: 'clarify', ids: ['b', 'a'], confidence: 0.3 }, false)).toBe('clarified_hit');
    expect(outcomeOf(null, { kind: 'clarify', ids: ['b'], confidence: 0.3 }, false)).toBe('clarified_miss');
    expect(outcomeOf(null, { kind: 'none', confidence: 0.1 }, false)).toBe('escalated');
    expect(outcomeOf(null, { kind: 'none', confidence: 0 }, false)).toBe('escalated');
    expect(outcomeOf(null, { kind: 'answer', id: 'b', confidence: 1 }, true)).toBe('silent');
  });

  it('splits by entry in file order: the first half of each entry’s phrasings is dev, the rest held out; no gold alternates', () => {
    const q = (query: string, gold: string | null): QaQuery => ({ query, gold });
    const all = [q('a1', 'a'), q('b1', 'b'), q('a2', 'a'), q('a3', 'a'), q('b2', 'b'), q('n1', null), q('n2', null), q('n3', null)];
    expect(splitQueries(all, 'dev').map((x) => x.query)).toEqual(['a1', 'b1', 'a2', 'n1', 'n3']);
    expect(splitQueries(all, 'heldout').map((x) => x.query)).toEqual(['a3', 'b2', 'n2']);
    expect(splitQueries(all, 'all')).toBe(all);
  });

  it('shares add up to 1, and a query set may hold questions no entry answers', () => {
    const bank = [
      { id: 'refund', question: '报名后可以退款吗？', answer: '开课 7 天内全额退款。' },
      { id: 'price', question: '正式课多少钱？', answer: '1999 元。' },
    ];
    const queries = parseQueries('q.jsonl', ['{"query":"能退款吗","gold":"refund"}', '{"query":"你们公司在哪","gold":null}', '{"query":"好的","gold":null}'], new Set(['refund', 'price']));
    expect(queries[1]!.gold).toBeNull();
    const table = policyOf(runQueries(buildIndex(bank), queries));
    expect(Object.keys(table)).toEqual([...OUTCOMES]);
    expect(Object.values(table).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
    expect(table.silent).toBeCloseTo(1 / 3, 2); // 好的: small talk
    expect(table.escalated).toBeCloseTo(1 / 3, 2); // 你们公司在哪: nothing fits
    expect(() => parseQueries('q.jsonl', ['{"query":"x","gold":7}'])).toThrow(/q\.jsonl:1: "gold" must be a string/);
  });

  it('reads a course faq.yaml as a bank, with file and entry in errors', () => {
    const bank = parseFaqYaml('faq.yaml', 'entries:\n  - { id: a, q: 问题？, also: [别的问法], a: 答案 }\n');
    expect(bank).toEqual([{ id: 'a', question: '问题？', answer: '答案', alternates: ['别的问法'] }]);
    expect(() => parseFaqYaml('faq.yaml', 'entries:\n  - { id: a, q: 1 }\n')).toThrow(/faq\.yaml:0: entries\[0\]: needs string id, q and a/);
    expect(() => parseFaqYaml('faq.yaml', 'entries: [')).toThrow(/not valid YAML/);
  });

  it('plain BM25 uses words, Chinese characters and bigrams, and ranks by them', () => {
    expect(plainTerms('Python 安装')).toEqual(['python', '安', '安装', '装']);
    const plain = new PlainBm25([
      { id: 'a', question: 'Python 怎么安装', answer: '' },
      { id: 'b', question: '退款政策', answer: '' },
    ]);
    expect(plain.search('安装 python', 2)).toEqual(['a']);
  });

  it('`kequn eval-qa --json` keeps its fields and adds the policy table; the text shows the same table', async () => {
    const lines: string[] = [];
    const spy = process.stdout.write;
    process.stdout.write = ((s: string) => (lines.push(s.trimEnd()), true)) as typeof process.stdout.write;
    try {
      expect(await main(['eval-qa', '--bank', 'config/faq.yaml', '--queries', 'test/fixtures/qa/own/demo-new.jsonl', '--json'])).toBe(0);
      expect(await main(['eval-qa', '--bank', 'config/faq.yaml', '--queries', 'test/fixtures/qa/own/offtopic-zh.jsonl', '--split', 'heldout'])).toBe(0);
      expect(await main(['eval-qa', '--bank', 'config/faq.yaml', '--queries', 'test/fixtures/qa/own/demo-new.jsonl', '--split', 'half'])).toBe(2);
    } finally {
      process.stdout.write = spy;
    }
    const j = JSON.parse(lines[0]!) as Record<string, unknown> & { policy: Record<string, number> };
    for (const k of ['n', 'top1', 'mrr', 'recall5', 'p50_ms', 'p99_ms', 'plain_top1']) expect(typeof j[k]).toBe('number');
    expect(j.n).toBe(36);
    expect(Object.keys(j.policy)).toEqual([...OUTCOMES]);
    expect(Object.values(j.policy).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
    const text = lines.slice(1).join('\n');
    expect(text).toMatch(/12 entries, 20 queries \(heldout split\), 20 of them answered by no entry/);
    expect(text).toMatch(/answered, wrong\s+0\.0%/);
    expect(text).toMatch(/off-topic questions answered\s+0\.0%/);
    expect(text).toMatch(/usage: kequn eval-qa/);
  });
});

describe('Q&A policy at its edges (figures by hand)', () => {
  // Weights that leave only the margin: confidence = 1 / (1 + e^-margin), with coverage and
  // strength past their gates (coverage 0.3, strength > 0), so every figure is worked out here.
  const MARGIN_ONLY = [0, 0, 1, 0] as const;
  const byMargin = (hits: [string, number, number][], self: number): Found => ({
    hits: hits.map(([id, score, confidence]) => ({ id, score, confidence })),
    features: { coverage: 0.3, margin: 0, strength: 0.5 },
    self,
    weights: MARGIN_ONLY,
  });
  const logistic = (m: number) => 1 / (1 + Math.exp(-m));

  it('the defaults are the documented ones', () => {
    expect(DEFAULT_THRESHOLD).toBe(0.7);
    expect(DEFAULT_CLARIFY).toEqual({ enabled: true, min: 0.25, choices: 3, ratio: 0.6 });
  });

  it('asks the index for as many hits as a menu may hold, and at least 2', () => {
    expect(hitsNeeded({ threshold: 0.7, clarify: { ...DEFAULT_CLARIFY, choices: 3 } })).toBe(3);
    expect(hitsNeeded({ threshold: 0.7, clarify: { ...DEFAULT_CLARIFY, choices: 1 } })).toBe(2);
  });

  it("a menu's margin is the lead over the first entry left out, over the larger of the top score and the query's own", () => {
    // (10 - 4) / max(10, 20) = 0.3
    expect(menuConfidence(byMargin([['a', 10, 0], ['b', 8, 0], ['c', 4, 0]], 20), 2)).toBeCloseTo(logistic(0.3), 12);
    // no hits: nothing to offer
    expect(menuConfidence(byMargin([], 20), 2)).toBe(0);
    // a top score of 0 has no lead at all (and never divides 0 by 0)
    expect(menuConfidence(byMargin([['a', 0, 0], ['b', 0, 0]], 0), 1)).toBe(0.5);
  });

  it('a runner-up at exactly `ratio` of the best is a choice; a menu at exactly `min` is offered', () => {
    const s = { threshold: 0.7, clarify: { enabled: true, min: 0.25, choices: 3, ratio: 0.6 } };
    // 6 is exactly 0.6 × 10
    expect(decide(byMargin([['a', 10, 0.3], ['b', 6, 0.1], ['c', 1, 0]], 10), s)).toMatchObject({ kind: 'clarify', ids: ['a', 'b'] });
    // one choice, left out: b at 0; margin (10 - 0) / 10 = 1
    const atMin = { ...s, clarify: { ...s.clarify, min: logistic(1) } };
    expect(decide(byMargin([['a', 10, 0.3], ['b', 0, 0]], 10), atMin)).toEqual({ kind: 'clarify', ids: ['a'], confidence: logistic(1) });
  });

  it('a menu of one choice is allowed; `choices: 0` means no menu', () => {
    const s = (choices: number) => ({ threshold: 0.7, clarify: { enabled: true, min: 0.25, choices, ratio: 0.6 } });
    const f = byMargin([['a', 10, 0.3], ['b', 9, 0.1]], 10);
    // margin (10 - 9) / 10 = 0.1
    expect(decide(f, s(1))).toEqual({ kind: 'clarify', ids: ['a'], confidence: logistic(0.1) });
    expect(decide(f, s(0))).toEqual({ kind: 'none', confidence: 0.3 });
  });
});
