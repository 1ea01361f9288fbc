import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openStore } from '../../src/store/db.js';
import { recordLearned, removeLearned } from '../../src/flows/qa/store.js';
import { parseBank } from '../../src/flows/qa/eval.js';
import { main } from '../../src/cli/main.js';
import { removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

async function run(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const spy = process.stdout.write;
  process.stdout.write = ((s: string) => (lines.push(...s.trimEnd().split('\n')), true)) as typeof process.stdout.write;
  try {
    return { code: await main(args), lines };
  } finally {
    process.stdout.write = spy;
  }
}

describe('`kequn faq list|export`', () => {
  it('lists what was learned, who taught it and when (local time), removed rows marked; exports a bank eval-qa reads', async () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, 'data: ../data/kequn.db', 'data: ./kequn.db') });
    const db = openStore(join(dir, 'kequn.db'));
    const t = Date.parse('2026-03-02T10:05:00+08:00');
    db.prepare("INSERT INTO members (id, display_name, stage, stage_since, created_at, last_seen_at) VALUES ('m1', 'Alice', 'prospect', 0, 0, 0), ('m2', '王老师', 'prospect', 0, 0, 0)").run();
    recordLearned(db, { entryId: 'beginner', question: '新手怎么装环境？', answer: null, questionId: 1, now: t, via: 'choice', taughtBy: 'm1' });
    recordLearned(db, { entryId: 'learned-q2', question: 'Jupyter 快捷键在哪里改？', answer: '按 H 查看。', questionId: 2, now: t + 60_000, via: 'staff', taughtBy: 'm2' });
    const bad = recordLearned(db, { entryId: 'price', question: '退款找谁', answer: null, questionId: 3, now: t + 120_000, via: 'choice', taughtBy: 'm1' });
    removeLearned(db, { id: bad, by: 'm2', now: t + 180_000 });
    db.close();

    const list = await run(['faq', 'list', '--config', dir]);
    expect(list.code).toBe(0);
    expect(list.lines).toEqual([
      'L3 「退款找谁」→ 条目 price 的问法（学员 Alice 从选项里选的，03-02 10:07，已于 03-02 10:08 删除）',
      'L2 「Jupyter 快捷键在哪里改？」→ 新条目 learned-q2（王老师 回答，03-02 10:06）',
      'L1 「新手怎么装环境？」→ 条目 beginner 的问法（学员 Alice 从选项里选的，03-02 10:05）',
    ]);

    const exp = await run(['faq', 'export', '--config', dir]);
    expect(exp.code).toBe(0);
    const bank = parseBank('export', exp.lines);
    expect(bank.map((e) => e.id)).toEqual(['install-python', 'editor', 'pip-slow', 'trial-lessons', 'price', 'schedule', 'pandas-read-excel', 'chinese-garbled', 'module-not-found', 'homework', 'refund', 'beginner', 'learned-q2']);
    expect(bank.find((e) => e.id === 'beginner')!.alternates).toContain('新手怎么装环境？');
    expect(bank.find((e) => e.id === 'price')!.alternates).not.toContain('退款找谁');
    expect(JSON.parse(exp.lines.find((l) => l.includes('"beginner"'))!)).toMatchObject({ learned: [{ code: 'L1', via: 'choice', taught_by: 'Alice', at: '03-02 10:05' }] });
    expect((await run(['faq', 'purge', '--config', dir])).code).toBe(2);
  });
});
