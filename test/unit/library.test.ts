import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { DEMO_CONFIG_DIR, loadProblems, removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

const KEQUN = readFileSync(join(DEMO_CONFIG_DIR, 'kequn.yaml'), 'utf8');

/** kequn.yaml with one edit of the library section, and the line the edit is on. */
function edited(from: string, to: string): { dir: string; line: number } {
  const text = replaceOnce(KEQUN, from, to);
  return { dir: tempConfig({ 'kequn.yaml': text }), line: KEQUN.slice(0, KEQUN.indexOf(from)).split('\n').length };
}

describe('library: its section of kequn.yaml', () => {
  it('loads the fixture course items with their defaults', () => {
    const { library } = loadConfig(DEMO_CONFIG_DIR, { env: {} });
    expect(library.items.map((i) => [i.id, i.for_stages ?? null])).toEqual([
      ['setup-guide', null],
      ['cheatsheet', null],
      ['source-code', ['paid', 'mature', 'loyal']],
    ]);
  });

  it('a course without the section has an empty library', () => {
    const start = KEQUN.indexOf('\nlibrary:');
    const end = KEQUN.indexOf('\n# /announce:');
    const dir = tempConfig({ 'kequn.yaml': KEQUN.slice(0, start) + KEQUN.slice(end), 'rules.yaml': (t) => t.replace(/ {2}- id: library-request[\s\S]*?send_materials:\n/, '') });
    expect(loadConfig(dir, { env: {} }).library.items).toEqual([]);
  });

  it.each([
    ['an unknown stage, with a suggestion', 'for_stages: [paid, mature, loyal]', 'for_stages: [paid, matur, loyal]', /unknown stage "matur".*mature/],
    ['a link that is not http(s)', 'link: https://example.com/python-101/cheatsheet.pdf', 'link: ftp://example.com/cheatsheet.pdf', /http/],
    ['a duplicate id', '- id: cheatsheet', '- id: setup-guide', /duplicate library item id "setup-guide"/],
    ['an unknown key', 'keywords: [速查, cheatsheet]', 'keyword: [速查, cheatsheet]', /keyword/],
  ])('%s is refused with file, line and key', (_what, from, to, message) => {
    const { dir, line } = edited(from, to);
    const problems = loadProblems(dir);
    expect(problems, JSON.stringify(problems)).toHaveLength(1);
    const p = problems[0]!;
    expect(basename(p.file)).toBe('kequn.yaml');
    expect(p.keyPath).toMatch(/^library\.items\[\d\]/);
    expect(p.message).toMatch(message);
    expect(p.line).toBe(line);
  });

  it('a rule that sends materials from an empty library is refused in rules.yaml', () => {
    const start = KEQUN.indexOf('\nlibrary:');
    const end = KEQUN.indexOf('\n# /announce:');
    const problems = loadProblems(tempConfig({ 'kequn.yaml': KEQUN.slice(0, start) + KEQUN.slice(end) }));
    expect(problems).toHaveLength(1);
    expect(basename(problems[0]!.file)).toBe('rules.yaml');
    expect(problems[0]!.message).toMatch(/send_materials needs items under `library:`/);
  });
});
