/**
 * Rule evaluation: kequn's compiled conditions vs json-rules-engine on the same 100 rules (the
 * demo's kind: group kind, role, stage, keyword) and the same 10,000 messages, facts precomputed
 * for both so only rule evaluation is measured. ratio = kequn / json-rules-engine.
 * Run: npx tsx bench/rules.ts
 */
import { Engine as JsonRulesEngine } from 'json-rules-engine';
import { loadConfig } from '../src/app.js';
import { evaluate, MAX_TOTAL_REGEX_COST, type Cond, type CondResult } from '../src/core/rules/conditions.js';
import type { FactSpec } from '../src/core/types.js';
import { compileLinearRegex, MAX_SUBJECT_CHARS, type LinearRegex } from '../src/core/rules/linear-regex.js';
import { seededRandom } from '../src/util/random.js';
import { bigCourse, bulkRuleSpecs } from './course-fixture.js';
import { report, type BenchResult } from './report.js';

const RULES = 100;
const EVENTS = 10_000;

interface Facts {
  is_dm: boolean;
  'group.kind': string;
  role: string;
  stage: string;
  text: string;
}

function events(): Facts[] {
  const r = seededRandom(7);
  const stages = ['prospect', 'trial', 'nurture', 'paid', 'mature'];
  return Array.from({ length: EVENTS }, (_, i) => ({
    is_dm: r() < 0.1,
    'group.kind': r() < 0.8 ? 'trial' : 'paid',
    role: r() < 0.95 ? 'member' : 'instructor',
    stage: stages[Math.floor(r() * stages.length)]!,
    text: r() < 0.2 ? `今天复习了关键词${Math.floor(r() * RULES)}` : `第${i}条消息，老师好`,
  }));
}

export async function benchRules(): Promise<BenchResult[]> {
  const demoRules = loadConfig('test/fixtures/course', { env: {} }).rules.length;
  const { config } = bigCourse({ groups: 1, rules: RULES + demoRules });
  const rules = config.rules.filter((r) => r.id.startsWith('bulk-'));
  if (rules.length !== RULES) throw new Error(`expected ${RULES} bulk rules, got ${rules.length}`);
  const evs = events();

  // kequn: the engine's own evaluate(), with a per-event fact lookup as in runRules.
  let kequnMatches = 0;
  const t0 = performance.now();
  for (const ev of evs) {
    const getFact = (f: FactSpec) => ev[f.name as keyof Facts];
    for (const rule of rules) {
      const out: CondResult[] = [];
      if (evaluate(rule.when, getFact, out)) kequnMatches++;
    }
  }
  const kequnSecs = (performance.now() - t0) / 1000;

  // json-rules-engine: the same rules as JSON, a custom operator for substring match.
  const engine = new JsonRulesEngine([], { allowUndefinedFacts: true });
  engine.addOperator('textContains', (a: unknown, b: unknown) => typeof a === 'string' && a.toLowerCase().includes(String(b).toLowerCase()));
  for (const spec of bulkRuleSpecs(RULES)) {
    engine.addRule({
      name: spec.id,
      conditions: {
        all: [
          { fact: 'is_dm', operator: 'equal', value: false },
          { fact: 'group_kind', operator: 'equal', value: 'trial' },
          { fact: 'role', operator: 'equal', value: 'member' },
          { fact: 'stage', operator: 'in', value: spec.stages },
          { fact: 'text', operator: 'textContains', value: spec.keyword },
        ],
      },
      event: { type: spec.id },
    });
  }
  let jreMatches = 0;
  const t1 = performance.now();
  for (const ev of evs) {
    const { events: fired } = await engine.run({ is_dm: ev.is_dm, group_kind: ev['group.kind'], role: ev.role, stage: ev.stage, text: ev.text });
    jreMatches += fired.length;
  }
  const jreSecs = (performance.now() - t1) / 1000;
  if (jreMatches !== kequnMatches) throw new Error(`the engines disagree: kequn matched ${kequnMatches}, json-rules-engine ${jreMatches}`);

  const evals = EVENTS * RULES;
  const ratio = evals / kequnSecs / (evals / jreSecs);
  return [
    {
      name: 'rules.evaluations_per_s',
      value: evals / kequnSecs,
      unit: 'rule evals/s',
      baseline: 'json-rules-engine',
      baseline_value: evals / jreSecs,
      ratio,
      target: 'ratio >= 10',
      met: ratio >= 10,
      note: `${RULES} rules × ${EVENTS} messages, ${kequnMatches} matches in both; kequn records every condition for the trace`,
    },
  ];
}

/** The `matches` leaves of a condition tree. */
function regexLeaves(c: Cond): Extract<Cond, { kind: 'leaf' }>[] {
  if (c.kind === 'leaf') return c.op === 'matches' ? [c] : [];
  if (c.kind === 'not') return regexLeaves(c.item);
  return c.items.flatMap(regexLeaves);
}

/**
 * Rule regexes (`matches`), which run on a linear-time engine (re2js, src/core/rules/linear-regex.ts):
 * the demo's patterns on chat messages, against the JavaScript RegExp they ran on before; and
 * the worst an event can spend in them, patterns at the cost limit on adversarial
 * 4,000-character messages.
 */
export function benchRegexRules(): BenchResult[] {
  const config = loadConfig('test/fixtures/course', { env: {} });
  const leaves = config.rules.flatMap((r) => regexLeaves(r.when));
  const r = seededRandom(11);
  const texts = ['打卡 学完了第一课', '　打卡 第3天', '请问这个课多少钱？', '我的推荐码', '我要报名', '排行榜', '交作业 https://example.com/hw1', '老师好，我想问一下 Python 的安装问题，怎么配置环境变量呢？'];
  const messages = Array.from({ length: EVENTS }, (_, i) => (r() < 0.7 ? texts[i % texts.length]! : `第${i}条消息，老师好${'，嗯'.repeat(Math.floor(r() * 20))}`));
  const runKequn = () => {
    let n = 0;
    for (const text of messages) {
      for (const leaf of leaves) {
        const out: CondResult[] = [];
        if (evaluate(leaf, () => text, out)) n++;
      }
    }
    return n;
  };
  const native = leaves.map((l) => new RegExp(JSON.parse(l.label.slice(l.label.indexOf(' matches ') + 9)) as string, 'iu'));
  const runNative = () => {
    let n = 0;
    for (const text of messages) for (const re of native) if (re.test(text)) n++;
    return n;
  };
  runKequn();
  runNative();
  const t0 = performance.now();
  const kequnMatches = runKequn();
  const kequnSecs = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const nativeMatches = runNative();
  const nativeSecs = (performance.now() - t1) / 1000;
  if (kequnMatches !== nativeMatches) throw new Error(`the engines disagree: re2js matched ${kequnMatches}, RegExp ${nativeMatches}`);
  const evals = messages.length * leaves.length;

  // The worst case the limits allow: patterns that make RE2 work hardest, up to the total cost.
  const evil: LinearRegex[] = [];
  let cost = 0;
  for (const p of ['[ab]*a[ab]{280}x', '[^x]*a[^x]{280}x', '(?:[ab]*a[ab]{20}){5}x', '(a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p|q|r|s|t|u|v|w|x|y|z|学|长){9}!', '^(a+)+$', '(a|aa)*b', '(.*a){12}', '[\\s\\S]{150}x']) {
    const c = compileLinearRegex(p, { ignoreCase: true });
    if (!c.ok) throw new Error(c.message);
    // As many as the limit lets through, the costliest first.
    if (cost + c.regex.cost > MAX_TOTAL_REGEX_COST) continue;
    evil.push(c.regex);
    cost += c.regex.cost;
  }
  const adversarial = () => [Array.from({ length: MAX_SUBJECT_CHARS }, () => (r() < 0.5 ? 'a' : 'b')).join(''), 'a'.repeat(MAX_SUBJECT_CHARS), '学'.repeat(MAX_SUBJECT_CHARS), 'a '.repeat(MAX_SUBJECT_CHARS / 2)];
  let worst = 0;
  for (let round = 0; round < 5; round++) {
    for (const text of adversarial()) {
      const t = performance.now();
      for (const e of evil) e.test(text);
      worst = Math.max(worst, performance.now() - t);
    }
  }
  return [
    {
      name: 'rules.regex_evaluations_per_s',
      value: evals / kequnSecs,
      unit: 'regex evals/s',
      baseline: 'JavaScript RegExp (backtracking)',
      baseline_value: evals / nativeSecs,
      ratio: evals / kequnSecs / (evals / nativeSecs),
      target: '>= 100000 (10 µs a test)',
      met: evals / kequnSecs >= 100_000,
      note: `the demo's ${leaves.length} \`matches\` conditions × ${messages.length} chat messages, ${kequnMatches} matches in both; linear time costs this much against backtracking`,
    },
    {
      name: 'rules.regex_worst_event_ms',
      value: worst,
      unit: 'ms',
      target: '<= 300',
      met: worst <= 300,
      note: `${evil.length} adversarial patterns costing ${cost} of the ${MAX_TOTAL_REGEX_COST} allowed, on ${MAX_SUBJECT_CHARS}-character messages built against them: the most one event can spend in rule regexes`,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) report([...(await benchRules()), ...benchRegexRules()]);
