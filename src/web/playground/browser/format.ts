/**
 * Times as the course sees them: in the course's time zone (course.timezone), in Chinese, whatever
 * the zone of the computer showing the playground.
 */

export type TimeStyle = 'full' | 'short' | 'time';

const cache = new Map<string, Intl.DateTimeFormat>();

function formatter(style: TimeStyle, timeZone: string | undefined): Intl.DateTimeFormat {
  const key = `${style}|${timeZone ?? ''}`;
  let f = cache.get(key);
  if (!f) {
    const o: Intl.DateTimeFormatOptions = { timeZone, hourCycle: 'h23' };
    if (style === 'full') Object.assign(o, { month: 'numeric', day: 'numeric', weekday: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    else if (style === 'short') Object.assign(o, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    else Object.assign(o, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    try {
      f = new Intl.DateTimeFormat('zh-CN', o);
    } catch {
      // A zone this browser does not know: the computer's own, rather than nothing.
      delete o.timeZone;
      f = new Intl.DateTimeFormat('zh-CN', o);
    }
    cache.set(key, f);
  }
  return f;
}

/** `t` (epoch ms) in the course's zone: full 「3月2日周一 10:00:05」, short 「03/02 10:00」, time 「03/02 10:00:05」. */
export function formatTime(t: number, style: TimeStyle, timeZone: string | undefined): string {
  return formatter(style, timeZone).format(new Date(t));
}

/** A span of time in words: 「1 天 2 小时」, 「5 分」, 「不到 1 分钟」. */
export function duration(ms: number): string {
  const m = Math.round(ms / 60000);
  const d = Math.floor(m / 1440);
  const h = Math.floor((m % 1440) / 60);
  const mm = m % 60;
  const out: string[] = [];
  if (d) out.push(`${d} 天`);
  if (h) out.push(`${h} 小时`);
  if (mm && !d) out.push(`${mm} 分`);
  return out.length ? out.join(' ') : '不到 1 分钟';
}
