/**
 * A large course for benchmarks: the demo course's folder plus `groups` trial groups and enough
 * message rules of the demo's kinds (keyword replies, tags, stage moves, role and group checks) to
 * make `rules` rules in all. Written to a temporary folder and loaded like any course.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CourseConfig } from '../src/config/load.js';
import { loadConfig } from '../src/app.js';

export function bigCourse(opts: { groups: number; rules: number }): { dir: string; config: CourseConfig; groupIds: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-bench-course-'));
  cpSync('test/fixtures/course', dir, { recursive: true });
  const groupIds = Array.from({ length: opts.groups }, (_, i) => `g${i}`);
  let main = readFileSync(join(dir, 'kequn.yaml'), 'utf8');
  main = main.replace(/^groups:\n/m, `groups:\n${groupIds.map((g, i) => `  ${g}:\n    name: 体验群 ${i}\n    kind: trial\n    wechat: ${g}@chatroom\n`).join('')}`);
  writeFileSync(join(dir, 'kequn.yaml'), main);
  const base = loadConfig(dir, { env: {} });
  const extra = opts.rules - base.rules.length;
  writeFileSync(join(dir, 'rules.yaml'), readFileSync(join(dir, 'rules.yaml'), 'utf8') + bulkRules(extra));
  return { dir, config: loadConfig(dir, { env: {} }), groupIds };
}

/** The json-rules-engine-comparable shape of one bulk rule (see rules.ts). */
export interface BulkRule {
  id: string;
  keyword: string;
  stages: string[];
  kind: 'reply' | 'tag' | 'stage';
}

export function bulkRuleSpecs(n: number): BulkRule[] {
  const stages = [['trial'], ['trial', 'nurture'], ['nurture', 'paid'], ['paid', 'mature', 'loyal']];
  return Array.from({ length: n }, (_, i) => ({ id: `bulk-${i}`, keyword: `关键词${i}`, stages: stages[i % stages.length]!, kind: (['reply', 'tag', 'stage'] as const)[i % 3]! }));
}

function bulkRules(n: number): string {
  return bulkRuleSpecs(n)
    .map((r) => {
      const action = r.kind === 'reply' ? `reply: { text: "收到 {name}：${r.keyword}" }` : r.kind === 'tag' ? `tag: kw-${r.id}` : 'set_stage: nurture';
      return `
  - id: ${r.id}
    on: message
    when:
      is_dm: false
      group.kind: trial
      role: member
      stage: { in: [${r.stages.join(', ')}] }
      text: { contains: "${r.keyword}" }
    do:
      - ${action}
`;
    })
    .join('');
}
