import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { count, harness, joined, message, outboxRows, removeTempDirs, replaceOnce, tempConfig, type Harness } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

const VIP = { id: 'python-vip@chatroom', name: 'Python 数据分析正式班' };
const MON = Date.parse('2026-03-16T11:00:00+08:00'); // week 1 of the demo homework is open

function say(h: Harness, user: string, text: string, opts: { dm?: boolean } = {}): string[] {
  const before = count(h.db, 'outbox');
  h.engine.handleEvent(message(user, text, { at: h.clock.now(), dm: opts.dm, group: VIP }), h.clock.now());
  return outboxRows(h.db).slice(before).map((r) => `${r.chat_kind === 'dm' ? '@' : '#'}${r.chat_id} ${r.text}`);
}

describe('check-in: bad input changes nothing', () => {
  it('a spam-length check-in is refused in the group and not recorded', () => {
    const h = harness({ start: MON });
    expect(say(h, 'alice', `打卡 ${'很长'.repeat(300)}`)).toEqual(['#python-vip@chatroom 打卡内容太长了（600 字），请控制在 500 字以内。']);
    expect(count(h.db, 'checkins')).toBe(0);
  });

  it('with min_length, an empty check-in is refused; with group_errors: silent, silently', () => {
    const config = loadConfig(
      tempConfig({ 'kequn.yaml': (t) => replaceOnce(replaceOnce(t, 'min_length: 0 ', 'min_length: 4 '), 'group_errors: reply', 'group_errors: silent') }),
      { env: {} },
    );
    const h = harness({ config, start: MON });
    expect(say(h, 'alice', '打卡')).toEqual([]);
    expect(say(h, 'alice', '/checkin', { dm: true })).toEqual(['@alice 打卡请写上今天学了什么，例如「打卡 今天学了 pandas」。']);
    expect(count(h.db, 'checkins')).toBe(0);
    expect(say(h, 'alice', '打卡 读完第三章')[0]).toContain('已连续打卡 1 天');
  });

  it('make-up and leave refusals: not a day, today, already counted, over the monthly allowance', () => {
    const h = harness({ start: MON });
    say(h, 'alice', '打卡 1');
    expect(say(h, 'alice', '补卡 3月99日')).toEqual(['#python-vip@chatroom 没看懂要补哪一天：「3月99日」。例如「补卡 昨天」或「补卡 3月3日」。']);
    expect(say(h, 'alice', '补卡 今天')[0]).toContain('补卡只能补今天以前的日子');
    expect(say(h, 'alice', '请假')[0]).toContain('今天已经打过卡（或请过假）了');
    expect(say(h, 'alice', '请假 9天')[0]).toContain('一次最多请 7 天假');
    expect(count(h.db, 'checkins')).toBe(1);
    expect(say(h, 'alice', '请假 明天 4天')[0]).toContain('请假已记录（3月17日–3月20日）');
    expect(say(h, 'alice', '请假 明天')[0]).toContain('这几天已经打过卡或请过假了');
    h.clock.set(MON + 5 * 86_400_000);
    expect(say(h, 'alice', '请假')[0]).toContain('每月最多请 4 天假，3月已经请了 4 天');
    expect(count(h.db, 'checkins')).toBe(5);
  });
});

describe('homework: bad input changes nothing', () => {
  it('not a link, no such week, not in a homework group, an instructor command from a member', () => {
    const h = harness({ start: MON });
    expect(say(h, 'eve', '作业 第1周 https://colab.example.com/eve', { dm: true })).toEqual(['@eve 只有正式班的同学才需要提交作业哦。']);
    h.engine.handleEvent(joined('eve', { at: MON, group: VIP }), MON);
    expect(say(h, 'eve', '作业 第1周 javascript:alert(1)', { dm: true })[0]).toContain('不是一个链接');
    expect(say(h, 'eve', '作业 第1周 http://localhost/x', { dm: true })[0]).toContain('不是一个链接');
    expect(say(h, 'eve', '作业 第9周 https://colab.example.com/eve', { dm: true })[0]).toContain('没有第9周的作业');
    expect(say(h, 'eve', '作业 交了', { dm: true })[0]).toContain('提交格式：作业 第2周');
    expect(say(h, 'eve', '/homework review H1', { dm: true })).toEqual(['@eve 你没有权限使用 /homework。']);
    expect(count(h.db, 'homework_submissions')).toBe(0);
    expect(say(h, 'eve', '/submit 1 https://colab.example.com/eve', { dm: true })[0]).toContain('收到你的第1周作业');
    // Past the late window the week is closed.
    h.clock.set(Date.parse('2026-03-30T09:00:00+08:00'));
    expect(say(h, 'eve', '作业 第1周 https://colab.example.com/eve2', { dm: true })[0]).toContain('第1周作业已经截止');
    expect((h.db.prepare('SELECT link FROM homework_submissions').get() as { link: string }).link).toBe('https://colab.example.com/eve');
  });

  it('an instructor reviewing an unknown submission gets the usage, nothing changes', () => {
    const h = harness({ start: MON });
    expect(say(h, 'teacher', '/homework review H42', { dm: true })[0]).toContain('no submission H42');
    expect(say(h, 'teacher', '/homework frobnicate', { dm: true })[0]).toContain('unknown subcommand');
  });
});
