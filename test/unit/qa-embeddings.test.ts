import { describe, expect, it } from 'vitest';
import { buildVectorIndex, checkVectors, rrf, textHash, VectorIndex } from '../../src/flows/qa/embeddings.js';
import { parseCompletion } from '../../src/flows/qa/llm.js';

describe('Q&A embeddings: fusion, the vector index, untrusted replies', () => {
  it('fuses rankings by reciprocal rank', () => {
    expect(rrf([['a', 'b', 'c'], ['b', 'c', 'a']])).toEqual(['b', 'a', 'c']);
    expect(rrf([['a'], []])).toEqual(['a']);
    expect(rrf([])).toEqual([]);
  });

  it("ranks entries by their best phrasing's cosine, and answers nothing for a vector of another size", () => {
    const idx = new VectorIndex();
    idx.add('a', [1, 0, 0]);
    idx.add('a', [0, 0, 1]);
    idx.add('b', [0.7, 0.7, 0]);
    expect(idx.search([0, 0, 2], 2).map((h) => h.id)).toEqual(['a', 'b']);
    expect(idx.search([0, 1, 0], 1)[0]!.id).toBe('b');
    expect(idx.search([1, 0], 2)).toEqual([]);
    expect(() => idx.add('c', [1, 2])).toThrow(/vector of 2 numbers in an index of 3/);
  });

  it('refuses replies with the wrong count, mixed or unexpected sizes, or non-numbers', () => {
    expect(checkVectors([[1, 2], [3, 4]], 2, undefined)).toBeUndefined();
    expect(checkVectors([[1, 2]], 2, undefined)).toMatch(/1 vectors for 2 texts/);
    expect(checkVectors([[1, 2], [3]], 2, undefined)).toMatch(/wrong vector size/);
    expect(checkVectors([[1, 2]], 1, 3)).toMatch(/wrong vector size/);
    expect(checkVectors([[1, Number.NaN]], 1, undefined)).toMatch(/finite number/);
    expect(checkVectors([['1', 2]], 1, undefined)).toMatch(/finite number/);
    expect(checkVectors('x', 1, undefined)).toBe('no vectors');
  });

  it('embeds only what the cache lacks, in batches, keeps nothing from a refused batch', async () => {
    const cache = new Map<string, number[]>();
    const store = { get: (h: string[]) => new Map(h.filter((x) => cache.has(x)).map((x) => [x, cache.get(x)!])), put: (rows: { hash: string; vector: number[] }[]) => rows.forEach((r) => cache.set(r.hash, r.vector)) };
    const asked: string[][] = [];
    const embed = async (texts: string[]) => (asked.push(texts), { vectors: texts.map((t) => [t.length, 1]) });
    const phrasings = [
      { entryId: 'a', text: '退款' },
      { entryId: 'a', text: '能退钱吗' },
      { entryId: 'b', text: '多少钱' },
      { entryId: 'b', text: '退款' },
    ];
    const first = await buildVectorIndex(phrasings, store, embed);
    expect(first).toMatchObject({ embedded: 3 });
    expect(asked).toEqual([['退款', '能退钱吗', '多少钱']]);
    expect(cache.has(textHash('退款'))).toBe(true);
    const again = await buildVectorIndex([...phrasings, { entryId: 'c', text: '发票' }], store, embed);
    expect(again).toMatchObject({ embedded: 1 });
    expect(asked.at(-1)).toEqual(['发票']);
    const bad = await buildVectorIndex([{ entryId: 'a', text: '退款' }, { entryId: 'd', text: '证书' }], store, async () => ({ vectors: [[1, 2, 3]] }));
    expect(bad).toEqual({ error: 'vectors of 3 and 2 numbers (wrong vector size)' });
    expect(cache.has(textHash('证书'))).toBe(false);
    expect(await buildVectorIndex([{ entryId: 'd', text: '证书' }], store, async () => ({ error: 'network: down' }))).toEqual({ error: 'network: down' });
  });

  it('reads a request to clarify from the model, keeping only ids of the passages given', () => {
    const ids = new Set(['refund', 'price']);
    expect(parseCompletion('{"clarify": ["price", "refund", "price", "x"]}', ids, 100)).toEqual({ kind: 'clarify', ids: ['price', 'refund'] });
    expect(parseCompletion('{"clarify": ["x"]}', ids, 100)).toMatchObject({ kind: 'bad' });
    expect(parseCompletion('{"answer": "1999 元", "source": "price", "clarify": ["refund"]}', ids, 100)).toMatchObject({ kind: 'answer', source: 'price' });
    expect(parseCompletion('{}', ids, 100)).toMatchObject({ kind: 'bad' });
  });
});
