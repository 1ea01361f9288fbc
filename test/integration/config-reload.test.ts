import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { CourseConfig } from '../../src/config/load.js';
import { watchConfig } from '../../src/config/watch.js';
import { loadConfig } from '../../src/app.js';

async function until(cond: () => boolean, ms = 8000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A copy of the tests' course with a watcher on it, recording what was applied and what was logged. */
function watched(pollMs?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-reload-'));
  cpSync('test/fixtures/course', dir, { recursive: true });
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
  const applied: CourseConfig[] = [];
  const stop = watchConfig(dir, log, (c) => applied.push(c), { load: (d) => loadConfig(d), pollMs });
  stops.push(() => {
    stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const edit = (file: string, from: string, to: string) => {
    const text = readFileSync(join(dir, file), 'utf8');
    if (!text.includes(from)) throw new Error(`${file} has no "${from}"`);
    return text.replace(from, to);
  };
  return { dir, lines, applied, edit, rejected: () => lines.filter((l) => l.includes('config change rejected')) };
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
});

describe('live config reload', () => {
  it('applies a valid edit and keeps the old config on a broken one, logging why', async () => {
    const w = watched();
    writeFileSync(join(w.dir, 'templates.yaml'), w.edit('templates.yaml', '欢迎 {name} 加入', '热烈欢迎 {name} 加入'));
    await until(() => w.applied.length === 1);
    expect(w.applied[0]!.templates.welcome_group).toContain('热烈欢迎');

    writeFileSync(join(w.dir, 'rules.yaml'), w.edit('rules.yaml', 'set_stage: trial', 'set_stage: trail'));
    await until(() => w.rejected().length === 1);
    expect(w.applied.length).toBe(1);
    expect(w.rejected()[0]).toMatch(/rules\.yaml:\d+ rules\[0\]\.do\[1\]\.set_stage: unknown stage \\"trail\\"/);
  });

  it('keeps noticing edits made by `sed -i`, one after another in two files', async () => {
    const w = watched();
    for (let i = 1; i <= 4; i++) {
      execFileSync('sed', ['-i', `s/name: Python 数据分析训练营[0-9]*$/name: Python 数据分析训练营${i}/`, join(w.dir, 'kequn.yaml')]);
      await until(() => w.applied.at(-1)?.course.name === `Python 数据分析训练营${i}`);
      execFileSync('sed', ['-i', `s/price_fen: [0-9]*/price_fen: ${19900 + i}/`, join(w.dir, 'catalog.yaml')]);
      await until(() => Object.values(w.applied.at(-1)?.catalog.products ?? {})[0]?.price_fen === 19900 + i);
    }
    expect(w.rejected()).toEqual([]);
  });

  it('notices an editor that writes a new file and renames it over the old one (vim, git checkout), lessons included', async () => {
    const w = watched();
    const lesson = join(w.dir, 'lessons', '01-setup.md');
    for (let i = 1; i <= 3; i++) {
      writeFileSync(`${lesson}.tmp`, `# 第 1 课，第 ${i} 版\n`);
      renameSync(`${lesson}.tmp`, lesson);
      await until(() => w.applied.at(-1)?.lessons[0]?.body === `# 第 1 课，第 ${i} 版`);
    }
  });

  it('a broken edit is rejected with its reason, then the fix applies', async () => {
    const w = watched();
    const main = join(w.dir, 'kequn.yaml');
    const good = readFileSync(main, 'utf8');
    writeFileSync(`${main}.new`, good.replace('timezone: Asia/Shanghai', 'timezone: Mars/Olympus'));
    renameSync(`${main}.new`, main);
    await until(() => w.rejected().length === 1);
    expect(w.rejected()[0]).toMatch(/kequn\.yaml:\d+ course\.timezone/);
    writeFileSync(`${main}.new`, good.replace('bot_name: 小课', 'bot_name: 小课同学'));
    renameSync(`${main}.new`, main);
    await until(() => w.applied.length === 1);
    expect(w.applied[0]!.course.bot_name).toBe('小课同学');
  });

  it('several edits in a row are applied once they settle, as the last one left the folder', async () => {
    const w = watched();
    for (let i = 1; i <= 5; i++) writeFileSync(join(w.dir, 'templates.yaml'), w.edit('templates.yaml', /欢迎 \{name\} 加入|欢迎#\d \{name\} 加入/.exec(readFileSync(join(w.dir, 'templates.yaml'), 'utf8'))![0], `欢迎#${i} {name} 加入`));
    await until(() => w.applied.at(-1)?.templates.welcome_group?.includes('欢迎#5') === true);
    expect(w.applied.length).toBeLessThanOrEqual(2);
  });
});
