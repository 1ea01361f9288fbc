import { spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConfigProblem } from '../../src/config/errors.js';
import { loadConfig } from '../../src/app.js';
import { MAX_TOTAL_REGEX_COST } from '../../src/core/rules/conditions.js';
import { MAX_TEXT_CHARS } from '../../src/bot/events.js';
import { compileLinearRegex, MAX_PATTERN_COST, MAX_SUBJECT_CHARS, requiredLiterals } from '../../src/core/rules/linear-regex.js';
import { seededRandom } from '../../src/util/random.js';
import { lineOf, loadProblems, removeTempDirs, tempConfig } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

/** A rules.yaml of one message rule whose only condition is `text matches <pattern>`. */
function matchRule(pattern: string, id = 'greet'): string {
  return `  - id: ${id}\n    on: message\n    when:\n      text: { matches: ${JSON.stringify(pattern)} }\n    do:\n      - reply: trial_again\n`;
}

function rulesFile(body: string): string {
  return `# test rules\nrules:\n${body}`;
}

function only(problems: ConfigProblem[]): ConfigProblem {
  expect(problems, problems.map((p) => `${p.file}:${p.line} ${p.keyPath}: ${p.message}`).join('\n')).toHaveLength(1);
  expect(basename(problems[0]!.file)).toBe('rules.yaml');
  return problems[0]!;
}

describe('config regexes: linear time', () => {
  it('`matches: "^(a+)+$"` answers a 40-character message at once instead of freezing the process', () => {
    // In a child process with a deadline: on a backtracking engine this message takes about 2^40
    // steps, and a blocked event loop could not even time out a test in this process.
    const script = `
      import { loadConfig, registry } from './src/app.ts';
      import { compileWhen, evaluate } from './src/core/rules/conditions.ts';
      const config = loadConfig('test/fixtures/course', { env: {} });
      const problems = [];
      const cond = compileWhen({ text: { matches: '^(a+)+$' } }, registry.facts, config, ['when'], problems);
      if (problems.length) { console.log('refused: ' + problems[0].message); process.exit(0); }
      const t = performance.now();
      const ok = evaluate(cond, () => 'a'.repeat(40) + '!', []);
      console.log('matched ' + ok + ' in ' + Math.round(performance.now() - t) + ' ms');
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.error?.message ?? '', `child: ${r.stderr}`).not.toMatch(/ETIMEDOUT/);
    expect(r.stdout.trim()).toMatch(/^matched false in \d+ ms$/);
  });

  it('looks at no more text than a message may hold (the adapters cut messages at MAX_TEXT_CHARS)', () => {
    expect(MAX_SUBJECT_CHARS).toBe(MAX_TEXT_CHARS);
    const r = compileLinearRegex('x$', { ignoreCase: false });
    if (!r.ok) throw new Error(r.message);
    expect(r.regex.test('a'.repeat(MAX_SUBJECT_CHARS - 1) + 'x')).toBe(true);
    // Past the bound the text is not read: a 1 MB string costs what 4,000 characters cost.
    expect(r.regex.test('a'.repeat(1 << 20) + 'x')).toBe(false);
  });

  it('keeps the JavaScript meaning the demo relies on: \\s with U+3000, anchors, CJK, case, \\u escapes, \\p{Script=Han}, emoji, .', () => {
    const cases: [string, string[]][] = [
      ['^\\s*打卡', ['\u3000打卡 第3天', ' 打卡', '打卡', '我打卡', '\n打卡', '\u00a0打卡']],
      ['^\\s*(排行榜|打卡排行榜?)\\s*$', ['排行榜', ' 打卡排行 ', '排行榜吗', '打卡排行榜\u3000']],
      ['^\\s*(我的)?(推荐码|邀请码)\\s*[?？]?\\s*$', ['我的推荐码？', '邀请码 ?', '推荐码是什么']],
      ['^(我要)?(报名|购买|买课)|^buy\\b', ['我要报名', 'BUY now', 'buyer', '想购买']],
      ['lesson \\d+$', ['Lesson 12', 'lesson 12a', 'LESSON ３']],
      ['[\\u4e00-\\u9fa5]{2}', ['学习', 'a学b', 'ab']],
      ['\\p{Script=Han}{2}', ['学习', 'a学']],
      ['\\p{L}+\\p{Nd}', ['abc1', '学2', '!1']],
      ['\\uD83D\\uDE00|\\u{1F389}', ['😀', '🎉', ':)']],
      ['^.$', ['😀', '\r', '\u2028', 'x']],
      ['a.b', ['a\rb', 'a\nb', 'a b']],
      ['[\\s\\S]+x', ['\n\nx', 'x']],
      ['[a\\S]', [' ', '\u3000', 'b']],
      ['[^]', ['\n', '']],
      ['[]', ['a']],
      ['é|Ω', ['É', 'ω']],
      ['[[]', ['[']],
      ['a\\/b\\.c', ['a/b.c', 'a/bxc']],
      ['(?<year>\\d{4})-\\d', ['2024-1']],
    ];
    for (const [pattern, texts] of cases) {
      const r = compileLinearRegex(pattern, { ignoreCase: true });
      if (!r.ok) throw new Error(`${pattern}: ${r.message}`);
      const js = new RegExp(pattern, 'iu');
      for (const t of texts) expect(r.regex.test(t), `${pattern} on ${JSON.stringify(t)}`).toBe(js.test(t));
    }
  });

  it('\\s, \\S and . mean what they mean in JavaScript for every code point of the BMP', () => {
    const compile = (p: string) => {
      const r = compileLinearRegex(`^${p}$`, { ignoreCase: false });
      if (!r.ok) throw new Error(r.message);
      return r.regex;
    };
    const [s, S, dot] = [compile('\\s'), compile('\\S'), compile('.')];
    const differ: string[] = [];
    for (let cp = 0; cp < 0x10000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      if (s.test(ch) !== /^\s$/u.test(ch) || S.test(ch) !== /^\S$/u.test(ch) || dot.test(ch) !== /^.$/u.test(ch)) differ.push(cp.toString(16));
    }
    expect(differ).toEqual([]);
  });

  it('refuses, by name, what a linear-time engine cannot run: backreferences, lookaround, binary properties, too costly', () => {
    const refused: [string, RegExp][] = [
      ['(\\w)\\1', /backreferences \(\\1\)/],
      ['(?<c>a)\\k<c>', /backreferences \(\\k<name>\)/],
      ['a(?=b)', /lookahead/],
      ['a(?!b)', /lookahead/],
      ['(?<=a)b', /lookbehind/],
      ['(?<!a)b', /lookbehind/],
      ['\\p{Emoji}', /binary properties/],
      ['[^a\\S]', /negated class/],
      ['a{1001}', /linear-time regex engine \(RE2 syntax\): invalid repeat count/],
      ['[ab]*a[ab]{400}x', new RegExp(`too complex .*at most ${MAX_PATTERN_COST}`)],
      ['([a-z', /invalid regular expression/],
    ];
    for (const [pattern, message] of refused) {
      const r = compileLinearRegex(pattern, { ignoreCase: true });
      expect(r.ok, pattern).toBe(false);
      if (!r.ok) expect(r.message, pattern).toMatch(message);
    }
    // An escaped parenthesis is not a group: `\(?=` is an optional "(" then "=".
    expect(compileLinearRegex('\\(?=', { ignoreCase: true }).ok).toBe(true);
  });

  it('kequn check refuses a backreference or lookaround at the file, line and key path of the pattern', () => {
    for (const [pattern, message] of [
      ['(\\w)\\1{5}', /backreferences/],
      ['^(?!.*广告).*报名', /lookahead/],
    ] as const) {
      const text = rulesFile(matchRule(pattern));
      const p = only(loadProblems(tempConfig({ 'rules.yaml': text })));
      expect(p.keyPath).toBe('rules[0].when.text.matches');
      expect(p.line).toBe(lineOf(text, 'matches'));
      expect(p.message).toMatch(message);
    }
  });

  it('all the patterns of a rule set together have a cost limit, reported at the pattern that goes over', () => {
    // Each costs about 190: five fit under the limit, the sixth does not.
    const pattern = '[ab]*a[ab]{180}x';
    const one = compileLinearRegex(pattern, { ignoreCase: true });
    if (!one.ok) throw new Error(one.message);
    const fit = Math.floor(MAX_TOTAL_REGEX_COST / one.regex.cost);
    const text = rulesFile(Array.from({ length: fit + 1 }, (_, i) => matchRule(pattern, `r${i}`)).join(''));
    const p = only(loadProblems(tempConfig({ 'rules.yaml': text })));
    expect(p.keyPath).toBe(`rules[${fit}].when.text.matches`);
    expect(p.message).toMatch(/too costly together/);
    // The demo's patterns are far from it.
    expect(() => loadConfig(tempConfig(), { env: {} })).not.toThrow();
  });

  it('skips the engine for a text with none of the texts every match contains, and answers as before (issue 20)', () => {
    // Runs of plain caseless characters outside quantifiers, unquantified groups as any of their
    // alternatives'; none where it is not sure.
    const literals: [string, string[] | undefined][] = [
      ['^\\s*打卡', ['打卡']],
      ['^\\s*(交|提交)?作业', ['作业']],
      ['^\\s*(排行榜|打卡排行榜?)\\s*$', ['排行榜', '打卡排行']],
      ['^\\s*\\S{0,8}(资料|课件)\\s*[?？]?\\s*$', ['资料', '课件']],
      ['^\\s*(/海报|(我的)?(推荐|专属)?海报)\\s*[?？]?\\s*$', ['/海报', '海报']],
      ['^(我要)?(报名|购买|买课)|^buy\\b', undefined],
      ['(?:作业)交了', ['作业']],
      ['^\\s*(申请延期|延期申请|申请转期)', ['申请延期', '延期申请', '申请转期']],
      ['(?<w>作业)?交了', ['交了']],
      ['(作业|资料)+', undefined],
      ['(作业|x)', undefined],
      ['第\\d+课', ['第']],
      ['打卡+', ['打']],
      ['打卡?了', ['打']],
      ['x{2}打卡', ['打卡']],
      ['[打卡]报名', ['报名']],
      ['[\\]卡]报名', ['报名']],
      ['buy', undefined],
      ['ΣΑΣ', undefined],
      ['\\u6253卡', undefined],
      ['\\p{Script=Han}打卡', undefined],
      ['a\\.b。打卡', ['。打卡']],
    ];
    for (const [pattern, literal] of literals) expect([pattern, requiredLiterals(pattern)]).toEqual([pattern, literal]);

    // Against JavaScript's own engine (these patterns cannot backtrack badly), on texts made of
    // the patterns' own pieces: the same answer, with or without the literal.
    const patterns = [...literals.map(([p]) => p), '^\\s*补卡', '^\\s*请假', '^\\s*(我的)?(推荐码|邀请码)\\s*[?？]?\\s*$', '打卡??了', '打*卡', '(资料|课件){2}'];
    const pieces = ['打卡', '打', '卡', '了', '作业', '交', '提交', '排行榜', '排行', '报名', '第', '3', '课', ' ', '\u3000', '资料', '课件', '？', 'x', 'xx', 'buy', 'BUY', 'σας', '。', 'a.b', '我的', '推荐码', '补卡', '请假', '/', '海报', '推荐', ']'];
    const r = seededRandom(3);
    let skipped = 0;
    let matched = 0;
    for (const pattern of patterns) {
      const c = compileLinearRegex(pattern, { ignoreCase: true });
      if (!c.ok) throw new Error(`${pattern}: ${c.message}`);
      const js = new RegExp(pattern, 'iu');
      const lits = requiredLiterals(pattern);
      for (let n = 0; n < 300; n++) {
        const text = Array.from({ length: Math.floor(r() * 5) }, () => pieces[Math.floor(r() * pieces.length)]!).join('');
        expect([pattern, text, c.regex.test(text)]).toEqual([pattern, text, js.test(text)]);
        if (js.test(text)) matched++;
        if (lits !== undefined && !lits.some((l) => text.includes(l))) skipped++;
      }
    }
    // The texts did exercise the skip, and matched too.
    expect(skipped).toBeGreaterThan(1000);
    expect(matched).toBeGreaterThan(300);
  });
});
