import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { CourseConfig } from '../../src/config/load.js';
import { watchConfig } from '../../src/config/watch.js';

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('live config reload', () => {
  it('applies a valid edit and keeps the old config on a broken one, logging why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-reload-'));
    cpSync('test/fixtures/course', dir, { recursive: true });
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
    const applied: CourseConfig[] = [];
    const stop = watchConfig(dir, log, (c) => applied.push(c));
    try {
      const templates = join(dir, 'templates.yaml');
      writeFileSync(templates, readFileSync(templates, 'utf8').replace('欢迎 {name} 加入', '热烈欢迎 {name} 加入'));
      await until(() => applied.length === 1);
      expect(applied[0]!.templates.welcome_group).toContain('热烈欢迎');

      writeFileSync(join(dir, 'rules.yaml'), readFileSync(join(dir, 'rules.yaml'), 'utf8').replace('set_stage: trial', 'set_stage: trail'));
      await until(() => lines.some((l) => l.includes('config change rejected')));
      expect(applied.length).toBe(1);
      const rejected = lines.find((l) => l.includes('config change rejected'))!;
      expect(rejected).toMatch(/rules\.yaml:\d+ rules\[0\]\.do\[1\]\.set_stage: unknown stage \\"trail\\"/);
    } finally {
      stop();
    }
  });
});
