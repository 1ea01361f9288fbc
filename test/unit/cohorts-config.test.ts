import { basename } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { cohortsService } from '../../src/flows/cohorts/service.js';
import { DEMO_CONFIG_DIR, loadProblems, removeTempDirs, tempConfig } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

const TWO = `
cohorts:
  - { id: c4, name: 第4期, start: "2026-05-11", groups: [python-vip], seats: 150, sell_after_start: 3d }
  - { id: c3, name: 第3期, start: "2026-03-16", start_time: "19:30", weeks: 6, groups: [python-101] }
`;

const withCohorts = (yaml: string) => tempConfig({ 'kequn.yaml': (t) => t + yaml });

describe('cohorts: kequn.yaml `cohorts:`', () => {
  it('a course without the section has no cohorts', () => {
    expect(loadConfig(DEMO_CONFIG_DIR, { env: {} }).cohorts).toEqual([]);
  });

  it('loads cohorts in start order with instants in the course zone (Asia/Shanghai, UTC+8)', () => {
    const config = loadConfig(withCohorts(TWO), { env: {} });
    const [c3, c4] = config.cohorts;
    expect(c3!.id).toBe('c3');
    // 2026-03-16 19:30 in Shanghai is 11:30 UTC; 6 weeks later, same local time.
    expect(new Date(c3!.startAt).toISOString()).toBe('2026-03-16T11:30:00.000Z');
    expect(new Date(c3!.endAt).toISOString()).toBe('2026-04-27T11:30:00.000Z');
    expect(c3!.trialGroups).toEqual(['python-101']);
    expect(c3!.paidGroups).toEqual([]);
    expect(c4!.paidGroups).toEqual(['python-vip']);
    expect(c4!.seats).toBe(150);
    expect(new Date(c4!.saleUntil).toISOString()).toBe('2026-05-13T16:00:00.000Z');
    expect(config.values['cohort.c4.start']).toBe('5月11日（周一）');
    expect(config.values['cohort.c3.name']).toBe('第3期');
  });

  it('the service finds the cohort open for sale, the running one and a group\'s', () => {
    const s = cohortsService(loadConfig(withCohorts(TWO), { env: {} }));
    const at = (iso: string) => Date.parse(iso);
    expect(s.openForSale(at('2026-03-01T00:00:00Z'))?.id).toBe('c3');
    expect(s.openForSale(at('2026-03-17T00:00:00Z'))?.id).toBe('c4');
    expect(s.openForSale(at('2026-05-14T00:00:00Z'))).toBeUndefined();
    expect(s.running(at('2026-03-01T00:00:00Z'))).toBeUndefined();
    expect(s.running(at('2026-03-20T00:00:00Z'))?.id).toBe('c3');
    expect(s.running(at('2026-05-12T00:00:00Z'))?.id).toBe('c4');
    expect(s.ofGroup('python-vip')?.id).toBe('c4');
    expect(s.byId('c9')).toBeUndefined();
  });

  it.each([
    ['a bad date', 'start: "2026-05-11"', 'start: "5月11日"', /YYYY-MM-DD/, 'cohorts[0].start'],
    ['an unknown group', 'groups: [python-vip]', 'groups: [python-vipp]', /unknown group "python-vipp"/, 'cohorts[0].groups[0]'],
    ['a group in two cohorts', 'groups: [python-101]', 'groups: [python-vip]', /already in cohort "c4"/, 'cohorts[1].groups[0]'],
    ['a duplicate id', 'id: c3', 'id: c4', /duplicate cohort id "c4"/, 'cohorts[1].id'],
  ])('%s is refused with file, line and key', (_what, from, to, message, keyPath) => {
    const problems = loadProblems(withCohorts(TWO.replace(from, to)));
    expect(problems, JSON.stringify(problems)).toHaveLength(1);
    expect(basename(problems[0]!.file)).toBe('kequn.yaml');
    expect(problems[0]!.keyPath).toBe(keyPath);
    expect(problems[0]!.message).toMatch(message);
    expect(problems[0]!.line).toBeGreaterThan(100);
  });
});
