/**
 * Rule evaluation: kequn's compiled conditions vs json-rules-engine on the same 100 rules (the
 * demo's kind: group kind, role, stage, keyword) and the same 10,000 messages, facts precomputed
 * for both so only rule evaluation is measured. ratio = kequn / json-rules-engine.
 * Run: npx tsx bench/rules.ts
 */
import { Engine as JsonRulesEngine } from 'json-rules-engine';
import { loadConfig } from '../src/config/load.js';
import { evaluate, type CondResult } from '../src/flows/conditions.js';
import type { FactSpec } from '../src/flows/types.js';
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

if (import.meta.url === `file://${process.argv[1]}`) report(await benchRules());
