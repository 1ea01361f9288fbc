/**
 * Durations as operators write them in config and scenarios: `30s`, `10m`, `2h`, `1d`, `1d2h`,
 * `1w`. A bare `0` means no delay.
 *
 * Our own on purpose: parse-duration (the kept library for this) reads a bare `5` as 5 ms, `d1` as
 * 1 ms, `-1h` as a negative hour and `1mo` as a month, where a seller's typo in config must be an
 * error naming the key, not a window of 5 milliseconds. This grammar is the whole contract.
 *
 * @example parseDuration('1d2h') === 93_600_000
 */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PART = /(\d+)(ms|s|m|h|d|w)/gy;

export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  if (s === '') throw new Error('empty duration');
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = PART.exec(s)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    consumed = PART.lastIndex;
  }
  if (consumed !== s.length) {
    throw new Error(`invalid duration "${text}" (use forms like 30s, 10m, 2h, 1d, 1d2h)`);
  }
  return total;
}

/** True when `text` parses as a duration; used by config validation. */
export function isDuration(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  try {
    parseDuration(text);
    return true;
  } catch {
    return false;
  }
}

/** A short human form for logs and traces: 93_600_000 → "1d2h". */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  if (parts.length === 0) parts.push(`${rest}ms`);
  return parts.join('');
}
