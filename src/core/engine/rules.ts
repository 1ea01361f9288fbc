import { getMember, type Member } from '../../store/members.js';
import { lastFired, recordFire, recordRuleOutcomes, traceCatalog, type RuleOutcome, type TraceCatalog } from '../../store/traces.js';
import { formatDuration } from '../../util/duration.js';
import { conditionLabels, type CondResult } from '../rules/conditions.js';
import { conditionRun, plannedRule, plannedRules } from '../rules/plan.js';
import type { CompiledRule } from '../rules/compile.js';
import type { Cond, CourseConfig, FactSpec, Trigger } from '../types.js';
import { runContext } from './run-context.js';
import type { EngineDeps, Fired, FollowUps } from './types.js';

const TRACE_VALUE_CHARS = 120;

/**
 * A condition's result for the trace, its value cut short: a 4,000-character message need not be
 * stored once per rule. One short copy per result object and run (`briefs`), shared like the results.
 */
function brief(c: CondResult, briefs: Map<CondResult, CondResult>): CondResult {
  if (typeof c.actual !== 'string' || c.actual.length <= TRACE_VALUE_CHARS) return c;
  let b = briefs.get(c);
  if (b === undefined) briefs.set(c, (b = { ...c, actual: `${c.actual.slice(0, TRACE_VALUE_CHARS)}…` }));
  return b;
}

/** The trace catalog of a rule set (its condition texts, see traces.ts), built once per config. */
const catalogs = new WeakMap<CompiledRule[], TraceCatalog>();

function catalogOf(rules: CompiledRule[]): TraceCatalog {
  let c = catalogs.get(rules);
  if (!c) {
    c = traceCatalog(
      rules.map((r) => ({
        id: r.id,
        labels: [...conditionLabels(r.when), ...(r.cooldown !== undefined ? [cooldownLabel(r.cooldown)] : []), ...(r.fallback ? [FALLBACK_LABEL] : [])],
      })),
    );
    catalogs.set(rules, c);
  }
  return c;
}

/**
 * The rules whose fires are remembered in rule_fires (one row per member and rule): those with a
 * cooldown and those a `fired_ago.<rule>` condition names, its only readers. The others' fires
 * are in rule_traces (`kequn why`) and need no row: a message that fires a keyword reply or the Q&A
 * writes no rule_fires page (issue 20). A rule given a cooldown or named by fired_ago later counts
 * its fires from then on.
 */
const rememberedSets = new WeakMap<CompiledRule[], Set<string>>();

export function rememberedRules(rules: CompiledRule[]): Set<string> {
  let s = rememberedSets.get(rules);
  if (!s) {
    s = new Set(rules.filter((r) => r.cooldown !== undefined).map((r) => r.id));
    const walk = (c: Cond): void => {
      if (c.kind === 'leaf') {
        if (c.fact.name === 'fired_ago' && c.param !== undefined) s!.add(c.param);
      } else if (c.kind === 'not') walk(c.item);
      else c.items.forEach(walk);
    };
    for (const r of rules) walk(r.when);
    rememberedSets.set(rules, s);
  }
  return s;
}

function cooldownLabel(ms: number): string {
  return `cooldown ${formatDuration(ms)}`;
}

/** The condition a fallback rule adds: it runs only when no other rule answered. */
export const FALLBACK_LABEL = 'no other rule answered';

/**
 * Evaluates the course's rules of the trigger's type (or one rule, for a job that names it)
 * against the state as it is, facts read once each, then runs the matching rules' actions in
 * order (a `final` rule stops the list) and records every rule's outcome for `kequn why`.
 * Fallback rules (`fallback: true`: answering a question) run after the others, and only when
 * none of them sent a message: a rule a seller appends for 「资料」 answers instead of the Q&A,
 * wherever it stands in the file. A fallback rule's `final` stops only the fallbacks after it.
 * Rule types the actions emitted run next, once.
 */
export function runRules(
  deps: EngineDeps,
  config: CourseConfig,
  trigger: Trigger,
  member: Member,
  now: number,
  onlyRule: string | undefined,
  isFollowUp = false,
): Fired {
  const { db } = deps;
  // Facts read once each: by spec, and by spec and parameter (`fired_ago.welcome`).
  const plain = new Map<FactSpec, unknown>();
  const withParam = new Map<string, unknown>();
  const factCtx = { db, config, now, trigger, member, services: deps.services() };
  const getFact = (spec: FactSpec, param?: string): unknown => {
    if (param === undefined) {
      if (!plain.has(spec)) plain.set(spec, spec.get(factCtx, param));
      return plain.get(spec);
    }
    const key = `${spec.name}.${param}`;
    if (!withParam.has(key)) withParam.set(key, spec.get(factCtx, param));
    return withParam.get(key);
  };
  const traces: { rule: CompiledRule; ok: boolean; conditions: CondResult[] }[] = [];
  let fallbacksDone = false;
  // Each distinct condition once per run (see plan.ts): the facts do not change before the actions run.
  const run = conditionRun(config.rules, getFact);
  const planned = onlyRule !== undefined ? config.rules.filter((r) => r.id === onlyRule).map((r) => plannedRule(config.rules, r)) : plannedRules(config.rules, trigger.type);
  for (const p of planned) {
    const rule = p.rule;
    if (rule.fallback && fallbacksDone) continue;
    const conditions: CondResult[] = [];
    let ok = run.evaluate(p, conditions);
    if (rule.cooldown !== undefined) {
      const last = lastFired(db, member.id, rule.id);
      const cooling = last !== undefined && now - last < rule.cooldown;
      conditions.push({
        condition: cooldownLabel(rule.cooldown),
        actual: last === undefined ? 'never fired' : `fired ${formatDuration(now - last)} ago`,
        ok: !cooling,
      });
      ok = ok && !cooling;
    }
    traces.push({ rule, ok, conditions });
    if (ok && rule.final) {
      if (!rule.fallback) break;
      fallbacksDone = true;
    }
  }
  let messages = 0;
  // A follow-up's own emits are dropped: a check-in rule cannot loop into itself.
  const followUps: FollowUps = new Map();
  const outcomes: RuleOutcome[] = new Array(traces.length);
  // The rules that answered (sent a message), for the fallbacks run after them.
  const answeredBy: string[] = [];
  const remembered = rememberedRules(config.rules);
  // A long value cut short once per run, not once per rule that shows it (the packer then packs one object).
  const briefs = new Map<CondResult, CondResult>();
  // The rules in order, the fallbacks after the others (in their order): no sort per event.
  const order: number[] = [];
  for (let i = 0; i < traces.length; i++) if (!traces[i]!.rule.fallback) order.push(i);
  for (let i = 0; i < traces.length; i++) if (traces[i]!.rule.fallback) order.push(i);
  for (const i of order) {
    const t = traces[i]!;
    if (t.ok && t.rule.fallback) {
      const answered = answeredBy.length > 0;
      t.conditions.push({ condition: FALLBACK_LABEL, actual: answered ? `answered by ${answeredBy.join(', ')}` : 'none answered', ok: !answered });
      t.ok = !answered;
    }
    if (!t.ok) {
      // A rule that did not match keeps only the conditions that failed: that is what `why` shows.
      const failed: CondResult[] = [];
      for (const c of t.conditions) if (!c.ok) failed.push(brief(c, briefs));
      outcomes[i] = { ruleId: t.rule.id, matched: false, detail: { conditions: failed } };
      continue;
    }
    const notes: string[] = [];
    const before = messages;
    const ctx = runContext(deps, config, trigger, member, now, t.rule.id, notes, () => messages++, followUps);
    for (const a of t.rule.actions) a.spec.run(a.arg, ctx);
    if (remembered.has(t.rule.id)) recordFire(db, member.id, t.rule.id, now);
    if (!t.rule.fallback && messages > before) answeredBy.push(t.rule.id);
    outcomes[i] = { ruleId: t.rule.id, matched: true, detail: { conditions: t.conditions.map((c) => brief(c, briefs)), actions: notes } };
  }
  recordRuleOutcomes(db, { eventId: trigger.eventId, jobId: trigger.jobId, memberId: member.id, at: now, trigger: trigger.type }, outcomes, catalogOf(config.rules));
  const fired = traces.filter((t) => t.ok).map((t) => t.rule.id);
  if (!isFollowUp && followUps.size > 0) {
    const f = runFollowUps(deps, config, trigger, member, now, followUps);
    fired.push(...f.fired);
    messages += f.messages;
  }
  return { fired, messages };
}

/** Rules of the types the actions emitted (`on: checkin`), once, on the state as it is now. */
export function runFollowUps(deps: EngineDeps, config: CourseConfig, trigger: Trigger, member: Member, now: number, types: FollowUps): Fired {
  const out = { fired: [] as string[], messages: 0 };
  for (const [type, vars] of types) {
    const current = getMember(deps.db, member.id) ?? member;
    const r = runRules(deps, config, { ...trigger, type, vars: { ...trigger.vars, ...vars } }, current, now, undefined, true);
    out.fired.push(...r.fired);
    out.messages += r.messages;
  }
  return out;
}
