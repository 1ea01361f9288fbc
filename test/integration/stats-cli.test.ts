import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { openStore } from '../../src/store/db.js';
import { funnel, revenue } from '../../src/flows/dashboard/metrics.js';
import { parseScenario } from '../../src/testing/scenario-schema.js';
import { runScenario } from '../../src/testing/runner.js';

// `kequn stats` on a store seeded by playing a conversation test: the same figures as the metrics.
let dir: string;
let dbPath: string;

function kequn(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('node', ['bin/kequn.mjs', ...args], { env: { ...process.env, KEQUN_DATA: dbPath } }, (err, stdout) => {
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

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kequn stats', () => {
  it('prints the figures as JSON and as tables; costs feed ROI', async () => {
    expect((await kequn(['stats', 'cost', 'referral', '100'])).stdout).toContain('cost of referral: 100.00 元');
    const r = await kequn(['stats', '--json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    const db = openStore(dbPath);
    const ctx = { db, config: loadConfig('test/fixtures/course'), now: Date.now() };
    expect(d.funnel.stages.map((s: { reached: number }) => s.reached)).toEqual(funnel(ctx).stages.map((s) => s.reached));
    expect(d.revenue.cny).toEqual(revenue(ctx).cny);
    db.close();
    // Alice paid 199, Bob 179 and got it all back: referral revenue 0 against a cost of 100 → ROI -100 %
    expect(d.referrals.sources.find((s: { source: string }) => s.source === 'referral')).toMatchObject({ revenue: 0, cost: 100, roi: -1 });
    const text = await kequn(['stats', '--group', 'python-101']);
    expect(text.stdout).toMatch(/== Funnel by lifecycle stage\nstage +phase +reached/);
  }, 20_000);

  it('rejects a bad filter without touching the store', async () => {
    expect(await kequn(['stats', '--from', '2026-13-01'])).toMatchObject({ code: 2, stdout: expect.stringContaining('--from must be a date') });
    expect(await kequn(['stats', '--group', 'nope'])).toMatchObject({ code: 2, stdout: expect.stringContaining('unknown group "nope"') });
    expect(await kequn(['stats', 'cost', 'tv-ads', '5'])).toMatchObject({ code: 2 });
  }, 20_000);
});
