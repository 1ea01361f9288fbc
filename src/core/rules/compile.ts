import { compileWhen, MAX_TOTAL_REGEX_COST, type CompileProblem, type RegexBudget } from './conditions.js';
import type { CompiledRule, CourseConfig, RawRule } from '../types.js';
import type { Registry } from '../registry.js';
import { didYouMean } from '../../util/suggest.js';

export type { CompiledRule };

/** Compiles raw rules; reports each problem at its key path through `problem`. */
export function compileRules(
  raw: RawRule[],
  config: CourseConfig,
  reg: Registry,
  problem: (path: (string | number)[], message: string) => void,
): CompiledRule[] {
  const ctx = { config, ruleIds: config.ruleIds };
  // One budget for the whole rule set: what bounds an event's time is the sum of its patterns.
  const regexBudget: RegexBudget = { left: MAX_TOTAL_REGEX_COST };
  return raw.map((rule, ri) => {
    const base = ['rules', ri];
    const problems: CompileProblem[] = [];
    const when = compileWhen(rule.when, reg.facts, config, [...base, 'when'], problems, regexBudget);
    for (const p of problems) problem(p.path, p.message);
    const actions: CompiledRule['actions'] = [];
    rule.do.forEach((item, ai) => {
      const path = [...base, 'do', ai];
      const keys = Object.keys(item);
      if (keys.length !== 1) {
        problem(path, `each action is a map with one key, the action name (got ${keys.length ? keys.join(', ') : 'none'})`);
        return;
      }
      const name = keys[0]!;
      const spec = reg.actions.get(name);
      if (!spec) {
        problem([...path, name], `unknown action "${name}"${didYouMean(name, reg.actions.keys())} (known: ${[...reg.actions.keys()].sort().join(', ')})`);
        return;
      }
      const parsed = spec.schema.safeParse(item[name]);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          problem([...path, name, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')], `${name}: ${issue.message}`);
        }
        return;
      }
      for (const msg of spec.check?.(parsed.data, ctx) ?? []) problem([...path, name], msg);
      actions.push({ spec, arg: parsed.data });
    });
    return {
      id: rule.id,
      description: rule.description ?? '',
      on: rule.on,
      when,
      cooldown: rule.cooldown,
      final: rule.final,
      fallback: rule.fallback,
      actions,
    };
  });
}
