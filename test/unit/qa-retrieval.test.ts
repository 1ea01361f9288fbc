import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { QaDataError, parseBank, parseQueries } from '../../src/flows/qa/eval.js';
import { buildIndex, type QaIndex } from '../../src/flows/qa/retrieval.js';
import { syntheticBank, syntheticQueries } from '../../src/flows/qa/synthetic.js';
import { analyze, normalize, tokenize } from '../../src/flows/qa/tokenize.js';
import { main } from '../../src/cli/main.js';

const BANK = 'test/fixtures/qa/bank.jsonl';
const QUERIES = 'test/fixtures/qa/queries.jsonl';

describe('Q&A: text analysis', () => {
  it('cuts Chinese with jieba and keeps character bigrams, and keeps code tokens whole beside their parts', () => {
    const a = analyze('pandas.read_csv 读取中文乱码怎么办');
    expect(a.words).toEqual(expect.arrayContaining(['pandas.read_csv', 'panda', 'read', 'csv', '读取', '中文', '乱码']));
    expect(a.bigrams).toEqual(expect.arrayContaining(['读取', '乱码']));
    expect(tokenize('C++ and c# and node.js')).toEqual(expect.arrayContaining(['c++', 'c#', 'node.js']));
  });

  it('folds full-width characters and strips invisible ones, so look-alike text meets the same terms', () => {
    expect(normalize('ｐａｎｄａｓ\u200b？')).toBe('pandas?');
    expect(analyze('Ｐｙｔｈｏｎ 安\u200d装').words).toEqual(analyze('Python 安装').words);
  });

  it('maps synonyms to one concept, in both languages', () => {
    const install = analyze('install').concepts;
    expect(install.length).toBe(1);
    expect(analyze('安装').concepts).toEqual(install);
    expect(analyze('装').concepts).toEqual(install);
  });

  it('never throws, whatever it is given', () => {
    for (const junk of [undefined, null, 42, {}, '', '\u0000\u0001', '\ud800', 'x'.repeat(300_000), '🙂'.repeat(1000)]) {
      expect(() => analyze(junk)).not.toThrow();
    }
  });
});

describe('Q&A: the index', () => {
  const bank = () => parseBank(BANK, readFileSync(BANK, 'utf8').split('\n'));
  const index = buildIndex(bank());

  it('ranks the entry that answers a paraphrase first, across languages and phrasings', () => {
    for (const q of parseQueries(QUERIES, readFileSync(QUERIES, 'utf8').split('\n'))) {
      expect(index.search(q.query, 3)[0]?.id, q.query).toBe(q.gold);
    }
  });

  it('is confident on a clear match and not on small talk, off-topic chatter or a lone shared character', () => {
    const idx = index;
    expect(idx.search('退款政策是什么？', 1)[0]!.confidence).toBeGreaterThan(0.9);
    for (const chatter of ['你好', '好的', '今天天气怎么样', 'good morning', 'what is the meaning of life?', '+1']) {
      const top = idx.search(chatter, 1)[0];
      expect(top?.confidence ?? 0, chatter).toBeLessThan(0.5);
    }
  });

  it('learns a new phrasing of an entry', () => {
    const idx = buildIndex(bank()); // its own: this test changes it
    const before = idx.search('课程能不能不上了把钱拿回来', 1)[0];
    expect(idx.addPhrasing('refund', '课程能不能不上了把钱拿回来')).toBe(true);
    const after = idx.search('课程能不能不上了把钱拿回来', 1)[0]!;
    expect(after.id).toBe('refund');
    expect(after.confidence).toBeGreaterThan(before?.id === 'refund' ? before.confidence : 0);
    expect(idx.addPhrasing('no-such-entry', 'x')).toBe(false);
    expect(() => idx.add({ id: 'refund', question: 'dup', answer: 'dup' })).toThrow(/duplicate/);
  });

  it('answers nothing from an empty index and ignores the tail of an overlong query', () => {
    expect(buildIndex([]).search('anything', 5)).toEqual([]);
    expect(index.search('q '.repeat(100_000), 5).length).toBeLessThanOrEqual(5);
  });

  it('ranks equal scores by the order the entries were added, whichever way the postings are walked', () => {
    const same = { question: 'python 安装 失败', answer: 'pip install' };
    const idx = buildIndex([{ id: 'a', ...same }, { id: 'other', question: 'refund', answer: 'no' }, { id: 'b', ...same }, { id: 'c', ...same }]);
    for (const dense of [true, false]) {
      idx.denseWalk = dense;
      const hits = idx.search('python 安装失败', 5);
      expect(hits.map((h) => h.id)).toEqual(['a', 'b', 'c']);
      expect(new Set(hits.map((h) => h.score)).size).toBe(1);
    }
  });
});

describe('Q&A: the dense walk over postings', () => {
  // A generated bank large enough that common words and trigrams make most queries dense.
  const bank = syntheticBank(400, 3);
  const queries = syntheticQueries(bank, 150, 5);
  const both = (idx: QaIndex, q: string, k: number) => {
    idx.denseWalk = true;
    const dense = idx.searchDetailed(q, k);
    idx.denseWalk = false;
    const sparse = idx.searchDetailed(q, k);
    idx.denseWalk = true;
    return { dense, sparse };
  };

  it('gives the same hits, scores, confidences and features as listing the touched units, for k = 1, 5 and 20', () => {
    const idx = buildIndex(bank);
    for (const q of [...queries.map((x) => x.query), 'install', '的', 'zzz 不存在的词']) {
      for (const k of [1, 5, 20]) {
        const { dense, sparse } = both(idx, q, k);
        expect(dense, `${q} k=${k}`).toEqual(sparse);
      }
    }
  });

  it('still does once phrasings were learned (postings beside the compact block) and after compacting them', () => {
    const idx = buildIndex(bank);
    for (const [i, q] of queries.slice(0, 40).entries()) expect(idx.addPhrasing(q.gold, `${q.query} ${i}`)).toBe(true);
    for (const compacted of [false, true]) {
      if (compacted) idx.compact();
      for (const q of queries) {
        const { dense, sparse } = both(idx, q.query, 5);
        expect(dense, q.query).toEqual(sparse);
      }
    }
  });
});

describe('Q&A: evaluation files and `kequn eval-qa`', () => {
  it('rejects a malformed bank or query file with the file and the line, and an unknown gold id', () => {
    expect(() => parseBank('b.jsonl', ['{"id":"a","question":"q","answer":"x"}', 'not json'])).toThrow(/b\.jsonl:2: not valid JSON/);
    expect(() => parseBank('b.jsonl', ['{"id":"a","question":"","answer":"x"}'])).toThrow(QaDataError);
    expect(() => parseBank('b.jsonl', ['{"id":"a","question":"q","answer":"x"}', '{"id":"a","question":"q","answer":"x"}'])).toThrow(/b\.jsonl:2/);
    expect(() => parseQueries('q.jsonl', ['{"query":"x","gold":"zz"}'], new Set(['a']))).toThrow(/q\.jsonl:1.*zz/);
  });

  it('prints top-1, MRR, recall@5, latency and precision at the threshold; exit 2 on bad data', async () => {
    const lines: string[] = [];
    const write = (l: string) => void lines.push(l);
    const spy = process.stdout.write;
    process.stdout.write = ((s: string) => (write(s.trimEnd()), true)) as typeof process.stdout.write;
    try {
      expect(await main(['eval-qa', BANK, QUERIES, '--json'])).toBe(0);
      expect(await main(['eval-qa', QUERIES, QUERIES])).toBe(2);
      expect(await main(['eval-qa', BANK])).toBe(2);
    } finally {
      process.stdout.write = spy;
    }
    const metrics = JSON.parse(lines[0]!) as { n: number; top1: number; mrr: number; recall5: number; at_threshold: { precision: number } };
    expect(metrics).toMatchObject({ n: 5, top1: 1, mrr: 1, recall5: 1 });
    expect(metrics.at_threshold.precision).toBe(1);
    expect(lines[1]).toMatch(/queries\.jsonl:1/);
    expect(lines[2]).toMatch(/usage: kequn eval-qa/);
  });
});
