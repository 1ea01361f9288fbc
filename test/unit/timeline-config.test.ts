import { basename } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { fillCourseValues } from '../../src/core/templates.js';
import { localInstant } from '../../src/util/days.js';
import { describeWhen, occurrences, parseWhen } from '../../src/flows/timeline/when.js';
import { DEMO_CONFIG_DIR, lineOf, loadProblems, removeTempDirs, tempConfig } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

/** Two cohorts: c3 starts Monday 2026-03-16 (8 weeks), c4 Monday 2026-05-11 (2 weeks). */
const COHORTS = `
cohorts:
  - { id: c3, name: 第3期, start: "2026-03-16", weeks: 8, groups: [python-101, python-vip] }
  - { id: c4, name: 第4期, start: "2026-05-11", weeks: 2, groups: [] }
`;

const TIMELINE = `timeline:
  - id: preview
    when: "-1d 20:00"
    to: trial
    text: "明天{cohort}开营，{course}见！"
  - id: live
    when: "every tue,thu 19:30 until end"
    to: paid
    text: "今晚 19:30 直播（{timeline.live.time}）"
  - id: survey
    when: "+56d 10:00"
    to: { stage: paid }
    cohorts: [c3]
    text: "{name}，结营问卷：https://example.com/s"
`;

const course = (timeline: string, cohorts = COHORTS) => tempConfig({ 'kequn.yaml': (t) => t + cohorts, 'timeline.yaml': timeline });

describe('timeline: the `when:` of an entry', () => {
  it('parses offsets and weekly times, and says them in Chinese', () => {
    expect(parseWhen('-1d 20:00')).toEqual({ kind: 'once', day: -1, minute: 1200 });
    expect(parseWhen('+56d 10:00')).toEqual({ kind: 'once', day: 56, minute: 600 });
    expect(parseWhen('every thu,tue 19:30 until end')).toEqual({ kind: 'every', weekdays: [2, 4], minute: 1170, from: 0, until: 'end' });
    expect(parseWhen('every mon 08:30 from +7d until +20d')).toEqual({ kind: 'every', weekdays: [1], minute: 510, from: 7, until: 20 });
    expect(describeWhen(parseWhen('every tue,thu 19:30'))).toBe('每周二、周四 19:30');
    expect(describeWhen(parseWhen('-1d 20:00'))).toBe('开营前 1 天 20:00');
    expect(describeWhen(parseWhen('0d 09:00'))).toBe('开营当天 09:00');
    expect(describeWhen(parseWhen('every daily 07:00'))).toBe('每天 07:00');
  });

  it.each([
    ['24:00', '0d 24:00', /invalid time of day "24:00"/],
    ['a minute 60', '0d 09:60', /invalid time of day/],
    ['no time', '-1d', /expected "<day offset> HH:MM"/],
    ['a bad offset', '1 20:00', /invalid day offset "1"/],
    ['a bad weekday', 'every tues 19:30', /unknown weekday "tues"/],
    ['until before from', 'every tue 19:30 from +14d until +7d', /before/],
    ['a stray word', 'every tue 19:30 till end', /expected "from <offset>"/],
  ])('refuses %s', (_what, text, message) => {
    expect(() => parseWhen(text)).toThrow(message);
  });

  it('lists occurrences in the course zone: Tue/Thu of an 8-week cohort are 16, the last before the end', () => {
    // 2026-03-16 is a Monday; Shanghai is UTC+8 all year.
    const cohort = { startDay: '2026-03-16', endAt: Date.parse('2026-05-11T00:00:00+08:00') };
    const live = occurrences(parseWhen('every tue,thu 19:30 until end'), cohort, 'Asia/Shanghai');
    expect(live).toHaveLength(16);
    expect(new Date(live[0]!.at).toISOString()).toBe('2026-03-17T11:30:00.000Z');
    expect(live[0]!.id).toBe('2026-03-17');
    expect(live.at(-1)!.id).toBe('2026-05-07');
    const pre = occurrences(parseWhen('-1d 20:00'), cohort, 'Asia/Shanghai');
    expect(pre).toEqual([{ at: Date.parse('2026-03-15T20:00:00+08:00'), id: 'once', day: '2026-03-15' }]);
    // from/until are inclusive day offsets: days 7..20 hold Mondays 03-23 and 03-30 and not 04-06 (day 21).
    expect(occurrences(parseWhen('every mon 08:30 from +7d until +20d'), cohort, 'Asia/Shanghai').map((o) => o.id)).toEqual(['2026-03-23', '2026-03-30']);
  });

  it('every day of a year in zones with clock changes lands where localInstant puts it (the skipped hour resolves past the gap)', () => {
    for (const zone of ['America/New_York', 'Europe/Berlin', 'Australia/Sydney', 'Asia/Shanghai']) {
      for (const time of ['02:30', '09:00', '23:59', '00:00']) {
        const got = occurrences(parseWhen(`every daily ${time} until +365d`), { startDay: '2026-01-01', endAt: 0 }, zone);
        expect(got).toHaveLength(366);
        for (const o of got) expect(o.at, `${zone} ${o.day} ${time}`).toBe(localInstant(o.day, Number(time.slice(0, 2)) * 60 + Number(time.slice(3)), zone));
      }
    }
    // New York skips 02:00–03:00 on 2026-03-08: 02:30 is the first instant past the gap, 03:00 EDT.
    const ny = occurrences(parseWhen('every sun 02:30 until +70d'), { startDay: '2026-03-01', endAt: 0 }, 'America/New_York');
    expect(new Date(ny[1]!.at).toISOString()).toBe('2026-03-08T07:00:00.000Z');
  });
});

describe('timeline: timeline.yaml', () => {
  it('a course without timeline.yaml has no entries', () => {
    expect(loadConfig(DEMO_CONFIG_DIR, { env: {} }).timeline.entries).toEqual([]);
  });

  it('loads entries, and names live-class times as course values', () => {
    const config = loadConfig(course(TIMELINE), { env: {} });
    expect(config.timeline.entries.map((e) => e.id)).toEqual(['preview', 'live', 'survey']);
    expect(config.timeline.entries[2]!.to).toEqual({ kind: 'stage', stage: 'paid' });
    expect(config.values['timeline.live.time']).toBe('每周二、周四 19:30');
    expect(config.values['timeline.preview.time']).toBe('开营前 1 天 20:00');
  });

  it.each([
    ['a time in quiet hours (22:00–08:00)', '"-1d 20:00"', '"-1d 23:00"', /inside quiet hours/, 'timeline[0].when', '-1d 23:00'],
    ['a malformed time', '"-1d 20:00"', '"-1d 25:00"', /invalid time of day "25:00"/, 'timeline[0].when', '-1d 25:00'],
    ['an unknown stage', '{ stage: paid }', '{ stage: payed }', /unknown stage "payed"/, 'timeline[2].to.stage', 'payed'],
    ['an unknown cohort', 'cohorts: [c3]', 'cohorts: [c9]', /unknown cohort "c9"/, 'timeline[2].cohorts[0]', 'c9'],
    ['an unknown template', 'text: "明天{cohort}开营，{course}见！"', 'template: no_such', /unknown template "no_such"/, 'timeline[0].template', 'no_such'],
    ['an unknown variable', '{course}见', '{courze}见', /unknown variable \{courze\}/, 'timeline[0].text', 'courze'],
    ['{name} in a group message', '明天{cohort}', '明天{name}', /unknown variable \{name\}/, 'timeline[0].text', '明天{name}'],
    ['a duplicate id', 'id: survey', 'id: live # again', /duplicate timeline entry id "live"/, 'timeline[2].id', '# again'],
    ['an unknown key', 'to: paid', 'to: paid\n    at: "19:30"', /at/, 'timeline[1].at', 'at: "19:30"'],
  ])('%s is refused with file, line and key', (_what, from, to, message, keyPath, lineNeedle) => {
    const text = TIMELINE.replace(from, to);
    expect(text).not.toBe(TIMELINE);
    const problems = loadProblems(course(text));
    expect(problems, JSON.stringify(problems)).toHaveLength(1);
    expect(basename(problems[0]!.file)).toBe('timeline.yaml');
    expect(problems[0]!.keyPath).toBe(keyPath);
    expect(problems[0]!.message).toMatch(message);
    expect(problems[0]!.line).toBe(lineOf(text, lineNeedle));
  });

  it("the seller's demo course (config/) runs its SOP for 第3期 and names the live-class time once", () => {
    const config = loadConfig('config', { env: {} });
    expect(config.timeline.entries.map((e) => e.id)).toEqual(['preview', 'open', 'live', 'homework', 'closing', 'survey']);
    expect(config.values['timeline.live.time']).toBe('每周二、周四 20:00');
    expect(fillCourseValues(config.templates.timeline_open!, config.values)).toContain('直播时间：每周二、周四 20:00');
  });

  it('warns when there are entries but no cohorts', () => {
    const config = loadConfig(course(TIMELINE.replace('    cohorts: [c3]\n', ''), ''), { env: {} });
    expect(config.warnings.map((w) => w.message).join('\n')).toMatch(/no cohorts/);
  });
});
