import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { registry } from '../../src/app.js';

describe('docs/configuration.md', () => {
  const doc = readFileSync('docs/configuration.md', 'utf8');
  it('documents every fact and every action the rule engine knows', () => {
    const missing = [...registry.facts.keys(), ...registry.actions.keys()].filter((name) => !doc.includes(`\`${name}`));
    expect(missing).toEqual([]);
  });
});

describe('docs/operations.md, Exposure', () => {
  const doc = readFileSync('docs/operations.md', 'utf8');
  const section = doc.slice(doc.indexOf('## Exposure'), doc.indexOf('\n## ', doc.indexOf('## Exposure') + 1));
  const MODES = ['embedded', 'real platforms', 'staging'] as const;
  /** Per mode, the `METHOD /path` the table says exist; rows whose route is not a literal path (the Telegram webhook) are left out. */
  function documented(): Record<(typeof MODES)[number], Set<string>> {
    const lines = section.split('\n').filter((l) => l.startsWith('|'));
    const head = lines[0]!.split('|').map((c) => c.trim());
    const out = Object.fromEntries(MODES.map((m) => [m, new Set<string>()])) as Record<(typeof MODES)[number], Set<string>>;
    for (const line of lines.slice(2)) {
      const cells = line.split('|').map((c) => c.trim());
      const routes = [...cells[1]!.matchAll(/`(GET|POST) (\/[^`]*)`/g)].map((m) => `${m[1]} ${m[2]}`);
      expect(routes.length + (cells[1]!.includes('<path of') ? 1 : 0), line).toBeGreaterThan(0);
      for (const mode of MODES) {
        const cell = cells[head.indexOf(mode)]!;
        expect(['yes', '—', 'webhook'], `${mode} in ${line}`).toContain(cell);
        if (cell === 'yes') for (const r of routes) out[mode].add(r);
      }
    }
    return out;
  }

  it('lists every route the web server mounts in each mode, and no route it does not mount', async () => {
    const { createApp } = await import('../../src/app.js');
    const { createWebApp } = await import('../../src/web/server.js');
    const { loadConfig } = await import('../../src/app.js');
    const { silentLogger } = await import('../../src/log.js');
    const { VirtualClock } = await import('../../src/core/schedule/clock.js');
    const { FakeAdapter, DEMO_CONFIG_DIR } = await import('../helpers/fixtures.js');
    const docs = documented();
    const mounted = async (mode: (typeof MODES)[number]) => {
      const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
      const real = mode !== 'embedded';
      const app = await createApp({
        config: loadConfig(DEMO_CONFIG_DIR, { env: {} }),
        clock,
        log: silentLogger,
        live: false,
        dbPath: ':memory:',
        env: {},
        ...(real ? { wechat: { kind: 'off' as const }, adapters: [new FakeAdapter(clock)], staging: mode === 'staging' } : {}),
      });
      try {
        const web = createWebApp({ app, clock, log: silentLogger, env: {} });
        return new Set(web.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`));
      } finally {
        await app.stop();
      }
    };
    for (const mode of MODES) {
      const have = await mounted(mode);
      expect({ mode, undocumented: [...have].filter((r) => !docs[mode].has(r)) }).toEqual({ mode, undocumented: [] });
      expect({ mode, notMounted: [...docs[mode]].filter((r) => !have.has(r)) }).toEqual({ mode, notMounted: [] });
    }
  });
});
