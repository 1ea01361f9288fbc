import { describe, expect, it } from 'vitest';
import { parseAnnounce, parseRemind, resolveWhen } from '../../src/flows/announce/command-args.js';
import { parseMemberArg } from '../../src/core/member-arg.js';
import { adInText, hostAllowed, linkHosts, normaliseForRepeat } from '../../src/flows/moderation/spam.js';
import { UsageError } from '../../src/core/types.js';

const TZ = 'Asia/Shanghai';
const NOW = Date.parse('2026-03-02T10:00:00+08:00');

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error('expected a UsageError');
}

describe('parseAnnounce', () => {
  it('takes the text alone: all course groups, now', () => {
    expect(parseAnnounce('今晚 8 点直播')).toEqual({ at: null, dryRun: false, targets: [], text: '今晚 8 点直播' });
  });

  it('reads time, dry run and every kind of target, in that order, and keeps the text whole', () => {
    expect(parseAnnounce('at 2026-03-05 20:00 dry-run #python-101 group:python-vip kind:paid stage:trial all 第一行\n第二行 #不是目标')).toEqual({
      at: { date: '2026-03-05', minute: 20 * 60 },
      dryRun: true,
      targets: [
        { kind: 'group', handle: 'python-101' },
        { kind: 'group', handle: 'python-vip' },
        { kind: 'group-kind', groupKind: 'paid' },
        { kind: 'stage', stage: 'trial' },
        { kind: 'all' },
      ],
      text: '第一行\n第二行 #不是目标',
    });
    expect(parseAnnounce('at 9:05 --dry-run 早安').at).toEqual({ date: null, minute: 9 * 60 + 5 });
  });

  it('rejects missing text, malformed times and impossible dates', () => {
    expect(usageError(() => parseAnnounce(''))).toMatch(/expected the text/);
    expect(usageError(() => parseAnnounce('#python-101 stage:trial'))).toMatch(/no text/);
    expect(usageError(() => parseAnnounce('at'))).toMatch(/expected a time/);
    expect(usageError(() => parseAnnounce('at tomorrow 你好'))).toMatch(/not a date or time/);
    expect(usageError(() => parseAnnounce('at 2026-03-05 你好'))).toMatch(/expected a time of day/);
    expect(usageError(() => parseAnnounce('at 2026-02-30 20:00 你好'))).toMatch(/not a date or time/);
    expect(usageError(() => parseAnnounce('at 24:00 你好'))).toMatch(/not a date or time/);
    expect(usageError(() => parseAnnounce('x'.repeat(2001)))).toMatch(/at most 2000/);
  });
});

describe('parseRemind', () => {
  it('reads group, text and the time at the end', () => {
    expect(parseRemind('#python-vip 今晚 8 点交作业 at 19:30')).toEqual({ group: 'python-vip', text: '今晚 8 点交作业', at: { date: null, minute: 19 * 60 + 30 } });
    expect(parseRemind('python-101 明天 at 前交 at 2026-03-05 08:00')).toEqual({ group: 'python-101', text: '明天 at 前交', at: { date: '2026-03-05', minute: 8 * 60 } });
  });

  it('rejects a reminder without a time, text or a valid time', () => {
    expect(usageError(() => parseRemind('python-101 交作业'))).toMatch(/"at <time>"/);
    expect(usageError(() => parseRemind('python-101 at 20:00'))).toMatch(/"at <time>"/);
    expect(usageError(() => parseRemind('python-101 交作业 at 8pm'))).toMatch(/not a date or time/);
    expect(usageError(() => parseRemind('python-101 交作业 at 20:00 today'))).toMatch(/not a date or time|unexpected/);
  });
});

describe('resolveWhen (course time zone)', () => {
  it('turns a local date-time into the instant, and a time of day into its next occurrence', () => {
    expect(resolveWhen({ date: '2026-03-05', minute: 20 * 60 }, NOW, TZ)).toBe(Date.parse('2026-03-05T20:00:00+08:00'));
    expect(resolveWhen({ date: null, minute: 9 * 60 }, NOW, TZ)).toBe(Date.parse('2026-03-03T09:00:00+08:00'));
    expect(resolveWhen({ date: null, minute: 11 * 60 }, NOW, TZ)).toBe(Date.parse('2026-03-02T11:00:00+08:00'));
    expect(resolveWhen({ date: '2026-03-29', minute: 3 * 60 }, Date.parse('2026-03-01T00:00:00Z'), 'Europe/Berlin')).toBe(Date.parse('2026-03-29T03:00:00+02:00'));
  });

  it('rejects the past and a time the clocks skip', () => {
    expect(usageError(() => resolveWhen({ date: '2026-03-02', minute: 9 * 60 }, NOW, TZ))).toMatch(/in the past/);
    expect(usageError(() => resolveWhen({ date: '2026-03-29', minute: 2 * 60 + 30 }, Date.parse('2026-03-01T00:00:00Z'), 'Europe/Berlin'))).toMatch(/does not exist/);
  });
});

describe('parseMemberArg', () => {
  it('drops a leading @ and rejects nothing', () => {
    expect(parseMemberArg(' @王老师 ')).toBe('王老师');
    expect(usageError(() => parseMemberArg('  '))).toMatch(/expected a member/);
  });
});

describe('spam detection by text', () => {
  const opts = { allowedDomains: ['python.org', 'github.com'], keywords: ['代开发票'], contactIds: true };

  it('finds link hosts in URLs and bare domains, and allows listed domains with their subdomains', () => {
    expect(linkHosts('看 https://docs.python.org/3/ 和 cheap.top/x 还有 a@b.com')).toEqual(['docs.python.org', 'cheap.top']);
    expect(hostAllowed('docs.python.org', ['python.org'])).toBe(true);
    expect(hostAllowed('evilpython.org', ['python.org'])).toBe(false);
    expect(adInText('文档 https://docs.python.org/3/ 很好', opts)).toBeUndefined();
    expect(adInText('代码在 github.com/x/y', opts)).toBeUndefined();
    expect(adInText('低价课 http://cheap-course.top/python', opts)).toEqual({ kind: 'link', evidence: 'cheap-course.top' });
    expect(adInText('扫码 t.cn', opts)).toEqual({ kind: 'link', evidence: 't.cn' });
  });

  it('finds WeChat ids and QQ numbers left as contact details, but not wxPython or plain numbers', () => {
    expect(adInText('资料免费送，加微信 youhui888 领取', opts)).toEqual({ kind: 'contact', evidence: '微信 youhui888' });
    expect(adInText('vx: abc_12345', opts)).toEqual({ kind: 'contact', evidence: '微信 abc_12345' });
    expect(adInText('有事加QQ号：12345678', opts)).toEqual({ kind: 'contact', evidence: 'QQ 12345678' });
    expect(adInText('我用 wxPython 写界面', opts)).toBeUndefined();
    expect(adInText('我的成绩是 12345678 分', opts)).toBeUndefined();
    expect(adInText('加微信 youhui888', { ...opts, contactIds: false })).toBeUndefined();
  });

  it('finds configured keywords, case-insensitively', () => {
    expect(adInText('专业代开发票', opts)).toEqual({ kind: 'keyword', evidence: '代开发票' });
    expect(adInText('SPAM here', { ...opts, keywords: ['spam'] })).toEqual({ kind: 'keyword', evidence: 'spam' });
    expect(adInText('老师，pandas 怎么读 Excel？', opts)).toBeUndefined();
  });

  it('compares repeats without case, spaces or punctuation', () => {
    expect(normaliseForRepeat('Hello, World！！')).toBe(normaliseForRepeat('hello world'));
  });
});
