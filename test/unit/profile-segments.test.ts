import { basename } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { openCheckout } from '../../src/flows/orders/orders.js';
import { markOrderPaid } from '../../src/flows/orders/store/orders.js';
import { parseAnnounce } from '../../src/flows/announce/command-args.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { harness, joined, loadProblems, message, outboxRows, removeTempDirs, tempConfig, type Harness } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

// Segments of kequn.yaml profile.segments as /announce targets: who is in them is counted by hand.
const COURSE = 'test/fixtures/recommend-course';
const SEGMENTS = `
profile:
  segments:
    勤奋学员: { profile.checkin_rate: { gte: 0.8 } }
    old-students: { profile.bought: python-vip, not: { profile.bought: data-pro } }
`;
const at = (local: string) => Date.parse(`${local}+08:00`);
const VIP = { id: 'python-vip@chatroom', name: 'Python 数据分析正式班' };

function say(h: Harness, user: string, text: string, when: string, group?: typeof VIP): void {
  const t = at(when);
  h.clock.set(Math.max(h.clock.now(), t));
  h.engine.handleEvent(group ? message(user, text, { at: t, group }) : message(user, text, { at: t, dm: true }), t);
}

function pay(h: Harness, user: string, productId: string): void {
  const m = findMemberByIdentity(h.db, 'wechat', user)!;
  const r = openCheckout(h.db, h.config, [], { memberId: m.id, platform: 'wechat', platformId: user, productId, now: h.clock.now() });
  if (!r.ok) throw new Error(r.reason);
  markOrderPaid(h.db, { id: r.order.id, provider: 'sandbox', outTradeNo: `T-${r.order.id}`, transactionId: `X-${r.order.id}`, amount: r.order.amount, stageBefore: m.stage, now: h.clock.now() });
}

/**
 * alice: joined the 16th, checked in the 16th and 17th (2 of 2 days by the 18th): 勤奋学员; bought python-vip only: old-students.
 * bob: joined the 16th, no check-ins (0 of 2); bought python-vip and data-pro: neither segment.
 * carol: joined the 16th, checked in the 17th only (1 of 2 = 0.5); bought nothing: neither.
 */
function course(): Harness {
  const h = harness({ config: loadConfig(tempConfig({ 'kequn.yaml': (t) => t + SEGMENTS }, COURSE), { env: {} }), start: at('2026-03-16T08:00:00') });
  for (const u of ['alice', 'bob', 'carol']) h.engine.handleEvent(joined(u, { at: at('2026-03-16T09:00:00'), group: VIP, name: u }), at('2026-03-16T09:00:00'));
  say(h, 'alice', '打卡 一', '2026-03-16T12:00:00', VIP);
  say(h, 'alice', '打卡 二', '2026-03-17T12:00:00', VIP);
  say(h, 'carol', '打卡 二', '2026-03-17T12:05:00', VIP);
  pay(h, 'alice', 'python-vip');
  pay(h, 'bob', 'python-vip');
  pay(h, 'bob', 'data-pro');
  h.clock.set(at('2026-03-18T10:00:00'));
  return h;
}

const dmsTo = (h: Harness, text: string) =>
  outboxRows(h.db)
    .filter((r) => r.chat_kind === 'dm' && r.text === text)
    .map((r) => r.chat_id)
    .sort();

describe('segments', () => {
  it('the profile service lists the members a segment holds', () => {
    const h = course();
    const ids = (name: string) => h.services.profile.segmentMembers(h.db, name, 'wechat', h.clock.now(), h.services).map((m) => m.platform_id);
    expect(ids('勤奋学员')).toEqual(['alice']);
    expect(ids('old-students')).toEqual(['alice']);
    expect(h.services.profile.segmentNames()).toEqual(['勤奋学员', 'old-students']);
  });

  it('/announce segment:… previews, then sends privately to exactly those members', () => {
    const h = course();
    say(h, 'teacher', '/announce segment:勤奋学员 segment:old-students {name}，给你留了一份进阶资料', '2026-03-18T10:00:00');
    expect(outboxRows(h.db).at(-1)!.text).toContain('将发到：私信分群：勤奋学员、old-students（群 0 个，私信 1 人，共 1 条）');
    say(h, 'teacher', '/confirm', '2026-03-18T10:01:00');
    expect(dmsTo(h, 'alice，给你留了一份进阶资料')).toEqual(['alice']);
  });

  it('a member who said 退订 is in no segment send until they say 订阅', () => {
    const h = course();
    const ids = (name: string) => h.services.profile.segmentMembers(h.db, name, 'wechat', h.clock.now(), h.services).map((m) => m.platform_id);
    say(h, 'alice', '/unsubscribe', '2026-03-18T09:00:00');
    expect(ids('勤奋学员')).toEqual([]);
    expect(ids('old-students')).toEqual([]);
    say(h, 'teacher', '/announce segment:勤奋学员 segment:old-students {name}，给你留了一份进阶资料', '2026-03-18T10:00:00');
    expect(outboxRows(h.db).at(-1)!.text).toBe('这条公告现在没有任何可发送的对象（私信分群：勤奋学员、old-students），没有保存。');
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM announcements').get()).toEqual({ n: 0 });
    say(h, 'alice', '/subscribe', '2026-03-18T11:00:00');
    expect(ids('勤奋学员')).toEqual(['alice']);
  });

  it('an unknown segment is a usage error naming the known ones, and nothing is saved', () => {
    const h = course();
    say(h, 'teacher', '/announce segment:nobody 你好', '2026-03-18T10:00:00');
    expect(outboxRows(h.db).at(-1)!.text).toContain('unknown segment "nobody" (segments in kequn.yaml profile.segments: 勤奋学员, old-students)');
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM announcements').get()).toEqual({ n: 0 });
    expect(parseAnnounce('segment:勤奋学员 hi').targets).toEqual([{ kind: 'segment', segment: '勤奋学员' }]);
  });

  it.each([
    ['an unknown fact', '{ profile.checkin_rat: { gte: 0.8 } }', /unknown fact "profile\.checkin_rat".*profile\.checkin_rate/, 'profile.segments.bad.profile.checkin_rat'],
    ['a wrong operator', '{ profile.bought: { gte: 1 } }', /operator "gte" does not apply to strings fact "profile\.bought"/, 'profile.segments.bad.profile.bought.gte'],
    ['a fact that is not a profile fact', '{ stage: paid }', /unknown fact "stage"/, 'profile.segments.bad.stage'],
    ['no condition', '{}', /at least one condition/, 'profile.segments.bad'],
  ])('%s in a segment is refused at load with file, line and key', (_what, when, message, keyPath) => {
    const problems = loadProblems(tempConfig({ 'kequn.yaml': (t) => `${t}\nprofile:\n  segments:\n    bad: ${when}\n` }, COURSE));
    expect(problems, JSON.stringify(problems)).toHaveLength(1);
    expect(basename(problems[0]!.file)).toBe('kequn.yaml');
    expect(problems[0]!.message).toMatch(message);
    expect(problems[0]!.keyPath).toBe(keyPath);
    expect(problems[0]!.line).toBeGreaterThan(1);
  });
});
