/**
 * The Q&A store queries this issue added, on the backend the tests run on (SQLite here; with
 * KEQUN_TEST_STORE=postgres on PostgreSQL, as `npm run test:postgres` does).
 */
import { describe, expect, it } from 'vitest';
import { openTestStore as testStore } from '../helpers/store.js';
import { countLearnedBy, countMenus, getLearned, getVectors, listLearned, openMenu, openMenuOf, pickMenu, putVectors, recordLearned, removeLearned } from '../../src/flows/qa/store.js';

describe('Q&A store: menus, learned rows, vectors', () => {
  it('keeps one open menu per member, closes it at its time or with a pick, and counts menus per member and group', () => {
    const db = testStore();
    const base = { memberId: 'm1', platform: 'wechat', groupId: 'python-101', chatId: 'room', now: 1000, closesAt: 1000 + 300_000 };
    const first = openMenu(db, { ...base, questionId: 1, choices: ['a', 'b'] });
    const second = openMenu(db, { ...base, questionId: 2, choices: ['c'], now: 2000, closesAt: 2000 + 300_000 });
    expect(openMenuOf(db, 'm1', 'wechat', 3000)!.id).toBe(second);
    expect(openMenuOf(db, 'm1', 'telegram', 3000)).toBeUndefined();
    expect(openMenuOf(db, 'm1', 'wechat', 2000 + 300_000)).toBeUndefined();
    expect(pickMenu(db, first, 'a')).toBe(false); // replaced
    expect(pickMenu(db, second, 'c')).toBe(true);
    expect(pickMenu(db, second, 'c')).toBe(false);
    expect(countMenus(db, { memberId: 'm1', since: 0 })).toBe(2);
    expect(countMenus(db, { groupId: 'python-101', since: 1500 })).toBe(1);
  });

  it('lists learned rows newest first with who taught them, removes once, counts a member’s picks', () => {
    const db = testStore();
    db.prepare("INSERT INTO members (id, display_name, stage, stage_since, created_at, last_seen_at) VALUES ('m1', 'Alice', 'prospect', 0, 0, 0)").run();
    const a = recordLearned(db, { entryId: 'price', question: '多少钱', answer: null, questionId: 1, now: 10, via: 'choice', taughtBy: 'm1' });
    const b = recordLearned(db, { entryId: 'learned-q2', question: '发票', answer: '能开', questionId: 2, now: 20 });
    expect(listLearned(db, { limit: 10 }).map((r) => [r.id, r.via, r.taught_by_name])).toEqual([
      [b, 'staff', null],
      [a, 'choice', 'Alice'],
    ]);
    expect(countLearnedBy(db, 'm1', 0)).toBe(1);
    expect(removeLearned(db, { id: a, by: 'm9', now: 30 })).toBe(true);
    expect(removeLearned(db, { id: a, by: 'm9', now: 31 })).toBe(false);
    expect(getLearned(db, a)).toMatchObject({ removed_at: 30, removed_by: 'm9' });
    expect(listLearned(db, { limit: 10 }).map((r) => r.id)).toEqual([b]);
    expect(listLearned(db, { limit: 10, includeRemoved: true })).toHaveLength(2);
  });

  it('caches vectors by model and text hash, exactly as float32, the first one kept', () => {
    const db = testStore();
    putVectors(db, 'bge-m3', [{ hash: 'h1', vector: [0.5, -1, 2] }, { hash: 'h2', vector: [1, 1, 1] }], 1);
    putVectors(db, 'bge-m3', [{ hash: 'h1', vector: [9, 9, 9] }], 2);
    const got = getVectors(db, 'bge-m3', ['h1', 'h2', 'h3']);
    expect([...got.keys()].sort()).toEqual(['h1', 'h2']);
    expect(got.get('h1')).toEqual([0.5, -1, 2]);
    expect(getVectors(db, 'other', ['h1']).size).toBe(0);
    const many = Array.from({ length: 450 }, (_, i) => ({ hash: `x${i}`, vector: [i] }));
    putVectors(db, 'm', many, 3);
    expect(getVectors(db, 'm', many.map((r) => r.hash)).size).toBe(450);
  });
});
