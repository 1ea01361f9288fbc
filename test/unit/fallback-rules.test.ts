import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import type { CondResult } from '../../src/core/rules/conditions.js';
import { findMemberByIdentity, tagsOf } from '../../src/store/members.js';
import { tracesOfEvent } from '../../src/store/traces.js';
import { T0, harness, message, outboxRows, removeTempDirs, tempConfig, type Harness } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

/** Four rules: the Q&A as a final fallback first, a second fallback, then what a seller appends. */
const RULES = `rules:
  - id: qa
    on: message
    when: { is_question: true }
    fallback: true
    final: true
    do:
      - reply: { text: "知识库的回答" }
  - id: qa-second
    on: message
    fallback: true
    do:
      - reply: { text: "第二个兜底" }
  - id: replay
    on: message
    when: { text: { contains: 回放 } }
    do:
      - reply: { text: "回放在这里" }
  - id: mark
    on: message
    when: { text: { contains: 标记 } }
    do:
      - tag: noted
`;

function setup(): Harness {
  return harness({ config: loadConfig(tempConfig({ 'rules.yaml': RULES }), { env: {} }) });
}

function say(h: Harness, text: string, at: number) {
  const r = h.engine.handleEvent(message('alice', text, { at }), at);
  const sent = outboxRows(h.db).filter((m) => m.event_id === r.eventRowId).map((m) => m.text);
  const traces = tracesOfEvent(h.db, r.eventRowId!).map((t) => {
    const d = JSON.parse(t.detail) as { conditions: CondResult[] };
    return { rule: t.rule_id, matched: t.matched === 1, failed: d.conditions.filter((c) => !c.ok) };
  });
  return { fired: r.fired, sent, traces };
}

describe('fallback rules: the Q&A answers only what no other rule answered', () => {
  it('a rule later in the file that answers keeps the fallbacks out, and the trace says which rule answered', () => {
    const h = setup();
    const r = say(h, '直播回放在哪里？', T0);
    expect(r.fired).toEqual(['replay']);
    expect(r.sent).toEqual(['回放在这里']);
    // The final fallback did not stop the rules after it from being checked.
    expect(r.traces.find((t) => t.rule === 'qa')).toMatchObject({ matched: false, failed: [{ condition: 'no other rule answered', actual: 'answered by replay', ok: false }] });
  });

  it('with no other answer the first fallback runs, and its final stops only the fallbacks after it', () => {
    const h = setup();
    const r = say(h, 'Python 怎么安装？', T0);
    expect(r.fired).toEqual(['qa']);
    expect(r.sent).toEqual(['知识库的回答']);
    expect(r.traces.some((t) => t.rule === 'qa-second')).toBe(false);
  });

  it('a rule that matched but sent nothing is no answer: the fallback still runs', () => {
    const h = setup();
    const r = say(h, '标记一下，这个怎么办？', T0);
    expect(r.fired).toEqual(['qa', 'mark']);
    expect(r.sent).toEqual(['知识库的回答']);
    expect(tagsOf(h.db, findMemberByIdentity(h.db, 'wechat', 'alice')!.id)).toContain('noted');
  });

  it('a fallback that is not final runs when nothing else answered, after the others', () => {
    const h = setup();
    const r = say(h, '今天天气不错', T0);
    expect(r.fired).toEqual(['qa-second']);
    expect(r.sent).toEqual(['第二个兜底']);
  });
});
