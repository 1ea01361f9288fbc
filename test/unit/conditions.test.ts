import { tracesOfEvent } from '../../src/store/traces.js';
import { basename } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileWhen, evaluate, type CompileProblem, type Cond, type CondResult } from '../../src/core/rules/conditions.js';
import { registry } from '../../src/app.js';
import type { FactSpec } from '../../src/core/types.js';
import { DAY, HOUR, MINUTE, demoConfig, harness, joined, lineOf, loadProblems, message, removeTempDirs, tempConfig, T0 } from '../helpers/fixtures.js';
import { loadConfig } from '../../src/app.js';

afterAll(removeTempDirs);

/** Compiles `when` against the real fact registry and the demo config; fails on any problem. */
function compile(when: Record<string, unknown>): Cond {
  const problems: CompileProblem[] = [];
  const cond = compileWhen(when, registry.facts, demoConfig(), ['when'], problems);
  expect(problems).toEqual([]);
  return cond;
}

function problemsOf(when: Record<string, unknown>): CompileProblem[] {
  const problems: CompileProblem[] = [];
  compileWhen(when, registry.facts, demoConfig(), ['rules', 0, 'when'], problems);
  return problems;
}

/** Evaluates `when` with fact values given by name (`fired_ago.x` for parameterised facts). */
function check(when: Record<string, unknown>, facts: Record<string, unknown>): { ok: boolean; trace: CondResult[] } {
  const trace: CondResult[] = [];
  const ok = evaluate(
    compile(when),
    (f: FactSpec, param?: string) => {
      const key = param === undefined ? f.name : `${f.name}.${param}`;
      if (!(key in facts)) throw new Error(`test did not give fact ${key}`);
      return facts[key];
    },
    trace,
  );
  return { ok, trace };
}

const is = (when: Record<string, unknown>, facts: Record<string, unknown>) => check(when, facts).ok;

describe('conditions: operators on string facts', () => {
  const f = { stage: 'trial', text: 'I want the 试听 LESSON 12', group: null as string | null };
  it('eq / ne, and the shorthand for eq', () => {
    expect(is({ stage: { eq: 'trial' } }, f)).toBe(true);
    expect(is({ stage: { eq: 'paid' } }, f)).toBe(false);
    expect(is({ stage: 'trial' }, f)).toBe(true);
    expect(is({ stage: 'Trial' }, f)).toBe(false); // eq is exact
    expect(is({ stage: { ne: 'paid' } }, f)).toBe(true);
    expect(is({ stage: { ne: 'trial' } }, f)).toBe(false);
    expect(is({ group: null }, f)).toBe(true);
  });
  it('in / not_in, and a list as shorthand for in', () => {
    expect(is({ stage: { in: ['prospect', 'trial'] } }, f)).toBe(true);
    expect(is({ stage: { in: ['paid'] } }, f)).toBe(false);
    expect(is({ stage: ['prospect', 'trial'] }, f)).toBe(true);
    expect(is({ stage: { not_in: ['paid', 'churned'] } }, f)).toBe(true);
    expect(is({ stage: { not_in: ['trial'] } }, f)).toBe(false);
  });
  it('contains is case-insensitive; matches is a case-insensitive unicode regex', () => {
    expect(is({ text: { contains: '试听' } }, f)).toBe(true);
    expect(is({ text: { contains: 'lesson' } }, f)).toBe(true);
    expect(is({ text: { contains: '打卡' } }, f)).toBe(false);
    expect(is({ text: { matches: 'lesson \\d+$' } }, f)).toBe(true);
    expect(is({ text: { matches: '^试听' } }, f)).toBe(false);
    expect(is({ text: { matches: '\\p{Script=Han}{2}' } }, f)).toBe(true);
    // A null fact (a DM has no group) never contains or matches anything.
    expect(is({ group: { contains: 'a' } }, f)).toBe(false);
    expect(is({ group: { matches: '.*' } }, f)).toBe(false);
  });
  it('exists: null and empty text do not exist', () => {
    expect(is({ group: { exists: false } }, f)).toBe(true);
    expect(is({ group: { exists: true } }, f)).toBe(false);
    expect(is({ stage: { exists: true } }, f)).toBe(true);
    expect(is({ text: { exists: true } }, { text: '' })).toBe(false);
  });
});

describe('conditions: operators on number facts', () => {
  const f = { active_groups: 2, local_hour: null };
  it.each([
    [{ eq: 2 }, true],
    [{ eq: 3 }, false],
    [{ ne: 3 }, true],
    [{ ne: 2 }, false],
    [{ gt: 1 }, true],
    [{ gt: 2 }, false],
    [{ gte: 2 }, true],
    [{ gte: 3 }, false],
    [{ lt: 3 }, true],
    [{ lt: 2 }, false],
    [{ lte: 2 }, true],
    [{ lte: 1 }, false],
    [{ in: [0, 2] }, true],
    [{ in: [0, 1] }, false],
    [{ not_in: [0, 1] }, true],
    [{ not_in: [2] }, false],
  ])('active_groups %j → %s', (cond, expected) => {
    expect(is({ active_groups: cond }, f)).toBe(expected);
  });
  it('shorthands: a number is eq, a list is in', () => {
    expect(is({ active_groups: 2 }, f)).toBe(true);
    expect(is({ active_groups: [1, 2] }, f)).toBe(true);
  });
  it('a missing number compares false, never as 0', () => {
    expect(is({ local_hour: { lt: 10 } }, f)).toBe(false);
    expect(is({ local_hour: { gte: 0 } }, f)).toBe(false);
  });
  it('several operators on one fact all apply (a range)', () => {
    expect(is({ active_groups: { gte: 1, lte: 3 } }, f)).toBe(true);
    expect(is({ active_groups: { gte: 1, lt: 2 } }, f)).toBe(false);
  });
});

describe('conditions: operators on boolean facts', () => {
  it('eq / ne, and the shorthand', () => {
    const f = { is_dm: true, mentions_bot: false };
    expect(is({ is_dm: true }, f)).toBe(true);
    expect(is({ is_dm: false }, f)).toBe(false);
    expect(is({ is_dm: { eq: true } }, f)).toBe(true);
    expect(is({ is_dm: { ne: true } }, f)).toBe(false);
    expect(is({ mentions_bot: { ne: true } }, f)).toBe(true);
  });
});

describe('conditions: operators on list facts (tags)', () => {
  const f = { tags: ['paid', 'vip'] };
  it('has (and the shorthand) / not_has / has_any / has_none / empty', () => {
    expect(is({ tags: 'vip' }, f)).toBe(true);
    expect(is({ tags: { has: 'vip' } }, f)).toBe(true);
    expect(is({ tags: { has: 'refunded' } }, f)).toBe(false);
    expect(is({ tags: { not_has: 'refunded' } }, f)).toBe(true);
    expect(is({ tags: { not_has: 'vip' } }, f)).toBe(false);
    expect(is({ tags: { has_any: ['refunded', 'vip'] } }, f)).toBe(true);
    expect(is({ tags: { has_any: ['refunded', 'spam'] } }, f)).toBe(false);
    expect(is({ tags: { has_none: ['refunded', 'spam'] } }, f)).toBe(true);
    expect(is({ tags: { has_none: ['spam', 'paid'] } }, f)).toBe(false);
    expect(is({ tags: { empty: false } }, f)).toBe(true);
    expect(is({ tags: { empty: true } }, f)).toBe(false);
    expect(is({ tags: { empty: true } }, { tags: [] })).toBe(true);
  });
});

describe('conditions: operators on duration facts', () => {
  const f = { in_stage_for: 2 * HOUR, 'fired_ago.welcome-newcomer': null };
  it.each([
    [{ gt: '1h' }, true],
    [{ gt: '2h' }, false],
    [{ gte: '2h' }, true],
    [{ gte: '1h59m' }, true],
    [{ gte: '2h1m' }, false],
    [{ lt: '1d' }, true],
    [{ lt: '2h' }, false],
    [{ lte: '120m' }, true],
    [{ lte: '119m' }, false],
    [{ exists: true }, true],
  ])('in_stage_for (2h) %j → %s', (cond, expected) => {
    expect(is({ in_stage_for: cond }, f)).toBe(expected);
  });
  it('a rule that never fired has no fired_ago: every comparison is false, exists is false', () => {
    expect(is({ 'fired_ago.welcome-newcomer': { lt: '30d' } }, f)).toBe(false);
    expect(is({ 'fired_ago.welcome-newcomer': { gt: '30d' } }, f)).toBe(false);
    expect(is({ 'fired_ago.welcome-newcomer': { exists: false } }, f)).toBe(true);
    expect(is({ 'fired_ago.welcome-newcomer': { lt: '30d' } }, { 'fired_ago.welcome-newcomer': 3 * DAY })).toBe(true);
  });
  it('the trace shows durations in human form', () => {
    const { trace } = check({ in_stage_for: { gt: '3h' } }, { in_stage_for: 2 * HOUR + 30 * MINUTE });
    expect(trace).toEqual([{ condition: 'in_stage_for gt "3h"', actual: '2h30m', ok: false }]);
  });
});

describe('conditions: any / all / not', () => {
  const f = { stage: 'trial', is_dm: false, mentions_bot: true, active_groups: 1 };
  it('any holds when one item holds; all items are still evaluated for the trace', () => {
    const r = check({ any: [{ is_dm: true }, { mentions_bot: true }] }, f);
    expect(r.ok).toBe(true);
    expect(r.trace.map((t) => [t.condition, t.ok])).toEqual([
      ['is_dm eq true', false],
      ['mentions_bot eq true', true],
    ]);
    expect(is({ any: [{ is_dm: true }, { stage: 'paid' }] }, f)).toBe(false);
  });
  it('all, and any nested in a map with other conditions', () => {
    expect(is({ all: [{ stage: 'trial' }, { active_groups: 1 }] }, f)).toBe(true);
    expect(is({ all: [{ stage: 'trial' }, { active_groups: 0 }] }, f)).toBe(false);
    expect(is({ stage: 'trial', any: [{ is_dm: true }, { all: [{ mentions_bot: true }, { active_groups: { gt: 0 } }] }] }, f)).toBe(true);
    expect(is({ stage: 'paid', any: [{ is_dm: true }, { mentions_bot: true }] }, f)).toBe(false);
  });
  it('not inverts, and its trace entry says what it negated', () => {
    const r = check({ not: { stage: 'paid' } }, f);
    expect(r.ok).toBe(true);
    expect(r.trace).toEqual([{ condition: 'not (stage eq "paid")', actual: ['trial'], ok: true }]);
    expect(is({ not: { stage: 'trial' } }, f)).toBe(false);
    expect(is({ not: { stage: 'trial', is_dm: true } }, f)).toBe(true); // not (A and B)
    expect(is({ not: { any: [{ stage: 'paid' }, { is_dm: true }] } }, f)).toBe(true);
  });
  it('an empty when always holds', () => {
    expect(is({}, f)).toBe(true);
  });
});

describe('conditions: the trace lists every failed condition', () => {
  it('no short-circuit: each failing leaf is listed with the value it saw', () => {
    const r = check(
      { stage: { in: ['prospect', 'churned'] }, is_dm: true, active_groups: { gt: 5 }, mentions_bot: true },
      { stage: 'trial', is_dm: false, active_groups: 1, mentions_bot: true },
    );
    expect(r.ok).toBe(false);
    expect(r.trace).toEqual([
      { condition: 'stage in ["prospect","churned"]', actual: 'trial', ok: false },
      { condition: 'is_dm eq true', actual: false, ok: false },
      { condition: 'active_groups gt 5', actual: 1, ok: false },
      { condition: 'mentions_bot eq true', actual: true, ok: true },
    ]);
  });

  it('through the engine: the stored trace of an unmatched rule names each failed condition', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const r = h.engine.handleEvent(message('alice', '你好', { at: T0 + MINUTE }), T0 + MINUTE);
    const row = tracesOfEvent(h.db, r.eventRowId!).find((t) => t.rule_id === 'trial-on-request')!;
    expect(row.matched).toBe(0);
    const detail = JSON.parse(row.detail) as { conditions: CondResult[] };
    expect(detail.conditions.filter((c) => !c.ok)).toEqual([
      { condition: 'is_dm eq true', actual: false, ok: false },
      { condition: 'text contains "试听"', actual: '你好', ok: false },
    ]);
  });
});

describe('conditions: problems found at load', () => {
  it('an operator that does not fit the fact type', () => {
    expect(problemsOf({ tags: { gt: 3 } })).toEqual([
      { path: ['rules', 0, 'when', 'tags', 'gt'], message: expect.stringMatching(/operator "gt" does not apply to strings fact "tags"/) },
    ]);
    expect(problemsOf({ in_stage_for: { eq: '1h' } })[0]!.message).toMatch(/operator "eq" does not apply to duration fact/);
  });
  it('a value of the wrong type', () => {
    expect(problemsOf({ active_groups: { gt: 'two' } })[0]).toEqual({ path: ['rules', 0, 'when', 'active_groups', 'gt'], message: 'expected a number, got "two"' });
    expect(problemsOf({ is_dm: 'yes' })[0]!.message).toBe('expected true or false, got "yes"');
    expect(problemsOf({ stage: { in: 'trial' } })[0]!.message).toBe('"in" takes a list');
    expect(problemsOf({ stage: { exists: 'yes' } })[0]!.message).toBe('"exists" takes true or false');
    expect(problemsOf({ text: { matches: 42 } })[0]!.message).toMatch(/regular expression string/);
    expect(problemsOf({ text: { contains: null } })[0]!.message).toMatch(/expected text/);
  });
  it('a bad duration in a condition', () => {
    expect(problemsOf({ in_stage_for: { gt: '3 days' } })[0]).toEqual({
      path: ['rules', 0, 'when', 'in_stage_for', 'gt'],
      message: 'expected a duration such as 30m, 2h, 30d, got "3 days"',
    });
    expect(problemsOf({ in_stage_for: { gt: 3 } })[0]!.message).toMatch(/expected a duration/);
  });
  it('unknown facts, empty conditions, malformed any/not', () => {
    expect(problemsOf({ stagee: 'trial' })[0]!.message).toMatch(/^unknown fact "stagee"/);
    expect(problemsOf({ 'group.size': 3 })[0]!.message).toMatch(/^unknown fact "group.size"/);
    expect(problemsOf({ stage: {} })[0]!.message).toBe('empty condition');
    expect(problemsOf({ any: [] })[0]).toEqual({ path: ['rules', 0, 'when', 'any'], message: '"any" takes a non-empty list of condition maps' });
    expect(problemsOf({ any: ['stage'] })[0]!.path).toEqual(['rules', 0, 'when', 'any', 0]);
    expect(problemsOf({ not: [{ stage: 'trial' }] })[0]!.message).toBe('"not" takes a map of conditions');
    expect(problemsOf({ any: [{ stagee: 'x' }] })[0]!.path).toEqual(['rules', 0, 'when', 'any', 0, 'stagee']);
  });
  it('fired_ago needs a known rule id', () => {
    expect(problemsOf({ 'fired_ago.welcome-newcommer': { lt: '30d' } })).toEqual([
      { path: ['rules', 0, 'when', 'fired_ago.welcome-newcommer'], message: 'fired_ago.welcome-newcommer: no rule with id "welcome-newcommer"' },
    ]);
    expect(problemsOf({ 'fired_ago.welcome-newcomer': { lt: '30d' } })).toEqual([]);
    // Without a rule id it cannot be evaluated: a load error, not a run-time surprise.
    expect(problemsOf({ fired_ago: { lt: '30d' } })).toHaveLength(1);
    expect(problemsOf({ fired_ago: { lt: '30d' } })[0]!.message).toMatch(/fired_ago\.<a rule id>/);
  });
  it('fired_ago of an unknown rule fails loading the config, at its line', () => {
    const text = `rules:\n  - id: greet\n    on: member.joined\n    when:\n      stage: prospect\n      fired_ago.great: { gt: 1d }\n    do:\n      - set_stage: trial\n`;
    const problems = loadProblems(tempConfig({ 'rules.yaml': text }));
    expect(problems).toHaveLength(1);
    expect(basename(problems[0]!.file)).toBe('rules.yaml');
    expect(problems[0]).toMatchObject({ line: lineOf(text, 'fired_ago.great'), keyPath: 'rules[0].when.fired_ago.great', message: expect.stringMatching(/no rule with id "great"/) });
    // A rule may refer to itself.
    expect(() => loadConfig(tempConfig({ 'rules.yaml': text.replace('fired_ago.great', 'fired_ago.greet') }), { env: {} })).not.toThrow();
  });
});
