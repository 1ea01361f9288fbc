import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { parseScenario } from '../../src/testing/scenario-schema.js';
import { runScenario } from '../../src/testing/runner.js';
import { removeTempDirs, tempConfig } from '../helpers/fixtures.js';

// `kequn stats` on a store seeded by playing a conversation test: the figures a seller would count
// by hand from that conversation (not the figures of the functions that compute them).
let dir: string;
let dbPath: string;

function kequn(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('node', ['bin/kequn.mjs', ...args], { env: { ...process.env, KEQUN_DATA: dbPath, ...env } }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout) });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kequn-stats-'));
  dbPath = join(dir, 'kequn.db');
  const { scenario } = parseScenario('test/scenarios/referral-purchase.yaml');
  const outcome = await runScenario(scenario!, loadConfig('test/fixtures/course'), { dbPath });
  expect(outcome.ok, outcome.failure).toBe(true);
}, 20_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  removeTempDirs();
});

describe('kequn stats', () => {
  // The scenario, counted by hand: Alice and Bob join python-101 (prospect → trial). Alice pays
  // 199 元 (→ paid) and gets the code AMY888; Bob says it, pays 179 元 (199 − 20 referral
  // discount, → paid), which rewards Alice (→ loyal, referral.referrer_stage); Bob is refunded
  // all 179 元 (→ nurture, lifecycle.on_refunded), which reverses Alice's reward.
  it('prints the figures counted by hand from the scenario, as JSON and as tables; costs feed ROI', async () => {
    expect((await kequn(['stats', 'cost', 'referral', '100'])).stdout).toContain('cost of referral: 100.00 元');
    const r = await kequn(['stats', '--json', '--group', 'python-101']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.funnel.cohort).toBe(2);
    // [stage, reached (entered it or a later stage), entered, in it now]
    expect(d.funnel.stages.map((s: { stage: string; reached: number; entered: number; now: number }) => [s.stage, s.reached, s.entered, s.now])).toEqual([
      ['prospect', 2, 2, 0],
      ['trial', 2, 2, 0],
      ['nurture', 2, 1, 1], // Bob entered it; Alice passed it by (paid is later)
      ['paid', 2, 2, 0],
      ['mature', 1, 0, 0], // Alice passed it by (loyal is later)
      ['loyal', 1, 1, 1],
      ['churned', 0, 0, 0],
    ]);
    // 199 + 179 = 378 gross, 179 refunded, 378 − 179 = 199 net, 378 / 2 = 189 per order.
    expect(d.revenue.cny).toEqual({ orders: 2, gross: 378, refunded: 179, refunds: 1, net: 199, averageOrder: 189 });
    expect(d.revenue.trialToPaid).toMatchObject({ trial: 2, paid: 2, rate: 1 });
    expect(d.revenue.discounts).toEqual([{ kind: 'referral', orders: 1, yuan: 20 }]);
    expect(d.retention.map((w: { week: string; members: number; active: number[] }) => [w.week, w.members, w.active[0]])).toEqual([['2026-03-02', 2, 2]]);
    // Alice referred Bob; his refund took the paid referral and the 30 元 reward back.
    expect(d.referrals.leaderboard.map((l: { name: string; referred: number; paid: number; rewards: number }) => [l.name, l.referred, l.paid, l.rewards])).toEqual([['Alice', 1, 0, 0]]);
    // Referral revenue: Bob's 179 refunded = 0, against a cost of 100 → ROI (0 − 100) / 100 = −100 %.
    // Alice's order came direct (199), Bob's by referral (0): 199 + 0 = the net 199.
    expect(d.referrals.sources).toEqual([
      { source: 'direct', orders: 1, revenue: 199, cost: null, roi: null },
      { source: 'referral', orders: 1, revenue: 0, cost: 100, roi: -1 },
    ]);
    // The same two orders by the buyers' first group: both joined python-101.
    expect(d.referrals.groups).toEqual([{ source: 'group:python-101', orders: 2, revenue: 199, cost: null, roi: null }]);
    expect(d.qa).toMatchObject({ asked: 0, escalated: 0 });
    // The whole course: the same money (the teacher, who only wrote to the bot, paid nothing).
    const all = JSON.parse((await kequn(['stats', '--json'])).stdout);
    expect(all.revenue.cny).toEqual({ orders: 2, gross: 378, refunded: 179, refunds: 1, net: 199, averageOrder: 189 });
    // Chinese by default (course.locale), English when the course says so.
    expect((await kequn(['stats', '--group', 'python-101'])).stdout).toMatch(/== 生命周期漏斗\n阶段 +时期 +到达/);
    const text = (await kequn(['stats', '--group', 'python-101'], { KEQUN_CONFIG: tempConfig({ 'kequn.yaml': (y) => y.replace('  timezone: Asia/Shanghai\n', '  timezone: Asia/Shanghai\n  locale: en\n') }) })).stdout;
    expect(text).toMatch(/== Funnel by lifecycle stage\nstage +phase +reached/);
    expect(text).toMatch(/^nurture +培养期 +2 +1 +1 +100 /m);
    expect(text).toMatch(/^revenue \(paid − refunded\) +199$/m);
    expect(text).toMatch(/^average order value +189$/m);
  }, 20_000);

  it('rejects a bad filter without touching the store', async () => {
    expect(await kequn(['stats', '--from', '2026-13-01'])).toMatchObject({ code: 2, stdout: expect.stringContaining('--from 必须是日期（YYYY-MM-DD）或 ISO 时间，收到 "2026-13-01"') });
    expect(await kequn(['stats', '--group', 'nope'])).toMatchObject({ code: 2, stdout: expect.stringContaining('没有这个群 "nope"') });
    expect(await kequn(['stats', 'cost', 'tv-ads', '5'])).toMatchObject({ code: 2 });
  }, 20_000);
});
