/**
 * Issue 20: a run of the rules tests each distinct condition once and shares its result among
 * the rules that check it (src/core/rules/plan.ts: numbered slots for flat rules; conditions.ts
 * evaluate, `leaves`, for the others), a long value is cut short once per run, the rules of a
 * trigger type come from an index, and the trace packer packs a shared result once
 * (src/store/traces.ts). On a generated rule set whose rules share most of their conditions, and
 * generated events, the engine must give what evaluating every rule on its own gives: the same
 * rules fired, the same packed rows byte for byte, and the same `kequn why` traces.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { seededRandom } from '../../src/util/random.js';

type Fixtures = typeof import('../helpers/fixtures.js');
type Traces = typeof import('../../src/store/traces.js');
type Members = typeof import('../../src/store/members.js');
type App = typeof import('../../src/app.js');

const CONDITIONS = [
  'is_dm: false',
  'is_dm: true',
  'group.kind: trial',
  'group.kind: paid',
  'role: member',
  'stage: { in: [prospect, trial] }',
  'stage: { in: [nurture, paid] }',
  'stage: prospect',
  'mentions_bot: true',
  'tags: { has: kw-a }',
  'text: { exists: true }',
  ...['作业', '直播', '资料', 'python', '报名', '优惠', '老师', '打卡'].map((w) => `text: { contains: "${w}" }`),
];
const PATTERNS = ['text: { matches: "作业|资料" }', 'text: { matches: "^第[0-9]+课" }'];

/** `n` message rules, each a few conditions drawn from a small pool (so most are shared), some under any/not. */
export function generatedRules(n: number, r: () => number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const cond = (): string => {
    const x = r();
    if (x < 0.1) return `{ any: [{ ${pick(CONDITIONS)} }, { ${pick(CONDITIONS)} }] }`;
    if (x < 0.18) return `{ not: { ${pick(CONDITIONS)} } }`;
    return `{ ${pick(CONDITIONS)} }`;
  };
  let out = '';
  for (let i = 0; i < n; i++) {
    const items = Array.from({ length: 1 + Math.floor(r() * 4) }, cond);
    // A few regexes, each used by several rules (their cost counts once per use).
    if (i % 15 === 0) items.push(`{ ${PATTERNS[(i / 15) % 2]!} }`);
    const action = pick(['reply: { text: "收到 {name}" }', 'tag: kw-a', 'untag: kw-a', 'set_stage: nurture', 'set_stage: trial']);
    out += `
  - id: gen-${i}
    on: message
    when: { all: [${items.join(', ')}] }${r() < 0.05 ? '\n    final: true' : ''}
    do:
      - ${action}
`;
  }
  return out;
}

const WORDS = ['作业', '直播', '资料', 'Python', '报名', '优惠', '老师', '打卡', '今天', '第3课', '谢谢'];
const GROUPS = [
  { id: 'python-101@chatroom', name: 'Python 入门体验群' },
  { id: 'python-vip@chatroom', name: 'Python 数据分析正式班' },
];

interface Outcome {
  fired: string[][];
  unmatched: (string | null)[];
  why: unknown[];
}

/** The generated course and events through the engine of `f` (the modules as they are, or with `evaluate` mocked). */
function run([f, traces, members, app]: [Fixtures, Traces, Members, App]): Outcome {
  const dir = f.tempConfig({ 'rules.yaml': (t) => t + generatedRules(120, seededRandom(7)) });
  const h = f.harness({ config: app.loadConfig(dir, { env: {} }) });
  const r = seededRandom(11);
  const out: Outcome = { fired: [], unmatched: [], why: [] };
  for (let i = 0; i < 150; i++) {
    const user = `u${Math.floor(r() * 8)}`;
    const words = Array.from({ length: 1 + Math.floor(r() * 4) }, () => WORDS[Math.floor(r() * WORDS.length)]!);
    // Some long messages: a trace keeps 120 characters of a long value.
    const text = r() < 0.1 ? words.join('').repeat(40) : words.join(' ');
    const at = f.T0 + i * f.SECOND;
    const res = h.engine.handleEvent(f.message(user, text, { at, dm: r() < 0.2, group: GROUPS[Math.floor(r() * 2)]!, mentionsBot: r() < 0.2, eventId: `e${i}` }), at);
    expect(res.status).toBe('handled');
    out.fired.push(res.fired);
    out.unmatched.push((h.db.prepare('SELECT unmatched FROM events WHERE id = ?').get(res.eventRowId) as { unmatched: string | null }).unmatched);
    out.why.push(traces.tracesOfEvent(h.db, res.eventRowId!));
  }
  for (let u = 0; u < 8; u++) {
    const m = members.findMemberByIdentity(h.db, 'wechat', `u${u}`);
    if (m) out.why.push(traces.recentTraces(h.db, m.id, 10_000));
  }
  return out;
}

/** Imported afresh after vi.resetModules: the engine and the store of the current module graph. */
const modules = async (): Promise<[Fixtures, Traces, Members, App]> =>
  Promise.all([import('../helpers/fixtures.js'), import('../../src/store/traces.js'), import('../../src/store/members.js'), import('../../src/app.js')]);

afterAll(async () => (await import('../helpers/fixtures.js')).removeTempDirs());

describe('shared condition results and the rules-by-type index', () => {
  it('give the same fires, packed rows and `kequn why` traces as evaluating every rule on its own', async () => {
    const now = run(await modules());
    // Something to compare: rules fired and rules not matched, several conditions failed per rule.
    expect(now.fired.flat().filter((x) => x.startsWith('gen-')).length).toBeGreaterThan(50);
    expect(now.unmatched.every((u) => u !== null && u.includes('"packed"'))).toBe(true);

    // The reference: `evaluate` with no shared results, every leaf tested for every rule (and
    // so no result object shared, packed each time).
    vi.resetModules();
    vi.doMock('../../src/core/rules/conditions.js', async (importOriginal) => {
      const actual = await importOriginal<typeof import('../../src/core/rules/conditions.js')>();
      return { ...actual, evaluate: (c: Parameters<typeof actual.evaluate>[0], g: Parameters<typeof actual.evaluate>[1], o: Parameters<typeof actual.evaluate>[2]) => actual.evaluate(c, g, o) };
    });
    // And no numbered slots (src/core/rules/plan.ts): every rule's whole `when` tree evaluated on its own.
    vi.doMock('../../src/core/rules/plan.js', async (importOriginal) => {
      const actual = await importOriginal<typeof import('../../src/core/rules/plan.js')>();
      const { evaluate } = await import('../../src/core/rules/conditions.js');
      return { ...actual, conditionRun: (_rules: unknown, getFact: Parameters<typeof evaluate>[1]) => ({ evaluate: (p: { rule: { when: Parameters<typeof evaluate>[0] } }, out: Parameters<typeof evaluate>[2]) => evaluate(p.rule.when, getFact, out) }) };
    });
    const ref = run(await modules());
    vi.doUnmock('../../src/core/rules/conditions.js');
    vi.doUnmock('../../src/core/rules/plan.js');
    vi.resetModules();

    // Member ids and a checkout link's order number are random: the rest is compared as is.
    const same = (x: unknown): unknown => JSON.parse(JSON.stringify(x).replace(/\bo_[\w-]{12}/g, 'o_(order)').replace(/\bm_[0-9a-f]{16}/g, 'm_(member)'));
    expect(now.fired).toEqual(ref.fired);
    expect(same(now.unmatched)).toEqual(same(ref.unmatched));
    expect(same(now.why)).toEqual(same(ref.why));
  });
});
