import { describe, expect, it } from 'vitest';
import { buildCoPurchase, popular, rank, withoutBasket, type CatalogItem } from '../../src/flows/recommend/rank.js';

// A four-product course and five members' baskets; every score below is worked out by hand from
// the weights in rank.ts (co 0.45, content 0.35, popularity 0.2; unmet prerequisites × 0.2; a met
// prerequisite + 0.1).
const CATALOG: CatalogItem[] = [
  { id: 'a', title: 'Python 入门', tags: ['python'], topics: ['pandas'], requires: [] },
  { id: 'b', title: '数据分析', tags: ['python'], topics: ['pandas', 'excel'], requires: ['a'] },
  { id: 'c', title: '机器学习', tags: ['ml'], topics: ['sklearn'], requires: ['b'] },
  { id: 'd', title: '面试冲刺', tags: ['求职'], topics: ['简历'], requires: [] },
];
const BASKETS = [['a', 'b'], ['a', 'b'], ['a', 'd'], ['a'], ['d']];

describe('co-purchase fold', () => {
  it('counts buyers and pairs; leaving a basket out takes exactly its counts away', () => {
    const co = buildCoPurchase(BASKETS);
    expect(Object.fromEntries(co.buyers)).toEqual({ a: 4, b: 2, d: 2 });
    expect(Object.fromEntries(co.pairs.get('a')!)).toEqual({ b: 2, d: 1 });
    expect(co.members).toBe(5);
    const without = withoutBasket(co, ['a', 'b']);
    expect(Object.fromEntries(without.buyers)).toEqual({ a: 3, b: 1, d: 2 });
    expect(without.pairs.get('a')!.get('b')).toBe(1);
    expect(without.members).toBe(4);
    expect(Object.fromEntries(buildCoPurchase([['a', 'a'], []]).buyers)).toEqual({ a: 1 });
  });
});

describe('rank', () => {
  const co = buildCoPurchase(BASKETS);

  it('a member who finished 入门 and asks about pandas: 数据分析 first, with the reason', () => {
    const r = rank(CATALOG, { bought: ['a'], finished: ['a'], topics: [{ entry: 'pandas-read-excel', count: 2 }], tags: [] }, co);
    expect(r.map((x) => x.productId)).toEqual(['b', 'd', 'c']);
    // b: content 6/6 (python 2 + pandas 2 + the pandas question 2, of 6), co 2/4, popularity 2/5, requires met.
    expect(r[0]!.score).toBeCloseTo(0.45 * 0.5 + 0.35 * 1 + 0.2 * 0.4 + 0.1, 10);
    expect(r[0]!.reason).toBe('因为你完成了《Python 入门》并经常问 pandas 的问题');
    // d: no content, co 1/4, popularity 2/5.
    expect(r[1]!.score).toBeCloseTo(0.45 * 0.25 + 0.2 * 0.4, 10);
    expect(r[1]!.reason).toBe('因为你完成了《Python 入门》，学过它的同学有 25% 接着报了这门课');
    // c: nothing, and its prerequisite (数据分析) is not bought.
    expect(r[2]!.score).toBe(0);
    expect(r[2]!.parts.requiresMet).toBe(false);
    expect(r[2]!.reason).toBe('要先学完《数据分析》');
  });

  it('a newcomer gets popularity, prerequisites pushed down', () => {
    const r = rank(CATALOG, { bought: [], finished: [], topics: [], tags: [] }, co);
    expect(r.map((x) => [x.productId, Number(x.score.toFixed(3))])).toEqual([
      ['a', 0.16], // 4/5 × 0.2
      ['d', 0.08], // 2/5 × 0.2
      ['b', 0.016], // 2/5 × 0.2 × 0.2 (requires a)
      ['c', 0],
    ]);
    expect(r[0]!.reason).toBe('这是同学们报得最多的课之一（80% 的学员报了）');
  });

  it('a newcomer who asks about 简历 gets the interview camp first, because of the question', () => {
    const r = rank(CATALOG, { bought: [], finished: [], topics: [{ entry: '简历', count: 1 }], tags: [] }, co);
    expect(r[0]!.productId).toBe('d');
    expect(r[0]!.reason).toBe('因为你问过 简历 的问题');
  });

  it('bought but not finished says 学了; a tag alone is a reason too', () => {
    expect(rank(CATALOG, { bought: ['a'], finished: [], topics: [], tags: [] }, co)[0]!.reason).toBe('因为你学了《Python 入门》，学过它的同学有 50% 接着报了这门课');
    expect(rank(CATALOG, { bought: [], finished: [], topics: [], tags: ['求职'] }, co)[0]).toMatchObject({ productId: 'd', reason: '因为你对 求职 感兴趣' });
  });

  it('never ranks what the member bought; the baseline is raw popularity', () => {
    expect(rank(CATALOG, { bought: ['a', 'b', 'c', 'd'], finished: [], topics: [], tags: [] }, co)).toEqual([]);
    expect(popular(CATALOG, ['a'], co)).toEqual(['b', 'd', 'c']);
  });
});
