import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { recordClockOffset } from '../../src/core/schedule/store-clock.js';
import { claimOccurrence, pauseEntry } from '../../src/flows/timeline/store.js';
import { openStore } from '../../src/store/db.js';
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

const COHORTS = `
cohorts:
  - { id: c3, name: 第3期, start: "2026-03-16", weeks: 2, groups: [python-101, python-vip] }
  - { id: c4, name: 第4期, start: "2026-03-30", weeks: 1, groups: [] }
`;
const TIMELINE = `timeline:
  - { id: preview, when: "-1d 20:00", to: trial, text: "明天{cohort}开营，记得看群公告" }
  - { id: live, when: "every tue,thu 19:30 until end", to: paid, text: "今晚 19:30 直播：{timeline.live.time}，{cohort}的同学准时来" }
`;

describe('`kequn timeline`', () => {
  it('prints each cohort\'s messages dated in local time, with what was sent, skipped and paused', async () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, 'data: ../data/kequn.db', 'data: ./kequn.db') + COHORTS, 'timeline.yaml': TIMELINE });
    const db = openStore(join(dir, 'kequn.db'));
    // The store's "now" is Wednesday 2026-03-18 12:00 in Shanghai (the bot's clock, as the playground keeps it).
    recordClockOffset(db, Date.parse('2026-03-18T12:00:00+08:00') - Date.now());
    const mark = (cohort: string, entry: string, occurrence: string, m: 'sent' | 'skip') => claimOccurrence(db, { cohort, entry, occurrence, mark: m, by: null, now: 0 });
    mark('c3', 'preview', 'once', 'sent');
    mark('c3', 'live', '2026-03-17', 'sent');
    mark('c3', 'live', '2026-03-19', 'skip');
    pauseEntry(db, { entry: 'live', cohort: 'c4', by: null, now: 0 });
    db.close();

    const c3 = await run(['timeline', '--cohort', 'c3', '--config', dir]);
    expect(c3.code).toBe(0);
    expect(c3.lines).toEqual([
      '第3期（c3）：3月16日（周一）00:00 开营，3月30日（周一）00:00 结营',
      '  3月15日（周日）20:00  preview → 体验群「Python 入门体验群」  已发送  「明天第3期开营，记得看群公告」',
      '  3月17日（周二）19:30  live → 正式班「Python 数据分析正式班」  已发送  「今晚 19:30 直播：每周二、周四 19:30，第3期的同…」',
      '  3月19日（周四）19:30  live → 正式班「Python 数据分析正式班」  将跳过  「今晚 19:30 直播：每周二、周四 19:30，第3期的同…」',
      '  3月24日（周二）19:30  live → 正式班「Python 数据分析正式班」  待发送  「今晚 19:30 直播：每周二、周四 19:30，第3期的同…」',
      '  3月26日（周四）19:30  live → 正式班「Python 数据分析正式班」  待发送  「今晚 19:30 直播：每周二、周四 19:30，第3期的同…」',
    ]);

    const all = await run(['timeline', '--config', dir]);
    expect(all.code).toBe(0);
    // c4 has no groups of either kind yet: nothing goes out (its live entry is also paused).
    expect(all.lines.slice(6)).toEqual([
      '第4期（c4）：3月30日（周一）00:00 开营，4月6日（周一）00:00 结营',
      '  3月29日（周日）20:00  preview → 体验群（这一期没有这类群）  不发送  「明天第4期开营，记得看群公告」',
      '  3月31日（周二）19:30  live → 正式班（这一期没有这类群）  不发送  「今晚 19:30 直播：每周二、周四 19:30，第4期的同…」',
      '  4月2日（周四）19:30  live → 正式班（这一期没有这类群）  不发送  「今晚 19:30 直播：每周二、周四 19:30，第4期的同…」',
    ]);

    expect((await run(['timeline', '--cohort', 'c9', '--config', dir])).lines).toEqual(['没有期次 "c9"（kequn.yaml 的 cohorts: c3、c4）']);
    expect((await run(['timeline', 'extra', '--config', dir])).code).toBe(2);
  });

  it('before the first start (no store yet) shows the plan as not yet run', async () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, 'data: ../data/kequn.db', 'data: ./none/kequn.db') + COHORTS, 'timeline.yaml': TIMELINE });
    const r = await run(['timeline', '--cohort', 'c3', '--config', dir]);
    expect(r.code).toBe(0);
    expect(r.lines[0]).toMatch(/^（还没有数据：.*kequn\.db 不存在，下面按尚未运行显示）$/);
    // Today (December 2026) is after the cohort: nothing went out, so each is marked as missed.
    expect(r.lines[2]).toMatch(/preview .* 未发送/);
  });
});
