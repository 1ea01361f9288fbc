import { describe, expect, it } from 'vitest';
import { inWindow, localDate, localMinuteOfDay, localParts, nextLocalTime, parseTimeOfDay, zoneOffsetMs } from '../../src/util/localtime.js';

const HOUR = 3_600_000;
const SH = 'Asia/Shanghai';
const BER = 'Europe/Berlin';
const at = (iso: string) => Date.parse(iso);
const hm = (h: number, m = 0) => h * 60 + m;

describe('nextLocalTime in Asia/Shanghai (no DST)', () => {
  it('later the same day', () => {
    expect(nextLocalTime(at('2026-03-02T07:00:00+08:00'), hm(8), SH)).toBe(at('2026-03-02T08:00:00+08:00'));
  });
  it('across the day boundary: 23:00 → 08:00 the next morning', () => {
    expect(nextLocalTime(at('2026-03-02T23:00:00+08:00'), hm(8), SH)).toBe(at('2026-03-03T08:00:00+08:00'));
    // Midnight in Shanghai is 16:00 UTC the day before: the local date is what counts.
    expect(nextLocalTime(at('2026-03-02T16:30:00Z'), hm(8), SH)).toBe(at('2026-03-03T08:00:00+08:00'));
  });
  it('across month and year ends', () => {
    expect(nextLocalTime(at('2026-02-28T22:00:00+08:00'), hm(8), SH)).toBe(at('2026-03-01T08:00:00+08:00'));
    expect(nextLocalTime(at('2026-12-31T23:59:00+08:00'), hm(0), SH)).toBe(at('2027-01-01T00:00:00+08:00'));
  });
  it('"at or after": the exact instant is returned, a millisecond later rolls to tomorrow', () => {
    const eight = at('2026-03-02T08:00:00+08:00');
    expect(nextLocalTime(eight, hm(8), SH)).toBe(eight);
    expect(nextLocalTime(eight + 1, hm(8), SH)).toBe(eight + 24 * HOUR);
  });
  it('minutes are kept', () => {
    expect(nextLocalTime(at('2026-03-02T09:00:00+08:00'), hm(8, 45), SH)).toBe(at('2026-03-03T08:45:00+08:00'));
  });
});

describe('nextLocalTime across the DST changes in Europe/Berlin', () => {
  it('spring forward (2026-03-29): 08:00 comes 8 hours after Saturday 23:00, not 9', () => {
    const from = at('2026-03-28T23:00:00+01:00');
    const t = nextLocalTime(from, hm(8), BER);
    expect(t).toBe(at('2026-03-29T08:00:00+02:00'));
    expect(t - from).toBe(8 * HOUR);
    expect(localMinuteOfDay(t, BER)).toBe(hm(8));
  });
  it('spring forward: a daily 09:00 is 23 hours after the previous one', () => {
    const sat = at('2026-03-28T09:00:00+01:00');
    expect(nextLocalTime(sat + 1, hm(9), BER) - sat).toBe(23 * HOUR);
  });
  it('spring forward: a time in the skipped hour (02:30) resolves to the first instant past the gap', () => {
    const t = nextLocalTime(at('2026-03-29T00:30:00+01:00'), hm(2, 30), BER);
    expect(t).toBe(at('2026-03-29T03:00:00+02:00'));
    expect(localParts(t, BER)).toMatchObject({ day: 29, hour: 3, minute: 0 });
  });
  it('fall back (2026-10-25): 08:00 comes 10 hours after Saturday 23:00, not 9', () => {
    const from = at('2026-10-24T23:00:00+02:00');
    const t = nextLocalTime(from, hm(8), BER);
    expect(t).toBe(at('2026-10-25T08:00:00+01:00'));
    expect(t - from).toBe(10 * HOUR);
  });
  it('fall back: a daily 09:00 is 25 hours after the previous one', () => {
    const sat = at('2026-10-24T09:00:00+02:00');
    expect(nextLocalTime(sat + 1, hm(9), BER) - sat).toBe(25 * HOUR);
  });
  it('fall back: a repeated time (02:30) is first found at its first occurrence, then at its second', () => {
    expect(nextLocalTime(at('2026-10-25T00:00:00+02:00'), hm(2, 30), BER)).toBe(at('2026-10-25T02:30:00+02:00'));
    expect(nextLocalTime(at('2026-10-25T02:45:00+02:00'), hm(2, 30), BER)).toBe(at('2026-10-25T02:30:00+01:00'));
    expect(nextLocalTime(at('2026-10-25T02:45:00+01:00'), hm(2, 30), BER)).toBe(at('2026-10-26T02:30:00+01:00'));
  });
  it('a time already passed on a change day rolls to the next day', () => {
    expect(nextLocalTime(at('2026-03-29T08:00:30+02:00'), hm(8), BER)).toBe(at('2026-03-30T08:00:00+02:00'));
    expect(nextLocalTime(at('2026-10-25T08:00:30+01:00'), hm(8), BER)).toBe(at('2026-10-26T08:00:00+01:00'));
  });
  it('every result has the wanted local time (or is the end of the gap) and is the first one', () => {
    for (const day of ['2026-03-28T00:00:00Z', '2026-10-24T00:00:00Z']) {
      for (let h = 0; h < 48; h++) {
        const from = at(day) + h * HOUR + 17 * 60_000;
        for (const minute of [0, hm(1), hm(1, 59), hm(2), hm(2, 30), hm(2, 59), hm(3), hm(8), hm(22), hm(23, 59)]) {
          const t = nextLocalTime(from, minute, BER);
          expect(t).toBeGreaterThanOrEqual(from);
          const inGap = localDate(t, BER) === '2026-03-29' && minute >= hm(2) && minute < hm(3);
          expect(localMinuteOfDay(t, BER)).toBe(inGap ? hm(3) : minute);
          // Nothing earlier: one minute before t (and an hour before, past a repeated hour) the
          // local time was not yet the wanted one, unless that instant is before `from`.
          for (const back of [60_000, HOUR]) {
            if (t - back >= from) expect(localMinuteOfDay(t - back, BER)).not.toBe(minute);
          }
        }
      }
    }
  });
});

describe('local parts and offsets', () => {
  it('reads local dates and offsets', () => {
    expect(localDate(at('2026-03-02T16:30:00Z'), SH)).toBe('2026-03-03');
    expect(zoneOffsetMs(at('2026-03-02T00:00:00Z'), SH)).toBe(8 * HOUR);
    expect(zoneOffsetMs(at('2026-03-29T00:59:00Z'), BER)).toBe(1 * HOUR);
    expect(zoneOffsetMs(at('2026-03-29T01:00:00Z'), BER)).toBe(2 * HOUR);
    expect(zoneOffsetMs(at('2026-10-25T00:59:00Z'), BER)).toBe(2 * HOUR);
    expect(zoneOffsetMs(at('2026-10-25T01:00:00Z'), BER)).toBe(1 * HOUR);
    expect(localMinuteOfDay(at('2026-03-02T23:59:59+08:00'), SH)).toBe(hm(23, 59));
    expect(localMinuteOfDay(at('2026-03-02T00:00:00+08:00'), SH)).toBe(0); // h23 cycle: midnight is 0, not 24
  });
});

describe('inWindow', () => {
  const start = hm(22);
  const end = hm(8);
  it('a window wrapping midnight (22:00–08:00) holds late evening, midnight and early morning', () => {
    for (const m of [hm(22), hm(23, 59), hm(0), hm(3), hm(7, 59)]) expect(inWindow(m, start, end)).toBe(true);
  });
  it('and not the day: the end is exclusive, the start inclusive', () => {
    for (const m of [hm(8), hm(12), hm(21, 59)]) expect(inWindow(m, start, end)).toBe(false);
  });
  it('a window within one day', () => {
    expect(inWindow(hm(12), hm(9), hm(17))).toBe(true);
    expect(inWindow(hm(17), hm(9), hm(17))).toBe(false);
    expect(inWindow(hm(8, 59), hm(9), hm(17))).toBe(false);
  });
  it('an empty window (start = end) holds nothing', () => {
    expect(inWindow(hm(8), hm(8), hm(8))).toBe(false);
    expect(inWindow(hm(20), hm(8), hm(8))).toBe(false);
  });
});

describe('parseTimeOfDay', () => {
  it('parses HH:MM', () => {
    expect(parseTimeOfDay('22:00')).toBe(1320);
    expect(parseTimeOfDay('8:05')).toBe(485);
    expect(parseTimeOfDay('00:00')).toBe(0);
  });
  it('rejects what is not a time of day', () => {
    for (const bad of ['24:00', '22:60', '2200', '10pm', '']) expect(() => parseTimeOfDay(bad)).toThrow(/invalid time of day/);
  });
});
