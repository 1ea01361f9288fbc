import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../src/bot/events.js';
import { loadConfig, registry } from '../../src/app.js';
import { csvField, runReferrals } from '../../src/cli/referrals.js';
import { attribute } from '../../src/flows/referral/attribution.js';
import { moveStage } from '../../src/flows/lifecycle/stage-machine.js';
import type { OrderFacts } from '../../src/flows/orders/contracts.js';
import { checkReferralCode, referralDiscount } from '../../src/flows/referral/discount.js';
import { referralRewards } from '../../src/flows/referral/rewards.js';
import { buildServices } from '../../src/core/registry.js';
import { openStore, type Db } from '../../src/store/db.js';
import { findMemberByIdentity, resolveMember, setStage } from '../../src/store/members.js';
import {
  countPaidReferrals,
  decisionsAbout,
  insertCode,
  insertReferral,
  ledgerRows,
  ledgerTotalFen,
  referralOf,
  registerInviteLink,
} from '../../src/flows/referral/store.js';
import { DAY, HOUR, MINUTE, T0, count, firedTraces, harness, joined, left, message, outboxRows, removeTempDirs, tempConfig, type Harness } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

function mid(h: Harness | { db: Db }, user: string): string {
  const m = findMemberByIdentity(h.db, 'wechat', user);
  if (!m) throw new Error(`no member ${user}`);
  return m.id;
}

function joinVia(user: string, via: string | undefined, at: number, extra: Record<string, unknown> = {}): ChatEvent {
  const e = joined(user, { at, name: user[0]!.toUpperCase() + user.slice(1) }) as ChatEvent & Record<string, unknown>;
  if (via) (e as { inviter?: { id: string; name: string } }).inviter = { id: via, name: via };
  return Object.assign(e, extra);
}

/** Alice joins and gets the code AMY888; returns her member key. */
function alice(h: Harness): string {
  h.engine.handleEvent(joinVia('alice', undefined, T0), T0);
  const a = mid(h, 'alice');
  insertCode(h.db, { code: 'AMY888', memberId: a, kind: 'custom', now: T0 });
  return a;
}

function say(h: Harness, user: string, text: string, at: number, dm = true) {
  return h.engine.handleEvent(message(user, text, { at, dm }), at);
}

const lastTo = (h: Harness, chatId: string) => outboxRows(h.db).filter((o) => o.chat_id === chatId).at(-1)?.text ?? '';

function order(memberId: string, id: string, extra: Partial<OrderFacts> = {}): OrderFacts {
  return { id, memberId, productId: 'python-course', amountFen: 19900, discounts: [], ...extra };
}

describe('attribution: order of evidence', () => {
  it('the platform inviter wins over a code said later, and both decisions are recorded', () => {
    const h = harness();
    const a = alice(h);
    h.engine.handleEvent(joinVia('carol', undefined, T0), T0);
    insertCode(h.db, { code: 'CAR888', memberId: mid(h, 'carol'), kind: 'custom', now: T0 });
    h.engine.handleEvent(joinVia('bob', 'alice', T0 + MINUTE), T0 + MINUTE);
    const b = mid(h, 'bob');
    expect(referralOf(h.db, b)).toMatchObject({ referrer_id: a, source: 'inviter' });
    say(h, 'bob', '推荐码 CAR888', T0 + HOUR);
    expect(referralOf(h.db, b)!.referrer_id).toBe(a);
    expect(decisionsAbout(h.db, b).map((d) => [d.source, d.accepted, d.reason, JSON.parse(d.evidence).code ?? null])).toEqual([
      ['inviter', 1, 'accepted', null],
      ['code', 0, 'already_referred', 'CAR888'],
    ]);
    expect(lastTo(h, 'bob')).toMatch(/你已经有推荐人了/);
  });

  it('a personal invite link in the join event (Telegram inviteLink) names the referrer', () => {
    const h = harness();
    const a = alice(h);
    registerInviteLink(h.db, { platform: 'wechat', link: 'https://t.me/+alice1', memberId: a, groupId: 'python-101', now: T0 });
    h.engine.handleEvent(joinVia('bob', undefined, T0 + MINUTE, { inviteLink: { url: 'https://t.me/+alice1', name: 'alice', creatorId: 'bot' } }), T0 + MINUTE);
    expect(referralOf(h.db, mid(h, 'bob'))).toMatchObject({ referrer_id: a, source: 'invite_link' });
    // A link the bot created with the name ref-<code> needs no registration.
    h.engine.handleEvent(joinVia('carl', undefined, T0 + MINUTE, { inviteLink: { url: 'https://t.me/+zz9', name: 'ref-AMY888' } }), T0 + MINUTE);
    expect(referralOf(h.db, mid(h, 'carl'))).toMatchObject({ referrer_id: a, source: 'invite_link' });
    expect(JSON.parse(decisionsAbout(h.db, mid(h, 'carl'))[0]!.evidence)).toMatchObject({ link: 'https://t.me/+zz9' });
  });

  it('a link nobody owns (the public group link) is no evidence: no decision, a note in the trace', () => {
    // This course runs attribute_referral on every member's join (the demo only when there is evidence).
    const dir = tempConfig({ 'rules.yaml': (t) => t.replace('      any: [{ invited: true }, { invite_link: { exists: true } }]\n', '') });
    const h = harness({ config: loadConfig(dir, { env: {} }) });
    h.engine.handleEvent(joinVia('dan', undefined, T0, { inviteLink: 'https://t.me/+public' }), T0);
    expect(decisionsAbout(h.db, mid(h, 'dan'))).toEqual([]);
    const trace = firedTraces(h.db, 'referral-by-inviter')[0]!;
    expect(JSON.parse(trace.detail).actions).toEqual(['invite link https://t.me/+public belongs to no member']);
    h.engine.handleEvent(joinVia('eve', undefined, T0), T0);
    const last = firedTraces(h.db, 'referral-by-inviter').at(-1)!;
    expect(JSON.parse(last.detail).actions).toEqual(['no platform evidence of an inviter']);
  });

  it('a code said in the group after a join with no inviter attributes; the reply goes privately', () => {
    const h = harness();
    const a = alice(h);
    h.engine.handleEvent(joinVia('bob', undefined, T0 + MINUTE), T0 + MINUTE);
    const r = say(h, 'bob', '大家好，我的推荐码是 amy888', T0 + HOUR, false);
    expect(r.fired).toEqual(['referral-code-said']); // final: not also taken for a question
    expect(referralOf(h.db, mid(h, 'bob'))).toMatchObject({ referrer_id: a, source: 'code' });
    expect(outboxRows(h.db).filter((o) => o.event_id === r.eventRowId).map((o) => [o.chat_kind, o.chat_id])).toEqual([
      ['dm', 'bob'],
      ['dm', 'alice'],
    ]);
  });

  it('two referrers racing for one newcomer: the first wins, the store refuses a second referral', () => {
    const h = harness();
    const a = alice(h);
    h.engine.handleEvent(joinVia('carol', undefined, T0), T0);
    h.engine.handleEvent(joinVia('bob', undefined, T0), T0);
    const b = mid(h, 'bob');
    say(h, 'bob', 'AMY888', T0 + MINUTE);
    expect(insertReferral(h.db, { referredId: b, referrerId: mid(h, 'carol'), source: 'code', decisionId: 1, now: T0 })).toBe(false);
    expect(referralOf(h.db, b)!.referrer_id).toBe(a);
  });
});

describe('attribution: abuse', () => {
  it('staff invitations, churned referrers, expired windows and rejoin farming are refused and recorded', () => {
    const h = harness();
    const a = alice(h);
    // Staff: the teacher adds Bob.
    h.engine.handleEvent(joinVia('bob', 'teacher', T0 + MINUTE), T0 + MINUTE);
    expect(decisionsAbout(h.db, mid(h, 'bob')).map((d) => d.reason)).toEqual(['referrer_is_staff']);
    expect(referralOf(h.db, mid(h, 'bob'))).toBeUndefined();
    // Window: Dan was first seen 31 days before he says the code.
    h.engine.handleEvent(joinVia('dan', undefined, T0), T0);
    say(h, 'dan', '推荐码 AMY888', T0 + 31 * DAY);
    expect(decisionsAbout(h.db, mid(h, 'dan')).map((d) => d.reason)).toEqual(['window_expired']);
    expect(lastTo(h, 'dan')).toMatch(/超过期限/);
    // Churned referrer: Alice leaves; her code no longer works.
    h.engine.handleEvent(left('alice', { at: T0 + 2 * HOUR }), T0 + 2 * HOUR);
    h.engine.handleEvent(joinVia('eve', undefined, T0 + 3 * HOUR), T0 + 3 * HOUR);
    say(h, 'eve', '推荐码 AMY888', T0 + 3 * HOUR);
    expect(decisionsAbout(h.db, mid(h, 'eve')).map((d) => d.reason)).toEqual(['referrer_blocked']);
    expect(lastTo(h, 'eve')).toMatch(/已经失效/);
    expect(referralOf(h.db, mid(h, 'eve'))).toBeUndefined();
    expect(count(h.db, 'referrals', `referrer_id = '${a}'`)).toBe(0);
  });

  it('leaving and rejoining through another member does not change the referrer or pay twice', () => {
    const h = harness();
    alice(h);
    h.engine.handleEvent(joinVia('carol', undefined, T0), T0);
    const c = mid(h, 'carol');
    h.engine.handleEvent(joinVia('bob', 'carol', T0 + MINUTE), T0 + MINUTE);
    const b = mid(h, 'bob');
    referralRewards.paid(h.db, h.config, order(b, 'o1'), T0 + HOUR, h.services);
    h.engine.handleEvent(left('bob', { at: T0 + 2 * HOUR }), T0 + 2 * HOUR);
    h.engine.handleEvent(joinVia('bob', 'alice', T0 + 3 * HOUR), T0 + 3 * HOUR);
    expect(referralOf(h.db, b)!.referrer_id).toBe(c);
    expect(decisionsAbout(h.db, b).map((d) => d.reason)).toEqual(['accepted', 'already_referred']);
    referralRewards.paid(h.db, h.config, order(b, 'o2'), T0 + 4 * HOUR, h.services); // a second course
    referralRewards.paid(h.db, h.config, order(b, 'o1'), T0 + 5 * HOUR, h.services); // a redelivered notification
    expect(ledgerRows(h.db, { limit: 10 }).map((e) => [e.referrer_id, e.entry, e.fen, e.order_id])).toEqual([[c, 'reward', 3000, 'o1']]);
  });
});

describe('rewards: booked when the referred member pays, reversed on refund', () => {
  function threeReferred(h: Harness): { a: string; members: string[] } {
    const a = alice(h);
    moveStage(h.db, h.config, { memberId: a, to: 'paid', eventId: null, ruleId: null, actor: 'test', now: T0 });
    const members = ['bob', 'carol', 'dan'].map((u, i) => {
      h.engine.handleEvent(joinVia(u, 'alice', T0 + (i + 1) * MINUTE), T0 + (i + 1) * MINUTE);
      return mid(h, u);
    });
    return { a, members };
  }

  it('cash-back per paid referral, the tier bonus at 3, the referrer moves to loyal and is told', () => {
    const h = harness();
    const { a, members } = threeReferred(h);
    referralRewards.paid(h.db, h.config, order(members[0]!, 'o1'), T0 + DAY, h.services);
    expect(findMemberByIdentity(h.db, 'wechat', 'alice')!.stage).toBe('loyal');
    expect(lastTo(h, 'alice')).toBe('🎁 你推荐的 Bob 已报名，奖励已记入：返现 30 元（推荐返现）。目前已有 1 位同学通过你报名。');
    referralRewards.paid(h.db, h.config, order(members[1]!, 'o2'), T0 + DAY, h.services);
    referralRewards.paid(h.db, h.config, order(members[2]!, 'o3'), T0 + DAY, h.services);
    expect(lastTo(h, 'alice')).toMatch(/满 3 人奖励：免费课（1 节一对一答疑）/);
    expect(
      ledgerRows(h.db, { referrerId: a, limit: 10 })
        .reverse()
        .map((e) => [e.entry, e.kind, e.fen, e.tier, e.order_id]),
    ).toEqual([
      ['reward', 'cashback', 3000, null, 'o1'],
      ['reward', 'cashback', 3000, null, 'o2'],
      ['reward', 'cashback', 3000, null, 'o3'],
      ['tier_bonus', 'free_session', 0, 3, 'o3'],
    ]);
    expect(countPaidReferrals(h.db, a)).toBe(3);
    expect(ledgerTotalFen(h.db, a)).toBe(9000);
    // /referrals for the instructor lists it; a member may not.
    say(h, 'teacher', '/referrals', T0 + 2 * DAY);
    expect(lastTo(h, 'teacher')).toMatch(/alice：已报名 3 人，合计 90 元，待发放 90 元/i);
    say(h, 'teacher', '/referrals alice', T0 + 2 * DAY);
    expect(lastTo(h, 'teacher')).toMatch(/满 3 人奖励 免费课/);
    say(h, 'bob', '/referrals', T0 + 2 * DAY);
    expect(lastTo(h, 'bob')).toMatch(/没有权限/);
  });

  it('a full refund reverses the reward and a tier bonus no longer reached; a partial refund changes nothing; twice is once', () => {
    const h = harness();
    const { a, members } = threeReferred(h);
    members.forEach((m, i) => referralRewards.paid(h.db, h.config, order(m, `o${i + 1}`), T0 + DAY, h.services));
    referralRewards.refunded(h.db, h.config, order(members[0]!, 'o1'), false, T0 + 2 * DAY);
    expect(ledgerRows(h.db, { referrerId: a, limit: 10 })).toHaveLength(4);
    referralRewards.refunded(h.db, h.config, order(members[0]!, 'o1'), true, T0 + 3 * DAY);
    referralRewards.refunded(h.db, h.config, order(members[0]!, 'o1'), true, T0 + 3 * DAY);
    const rows = ledgerRows(h.db, { referrerId: a, limit: 10 }).reverse();
    expect(rows.map((e) => [e.id, e.entry, e.fen, e.reverses, e.reversed_by])).toEqual([
      [1, 'reward', 3000, null, 5],
      [2, 'reward', 3000, null, null],
      [3, 'reward', 3000, null, null],
      [4, 'tier_bonus', 0, null, 6],
      [5, 'reversal', -3000, 1, null],
      [6, 'reversal', 0, 4, null],
    ]);
    expect(countPaidReferrals(h.db, a)).toBe(2);
    expect(ledgerTotalFen(h.db, a)).toBe(6000);
    // Bob buys again after the refund: that purchase earns the reward again, once.
    referralRewards.paid(h.db, h.config, order(members[0]!, 'o4'), T0 + 4 * DAY, h.services);
    expect(countPaidReferrals(h.db, a)).toBe(3);
    expect(ledgerRows(h.db, { referrerId: a, limit: 1 })[0]).toMatchObject({ entry: 'tier_bonus', tier: 3 });
  });
});

describe('checkout: the referral discount', () => {
  it('a referred newcomer gets newcomer_discount fen (capped at the price); a returning customer does not', () => {
    const h = harness();
    const a = alice(h);
    h.engine.handleEvent(joinVia('bob', 'alice', T0 + MINUTE), T0 + MINUTE);
    const b = mid(h, 'bob');
    const q = { memberId: b, productId: 'python-course', priceFen: 19900, now: T0 + HOUR };
    expect(referralDiscount(h.db, h.config, q)).toEqual({ kind: 'referral', code: 'AMY888', fen: 2000, referrerMemberId: a, note: 'referred via inviter' });
    expect(referralDiscount(h.db, h.config, { ...q, priceFen: 990 })!.fen).toBe(990);
    referralRewards.paid(h.db, h.config, order(b, 'o1'), T0 + DAY, h.services);
    expect(referralDiscount(h.db, h.config, { ...q, now: T0 + 2 * DAY })).toBeNull();
  });

  it('a code entered at checkout gives the discount without writing; paying records the referral', () => {
    const h = harness();
    const a = alice(h);
    h.engine.handleEvent(joinVia('bob', undefined, T0 + MINUTE), T0 + MINUTE);
    const b = mid(h, 'bob');
    const q = { memberId: b, productId: 'python-course', priceFen: 19900, now: T0 + HOUR };
    const before = count(h.db, 'referral_decisions');
    expect(referralDiscount(h.db, h.config, q)).toBeNull();
    const d = referralDiscount(h.db, h.config, { ...q, code: 'amy-888' })!;
    expect(d).toMatchObject({ kind: 'referral', code: 'AMY888', fen: 2000, referrerMemberId: a });
    expect(referralDiscount(h.db, h.config, { ...q, code: 'ZZZZ22' })).toBeNull();
    expect(count(h.db, 'referral_decisions')).toBe(before);
    expect(checkReferralCode(h.db, h.config, { memberId: a, code: 'AMY888', now: T0 })).toMatchObject({ ok: false, reason: 'self_referral', fen: 0 });
    expect(checkReferralCode(h.db, h.config, { memberId: b, code: 'nope22', now: T0 })).toMatchObject({ ok: false, reason: 'unknown_code' });
    // The order service marks the order paid (and, as lifecycle.on_paid does, moves Bob to paid first).
    setStage(h.db, { memberId: b, to: 'paid', eventId: null, ruleId: 'lifecycle.on_paid', actor: 'order:o1', now: T0 + DAY });
    referralRewards.paid(h.db, h.config, order(b, 'o1', { amountFen: 17900, discounts: [d] }), T0 + DAY, h.services);
    expect(referralOf(h.db, b)).toMatchObject({ referrer_id: a, source: 'checkout' });
    expect(ledgerRows(h.db, { referrerId: a, limit: 5 }).map((e) => [e.entry, e.fen, e.order_id])).toEqual([['reward', 3000, 'o1']]);
  });
});

describe('/refcode', () => {
  it('replaces a code; the old one stops working and is never given out again', () => {
    const h = harness();
    const a = alice(h);
    say(h, 'teacher', '/refcode alice zhang8', T0 + MINUTE);
    expect(lastTo(h, 'teacher')).toBe('已把 Alice 的推荐码设为 ZHANG8。');
    say(h, 'teacher', '/refcode alice ZHANG8', T0 + MINUTE);
    expect(lastTo(h, 'teacher')).toMatch(/已经是 ZHANG8/);
    say(h, 'teacher', '/refcode alice AMY888', T0 + MINUTE);
    expect(lastTo(h, 'teacher')).toMatch(/AMY888 was used before and retired/);
    say(h, 'teacher', '/refcode alice OOPS11', T0 + MINUTE);
    expect(lastTo(h, 'teacher')).toMatch(/not a valid code/);
    h.engine.handleEvent(joinVia('bob', undefined, T0), T0);
    say(h, 'bob', '推荐码 AMY888', T0 + HOUR);
    expect(decisionsAbout(h.db, mid(h, 'bob')).map((d) => d.reason)).toEqual(['unknown_code']);
    say(h, 'bob', '推荐码 ZHANG8', T0 + HOUR);
    expect(referralOf(h.db, mid(h, 'bob'))!.referrer_id).toBe(a);
    say(h, 'bob', '/refcode bob BOBB22', T0 + HOUR);
    expect(lastTo(h, 'bob')).toMatch(/没有权限/);
  });
});

describe('/mycode and the stats', () => {
  it('a member below issue_at is told how to get one; a paid member gets a code and stays with it', () => {
    const h = harness();
    h.engine.handleEvent(joinVia('alice', undefined, T0), T0);
    say(h, 'alice', '/mycode', T0 + MINUTE);
    expect(lastTo(h, 'alice')).toMatch(/报名正式课之后/);
    moveStage(h.db, h.config, { memberId: mid(h, 'alice'), to: 'paid', eventId: null, ruleId: null, actor: 'test', now: T0 + HOUR });
    say(h, 'alice', '我的推荐码？', T0 + 2 * HOUR);
    const first = /推荐码：([2-9A-HJKMNP-Z]{6})/.exec(lastTo(h, 'alice'))![1];
    say(h, 'alice', '/mycode', T0 + 3 * HOUR);
    expect(lastTo(h, 'alice')).toContain(`你的专属推荐码：${first}\n`);
    expect(lastTo(h, 'alice')).toMatch(/已推荐 0 人，其中 0 人已报名，奖励合计 0 元/);
    // The generated code works when a newcomer says it.
    h.engine.handleEvent(joinVia('bob', undefined, T0 + 4 * HOUR), T0 + 4 * HOUR);
    say(h, 'bob', first!.toLowerCase(), T0 + 4 * HOUR);
    expect(referralOf(h.db, mid(h, 'bob'))!.referrer_id).toBe(mid(h, 'alice'));
  });
});

describe('kequn referrals export --csv', () => {
  it('exports unpaid entries as CSV (formula-safe), marks them paid with --mark-paid, and the next export is empty', () => {
    const dataFile = join(mkdtempSync(join(tmpdir(), 'kequn-ref-')), 'kequn.db');
    const dir = tempConfig({ 'kequn.yaml': (t) => t.replace('data: ../data/kequn.db', `data: ${dataFile}`) });
    const config = loadConfig(dir, { env: {} });
    const db = openStore(dataFile);
    const member = (id: string, name: string) => resolveMember(db, { platform: 'wechat', platformId: id, displayName: name, initialStage: 'trial', now: T0 }).member.id;
    const a = member('alice', '=HYPERLINK("x")');
    const b = member('bob', 'Bob, Jr.');
    attribute(db, config, { referredId: b, evidence: { source: 'inviter', referrerId: a }, eventId: null, now: T0 });
    referralRewards.paid(db, config, order(b, 'o1'), T0 + DAY, buildServices(registry, { db, config }));
    referralRewards.refunded(db, config, order(b, 'o1'), true, T0 + 2 * DAY);
    db.close();

    const run = (args: { action: string; csv?: boolean; markPaid?: boolean }) => {
      const lines: string[] = [];
      const code = runReferrals({ configDir: dir, action: args.action, csv: args.csv ?? false, markPaid: args.markPaid ?? false, write: (l) => lines.push(l) });
      return { code, lines };
    };
    expect(run({ action: 'export' }).code).toBe(2); // --csv is required
    expect(run({ action: 'nonsense', csv: true }).code).toBe(2);
    const first = run({ action: 'export', csv: true, markPaid: true });
    expect(first.code).toBe(0);
    expect(first.lines).toEqual([
      'entry_id,referrer_id,referrer_name,referrer_accounts,entry,kind,amount_fen,amount_yuan,note,referred_name,order_id,created_at',
      `1,${a},"'=HYPERLINK(""x"")",wechat:alice,reward,cashback,3000,30,推荐返现,"Bob, Jr.",o1,2026-03-03 09:00`,
      `2,${a},"'=HYPERLINK(""x"")",wechat:alice,reversal,cashback,-3000,-30,冲销 #1,"Bob, Jr.",o1,2026-03-04 09:00`,
    ]);
    expect(run({ action: 'export', csv: true }).lines).toHaveLength(1);
    expect(run({ action: 'list' }).lines[0]).toMatch(/referred 1, paid 0, total 0 元, unpaid 0 元$/);
    expect(csvField('-1+1')).toBe("'-1+1");
  });
});
