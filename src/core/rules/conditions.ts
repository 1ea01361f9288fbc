import { isDuration, parseDuration, formatDuration } from '../../util/duration.js';
import { compileLinearRegex, type LinearRegex } from './linear-regex.js';
import type { Cond, CourseConfig, FactSpec, FactType } from '../types.js';

export type { Cond };
import { didYouMean } from '../../util/suggest.js';

/**
 * Rule conditions: a `when:` map compiled once at load into a tree of checks. Every fact and
 * operator is known at load; an unknown one is a config error, never a run-time `undefined`.
 *
 * @example
 * when:
 *   stage: { in: [prospect, churned] }    # operator form
 *   group.kind: trial                     # shorthand for eq
 *   any: [{ is_dm: true }, { mentions_bot: true }]
 *   fired_ago.welcome-newcomer: { lt: 30d }
 */

const OPS: Record<FactType, string[]> = {
  string: ['eq', 'ne', 'in', 'not_in', 'contains', 'matches', 'exists'],
  number: ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in'],
  boolean: ['eq', 'ne'],
  strings: ['has', 'not_has', 'has_any', 'has_none', 'empty'],
  duration: ['gt', 'gte', 'lt', 'lte', 'exists'],
};

export interface CompileProblem {
  path: (string | number)[];
  message: string;
}

/**
 * What all the `matches` patterns of a rule set may cost together (RE2 program sizes, see
 * src/core/rules/linear-regex.ts). Every condition of a rule is evaluated for its trigger, so this
 * bounds the time one event spends in regexes: patterns built to make RE2 work hardest, at
 * this limit, on 4,000-character messages built against them take 0.1-0.3 s on 2 shared cores
 * (`npm run bench`: rules.regex_worst_event_ms; the hostile drill `names-and-patterns` holds
 * every event under 1 s). The demo's seven patterns cost 105; a 20-keyword alternation 69.
 */
export const MAX_TOTAL_REGEX_COST = 600;

/** The regex cost still allowed while compiling a rule set (shared by all its rules). */
export interface RegexBudget {
  left: number;
}

export function compileWhen(
  when: Record<string, unknown>,
  facts: Map<string, FactSpec>,
  config: CourseConfig,
  basePath: (string | number)[],
  problems: CompileProblem[],
  budget: RegexBudget = { left: MAX_TOTAL_REGEX_COST },
): Cond {
  const items: Cond[] = [];
  for (const [key, value] of Object.entries(when)) {
    const path = [...basePath, key];
    if (key === 'any' || key === 'all') {
      if (!Array.isArray(value) || value.length === 0) {
        problems.push({ path, message: `"${key}" takes a non-empty list of condition maps` });
        continue;
      }
      const sub = value.map((v, i) => {
        if (!isPlainObject(v)) {
          problems.push({ path: [...path, i], message: 'expected a map of conditions' });
          return { kind: 'all', items: [] } as Cond;
        }
        return compileWhen(v, facts, config, [...path, i], problems, budget);
      });
      items.push({ kind: key, items: sub });
    } else if (key === 'not') {
      if (!isPlainObject(value)) {
        problems.push({ path, message: '"not" takes a map of conditions' });
        continue;
      }
      items.push({ kind: 'not', item: compileWhen(value, facts, config, path, problems, budget) });
    } else {
      items.push(...compileLeaf(key, value, facts, config, path, problems, budget));
    }
  }
  return items.length === 1 ? items[0]! : { kind: 'all', items };
}

function compileLeaf(
  key: string,
  value: unknown,
  facts: Map<string, FactSpec>,
  config: CourseConfig,
  path: (string | number)[],
  problems: CompileProblem[],
  budget: RegexBudget,
): Cond[] {
  const found = lookupFact(key, facts);
  if (!found) {
    problems.push({ path, message: `unknown fact "${key}"${didYouMean(key, facts.keys())} (known: ${[...facts.keys()].sort().join(', ')})` });
    // Stryker disable next-line ArrayDeclaration: with a problem the config does not load, so what is compiled here is never used
    return [];
  }
  const { fact, param } = found;
  if (fact.param) {
    if (param === undefined) {
      // Without its parameter the fact has nothing to look up and would silently read as null.
      problems.push({ path, message: `"${key}" needs a parameter (${fact.param.describe}): write ${key}.<${fact.param.describe}>` });
      // Stryker disable next-line ArrayDeclaration: with a problem the config does not load
      return [];
    }
    const err = fact.param.check(param, config);
    if (err) {
      problems.push({ path, message: err });
      // Stryker disable next-line ArrayDeclaration: with a problem the config does not load
      return [];
    }
  }
  const ops: [string, unknown][] = isPlainObject(value) ? Object.entries(value) : [[defaultOp(fact.type, value), value]];
  if (ops.length === 0) {
    problems.push({ path, message: 'empty condition' });
    // Stryker disable next-line ArrayDeclaration: with a problem the config does not load
    return [];
  }
  const out: Cond[] = [];
  for (const [op, raw] of ops) {
    const opPath = isPlainObject(value) ? [...path, op] : path;
    if (!OPS[fact.type].includes(op)) {
      problems.push({ path: opPath, message: `operator "${op}" does not apply to ${fact.type} fact "${key}" (use one of: ${OPS[fact.type].join(', ')})` });
      continue;
    }
    const checked = checkValue(fact.type, op, raw);
    if (typeof checked === 'string') {
      problems.push({ path: opPath, message: checked });
      continue;
    }
    const unknown = unknownValue(fact, op, checked.value, config);
    if (unknown) {
      problems.push({ path: opPath, message: unknown });
      continue;
    }
    if (op === 'matches') {
      const cost = (checked.value as LinearRegex).cost;
      if (cost > budget.left) {
        problems.push({ path: opPath, message: `the rules' regular expressions are too costly together: this one (cost ${cost}) goes over the ${MAX_TOTAL_REGEX_COST} all "matches" conditions may cost (${MAX_TOTAL_REGEX_COST - budget.left} used before it); use "contains" for plain words` });
        continue;
      }
      budget.left -= cost;
    }
    out.push({ kind: 'leaf', fact, param, op, value: checked.value, label: `${key} ${op} ${JSON.stringify(raw)}` });
  }
  return out;
}

/** The fact a condition key names: `stage` itself, or `fired_ago` with its parameter for `fired_ago.welcome`. */
function lookupFact(key: string, facts: Map<string, FactSpec>): { fact: FactSpec; param?: string } | undefined {
  const fact = facts.get(key);
  if (fact) return { fact };
  const dot = key.indexOf('.');
  const base = dot === -1 ? undefined : facts.get(key.slice(0, dot));
  return base?.param ? { fact: base, param: key.slice(dot + 1) } : undefined;
}

/** A value a fact with known `values` cannot take (compared as ids: not `contains`, `matches`, `exists`, `empty`). */
function unknownValue(fact: FactSpec, op: string, value: unknown, config: CourseConfig): string | undefined {
  if (!fact.values || ['contains', 'matches', 'exists', 'empty'].includes(op)) return undefined;
  const known = fact.values.known(config);
  const bad = (Array.isArray(value) ? value : [value]).find((v) => typeof v === 'string' && !known.includes(v)) as string | undefined;
  if (bad === undefined) return undefined;
  return `"${bad}" is not ${fact.values.describe}${didYouMean(bad, known)} (known: ${known.length > 0 ? known.join(', ') : 'none'})`;
}

function defaultOp(type: FactType, value: unknown): string {
  if (type === 'strings') return 'has';
  if (Array.isArray(value)) return 'in';
  return 'eq';
}

function checkValue(type: FactType, op: string, raw: unknown): { value: unknown } | string {
  if (op === 'exists' || op === 'empty') {
    return typeof raw === 'boolean' ? { value: raw } : `"${op}" takes true or false`;
  }
  if (op === 'matches') {
    if (typeof raw !== 'string') return '"matches" takes a regular expression string';
    // Linear time whatever the message (src/core/rules/linear-regex.ts): a config regex must never be
    // able to freeze the process. JavaScript syntax, case-insensitive, Unicode.
    const r = compileLinearRegex(raw, { ignoreCase: true });
    return r.ok ? { value: r.regex } : r.message;
  }
  const list = op === 'in' || op === 'not_in' || op === 'has_any' || op === 'has_none';
  const items = list ? raw : [raw];
  if (!Array.isArray(items)) return `"${op}" takes a list`;
  const scalarType = type === 'strings' ? 'string' : type;
  for (const item of items) {
    if (scalarType === 'duration') {
      if (!isDuration(item)) return `expected a duration such as 30m, 2h, 30d, got ${JSON.stringify(item)}`;
    } else if (scalarType === 'string' && !(typeof item === 'string' || (item === null && op !== 'contains'))) {
      return `expected text, got ${JSON.stringify(item)}`;
    } else if (scalarType === 'number' && typeof item !== 'number') {
      return `expected a number, got ${JSON.stringify(item)}`;
    } else if (scalarType === 'boolean' && typeof item !== 'boolean') {
      return `expected true or false, got ${JSON.stringify(item)}`;
    }
  }
  const converted = scalarType === 'duration' ? (items as string[]).map(parseDuration) : items;
  return { value: list ? converted : converted[0] };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One evaluated condition, as `kequn why` shows it. */
export interface CondResult {
  condition: string;
  actual: unknown;
  ok: boolean;
}

/**
 * Evaluates a compiled condition. `getFact` is the per-event lazy cache. Every leaf is evaluated
 * (no short-circuit) so the trace says each condition that failed, not only the first.
 *
 * `leaves`: the results of the leaves already evaluated against the same facts, by label (one
 * per run of the rules). A leaf's label names its fact, parameter, operator and value (`stage in
 * ["trial"]`), so two leaves with one label give the same result: 100 rules checking `is_dm eq
 * false` test it once (issue 20). The result objects are shared; nobody changes them.
 */
export function evaluate(cond: Cond, getFact: (f: FactSpec, param?: string) => unknown, out: CondResult[], leaves?: Map<string, CondResult>): boolean {
  switch (cond.kind) {
    case 'all':
    case 'any': {
      // Every item, even once the answer is known (see above); plain loops: 100 rules per message.
      let all = true;
      let any = false;
      for (const c of cond.items) {
        const r = evaluate(c, getFact, out, leaves);
        all &&= r;
        any ||= r;
      }
      return cond.kind === 'all' ? all : any;
    }
    case 'not': {
      const inner: CondResult[] = [];
      const r = !evaluate(cond.item, getFact, inner, leaves);
      out.push({ condition: `not (${inner.map((i) => i.condition).join(' and ')})`, actual: inner.map((i) => i.actual), ok: r });
      return r;
    }
    case 'leaf': {
      let res = leaves?.get(cond.label);
      if (res === undefined) {
        res = evaluateLeaf(cond, getFact);
        leaves?.set(cond.label, res);
      }
      out.push(res);
      return res.ok;
    }
  }
}

/** One condition's result, as `evaluate` reports it (src/core/rules/plan.ts evaluates flat rules with it). */
export function evaluateLeaf(cond: LeafCond, getFact: (f: FactSpec, param?: string) => unknown): CondResult {
  const actual = getFact(cond.fact, cond.param);
  return { condition: cond.label, actual: cond.fact.type === 'duration' && typeof actual === 'number' ? formatDuration(actual) : actual, ok: test(cond.op, actual, cond.value) };
}

export type LeafCond = Extract<Cond, { kind: 'leaf' }>;

/**
 * The condition texts `evaluate` reports for `cond`, in its order. Static: every leaf is always
 * evaluated, so a rule's texts are the same for every event (traces number them, see traces.ts).
 */
export function conditionLabels(cond: Cond): string[] {
  switch (cond.kind) {
    case 'all':
    case 'any':
      return cond.items.flatMap(conditionLabels);
    case 'not':
      return [`not (${conditionLabels(cond.item).join(' and ')})`];
    case 'leaf':
      return [cond.label];
  }
}

/**
 * `toLowerCase` of a fact, remembering the last one: with 100 keyword rules the same message
 * text was lowered 100 times per message.
 */
function lowerFact(text: string): string {
  // Stryker disable next-line ConditionalExpression: a cache; lowering the text again gives the same result
  if (text !== lastFact) {
    lastFact = text;
    lastFactLower = text.toLowerCase();
  }
  return lastFactLower;
}

let lastFact: string | undefined;
// Stryker disable next-line StringLiteral: never read before lowerFact sets it
let lastFactLower = '';

/** `toLowerCase` of a rule's own value (from config, so a bounded set). */
function lowerValue(text: string): string {
  let l = loweredValues.get(text);
  // Stryker disable next-line ConditionalExpression: a cache; lowering the value again gives the same result
  if (l === undefined) {
    // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: the cache's size bound; clearing it sooner or later gives the same results
    if (loweredValues.size >= 10_000) loweredValues.clear();
    l = text.toLowerCase();
    loweredValues.set(text, l);
  }
  return l;
}

const loweredValues = new Map<string, string>();

function test(op: string, actual: unknown, expected: unknown): boolean {
  switch (op) {
    case 'eq':
      return actual === expected;
    case 'ne':
      return actual !== expected;
    case 'in':
      return (expected as unknown[]).includes(actual);
    case 'not_in':
      return !(expected as unknown[]).includes(actual);
    case 'contains':
      return typeof actual === 'string' && lowerFact(actual).includes(lowerValue(String(expected)));
    case 'matches':
      return typeof actual === 'string' && (expected as LinearRegex).test(actual);
    case 'exists':
      return (actual !== null && actual !== undefined && actual !== '') === expected;
    case 'gt':
      return typeof actual === 'number' && actual > (expected as number);
    case 'gte':
      return typeof actual === 'number' && actual >= (expected as number);
    case 'lt':
      return typeof actual === 'number' && actual < (expected as number);
    case 'lte':
      return typeof actual === 'number' && actual <= (expected as number);
    case 'has':
      return Array.isArray(actual) && actual.includes(expected);
    case 'not_has':
      return Array.isArray(actual) && !actual.includes(expected);
    case 'has_any':
      return Array.isArray(actual) && (expected as unknown[]).some((e) => actual.includes(e));
    case 'has_none':
      return Array.isArray(actual) && !(expected as unknown[]).some((e) => actual.includes(e));
    case 'empty':
      return Array.isArray(actual) && (actual.length === 0) === expected;
    default:
      throw new Error(`unknown operator ${op}`);
  }
}
