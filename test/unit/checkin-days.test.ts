import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { checkinDaysOf } from '../../src/flows/checkin/store.js';
import { missedDays, streakOf } from '../../src/flows/checkin/streak.js';
import { parseDayWord } from '../../src/flows/checkin/index.js';
import { nextCronTime, parseCron } from '../../src/util/cron.js';
import { addDays, daysBetween, localInstant } from '../../src/util/days.js';
import { nextRun } from '../../src/core/schedule/schedules.js';
import { harness, message, outboxRows, removeTempDirs, replaceOnce, tempConfig, type Harness } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

const VIP = { id: 'python-vip@chatroom', name: 'Python 数据分析正式班' };

/** Checks alice in at `iso` through the engine; returns the bot's reply. */
function checkIn(h: Harness, iso: string, text = '打卡 学习'): string {
  const at = Date.parse(iso);
  h.clock.set(Math.max(h.clock.now(), at));
  h.engine.handleEvent(message('alice', text, { at, group: VIP }), at);
  return outboxRows(h.db).at(-1)!.text;
}

function days(h: Harness): string[] {
  const id = findMemberByIdentity(h.db, 'wechat', 'alice')!.id;
  return checkinDaysOf(h.db, id, '2000-01-01').map((d) => `${d.day} ${d.kind}`);
}

describe('streak day boundaries in Asia/Shanghai (no DST)', () => {
  it('23:59 and 00:01 local are two days; 00:01 and 23:59 of one day are one', () => {
    const h = harness({ start: Date.parse('2026-03-01T00:00:00+08:00') });
    expect(checkIn(h, '2026-03-02T23:59:00+08:00')).toContain('已连续打卡 1 天');
    expect(checkIn(h, '2026-03-03T00:01:00+08:00')).toContain('已连续打卡 2 天');
    expect(checkIn(h, '2026-03-03T23:59:59+08:00')).toContain('今天已经打过卡啦，已连续打卡 2 天');
    // 2026-03-04T15:59Z is 23:59 in Shanghai: still the 4th there, though UTC says the 4th too;
    // 16:00Z is the 5th in Shanghai while UTC still says the 4th.
    expect(checkIn(h, '2026-03-04T15:59:00Z')).toContain('已连续打卡 3 天');
    expect(checkIn(h, '2026-03-04T16:00:00Z')).toContain('已连续打卡 4 天');
    expect(days(h)).toEqual(['2026-03-05 checkin', '2026-03-04 checkin', '2026-03-03 checkin', '2026-03-02 checkin']);
  });

  it('a day without a check-in breaks the streak; not yet today does not', () => {
    const h = harness({ start: Date.parse('2026-03-01T00:00:00+08:00') });
    checkIn(h, '2026-03-02T10:00:00+08:00');
    checkIn(h, '2026-03-03T10:00:00+08:00');
    expect(checkIn(h, '2026-03-05T10:00:00+08:00')).toContain('已连续打卡 1 天');
  });
});

describe('streak day boundaries in Europe/Berlin (DST)', () => {
  const berlin = () =>
    loadConfig(
      tempConfig({
        'kequn.yaml': (t) => replaceOnce(t, 'timezone: Asia/Shanghai', 'timezone: Europe/Berlin'),
      }),
      { env: {} },
    );

  it('spring forward (29 March 2026, a 23-hour day): midnight to midnight is one day', () => {
    const h = harness({ config: berlin(), start: Date.parse('2026-03-27T12:00:00Z') });
    expect(checkIn(h, '2026-03-28T23:30:00+01:00')).toContain('已连续打卡 1 天');
    // 00:30 CET on the 29th: a new day.
    expect(checkIn(h, '2026-03-29T00:30:00+01:00')).toContain('已连续打卡 2 天');
    // 23:30 CEST on the 29th is 21:30 UTC: the same local day (only 23 hours long).
    expect(checkIn(h, '2026-03-29T23:30:00+02:00')).toContain('今天已经打过卡啦');
    // 00:10 CEST on the 30th is 22:10 UTC on the 29th: already the next local day.
    expect(checkIn(h, '2026-03-29T22:10:00Z')).toContain('已连续打卡 3 天');
    expect(days(h)).toEqual(['2026-03-30 checkin', '2026-03-29 checkin', '2026-03-28 checkin']);
  });

  it('fall back (25 October 2026, a 25-hour day): the repeated hour stays in the same day', () => {
    const h = harness({ config: berlin(), start: Date.parse('2026-10-24T12:00:00Z') });
    expect(checkIn(h, '2026-10-25T00:30:00+02:00')).toContain('已连续打卡 1 天');
    // 02:30 CET (the second 02:30) and 23:59 CET: still the 25th.
    expect(checkIn(h, '2026-10-25T02:30:00+01:00')).toContain('今天已经打过卡啦');
    expect(checkIn(h, '2026-10-25T23:59:00+01:00')).toContain('今天已经打过卡啦');
    expect(checkIn(h, '2026-10-26T00:00:00+01:00')).toContain('已连续打卡 2 天');
  });

  it('the daily 20:00 reminder follows local time across the change', () => {
    const s = { label: '20:00', timezone: 'Europe/Berlin', grace: 0, at: 20 * 60 };
    const sat = nextRun(s, Date.parse('2026-03-28T12:00:00Z'));
    const sun = nextRun(s, sat);
    expect(new Date(sat).toISOString()).toBe('2026-03-28T19:00:00.000Z');
    expect(new Date(sun).toISOString()).toBe('2026-03-29T18:00:00.000Z');
    expect(sun - sat).toBe(23 * 3_600_000);
  });
});

describe('streak arithmetic', () => {
  const r = (day: string, kind: 'checkin' | 'makeup' | 'leave' = 'checkin') => ({ day, kind });
  it('leave days neither count nor break; make-ups count', () => {
    expect(streakOf([r('2026-03-05'), r('2026-03-04', 'leave'), r('2026-03-03', 'makeup'), r('2026-03-02')], '2026-03-05')).toBe(3);
    expect(streakOf([r('2026-03-04'), r('2026-03-02')], '2026-03-05')).toBe(1);
    expect(streakOf([r('2026-03-03')], '2026-03-05')).toBe(0);
    expect(streakOf([r('2026-03-05', 'leave'), r('2026-03-04')], '2026-03-05')).toBe(1);
    expect(streakOf([], '2026-03-05')).toBe(0);
  });
  it('missed days count back to the last record or the join day', () => {
    expect(missedDays(undefined, '2026-03-02', '2026-03-04')).toBe(2);
    expect(missedDays('2026-03-03', '2026-03-01', '2026-03-04')).toBe(0);
    expect(missedDays('2026-02-20', '2026-03-01', '2026-03-04')).toBe(3);
  });
  it('day words and calendar arithmetic across months and years', () => {
    expect(parseDayWord('昨天', '2026-03-01')).toBe('2026-02-28');
    expect(parseDayWord('12月31日', '2027-01-02')).toBe('2026-12-31');
    expect(parseDayWord('3/3', '2026-03-05')).toBe('2026-03-03');
    expect(parseDayWord('2月30日', '2026-03-05')).toBeUndefined();
    expect(parseDayWord('随便', '2026-03-05')).toBeUndefined();
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(daysBetween('2026-12-30', '2027-01-02')).toBe(3);
    expect(new Date(localInstant('2026-03-29', 2 * 60 + 30, 'Europe/Berlin')).toISOString()).toBe('2026-03-29T01:00:00.000Z');
  });
});

describe('cron expressions', () => {
  it('next runs in a time zone', () => {
    const c = parseCron('30 20 * * 1-5');
    const fri = Date.parse('2026-03-06T21:00:00+08:00');
    expect(new Date(nextCronTime(fri, c, 'Asia/Shanghai')).toISOString()).toBe('2026-03-09T12:30:00.000Z');
    expect(nextCronTime(Date.parse('2026-03-09T20:30:00+08:00'), c, 'Asia/Shanghai')).toBe(Date.parse('2026-03-10T20:30:00+08:00'));
    expect(nextCronTime(Date.parse('2026-03-09T20:29:59+08:00'), c, 'Asia/Shanghai')).toBe(Date.parse('2026-03-09T20:30:00+08:00'));
    expect(nextCronTime(Date.parse('2026-03-01T00:00:00+08:00'), parseCron('0 9 1 */2 *'), 'Asia/Shanghai')).toBe(Date.parse('2026-03-01T09:00:00+08:00'));
    expect(nextCronTime(Date.parse('2026-03-01T10:00:00+08:00'), parseCron('0 9 1 */2 *'), 'Asia/Shanghai')).toBe(Date.parse('2026-05-01T09:00:00+08:00'));
    expect(nextCronTime(Date.parse('2026-03-02T00:00:00Z'), parseCron('0 8 * * 0'), 'UTC')).toBe(Date.parse('2026-03-08T08:00:00Z'));
  });
  it('keeps the local time across a DST change (Berlin, 29 March 2026), and 7 is Sunday too', () => {
    const daily = parseCron('0 20 * * *');
    expect(nextCronTime(Date.parse('2026-03-28T20:00:00+01:00'), daily, 'Europe/Berlin')).toBe(Date.parse('2026-03-29T20:00:00+02:00'));
    expect(nextCronTime(Date.parse('2026-10-24T20:00:00+02:00'), daily, 'Europe/Berlin')).toBe(Date.parse('2026-10-25T20:00:00+01:00'));
    expect(nextCronTime(Date.parse('2026-03-02T00:00:00Z'), parseCron('0 8 * * 7'), 'UTC')).toBe(Date.parse('2026-03-08T08:00:00Z'));
  });
  it('malformed expressions name the field', () => {
    expect(() => parseCron('0 20 * *')).toThrow('5 fields');
    expect(() => parseCron('0 25 * * *')).toThrow('hour');
    expect(() => parseCron('x 20 * * *')).toThrow('minute');
    expect(() => nextCronTime(0, parseCron('0 0 31 2 *'), 'UTC')).toThrow('never runs');
  });
});

describe('nudge day without a time-zone conversion per member', () => {
  it('agrees with missedDays for every last day and join time around the window', async () => {
    const { localDate } = await import('../../src/util/localtime.js');
    const { nudgeWindow, reachesNudge } = await import('../../src/flows/checkin/streak.js');
    for (const tz of ['Asia/Shanghai', 'Europe/Berlin']) {
      const today = '2026-03-30'; // Berlin changed clocks on the 29th
      for (const n of [1, 2, 3]) {
        const w = nudgeWindow(today, n, tz);
        for (let back = 0; back <= 6; back++) {
          for (const hour of [0, 1, 11, 23]) {
            const joinedAt = localInstant(addDays(today, -back), hour * 60 + 30, tz);
            for (const last of [undefined, ...[1, 2, 3, 4, 5, 6].map((k) => addDays(today, -k))]) {
              const expected = missedDays(last, localDate(joinedAt, tz), today) === n;
              expect(reachesNudge(last, joinedAt, w), `${tz} n=${n} joined ${back}d ago ${hour}:30, last ${last}`).toBe(expected);
            }
          }
        }
      }
    }
  });
});

describe('milestones are rules on `on: checkin`', () => {
  it('a paid member reaching 21 days moves to mature, with the 7-day tag on the way; a make-up counts', async () => {
    const { setStage, tagsOf, findMemberByIdentity: find } = await import('../../src/store/members.js');
    const h = harness({ start: Date.parse('2026-03-01T00:00:00+08:00') });
    checkIn(h, '2026-03-01T09:00:00+08:00');
    const id = find(h.db, 'wechat', 'alice')!.id;
    setStage(h.db, { memberId: id, to: 'paid', eventId: null, ruleId: null, actor: 'test', now: h.clock.now() });
    for (let d = 2; d <= 21; d++) {
      if (d === 10) continue; // missed, made up on the 11th
      checkIn(h, `2026-03-${String(d).padStart(2, '0')}T09:00:00+08:00`);
      if (d === 11) expect(checkIn(h, '2026-03-11T09:05:00+08:00', '补卡 昨天')).toContain('已连续打卡 11 天');
      if (d === 7) expect(tagsOf(h.db, id)).toEqual(['streak-7']);
      if (d === 20) expect(find(h.db, 'wechat', 'alice')!.stage).toBe('paid');
    }
    expect(find(h.db, 'wechat', 'alice')!.stage).toBe('mature');
    expect(outboxRows(h.db).at(-1)!.text).toContain('alice 连续打卡 21 天，学习已经成了习惯');
  });
});
