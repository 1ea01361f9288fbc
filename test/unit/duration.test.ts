import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/util/duration.js';

describe('durations', () => {
  it('parses the forms operators write', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1d2h')).toBe(93_600_000);
    expect(parseDuration('0')).toBe(0);
  });
  it('rejects malformed durations', () => {
    expect(() => parseDuration('1x')).toThrow(/invalid duration/);
    expect(() => parseDuration('d1')).toThrow(/invalid duration/);
    expect(() => parseDuration('')).toThrow(/empty/);
  });
  it('formats back', () => {
    expect(formatDuration(93_600_000)).toBe('1d2h');
  });
});
