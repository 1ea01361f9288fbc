import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { parseScenario } from '../../src/testing/scenario-schema.js';
import { runScenario } from '../../src/testing/runner.js';

// `kequn digest` on a store seeded by playing the digest's conversation test: the text staff got
// privately at 08:30, figures counted by hand in test/scenarios/digest.yaml.
let dir: string;
let dbPath: string;

function kequn(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('node', ['bin/kequn.mjs', ...args, '--config', 'test/fixtures/course'], { env: { ...process.env, KEQUN_DATA: dbPath } }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout) });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kequn-digest-'));
  dbPath = join(dir, 'kequn.db');
  const { scenario } = parseScenario('test/scenarios/digest.yaml');
  const outcome = await runScenario(scenario!, loadConfig('test/fixtures/course'), { dbPath });
  expect(outcome.ok, outcome.failure).toBe(true);
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('kequn digest', () => {
  it('--date prints the digest staff got for that day', async () => {
    const r = await kequn(['digest', '--date', '2026-03-16']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        '📋 Python 数据分析训练营 日报 · 3月16日（周一）',
        '👋 新成员 2 人：Python 入门体验群 2｜来源：直接 1、推荐 1',
        '💰 转为付费 2 人｜收入 ¥378（2 单）｜退款 1 笔 ¥179',
        '❓ 提问 2 个，机器人答 1 个｜待回答 1 个：Q2',
        '✅ 打卡：Python 入门体验群 0/3（0%）；Python 数据分析正式班 1/2（50%）',
        '📝 第1周作业：当天交 1 份，共交 1/2，未交 1 人',
        '⚠️ 快流失 0 人（付费学员 5 天没动静）',
        '',
      ].join('\n'),
    );
  });

  it('a day that is not YYYY-MM-DD is refused with the usage, exit 2', async () => {
    const r = await kequn(['digest', '--date', '3月16日']);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('usage: kequn digest [--date YYYY-MM-DD]');
  });
});
