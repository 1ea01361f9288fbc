import { afterAll, describe, expect, it } from 'vitest';
import { didYouMean } from '../../src/util/suggest.js';
import { loadProblems, removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

/** The messages of every problem of a course folder edited by `edits`. */
function messages(edits: Parameters<typeof tempConfig>[0]): string[] {
  return loadProblems(tempConfig(edits)).map((p) => `${p.keyPath}: ${p.message}`);
}

describe('kequn check suggests the name that was meant', () => {
  it('a template variable, a template, an action, a stage and a fact, each with its suggestion', () => {
    expect(messages({ 'templates.yaml': (t) => replaceOnce(t, '欢迎 {name} 加入', '欢迎 {nmae} 加入') })).toEqual([
      expect.stringMatching(/^welcome_group: unknown template variable \{nmae\}; did you mean "name"\? \(variables: /),
    ]);
    const rules = messages({
      'rules.yaml': (t) =>
        replaceOnce(replaceOnce(replaceOnce(t, '- reply: welcome_group', '- reply: welcom_group'), '- dm: welcome_dm', '- dmm: welcome_dm'), '- set_stage: trial\n      # sequences.trial', '- set_stage: trail\n      # sequences.trial'),
    });
    expect(rules).toEqual([
      expect.stringMatching(/^rules\[0\]\.do\[0\]\.reply: unknown template "welcom_group"; did you mean "welcome_group"\? \(templates: /),
      expect.stringMatching(/^rules\[0\]\.do\[1\]\.set_stage: unknown stage "trail"; did you mean "trial"\? \(stages: /),
      expect.stringMatching(/^rules\[1\]\.do\[0\]\.dmm: unknown action "dmm"; did you mean "dm"\? \(known: /),
    ]);
  });

  it('says nothing when no name is close: a suggestion must not mislead', () => {
    expect(messages({ 'kequn.yaml': (t) => replaceOnce(t, '  bot_name: 小课\n', '  bot_name: 小课\n  xyzzy: 1\n') })).toEqual(['course.xyzzy: unknown key "xyzzy"']);
    expect(didYouMean('do', ['on', 'when', 'id'])).toBe('');
    expect(didYouMean('x', ['y'])).toBe('');
  });

  it('a swapped pair of letters and a wrong case are typos too', () => {
    expect(didYouMean('wehn', ['on', 'when', 'do'])).toBe('; did you mean "when"?');
    expect(didYouMean('Stage', ['stage', 'streak'])).toBe('; did you mean "stage"?');
    expect(didYouMean('welcom_group', ['welcome_group', 'welcome_dm'])).toBe('; did you mean "welcome_group"?');
  });
});
