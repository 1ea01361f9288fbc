import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConfigProblem } from '../../src/config/errors.js';
import { loadConfig } from '../../src/app.js';
import { MAX_NAMED_FILE_BYTES } from '../../src/config/named-file.js';
import { lineOf, loadProblems, removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';
import { wechatPayCatalog } from '../helpers/payments.js';

const outside = mkdtempSync(join(tmpdir(), 'kequn-outside-'));
const SECRET = join(outside, 'secret.txt');
writeFileSync(SECRET, 'root:x:0:0:the server file nobody may receive\n');

afterAll(() => {
  removeTempDirs();
  rmSync(outside, { recursive: true, force: true });
});

/** The demo course with lesson 2's `file:` replaced by `name` (and `setup` run on the folder). */
function lessonFile(name: string, setup: (dir: string) => void = () => {}): { dir: string; problems: ConfigProblem[] } {
  const dir = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, 'file: lessons/02-basics.md', `file: ${JSON.stringify(name)}`) });
  setup(dir);
  return { dir, problems: loadProblems(dir) };
}

function onlyLesson2(r: { dir: string; problems: ConfigProblem[] }, message: RegExp): void {
  expect(r.problems, r.problems.map((p) => `${p.file}:${p.line} ${p.keyPath}: ${p.message}`).join('\n')).toHaveLength(1);
  const p = r.problems[0]!;
  expect(basename(p.file)).toBe('kequn.yaml');
  expect(p.keyPath).toBe('lessons[1].file');
  expect(p.line).toBe(lineOf(readFileSync(join(r.dir, 'kequn.yaml'), 'utf8'), 'n: 2,'));
  expect(p.message).toMatch(message);
}

describe('config: every file a config names stays inside the config folder', () => {
  it('refuses a lesson `file: ../../../../etc/passwd` (relative, climbing out)', () => {
    // As many ../ as it takes from the temp folder to /, then into the file outside.
    const climb = '../'.repeat(12) + SECRET.slice(1);
    onlyLesson2(lessonFile(climb), /outside the config folder: files a config names must be inside it/);
    onlyLesson2(lessonFile('../../../../etc/passwd'), /outside the config folder|file not found/);
  });

  it('refuses an absolute path', () => {
    onlyLesson2(lessonFile(SECRET), /is an absolute path/);
    onlyLesson2(lessonFile('/etc/passwd'), /is an absolute path/);
  });

  it('refuses a symlink inside the folder that leads out of it, file or folder', () => {
    onlyLesson2(
      lessonFile('lessons/evil.md', (dir) => symlinkSync(SECRET, join(dir, 'lessons/evil.md'))),
      /lessons\/evil\.md is outside the config folder \(through a symlink\)/,
    );
    onlyLesson2(
      lessonFile('shared/secret.txt', (dir) => symlinkSync(outside, join(dir, 'shared'))),
      /outside the config folder \(through a symlink\)/,
    );
  });

  it('accepts a symlink that stays inside, and a config folder that is itself reached by a symlink', () => {
    const dir = tempConfig();
    symlinkSync('02-basics.md', join(dir, 'lessons/alias.md'));
    writeFileSync(join(dir, 'kequn.yaml'), replaceOnce(readFileSync(join(dir, 'kequn.yaml'), 'utf8'), 'file: lessons/02-basics.md', 'file: lessons/alias.md'));
    const link = join(outside, 'course-link');
    symlinkSync(dir, link);
    const config = loadConfig(link, { env: {} });
    expect(config.lessons[1]!.body).toBe(readFileSync(join(dir, 'lessons/02-basics.md'), 'utf8').trim());
  });

  it('refuses what is not a regular file (a folder, a FIFO) without blocking, and a file over the size limit', () => {
    onlyLesson2(lessonFile('lessons'), /is not a regular file/);
    const fifo = lessonFile('lessons/pipe', (dir) => {
      const r = spawnSync('mkfifo', [join(dir, 'lessons/pipe')]);
      if (r.status !== 0) mkdirSync(join(dir, 'lessons/pipe')); // no mkfifo: a folder still is no regular file
    });
    onlyLesson2(fifo, /is not a regular file/);
    onlyLesson2(
      lessonFile('lessons/big.md', (dir) => writeFileSync(join(dir, 'lessons/big.md'), 'x'.repeat(MAX_NAMED_FILE_BYTES + 1))),
      new RegExp(`is ${MAX_NAMED_FILE_BYTES + 1} bytes; files a config names are limited`),
    );
  });

  it('refuses a WeChat Pay platform key file outside the folder, in catalog.yaml at its key path', () => {
    const dir = tempConfig({
      'catalog.yaml': (t) => replaceOnce(t, '  provider: sandbox', wechatPayCatalog('http://127.0.0.1:9/').replace('file: wechatpay_pub_key.pem', `file: ${'../'.repeat(12)}${SECRET.slice(1)}`)),
    });
    const problems = loadProblems(dir);
    expect(problems).toHaveLength(1);
    expect(basename(problems[0]!.file)).toBe('catalog.yaml');
    expect(problems[0]!.keyPath).toBe('payments.wechatpay.platform_keys[0].file');
    expect(problems[0]!.message).toMatch(/outside the config folder/);
  });
});
