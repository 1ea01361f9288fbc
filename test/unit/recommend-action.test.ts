import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, registry } from '../../src/app.js';
import { openCheckout } from '../../src/flows/orders/orders.js';
import { latestOrderOf, markOrderPaid } from '../../src/flows/orders/store/orders.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { harness, message, outboxRows, removeTempDirs, tempConfig, type Harness } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

// The recommend action through the engine, on the course-path fixture with one extra rule:
// 「给我推荐」 runs `recommend`. recommend.max_per_month is 1 there, open_for 7d.
const at = (local: string) => Date.parse(`${local}+08:00`);
const RULE = `
  - id: ask-for-recommendation
    description: 「给我推荐」：推荐下一门课
    on: message
    when:
      text: { contains: 给我推荐 }
    final: true
    do:
      - recommend: {}
`;

function course(edits: Record<string, (t: string) => string> = {}) {
  const dir = tempConfig({ ...edits, 'rules.yaml': (t) => (edits['rules.yaml'] ?? ((x: string) => x))(t.replace('rules:\n', `rules:\n${RULE}`)) }, 'test/fixtures/recommend-course');
  return loadConfig(dir, { env: {} });
}

function say(h: Harness, user: string, text: string, when: string): void {
  const t = at(when);
  h.clock.set(Math.max(h.clock.now(), t));
  h.engine.handleEvent(message(user, text, { at: t, dm: true }), t);
}

function pay(h: Harness, user: string, productId: string, when: string): void {
  const m = findMemberByIdentity(h.db, 'wechat', user)!;
  const r = openCheckout(h.db, h.config, [], { memberId: m.id, platform: 'wechat', platformId: user, productId, now: at(when) });
  if (!r.ok) throw new Error(r.reason);
  markOrderPaid(h.db, { id: r.order.id, provider: 'sandbox', outTradeNo: `T-${r.order.id}`, transactionId: `X-${r.order.id}`, amount: r.order.amount, stageBefore: m.stage, now: at(when) });
}

const recommendations = (h: Harness, user: string) => outboxRows(h.db).filter((r) => r.chat_id === user && r.text.includes('推荐你接下来学'));
const sentRows = (h: Harness) => h.db.prepare('SELECT product_id, reason, rule_id FROM recommendations ORDER BY id').all() as { product_id: string; reason: string; rule_id: string }[];

function alice(config = course()): Harness {
  const h = harness({ config, start: at('2026-03-16T08:00:00') });
  say(h, 'alice', '你好', '2026-03-16T09:00:00');
  pay(h, 'alice', 'python-vip', '2026-03-16T09:05:00');
  return h;
}

describe('recommend action', () => {
  it('sends the first-ranked product with its reason and the checkout link at the server price, in one private message', () => {
    const h = alice();
    say(h, 'alice', '给我推荐', '2026-03-16T10:00:00');
    const [msg] = recommendations(h, 'alice');
    expect(msg!.chat_kind).toBe('dm');
    expect(msg!.text).toMatch(/^alice，推荐你接下来学《数据分析进阶班》：因为你学了《Python 数据分析正式班（第 3 期）》，这是下一步。[\s\S]*\/pay\/[A-Za-z0-9_-]{20,}[\s\S]*原价 ¥299\.00，你的价格 ¥284\.05（老学员 95 折 -¥14\.95）/);
    expect(sentRows(h)).toEqual([{ product_id: 'data-pro', reason: '因为你学了《Python 数据分析正式班（第 3 期）》，这是下一步', rule_id: 'ask-for-recommendation' }]);
    const m = findMemberByIdentity(h.db, 'wechat', 'alice')!;
    expect(latestOrderOf(h.db, m.id, ['created'])).toMatchObject({ product_id: 'data-pro', amount: 28405 });
  });

  it('at most recommend.max_per_month per calendar month (course zone)', () => {
    const h = alice();
    say(h, 'alice', '给我推荐', '2026-03-16T10:00:00');
    say(h, 'alice', '给我推荐', '2026-03-31T23:59:00');
    expect(recommendations(h, 'alice')).toHaveLength(1);
    // 1 April 00:00 in Shanghai: a new month.
    say(h, 'alice', '给我推荐', '2026-04-01T00:00:00');
    expect(recommendations(h, 'alice')).toHaveLength(2);
    expect(sentRows(h)).toHaveLength(2);
  });

  it('max_per_month: 0 sends none', () => {
    const h = alice(course({ 'kequn.yaml': (t) => t.replace('max_per_month: 1', 'max_per_month: 0') }));
    say(h, 'alice', '给我推荐', '2026-03-16T10:00:00');
    expect(recommendations(h, 'alice')).toHaveLength(0);
  });

  it('never to a member who opted out (/unsubscribe or 退订); /subscribe turns it back on', () => {
    const h = alice();
    say(h, 'alice', '/unsubscribe', '2026-03-16T09:30:00');
    expect(outboxRows(h.db).at(-1)!.text).toContain('已退订课程推荐');
    say(h, 'alice', '给我推荐', '2026-03-16T10:00:00');
    expect(recommendations(h, 'alice')).toHaveLength(0);
    expect(sentRows(h)).toEqual([]);
    say(h, 'alice', '退订', '2026-03-16T10:30:00');
    expect(outboxRows(h.db).at(-1)!.text).toContain('你已经退订过课程推荐了');
    say(h, 'alice', '/subscribe', '2026-03-16T11:00:00');
    say(h, 'alice', '给我推荐', '2026-03-16T11:30:00');
    expect(recommendations(h, 'alice')).toHaveLength(1);
  });

  it('nothing is sent when every product on sale is bought; a sold-out one is skipped for the next, never announced', () => {
    const h = alice();
    for (const p of ['data-pro', 'ml-camp', 'interview']) pay(h, 'alice', p, '2026-03-16T09:10:00');
    say(h, 'alice', '给我推荐', '2026-03-16T10:00:00');
    expect(recommendations(h, 'alice')).toHaveLength(0);

    const h2 = alice(course({ 'catalog.yaml': (t) => t.replace('    groups: [data-pro]\n', '    groups: [data-pro]\n    seats: 1\n') }));
    say(h2, 'bob', '你好', '2026-03-16T09:00:00');
    pay(h2, 'bob', 'data-pro', '2026-03-16T09:01:00');
    say(h2, 'alice', '给我推荐', '2026-03-16T10:00:00');
    // data-pro ranks first but is sold out; ml-camp needs data-pro: the interview camp is what is sent, alone.
    const sent = outboxRows(h2.db).filter((r) => r.chat_id === 'alice' && r.created_at >= at('2026-03-16T10:00:00'));
    expect(sent.map((r) => r.text.split('\n')[0])).toEqual([expect.stringContaining('推荐你接下来学《求职面试冲刺营》')]);
    expect(sentRows(h2).map((r) => r.product_id)).toEqual(['interview']);
  });

  it('报名 while the recommendation is open buys the recommended product; after open_for, the ordinary one', () => {
    const h = alice();
    say(h, 'alice', '给我推荐', '2026-03-16T10:00:00');
    say(h, 'alice', '报名', '2026-03-16T12:30:00');
    expect(outboxRows(h.db).at(-1)!.text).toMatch(/数据分析进阶班[\s\S]*\/pay\//);
    // Eight days later the recommendation is closed: 报名 is the course's default product (bought).
    say(h, 'alice', '报名', '2026-03-24T12:30:00');
    expect(outboxRows(h.db).at(-1)!.text).toContain('已经购买过');
  });

  it('privacy: export lists what was sent and the opt-out; forget blanks the reasons and keeps the opt-out', () => {
    const h = alice();
    say(h, 'alice', '给我推荐', '2026-03-16T10:00:00');
    say(h, 'alice', '退订', '2026-03-16T10:30:00');
    const f = registry.features.find((x) => x.name === 'recommend')!;
    const id = findMemberByIdentity(h.db, 'wechat', 'alice')!.id;
    expect(f.privacy!.export!(h.db, id)).toMatchObject({ recommendations: [{ product_id: 'data-pro', reason: expect.stringContaining('因为你学了') }], recommendations_opted_out_at: at('2026-03-16T10:30:00') });
    f.privacy!.forget!(h.db, id, h.config);
    expect(sentRows(h)).toEqual([{ product_id: 'data-pro', reason: '', rule_id: 'ask-for-recommendation' }]);
    say(h, 'alice', '给我推荐', '2026-04-02T10:00:00');
    expect(recommendations(h, 'alice')).toHaveLength(1);
  });
});
