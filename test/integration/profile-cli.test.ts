import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, loadConfig } from '../../src/app.js';
import { main } from '../../src/cli/main.js';
import { runProfile } from '../../src/cli/profile.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { silentLogger } from '../../src/log.js';
import { joined, message } from '../helpers/fixtures.js';

// `kequn member show`, `kequn recommend` and `kequn recommend --stats` on a store file written
// through the engine (the course-path fixture).
const COURSE = 'test/fixtures/recommend-course';
const at = (local: string) => Date.parse(`${local}+08:00`);
let dir: string;
const saved = process.env.KEQUN_DATA;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kequn-profile-cli-'));
  process.env.KEQUN_DATA = join(dir, 'kequn.db');
  const clock = new VirtualClock(at('2026-03-16T09:00:00'));
  const app = await createApp({ config: loadConfig(COURSE, { env: { KEQUN_DATA: process.env.KEQUN_DATA } }), clock, log: silentLogger, live: false, dbPath: process.env.KEQUN_DATA });
  await app.kernel.handle(joined('alice', { at: clock.now(), name: '爱丽丝' }));
  await app.kernel.handle({ ...message('alice', '打卡 第一天', { at: clock.now() }), user: { id: 'alice', name: '爱丽丝' } });
  await app.stop();
});

afterAll(() => {
  if (saved === undefined) delete process.env.KEQUN_DATA;
  else process.env.KEQUN_DATA = saved;
  rmSync(dir, { recursive: true, force: true });
});

function run(what: 'show' | 'recommend' | 'stats', query?: string): { code: number; out: string } {
  const lines: string[] = [];
  const code = runProfile({ configDir: COURSE, what, query, now: at('2026-03-16T20:00:00'), write: (l) => lines.push(l) });
  return { code, out: lines.join('\n') };
}

describe('kequn member show / recommend', () => {
  it('member show prints the profile in Chinese with local times, found by display name', () => {
    const r = run('show', '爱丽丝');
    expect(r.code).toBe(0);
    expect(r.out).toContain('【基本信息】');
    expect(r.out).toContain('成员：爱丽丝（m_');
    expect(r.out).toContain('首次进群：2026-03-16 09:00');
    expect(r.out).toContain('打卡：1 天 / 应打卡 1 天（打卡率 100%），请假 0 天，当前连续 1 天');
    expect(r.out).toContain('购买：无');
  });

  it('recommend prints the ranking with reasons: a newcomer with no orders gets the path in catalog order', () => {
    const r = run('recommend', 'alice');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toEqual([
      expect.stringMatching(/^给 爱丽丝（m_[0-9a-f]+）的课程推荐：$/),
      '  1. 《Python 数据分析正式班（第 3 期）》（python-vip）得分 0.00 — 这门课适合作为起点',
      '  2. 《求职面试冲刺营》（interview）得分 0.00 — 这门课适合作为起点',
      '  3. 《数据分析进阶班》（data-pro）得分 0.00，先修课未完成 — 要先学完《Python 数据分析正式班（第 3 期）》',
      '  4. 《机器学习实战营》（ml-camp）得分 0.00，先修课未完成 — 要先学完《数据分析进阶班》',
    ]);
  });

  it('an unknown member exits 1; --stats prints the loyalty figures; bad usage exits 2', async () => {
    expect(run('show', 'nobody').code).toBe(1);
    expect(run('stats').out).toContain('购买过的学员 0 人');
    const lines: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((s: string) => (lines.push(s), true)) as typeof process.stdout.write;
    try {
      expect(await main(['member', 'show'])).toBe(2);
      expect(await main(['recommend'])).toBe(2);
    } finally {
      process.stdout.write = write;
    }
    expect(lines.join('')).toContain('usage: kequn recommend');
  });
});
