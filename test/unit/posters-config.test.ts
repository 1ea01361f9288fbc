import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { DEMO_CONFIG_DIR, lineOf, loadProblems, removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

const edit = (from: string, to: string) => tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, from, to) });

describe('posters: kequn.yaml `poster:`', () => {
  it('the fixture course\'s template loads as written; a course without the section gets the defaults', () => {
    const p = loadConfig(DEMO_CONFIG_DIR, { env: {} }).poster;
    expect(p).toMatchObject({ layout: 'classic', background: '#1f4e79', title: '{course}', lines: ['{name} 邀请你一起学习'], daily_limit: 5, link: null });
    const without = loadConfig(tempConfig({ 'kequn.yaml': (t) => t.slice(0, t.indexOf('\n# The referral poster')) + '\n' }), { env: {} }).poster;
    expect(without).toMatchObject({ layout: 'classic', title: '{course}', footer: '扫码加入，和我一起学' });
  });

  it.each([
    ['an unknown layout', 'layout: classic ', 'layout: fancy ', /expected one of "classic"\|"card"\|"banner"|classic.*card.*banner/, 'poster.layout'],
    ['a colour that is none', 'background: "#1f4e79"', 'background: blue', /a colour like "#1f4e79"/, 'poster.background'],
    ['an unknown variable', '"{name} 邀请你一起学习"', '"{nmae} 邀请你一起学习"', /unknown variable \{nmae\}; did you mean "name"\?/, 'poster.lines[0]'],
    ['an unknown course value', '{referral.discount}', '{referral.discout}', /unknown course value \{referral.discout\}; did you mean "referral.discount"\?/, 'poster.footer'],
    ['a line too long for the poster', 'tagline: 8 周从零到能独立做数据分析项目', `tagline: ${'很长'.repeat(25)}`, /at most 40 characters/, 'poster.tagline'],
    ['a QR link that is no web address', 'footer: "扫码加入', 'link: "weixin://x"\n  footer: "扫码加入', /must start with http/, 'poster.link'],
  ])('%s is refused with file, line and key', (_what, from, to, message, keyPath) => {
    const dir = edit(from, to);
    const problems = loadProblems(dir);
    expect(problems, JSON.stringify(problems)).toHaveLength(1);
    expect(basename(problems[0]!.file)).toBe('kequn.yaml');
    expect(problems[0]!.keyPath).toBe(keyPath);
    expect(problems[0]!.message).toMatch(message);
    const text = tempConfigText(dir);
    expect(problems[0]!.line).toBe(lineOf(text, to.split('\n')[0]!.trim()));
  });
});

function tempConfigText(dir: string): string {
  return readFileSync(`${dir}/kequn.yaml`, 'utf8');
}
