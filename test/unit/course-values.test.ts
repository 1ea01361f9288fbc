import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { runCheck } from '../../src/cli/check.js';
import { fillCourseValues } from '../../src/core/templates.js';
import { DEMO_CONFIG_DIR, T0, harness, loadProblems, message, outboxRows, removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

const FAQ = readFileSync(join(DEMO_CONFIG_DIR, 'faq.yaml'), 'utf8');
const PRICE_ANSWER = '{product.python-vip.price} 元';
const lineOf = (text: string, needle: string) => text.slice(0, text.indexOf(needle)).split('\n').length;

describe('course values: what the config holds, named in templates and FAQ answers', () => {
  it('the fixture course has its prices, discounts and deadlines as values', () => {
    const { values } = loadConfig(DEMO_CONFIG_DIR, { env: {} });
    expect(values).toMatchObject({
      'product.python-vip.price': '199',
      'product.python-vip.title': 'Python 数据分析正式班（第 3 期）',
      'coupon.EARLY50.off': '50',
      'coupon.VIP10.percent': '10',
      'referral.discount': '20',
      'homework.week1.due': '3月22日（周日）22:00',
      'homework.due': '每周日 22:00',
    });
  });

  it('a price changed in catalog.yaml is the price the FAQ answer gives', () => {
    const config = loadConfig(tempConfig({ 'catalog.yaml': (t) => replaceOnce(t, 'price_fen: 19900', 'price_fen: 29900') }), { env: {} });
    const h = harness({ config });
    const r = h.engine.handleEvent(message('alice', '正式课多少钱？', { at: T0 }), T0);
    const sent = outboxRows(h.db).filter((m) => m.event_id === r.eventRowId).map((m) => m.text);
    expect(sent.join('\n')).toContain('（第 3 期）：299 元，8 周直播课');
    expect(sent.join('\n')).not.toContain('199 元');
  });

  it('other braces in an answer stay as written (code in an FAQ answer)', () => {
    expect(fillCourseValues("d = {'a': 1}，价格 {product.x.price} 元，{name}", { 'product.x.price': '99' })).toBe("d = {'a': 1}，价格 99 元，{name}");
  });

  it('an FAQ answer naming a course value that does not exist is refused at its line, with a suggestion', () => {
    const text = replaceOnce(FAQ, PRICE_ANSWER, '{product.python-vip.prise} 元');
    const problems = loadProblems(tempConfig({ 'faq.yaml': text }));
    expect(problems).toHaveLength(1);
    expect(basename(problems[0]!.file)).toBe('faq.yaml');
    expect(problems[0]!.line).toBe(lineOf(text, '{product.python-vip.prise}'));
    expect(problems[0]!.message).toMatch(/unknown course value \{product\.python-vip\.prise\}; did you mean "product\.python-vip\.price"/);
  });

  it('an FAQ answer naming a price the catalog does not have loads, and kequn check warns at its line', () => {
    const text = replaceOnce(FAQ, PRICE_ANSWER, '1999 元');
    const dir = tempConfig({ 'faq.yaml': text });
    const config = loadConfig(dir, { env: {} });
    expect(config.warnings).toHaveLength(1);
    expect(config.warnings[0]).toMatchObject({ line: lineOf(text, '1999 元'), keyPath: 'entries[4].a' });
    const lines: string[] = [];
    expect(runCheck({ configDir: dir, write: (l) => lines.push(l) })).toBe(0);
    expect(lines[1]).toMatch(/^ {2}warning: .*faq\.yaml:\d+ entries\[4\]\.a: names 1999 元, which is no price or discount of this course \(\{product\.python-vip\.price\} = 199\)/);
    // The real price, a coupon's discount and the referral discount are fine.
    expect(loadConfig(tempConfig({ 'faq.yaml': replaceOnce(FAQ, PRICE_ANSWER, '¥199，用 EARLY50 再减 50 元，推荐再减 20 元') }), { env: {} }).warnings).toEqual([]);
  });

  it('templates may name course values; a misspelt one is refused with a suggestion', () => {
    const ok = loadConfig(tempConfig({ 'templates.yaml': (t) => `${t}\nprice_note: "正式班 {product.python-vip.price} 元"\n` }), { env: {} });
    expect(ok.templates.price_note).toBe('正式班 {product.python-vip.price} 元');
    const problems = loadProblems(tempConfig({ 'templates.yaml': (t) => `${t}\nprice_note: "正式班 {product.python-vip.prize} 元"\n` }));
    expect(problems.map((p) => p.message)).toEqual([expect.stringMatching(/unknown template variable \{product\.python-vip\.prize\}; did you mean "product\.python-vip\.price"/)]);
  });
});
