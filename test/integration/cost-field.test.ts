import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, waitReady } from '../../src/app.js';
import { loadConfig } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { listCosts } from '../../src/flows/dashboard/store/dashboard.js';
import { openStore } from '../../src/store/db.js';
import { parseYuan } from '../../src/util/money.js';
import { createWebApp, startWebServer } from '../../src/web/server.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Inputs that are not plain decimal yuan, though Number() makes something of most of them. */
const BAD = ['0x10', ' ', '', '1e3', '-5', '+5', '12.345', '1,000', ' 12', '12 ', '0b11', 'Infinity', 'NaN', '１２', '12.', '.5', '1000000000'];

describe('the cost of an acquisition source: plain decimal yuan only', () => {
  it('parseYuan: plain decimal yuan with at most 2 decimals, in fen, without floating point', () => {
    expect(parseYuan('0')).toBe(0);
    expect(parseYuan('500')).toBe(50_000);
    expect(parseYuan('12.5')).toBe(1250);
    expect(parseYuan('0.29')).toBe(29);
    expect(parseYuan('999999999.99')).toBe(99_999_999_999);
    expect(parseYuan(16.5)).toBe(1650);
    for (const bad of [...BAD, -1, 0.1 + 0.2, 1e21, Number.NaN, null, undefined, {}, [5]]) expect(parseYuan(bad), JSON.stringify(bad)).toBeUndefined();
  });

  it('the dashboard cost field (POST /dashboard/api/costs over HTTP) refuses "0x10" and " " and stores nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-cost-'));
    dirs.push(dir);
    const dbPath = join(dir, 'kequn.db');
    const config = loadConfig('test/fixtures/course', { env: { KEQUN_DATA: dbPath } });
    const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
    const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath, env: {} });
    await app.kernel.start();
    await waitReady(() => app.kernel.isReady());
    const token = 'cost-field-admin-token-0123456789';
    const server = await startWebServer(createWebApp({ app, clock, log: silentLogger, env: { KEQUN_ADMIN_TOKEN: token } }), { host: '127.0.0.1', port: 0 });
    const post = async (yuan: unknown) => {
      const r = await fetch(`${server.url}/dashboard/api/costs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ source: 'referral', yuan }),
      });
      return { status: r.status, body: (await r.json()) as { error?: string } };
    };
    try {
      for (const bad of [...BAD.filter((b) => b !== ''), -5, 1e21]) {
        const r = await post(bad);
        expect(r.status, JSON.stringify(bad)).toBe(400);
        // The course's locale (zh by default): src/flows/dashboard/i18n.ts api.badYuan.
        expect(r.body.error).toBe('金额必须是普通的十进制元数，最多两位小数，例如 500 或 12.50');
        expect(listCosts(app.db)).toEqual([]);
      }
      expect((await post('12.50')).status).toBe(200);
      expect(listCosts(app.db).map((c) => c.cost_fen)).toEqual([1250]);
      expect((await post(16)).status).toBe(200);
      expect(listCosts(app.db).map((c) => c.cost_fen)).toEqual([1600]);
      // Empty removes it, as the page says.
      expect((await post('')).status).toBe(200);
      expect(listCosts(app.db)).toEqual([]);
    } finally {
      await server.close();
      await app.stop();
    }
  });

  it('kequn stats cost refuses them too, with a clear sentence, and stores nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-cost-cli-'));
    dirs.push(dir);
    const dbPath = join(dir, 'kequn.db');
    openStore(dbPath).close();
    const kequn = (args: string[]) =>
      new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile('node', ['bin/kequn.mjs', ...args], { env: { ...process.env, KEQUN_DATA: dbPath } }, (err, stdout) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout) })),
      );
    for (const bad of ['0x10', ' ', '1e3']) {
      const r = await kequn(['stats', 'cost', 'referral', bad]);
      expect(r.code).toBe(2);
      expect(r.stdout).toContain(`"${bad}" is not an amount: YUAN is plain decimal yuan with at most 2 decimals`);
    }
    expect((await kequn(['stats', 'cost', 'referral', '0.29'])).stdout).toContain('cost of referral: 0.29 元');
    const db = openStore(dbPath);
    expect(listCosts(db).map((c) => c.cost_fen)).toEqual([29]);
    db.close();
  });
});
