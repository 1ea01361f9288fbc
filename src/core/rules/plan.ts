import { evaluate, evaluateLeaf, type CondResult, type LeafCond } from './conditions.js';
import type { CompiledRule, Cond, FactSpec } from '../types.js';

/**
 * A rule set's rules of each trigger type with their conditions numbered, built once per config
 * (issue 20: a message runs 100 rules, their conditions about 500 checks). Most rules are one
 * condition or an `all` of conditions (`flat`): for them a run of the rules keeps each distinct
 * condition's result in an array slot instead of looking its text up in a map per check, and
 * walks no tree. Other rules (any, not) go through `evaluate` with the results shared by text.
 * Either way a condition is tested once per run and each rule reports every one of its
 * conditions in `evaluate`'s order, so traces are the same (test/unit/rule-sharing.test.ts).
 */
export interface PlannedRule {
  rule: CompiledRule;
  /** Each condition of a flat rule with its slot; undefined for a rule with any/not. */
  flat: { cond: LeafCond; slot: number }[] | undefined;
}

interface RulePlan {
  /** Distinct condition texts, one slot each. */
  slots: number;
  /** Whether some rule has any/not (its results are then shared by text too). */
  trees: boolean;
  byType: Map<string, PlannedRule[]>;
}

const plans = new WeakMap<CompiledRule[], RulePlan>();

function planOf(rules: CompiledRule[]): RulePlan {
  let plan = plans.get(rules);
  if (!plan) {
    const slotOf = new Map<string, number>();
    const slot = (label: string): number => {
      let n = slotOf.get(label);
      if (n === undefined) slotOf.set(label, (n = slotOf.size));
      return n;
    };
    const byType = new Map<string, PlannedRule[]>();
    let trees = false;
    for (const rule of rules) {
      const leaves = flatLeaves(rule.when);
      if (!leaves) trees = true;
      const p: PlannedRule = { rule, flat: leaves?.map((cond) => ({ cond, slot: slot(cond.label) })) };
      const list = byType.get(rule.on);
      if (list) list.push(p);
      else byType.set(rule.on, [p]);
    }
    plans.set(rules, (plan = { slots: slotOf.size, trees, byType }));
  }
  return plan;
}

/** The conditions of a rule that is one condition or an `all` of conditions, in evaluate's order. */
function flatLeaves(c: Cond): LeafCond[] | undefined {
  if (c.kind === 'leaf') return [c];
  if (c.kind !== 'all') return undefined;
  const out: LeafCond[] = [];
  for (const item of c.items) {
    if (item.kind !== 'leaf') return undefined;
    out.push(item);
  }
  return out;
}

/** The rules of a trigger type, in the file's order, planned (a message does not walk the joins' rules). */
export function plannedRules(rules: CompiledRule[], type: string): PlannedRule[] {
  return planOf(rules).byType.get(type) ?? [];
}

/** The rules of a set as planned, whatever their type (a job that names one rule). */
export function plannedRule(rules: CompiledRule[], rule: CompiledRule): PlannedRule {
  return planOf(rules).byType.get(rule.on)?.find((p) => p.rule === rule) ?? { rule, flat: undefined };
}

/** One run of the rules against one state of the facts: what each rule's conditions gave. */
export interface ConditionRun {
  /** Appends each of the rule's conditions' results to `out` (all of them: the trace says each that failed); whether they all held. */
  evaluate(p: PlannedRule, out: CondResult[]): boolean;
}

/**
 * Starts a run of `rules`: each distinct condition is tested once (`getFact` is the run's fact
 * cache) and its result object shared among the rules that check it; nobody changes them.
 */
export function conditionRun(rules: CompiledRule[], getFact: (f: FactSpec, param?: string) => unknown): ConditionRun {
  const plan = planOf(rules);
  const bySlot: (CondResult | undefined)[] = new Array<CondResult | undefined>(plan.slots);
  const byLabel = new Map<string, CondResult>();
  return {
    evaluate(p, out) {
      if (!p.flat) return evaluate(p.rule.when, getFact, out, byLabel);
      let ok = true;
      for (const { cond, slot } of p.flat) {
        let r = bySlot[slot];
        // Stryker disable next-line ConditionalExpression: a cache; testing the condition again gives the same result
        if (r === undefined) {
          // Stryker disable next-line ConditionalExpression: with no tree rule the map stays empty, so sharing through it changes nothing
          if (plan.trees) {
            r = byLabel.get(cond.label) ?? evaluateLeaf(cond, getFact);
            byLabel.set(cond.label, r);
          } else r = evaluateLeaf(cond, getFact);
          bySlot[slot] = r;
        }
        out.push(r);
        ok &&= r.ok;
      }
      return ok;
    },
  };
}
