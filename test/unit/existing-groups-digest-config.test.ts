import { basename } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { digestRecipients } from '../../src/flows/digest/index.js';
import { resolveMember } from '../../src/store/members.js';
import { grantRole } from '../../src/store/staff-roles.js';
import { DEMO_CONFIG_DIR, loadProblems, removeTempDirs, T0, tempConfig } from '../helpers/fixtures.js';
import { openTestStore } from '../helpers/store.js';

afterAll(removeTempDirs);

/** The tests' course with its `import:` and `digest:` sections replaced by `yaml` (or removed). */
const withSections = (yaml: string, edit: (t: string) => string = (t) => t) =>
  tempConfig({ 'kequn.yaml': (t) => edit(t.replace(/\n# The people already in a group[\s\S]*$/, '\n')) + yaml });

function oneProblem(dir: string): { keyPath: string; message: string; line: number } {
  const problems = loadProblems(dir);
  expect(problems, JSON.stringify(problems)).toHaveLength(1);
  expect(basename(problems[0]!.file)).toBe('kequn.yaml');
  return problems[0]!;
}

describe('import: the stage of people found already in a group', () => {
  it('the tests\' course: trial groups → nurture, paid groups → paid', () => {
    expect(loadConfig(DEMO_CONFIG_DIR, { env: {} }).import).toEqual({ atLogin: true, stageOf: { 'python-101': 'nurture', 'python-vip': 'paid' } });
  });

  it('without the section: trial groups start in the first stage, paid groups in paid; read at login', () => {
    const config = loadConfig(withSections(''), { env: {} });
    expect(config.import).toEqual({ atLogin: true, stageOf: { 'python-101': 'prospect', 'python-vip': 'paid' } });
    expect(config.digest).toBeNull();
  });

  it('a group\'s import_stage wins over its kind\'s; staff groups are never imported', () => {
    const dir = withSections('\nimport: { at_login: false, stages: { trial: nurture } }\n', (t) =>
      t.replace('    kind: trial\n', '    kind: trial\n    import_stage: trial\n').replace('\ngroups:\n', '\ngroups:\n  staff-room: { name: 工作群, kind: staff }\n'),
    );
    expect(loadConfig(dir, { env: {} }).import).toEqual({ atLogin: false, stageOf: { 'python-101': 'trial', 'python-vip': 'paid' } });
  });

  it.each([
    ['an unknown stage by kind', '\nimport: { stages: { trial: nurtur } }\n', (t: string) => t, 'import.stages.trial', /unknown stage "nurtur"/],
    ['an unknown stage on a group', '', (t: string) => t.replace('    kind: trial\n', '    kind: trial\n    import_stage: vip\n'), 'groups.python-101.import_stage', /unknown stage "vip"/],
    ['import_stage on a staff group', '', (t: string) => t.replace('\ngroups:\n', '\ngroups:\n  staff-room: { name: 工作群, kind: staff, import_stage: paid }\n'), 'groups.staff-room.import_stage', /staff group is never imported/],
  ])('%s is refused with file, line and key', (_what, yaml, edit, keyPath, message) => {
    const p = oneProblem(withSections(yaml, edit));
    expect(p.keyPath).toBe(keyPath);
    expect(p.message).toMatch(message);
    expect(p.line).toBeGreaterThan(10);
  });
});

describe('digest: who gets it, and when', () => {
  it('the tests\' course: 08:30 to the owner and the instructors, quiet after 5 days', () => {
    expect(loadConfig(DEMO_CONFIG_DIR, { env: {} }).digest).toEqual({ minute: 8 * 60 + 30, atText: '08:30', roles: ['owner', 'instructor'], names: [], quietDays: 5 });
  });

  it('roles and staff names; a staff member by name, an instructor by /grant', () => {
    const config = loadConfig(withSections('\ndigest: { at: "07:05", to: [owner, 助教小李] }\n'), { env: {} });
    expect(config.digest).toMatchObject({ minute: 7 * 60 + 5, atText: '07:05', roles: ['owner'], names: ['助教小李'] });
    const db = openTestStore();
    expect(digestRecipients(db, config)).toEqual([
      { platform: 'wechat', id: 'principal' },
      { platform: 'wechat', id: 'assistant-li' },
    ]);
    // The demo's digest (owner, instructor) also reaches an instructor an owner granted.
    const demo = loadConfig(DEMO_CONFIG_DIR, { env: {} });
    const { member } = resolveMember(db, { platform: 'wechat', platformId: 'tutor-wang', displayName: '王助教', initialStage: 'prospect', now: T0 });
    grantRole(db, { memberId: member.id, role: 'instructor', by: 'test', eventId: null, now: T0 });
    expect(digestRecipients(db, demo)).toEqual([
      { platform: 'wechat', id: 'principal' },
      { platform: 'wechat', id: 'teacher' },
      { platform: 'wechat', id: 'tutor-wang' },
    ]);
    db.close();
  });

  it.each([
    ['someone not on the staff', '\ndigest: { at: "08:30", to: [owner, 校长] }\n', 'digest.to[1]', /"校长" is neither a role/],
    ['a time that is not HH:MM', '\ndigest: { at: "8点" }\n', 'digest.at', /HH:MM/],
  ])('%s is refused with file, line and key', (_what, yaml, keyPath, message) => {
    const p = oneProblem(withSections(yaml));
    expect(p.keyPath).toBe(keyPath);
    expect(p.message).toMatch(message);
  });
});
