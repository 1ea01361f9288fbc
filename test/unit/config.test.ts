import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, formatKeyPath, type ConfigProblem } from '../../src/config/errors.js';
import { renderTemplate, templateVariables } from '../../src/config/load.js';
import { loadConfig } from '../../src/app.js';
import { DAY, DEMO_CONFIG_DIR, lineOf, loadProblems, removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

/** Exactly one problem, in `file`; returns it. */
function single(problems: ConfigProblem[], file: string): ConfigProblem {
  expect(problems, problems.map((p) => `${p.file}:${p.line} ${p.keyPath}: ${p.message}`).join('\n')).toHaveLength(1);
  const p = problems[0]!;
  expect(basename(p.file)).toBe(file);
  return p;
}

/** A small rules.yaml around one rule body, so every line number is visible in the test. */
function rulesFile(body: string): string {
  return `# test rules\nrules:\n${body}`;
}

describe('config: the demo course', () => {
  it('loads, with everything resolved at load', () => {
    const config = loadConfig(DEMO_CONFIG_DIR, { env: {} });
    expect(config.course.name).toBe('Python 数据分析训练营');
    expect(config.course.timezone).toBe('Asia/Shanghai');
    expect(config.stageIds).toEqual(['prospect', 'trial', 'nurture', 'paid', 'mature', 'loyal', 'churned']);
    expect(config.rules.map((r) => r.id)).toEqual([
      'welcome-newcomer',
      'welcome-private',
      'referral-code-in-greeting',
      'start-again',
      'referral-by-inviter',
      'churn-inactive',
      'rejoin-quietly',
      'removed-for-spam',
      'left-all-groups',
      'moderate-spam',
      'checkin',
      'checkin-makeup',
      'checkin-leave',
      'checkin-rank',
      'streak-7',
      'streak-21-mature',
      'homework-submit',
      'library-request',
      'my-referral-code',
      'my-poster',
      'referral-code-said',
      'first-question',
      'trial-on-request',
      'staff-quoted-reply',
      'buy-intent-in-group',
      'buy-intent-in-group-waiting',
      'buy-intent',
      'pick-clarification',
      'answer-questions',
      'answer-private-chat',
      'paid-welcome',
      'refunded',
      'live-replay',
    ]);
    expect(config.faq.length).toBeGreaterThan(5);
    expect(config.rules[0]!.cooldown).toBe(30 * DAY);
    expect(config.rules[0]!.actions.map((a) => a.spec.name)).toEqual(['reply', 'set_stage', 'start_sequence', 'watch_inactivity']);
    expect(config.rules[1]!.on).toBe('channel.opened');
    expect(config.rules[1]!.actions.map((a) => a.spec.name)).toEqual(['dm', 'send_lesson']);
    expect(config.sequences.trial!.count_from).toBe('channel');
    expect(config.privateChannel).toEqual({
      hold_for: 7 * DAY,
      wechat: { accept: ['keyword', 'members'], keywords: ['试听'], referral_codes: true, delay: { min: 30_000, max: 180_000 }, daily_cap: 100, add_hint: expect.stringContaining('加好友') },
      telegram: { start_hint: expect.stringContaining('{start_link}') },
    });
    expect(config.lessons.map((l) => l.n)).toEqual([1, 2, 3]);
    for (const l of config.lessons) expect(l.body.length).toBeGreaterThan(20);
    expect(config.sequences.trial!.steps.map((s) => s.after)).toEqual([DAY, 2 * DAY]);
    expect(config.quietHours).toEqual({ start: 22 * 60, end: 8 * 60, replies: 'send' });
    expect(config.outbox).toMatchObject({ account_interval: 1000, chat_interval: 2000, jitter: 500, daily_cap: 1500, max_attempts: 5, retry_backoff: 30_000 });
    expect(config.scheduler.grace).toBe(6 * 3_600_000);
    expect(config.groupOf('wechat', 'python-101@chatroom')).toBe('python-101');
    expect(config.groupOf('wechat', 'elsewhere@chatroom')).toBeUndefined();
    expect(config.groupOf('telegram', 'python-101@chatroom')).toBeUndefined();
    expect(config.roleOf('wechat', 'teacher')).toBe('instructor');
    expect(config.roleOf('wechat', '王老师')).toBe('member'); // by platform id, never by display name
    expect(config.dataPath).toBe(resolve(DEMO_CONFIG_DIR, '../data/kequn.db'));
  });

  it('KEQUN_DATA overrides the data path', () => {
    expect(loadConfig(DEMO_CONFIG_DIR, { env: { KEQUN_DATA: '/var/lib/kequn/course.db' } }).dataPath).toBe('/var/lib/kequn/course.db');
    expect(loadConfig(DEMO_CONFIG_DIR, { env: { KEQUN_DATA: 'rel/x.db' } }).dataPath).toBe(resolve('rel/x.db'));
    expect(loadConfig(DEMO_CONFIG_DIR, { env: { KEQUN_DATA: '' } }).dataPath).toBe(resolve(DEMO_CONFIG_DIR, '../data/kequn.db'));
  });

  it('a missing folder is a ConfigError, not a crash', () => {
    const problems = loadProblems('/nonexistent/kequn-config');
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/folder not found/);
  });
});

describe('config: YAML problems are located', () => {
  it('malformed YAML: the line of the bad construct', () => {
    const text = rulesFile(`  - id: greet\n    on: message\n    when: stage: prospect\n    do:\n      - reply: trial_again\n`);
    const p = single(loadProblems(tempConfig({ 'rules.yaml': text })), 'rules.yaml');
    expect(p.message).toMatch(/^YAML syntax: Nested mappings/);
    expect(p.line).toBe(lineOf(text, 'when: stage'));
    expect(p.keyPath).toBe('');
  });

  it('malformed YAML: a mis-indented key is reported first at its own line', () => {
    const text = rulesFile(`  - id: greet\n    on: message\n   when: {}\n    do:\n      - reply: trial_again\n`);
    const problems = loadProblems(tempConfig({ 'rules.yaml': text }));
    expect(problems.every((p) => basename(p.file) === 'rules.yaml' && p.message.startsWith('YAML syntax:'))).toBe(true);
    expect(problems[0]!.line).toBe(lineOf(text, 'when: {}'));
  });

  it('a tab used for indentation: the line of the tab', () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, '  bot_name: 小课', '\tbot_name: 小课') });
    const p = single(loadProblems(dir), 'kequn.yaml');
    expect(p.message).toMatch(/^YAML syntax: .*[Tt]ab/);
    expect(p.line).toBe(lineOf(readText(dir, 'kequn.yaml'), '\tbot_name'));
  });

  it('a duplicate key: the line of the second one', () => {
    const dir = tempConfig({ 'templates.yaml': (t) => `${t}\ntrial_again: "again"\n` });
    const p = single(loadProblems(dir), 'templates.yaml');
    expect(p.message).toMatch(/unique/);
    const text = readText(dir, 'templates.yaml');
    expect(p.line).toBe(text.split('\n').length - 1);
  });

  it('a custom tag is refused where it is written', () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, 'dry_run: false', 'dry_run: !!js/function "return true"') });
    const p = single(loadProblems(dir), 'kequn.yaml');
    expect(p.message).toMatch(/tag/i);
    expect(p.line).toBe(lineOf(readText(dir, 'kequn.yaml'), 'js/function'));
  });

  it('an alias bomb fails fast', () => {
    let bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    let prev = 'a';
    for (const n of 'bcdefghi') {
      bomb += `${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]\n`;
      prev = n;
    }
    const started = Date.now();
    const p = single(loadProblems(tempConfig({ 'templates.yaml': bomb })), 'templates.yaml');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(p.message).toMatch(/alias/i);
    expect(p.line).toBe(1);
    expect(p.keyPath).toBe('');
  });

  it('a binary file is refused, not parsed', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0xff, 0xfe]);
    const p = single(loadProblems(tempConfig({ 'templates.yaml': png })), 'templates.yaml');
    expect(p).toMatchObject({ line: 1, keyPath: '', message: expect.stringMatching(/binary/) });
  });

  it('a missing file is reported by name', () => {
    const p = single(loadProblems(tempConfig({ 'rules.yaml': null })), 'rules.yaml');
    expect(p.message).toMatch(/cannot read/);
  });
});

describe('config: schema problems name the key', () => {
  it('an unknown top-level key', () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => `${t}\ndryrun: true\n` });
    const text = readText(dir, 'kequn.yaml');
    const p = single(loadProblems(dir), 'kequn.yaml');
    expect(p).toMatchObject({ keyPath: 'dryrun', line: lineOf(text, 'dryrun: true'), message: 'unknown key "dryrun"; did you mean "dry_run"?' });
  });

  it('an unknown nested key', () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, '  bot_name: 小课\n', '  bot_name: 小课\n  botname: 小课2\n') });
    const text = readText(dir, 'kequn.yaml');
    const p = single(loadProblems(dir), 'kequn.yaml');
    expect(p).toMatchObject({ keyPath: 'course.botname', line: lineOf(text, 'botname'), message: 'unknown key "botname"; did you mean "bot_name"?' });
  });

  it('an unknown key inside a rule', () => {
    const text = rulesFile(`  - id: greet\n    on: message\n    whne: { is_dm: true }\n    do:\n      - reply: trial_again\n`);
    const p = single(loadProblems(tempConfig({ 'rules.yaml': text })), 'rules.yaml');
    expect(p).toMatchObject({ keyPath: 'rules[0].whne', line: lineOf(text, 'whne'), message: 'unknown key "whne"; did you mean "when"?' });
  });

  it('a bad duration, in kequn.yaml and in a rule', () => {
    const dir = tempConfig({
      'kequn.yaml': (t) => replaceOnce(t, 'retry_backoff: 30s', 'retry_backoff: 30 seconds'),
      'rules.yaml': rulesFile(`  - id: greet\n    on: message\n    cooldown: 1x\n    do:\n      - reply: trial_again\n`),
    });
    const problems = loadProblems(dir);
    expect(problems).toHaveLength(2);
    const main = problems.find((p) => basename(p.file) === 'kequn.yaml')!;
    expect(main).toMatchObject({ keyPath: 'outbox.retry_backoff', line: lineOf(readText(dir, 'kequn.yaml'), 'retry_backoff'), message: expect.stringMatching(/duration/) });
    const rules = problems.find((p) => basename(p.file) === 'rules.yaml')!;
    expect(rules).toMatchObject({ keyPath: 'rules[0].cooldown', line: lineOf(readText(dir, 'rules.yaml'), 'cooldown'), message: expect.stringMatching(/duration/) });
  });

  it('a bad time of day and an unknown time zone', () => {
    const dir = tempConfig({
      'kequn.yaml': (t) => replaceOnce(replaceOnce(t, 'start: "22:00"', 'start: "25:00"'), 'timezone: Asia/Shanghai', 'timezone: Asia/Beijing'),
    });
    const text = readText(dir, 'kequn.yaml');
    const problems = loadProblems(dir);
    expect(problems.map((p) => [p.keyPath, p.line])).toEqual(
      expect.arrayContaining([
        ['quiet_hours.start', lineOf(text, '"25:00"')],
        ['course.timezone', lineOf(text, 'Asia/Beijing')],
      ]),
    );
    expect(problems).toHaveLength(2);
  });

  it('a missing lesson file', () => {
    const dir = tempConfig({ 'lessons/02-basics.md': null });
    const p = single(loadProblems(dir), 'kequn.yaml');
    expect(p).toMatchObject({ keyPath: 'lessons[1].file', line: lineOf(readText(dir, 'kequn.yaml'), '02-basics.md'), message: 'lesson file not found: lessons/02-basics.md' });
  });

  it('an unknown template variable', () => {
    const dir = tempConfig({ 'templates.yaml': (t) => replaceOnce(t, '来到「{course}」', '来到「{cours}」') });
    const p = single(loadProblems(dir), 'templates.yaml');
    expect(p).toMatchObject({ keyPath: 'welcome_dm', line: lineOf(readText(dir, 'templates.yaml'), 'welcome_dm:'), message: expect.stringMatching(/unknown template variable \{cours\}/) });
  });

  it('an unknown variable inside a multi-line template points at that template', () => {
    const dir = tempConfig({ 'templates.yaml': (t) => replaceOnce(t, '  {lesson_body}', '  {lesson_text}') });
    const p = single(loadProblems(dir), 'templates.yaml');
    expect(p).toMatchObject({ keyPath: 'lesson', line: lineOf(readText(dir, 'templates.yaml'), 'lesson: |-') });
  });
});

describe('config: rule problems name file, line and key path', () => {
  // Each case: a rules.yaml, the key path expected, the text on the expected line, the message.
  const cases: { name: string; body: string; keyPath: string; at: string; message: RegExp }[] = [
    {
      name: 'an unknown fact',
      body: `  - id: greet\n    on: message\n    when:\n      is_dm: true\n      tgas: { has: vip }\n    do:\n      - reply: trial_again\n`,
      keyPath: 'rules[0].when.tgas',
      at: 'tgas',
      message: /unknown fact "tgas"; did you mean "tags"\? \(known: .*stage.*\)/,
    },
    {
      name: 'an unknown operator',
      body: `  - id: greet\n    on: message\n    when:\n      text: { like: hello }\n    do:\n      - reply: trial_again\n`,
      keyPath: 'rules[0].when.text.like',
      at: 'like',
      message: /operator "like" does not apply to string fact "text"/,
    },
    {
      name: 'an operator of another fact type',
      body: `  - id: greet\n    on: message\n    when:\n      is_dm:\n        contains: "yes"\n    do:\n      - reply: trial_again\n`,
      keyPath: 'rules[0].when.is_dm.contains',
      at: 'contains',
      message: /operator "contains" does not apply to boolean fact "is_dm" \(use one of: eq, ne\)/,
    },
    {
      name: 'an unknown action',
      body: `  - id: greet\n    on: message\n    do:\n      - reply: trial_again\n      - send_mail: hello\n`,
      keyPath: 'rules[0].do[1].send_mail',
      at: 'send_mail',
      message: /unknown action "send_mail" \(known: .*reply.*\)/,
    },
    {
      name: 'two actions in one list item',
      body: `  - id: greet\n    on: message\n    do:\n      - reply: trial_again\n        dm: welcome_dm\n`,
      keyPath: 'rules[0].do[0]',
      at: 'reply: trial_again',
      message: /one key/,
    },
    {
      name: 'a bad regex',
      body: `  - id: greet\n    on: message\n    when:\n      text: { matches: "([a-z" }\n    do:\n      - reply: trial_again\n`,
      keyPath: 'rules[0].when.text.matches',
      at: 'matches',
      message: /invalid regular expression/,
    },
    {
      name: 'an unknown stage in set_stage',
      body: `  - id: greet\n    on: message\n    do:\n      - reply: trial_again\n      - set_stage: vip\n`,
      keyPath: 'rules[0].do[1].set_stage',
      at: 'set_stage: vip',
      message: /unknown stage "vip" \(stages: prospect, trial/,
    },
    {
      name: 'an unknown template in reply',
      body: `  - id: greet\n    on: message\n    do:\n      - set_stage: trial\n      - reply: welcom\n`,
      keyPath: 'rules[0].do[1].reply',
      at: 'reply: welcom',
      message: /unknown template "welcom"/,
    },
    {
      name: 'an unknown variable in an inline reply text',
      body: `  - id: greet\n    on: message\n    do:\n      - reply: { text: "hi {nmae}" }\n`,
      keyPath: 'rules[0].do[0].reply',
      at: 'nmae',
      message: /unknown template variable \{nmae\}/,
    },
    {
      name: 'a bad action argument',
      body: `  - id: greet\n    on: message\n    do:\n      - send_lesson: first\n`,
      keyPath: 'rules[0].do[0].send_lesson',
      at: 'send_lesson',
      message: /send_lesson: /,
    },
    {
      name: 'a lesson that does not exist',
      body: `  - id: greet\n    on: message\n    do:\n      - send_lesson: 9\n`,
      keyPath: 'rules[0].do[0].send_lesson',
      at: 'send_lesson',
      message: /no lesson 9 \(lessons: 1, 2, 3\)/,
    },
    {
      name: 'a duplicate rule id',
      body: `  - id: greet\n    on: message\n    do:\n      - reply: trial_again\n  - id: greet # again\n    on: command\n    do:\n      - reply: trial_again\n`,
      keyPath: 'rules[1].id',
      at: '# again',
      message: /duplicate rule id "greet"/,
    },
    {
      name: 'fired_ago of an unknown rule',
      body: `  - id: greet\n    on: member.joined\n    when:\n      fired_ago.welcome-newcommer: { lt: 30d }\n    do:\n      - reply: trial_again\n`,
      keyPath: 'rules[0].when.fired_ago.welcome-newcommer',
      at: 'welcome-newcommer',
      message: /no rule with id "welcome-newcommer"/,
    },
    {
      name: 'an unknown trigger',
      body: `  - id: greet\n    on: member.kicked\n    do:\n      - reply: trial_again\n`,
      keyPath: 'rules[0].on',
      at: 'member.kicked',
      message: /./,
    },
    {
      name: 'a schedule of a rule that is not a timer rule',
      body: `  - id: greet\n    on: message\n    do:\n      - schedule: { rule: greet, after: 1h }\n`,
      keyPath: 'rules[0].do[0].schedule',
      at: 'schedule',
      message: /"on: timer"/,
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const text = rulesFile(c.body);
      const p = single(loadProblems(tempConfig({ 'rules.yaml': text })), 'rules.yaml');
      expect(p.keyPath).toBe(c.keyPath);
      expect(p.line).toBe(lineOf(text, c.at));
      expect(p.message).toMatch(c.message);
    });
  }

  it('several problems in several files are all reported at once, each located', () => {
    const rules = rulesFile(
      [
        '  - id: greet',
        '    on: message',
        '    when:',
        '      text: { matches: "(" }',
        '      tgas: vip',
        '    do:',
        '      - reply: welcom',
        '      - set_stage: vip',
        '',
      ].join('\n'),
    );
    const dir = tempConfig({
      'rules.yaml': rules,
      'templates.yaml': (t) => replaceOnce(t, '来到「{course}」', '来到「{cours}」'),
      'lessons/03-pandas.md': null,
    });
    let error: unknown;
    try {
      loadConfig(dir, { env: {} });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    const located = problems.map((p) => `${basename(p.file)}:${p.line} ${p.keyPath}`).sort();
    const main = readText(dir, 'kequn.yaml');
    const templates = readText(dir, 'templates.yaml');
    expect(located).toEqual(
      [
        `kequn.yaml:${lineOf(main, '03-pandas.md')} lessons[2].file`,
        `templates.yaml:${lineOf(templates, 'welcome_dm:')} welcome_dm`,
        `rules.yaml:${lineOf(rules, 'matches')} rules[0].when.text.matches`,
        `rules.yaml:${lineOf(rules, 'tgas')} rules[0].when.tgas`,
        `rules.yaml:${lineOf(rules, 'welcom')} rules[0].do[0].reply`,
        `rules.yaml:${lineOf(rules, 'set_stage')} rules[0].do[1].set_stage`,
      ].sort(),
    );
    // The message lists them all, one per line, as `kequn check` prints them.
    expect((error as ConfigError).message.split('\n')).toHaveLength(6);
    expect((error as ConfigError).message).toMatch(/rules\.yaml:\d+ rules\[0\]\.do\[0\]\.reply: unknown template "welcom"/);
  });

  it('schema problems in all three files are reported together', () => {
    const dir = tempConfig({
      'kequn.yaml': (t) => `${t}\nextra: 1\n`,
      'templates.yaml': (t) => `${t}\nWelcome: "hi"\n`,
      'rules.yaml': rulesFile(`  - id: greet\n    on: message\n    do: []\n`),
    });
    const files = loadProblems(dir).map((p) => basename(p.file));
    expect(new Set(files)).toEqual(new Set(['kequn.yaml', 'templates.yaml', 'rules.yaml']));
  });
});

describe('config: the flood limits (outbox reserve, escalation limits, merge intervals)', () => {
  it('a reserve not below the daily cap is refused at its line, WeChat and Telegram alike', () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, '  daily_cap: 1500', '  daily_cap: 1500\n  reserve: 1500') });
    const p = single(loadProblems(dir), 'kequn.yaml');
    expect(p).toMatchObject({ keyPath: 'outbox.reserve', line: lineOf(readText(dir, 'kequn.yaml'), 'reserve: 1500'), message: 'reserve (1500) must be less than daily_cap (1500)' });
    const tg = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, '    group_per_minute: 20', '    group_per_minute: 20\n    daily_cap: 10\n    reserve: 20') });
    expect(single(loadProblems(tg), 'kequn.yaml')).toMatchObject({ keyPath: 'outbox.telegram.reserve', message: 'reserve (20) must be less than daily_cap (10)' });
  });

  it('escalation limits and merge intervals: bad values are refused with file, line and key; the defaults load', () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => `${t}\nqa:\n  escalation:\n    member: -1\n    merge: soon\n` });
    const problems = loadProblems(dir);
    const text = readText(dir, 'kequn.yaml');
    expect(problems.map((p) => [basename(p.file), p.keyPath, p.line])).toEqual([
      ['kequn.yaml', 'qa.escalation.member', lineOf(text, 'member: -1')],
      ['kequn.yaml', 'qa.escalation.merge', lineOf(text, 'merge: soon')],
    ]);
    const merge = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, '  delete: true', '  delete: true\n  merge: 1 minute') });
    expect(single(loadProblems(merge), 'kequn.yaml')).toMatchObject({ keyPath: 'moderation.merge', message: expect.stringMatching(/duration/) });
    const config = loadConfig(DEMO_CONFIG_DIR, { env: {} });
    expect(config.qa.escalation).toEqual({ window: 10 * 60_000, member: 3, group: 20, merge: 2 * 60_000 });
    expect(config.moderation.merge).toBe(60_000);
    expect(config.outbox.reserve).toBe(100);
  });
});

describe('config: helpers', () => {
  it('formats key paths', () => {
    expect(formatKeyPath(['rules', 0, 'do', 1, 'reply'])).toBe('rules[0].do[1].reply');
    expect(formatKeyPath([])).toBe('');
  });
  it('finds and renders template variables; {{ and }} are literal braces', () => {
    expect(templateVariables('hi {name}, {{not a var}} in {group}')).toEqual(['name', 'group']);
    expect(renderTemplate('hi {name} {{x}} {missing}!', { name: 'Ann' })).toBe('hi Ann {x} !');
  });
});

function readText(dir: string, file: string): string {
  return readFileSync(resolve(dir, file), 'utf8');
}
