import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, loadConfig } from '../../src/app.js';
import { ConfigError, type ConfigProblem } from '../../src/config/errors.js';
import { cacheDirFor, jsonSafe } from '../../src/config/parsed-cache.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import type { CourseConfig } from '../../src/core/types.js';
import { silentLogger } from '../../src/log.js';
import { lineOf, removeTempDirs, replaceOnce, T0, tempConfig, tempDir } from '../helpers/fixtures.js';

// A feature's own config file kept validated (faq.yaml: ConfigSection.stored) at a previous `kequn start`,
// read from beside the store (src/config/parsed-cache.ts) instead of parsed again: loaded as
// `kequn start` loads it (loadConfig with `stored`), on copies of the fixture course.

afterAll(removeTempDirs);

const dataPath = () => join(tempDir('kequn-parsed-store-'), 'kequn.db');

const load = (course: string, data: string) => loadConfig(course, { env: { KEQUN_DATA: data }, stored: true });
const fromOf = (config: CourseConfig, file: string) => config.parsedStore?.find((f) => basename(f.file) === file);
const storedFiles = (data: string) => (existsSync(join(data, '..', 'qa-index')) ? readdirSync(join(data, '..', 'qa-index')).filter((f) => f.endsWith('.cfgcache')).sort() : []);

function problemsOf(course: string, data: string): ConfigProblem[] {
  try {
    load(course, data);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

/** The course's config as the bot uses it: what the store must give back exactly. */
const essentials = (c: CourseConfig) => ({ faq: c.faq, catalog: c.catalog, values: c.values, warnings: c.warnings, rules: c.rules.length, templates: c.templates });

describe('config files stored as validated (kequn start)', () => {
  it('the first load parses and stores faq.yaml beside the store; the second reads it, with the same config and the same answers', async () => {
    const course = tempConfig();
    const data = dataPath();
    const first = load(course, data);
    expect(fromOf(first, 'faq.yaml')).toEqual({ file: expect.stringMatching(/faq\.yaml$/), from: 'parsed' });
    // Only faq.yaml: catalog.yaml's dates depend on the time zone, kequn.yaml says where the store is.
    expect(fromOf(first, 'catalog.yaml')).toBeUndefined();
    expect(fromOf(first, 'kequn.yaml')).toBeUndefined();
    expect(storedFiles(data)).toHaveLength(1);
    expect(cacheDirFor(data)).toBe(join(data, '..', 'qa-index'));

    const second = load(course, data);
    expect(fromOf(second, 'faq.yaml')).toMatchObject({ from: 'stored' });
    expect(essentials(second)).toEqual(essentials(first));
    expect(second.faq.length).toBeGreaterThan(5);

    // The bot answers from it as before (the Q&A index is stored in the same folder).
    const app = await createApp({ config: second, clock: new VirtualClock(T0), log: silentLogger, live: false, dbPath: data });
    try {
      expect(app.kernel.currentServices.qa.ask('Python 环境怎么安装？')?.entryId).toBe('install-python');
    } finally {
      await app.stop();
    }
    expect(readdirSync(join(data, '..', 'qa-index')).some((f) => f.endsWith('.qaidx'))).toBe(true);
  });

  it('an edited faq.yaml is parsed again and its change is seen; the edit is then stored too', () => {
    const course = tempConfig();
    const data = dataPath();
    load(course, data);
    const faq = join(course, 'faq.yaml');
    writeFileSync(faq, replaceOnce(readFileSync(faq, 'utf8'), 'q: Python 环境怎么安装？', 'q: Python 3.12 环境怎么安装？'));
    const edited = load(course, data);
    expect(fromOf(edited, 'faq.yaml')).toMatchObject({ from: 'parsed' });
    expect(edited.faq.find((e) => e.id === 'install-python')?.question).toBe('Python 3.12 环境怎么安装？');
    const again = load(course, data);
    expect(fromOf(again, 'faq.yaml')).toMatchObject({ from: 'stored' });
    expect(again.faq).toEqual(edited.faq);
  });

  it('a damaged stored file is not used: the file is parsed and stored again', () => {
    const course = tempConfig();
    const data = dataPath();
    const first = load(course, data);
    const dir = join(data, '..', 'qa-index');
    const [stored] = storedFiles(data);
    const good = readFileSync(join(dir, stored!), 'utf8');
    // One character of its JSON changed (the checksum no longer matches), then cut short, then not one at all.
    for (const [damaged, why] of [
      [good.replace('"data":', '"data" :'), 'checksum mismatch'],
      [good.slice(0, 100), 'checksum mismatch'],
      ['{"key": "x"}', 'not a stored config file'],
    ] as const) {
      writeFileSync(join(dir, stored!), damaged);
      const again = load(course, data);
      expect(fromOf(again, 'faq.yaml')).toEqual({ file: expect.any(String), from: 'parsed', note: `stored form not used: ${why}` });
      expect(essentials(again)).toEqual(essentials(first));
      expect(readFileSync(join(dir, stored!), 'utf8')).toBe(good);
      const next = load(course, data);
      expect(fromOf(next, 'faq.yaml')?.from).toBe('stored');
      expect(essentials(next)).toEqual(essentials(first));
    }
  });

  it("a stored file with a valid checksum but another file's key is not used", () => {
    const data = dataPath();
    const course = tempConfig();
    load(course, data);
    const [mine] = storedFiles(data);
    load(tempConfig({ 'faq.yaml': (t) => replaceOnce(t, 'q: Python 环境怎么安装？', 'q: Python 怎么装？') }), data);
    const other = storedFiles(data).find((f) => f !== mine)!;
    const dir = join(data, '..', 'qa-index');
    writeFileSync(join(dir, mine!), readFileSync(join(dir, other)));
    const again = load(course, data);
    expect(fromOf(again, 'faq.yaml')?.note).toBe('stored form not used: made from another file');
    expect(again.faq.find((e) => e.id === 'install-python')?.question).toBe('Python 环境怎么安装？');
  });

  it('a YAML error in an edited faq.yaml still names the file and the line; a schema error the key', () => {
    const course = tempConfig();
    const data = dataPath();
    load(course, data);
    const faq = join(course, 'faq.yaml');
    const text = readFileSync(faq, 'utf8');
    writeFileSync(faq, replaceOnce(text, '  - id: editor\n', '  - id: editor\n    q: [unclosed\n'));
    const syntax = problemsOf(course, data);
    expect(syntax.length).toBeGreaterThan(0);
    expect(basename(syntax[0]!.file)).toBe('faq.yaml');
    expect(syntax[0]!.message).toMatch(/YAML/);
    expect(syntax[0]!.line).toBeGreaterThanOrEqual(lineOf(text, 'id: editor'));

    writeFileSync(faq, replaceOnce(text, '  - id: editor\n', '  - id: editor\n    answer: 不是 a\n'));
    const schema = problemsOf(course, data);
    expect(schema).toHaveLength(1);
    expect(basename(schema[0]!.file)).toBe('faq.yaml');
    expect(schema[0]!.keyPath).toBe('entries[1].answer');
    expect(schema[0]!.line).toBe(lineOf(text, 'id: editor') + 1);
  });

  it('a problem or warning in a file read from the store is located as when it was parsed (file, line, key)', () => {
    // A duplicate id (refused after the schema, by the FAQ's own check) and an amount no product
    // has (a warning): both need the file's positions, which the stored form does not keep.
    const course = tempConfig();
    const data = dataPath();
    const faq = join(course, 'faq.yaml');
    const text = readFileSync(faq, 'utf8');
    writeFileSync(faq, replaceOnce(text, '  - id: editor\n', '  - id: install-python\n'));
    const first = problemsOf(course, data);
    expect(storedFiles(data)).toHaveLength(1);
    const second = problemsOf(course, data);
    expect(second).toEqual(first);
    expect(second.find((p) => /FAQ id/.test(p.message))).toMatchObject({ keyPath: 'entries[1].id', line: lineOf(text, 'id: editor') });

    const warned = tempConfig({ 'faq.yaml': (t) => replaceOnce(t, 'a: 推荐 VS Code 加 Python 插件', 'a: 只要 1999 元。推荐 VS Code 加 Python 插件') });
    const data2 = dataPath();
    const parsed = load(warned, data2);
    const stored = load(warned, data2);
    expect(fromOf(stored, 'faq.yaml')?.from).toBe('stored');
    expect(parsed.warnings.length).toBeGreaterThan(0);
    expect(stored.warnings).toEqual(parsed.warnings);
    expect(stored.warnings[0]).toMatchObject({ keyPath: 'entries[1].a', line: lineOf(readFileSync(join(warned, 'faq.yaml'), 'utf8'), '只要 1999 元') });
  });

  it('kequn check and kequn test (no `stored`) neither read nor write it', () => {
    const course = tempConfig();
    const data = dataPath();
    const config = loadConfig(course, { env: { KEQUN_DATA: data } });
    expect(config.parsedStore).toEqual([]);
    expect(existsSync(join(data, '..', 'qa-index'))).toBe(false);
    // An in-memory store has no folder: parsed every time.
    expect(cacheDirFor(':memory:')).toBeUndefined();
  });

  it('only values JSON gives back exactly are stored', () => {
    expect(jsonSafe({ a: [1, 'x', true, null, { b: 2.5 }] })).toBe(true);
    for (const v of [{ a: undefined }, new Array(2), NaN, Infinity, -0, new Date(0), new Map(), { f: () => 1 }, Object.create({ x: 1 }) as object]) expect(jsonSafe(v)).toBe(false);
  });
});
