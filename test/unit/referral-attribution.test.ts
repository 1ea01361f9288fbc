import { describe, expect, it } from 'vitest';
import type { CourseConfig } from '../../src/core/types.js';
import { attribute, judge, referrerOfCode, windowText, type Evidence } from '../../src/flows/referral/attribution.js';
import type { Db } from '../../src/store/db.js';
import { resolveMember, setStage } from '../../src/store/members.js';
import { decisionsAbout, insertCode, insertReferral, recordDecision, recordPaidOrder, referralOf, retireCodes } from '../../src/flows/referral/store.js';
import { grantRole } from '../../src/store/staff-roles.js';
import { DAY, HOUR, MINUTE, T0, demoConfig } from '../helpers/fixtures.js';
import { openTestStore, testBackend } from '../helpers/store.js';

// The demo course's referral section: issue_at [paid], window 30d, attempts { max: 5, per: 1h },
// blocked_stages [churned] (the default); 王老师 (wechat "teacher") is an instructor.

function world(): { db: Db; cfg: CourseConfig; member: (pid: string, opts?: { stage?: string; at?: number }) => string } {
  const db = openTestStore();
  const member = (pid: string, opts: { stage?: string; at?: number } = {}) =>
    resolveMember(db, { platform: 'wechat', platformId: pid, displayName: pid, initialStage: opts.stage ?? 'trial', now: opts.at ?? T0 }).member.id;
  return { db, cfg: demoConfig(), member };
}

const inviter = (referrerId: string | null): Evidence => ({ source: 'inviter', referrerId });
const code = (referrerId: string | null, c = 'AMY888'): Evidence => ({ source: 'code', referrerId, code: c });

/** Makes `referrerId` the referrer of `referredId`, as an accepted decision would. */
function refer(db: Db, referredId: string, referrerId: string): void {
  const decisionId = recordDecision(db, { referredId, referrerId, source: 'inviter', accepted: true, reason: 'accepted', evidence: {}, eventId: null, now: T0 });
  expect(insertReferral(db, { referredId, referrerId, source: 'inviter', decisionId, now: T0 })).toBe(true);
}

/** Records a code attempt `ago` ms before `now` (what countCodeAttempts counts). */
function attemptAt(db: Db, referredId: string, at: number): void {
  recordDecision(db, { referredId, referrerId: null, source: 'code', accepted: false, reason: 'unknown_code', evidence: {}, eventId: null, now: at });
}

describe('attribution: every refusal, with its reason and the words the newcomer reads', () => {
  it('accepts valid evidence and records it as the referral; the reply text is empty', () => {
    const { db, cfg, member } = world();
    const a = member('alice');
    const b = member('bob', { at: T0 + MINUTE });
    const d = attribute(db, cfg, { referredId: b, evidence: { source: 'code', referrerId: a, code: 'AMY888', group: 'python-101' }, eventId: null, now: T0 + HOUR });
    expect(d).toMatchObject({ ok: true, reason: 'accepted', referrerId: a, text: '' });
    expect(referralOf(db, b)).toMatchObject({ referrer_id: a, source: 'code', decision_id: d.decisionId, at: T0 + HOUR });
    expect(decisionsAbout(db, b).map((x) => [x.id, x.referrer_id, x.source, x.accepted, x.reason, JSON.parse(x.evidence), x.at])).toEqual([
      [d.decisionId, a, 'code', 1, 'accepted', { code: 'AMY888', group: 'python-101' }, T0 + HOUR],
    ]);
  });

  const cases: { reason: string; text: string; setup: (w: ReturnType<typeof world>) => { referredId: string; evidence: Evidence; now: number; cfg?: CourseConfig; paidExceptOrder?: string } }[] = [
    {
      reason: 'disabled',
      text: '本课程没有开启推荐。',
      setup: ({ cfg, member }) => ({ referredId: member('bob'), evidence: inviter(member('alice')), now: T0, cfg: { ...cfg, referral: null } }),
    },
    {
      reason: 'rate_limited',
      text: '尝试次数太多了，请过一会儿再试。',
      setup: ({ db, member }) => {
        const b = member('bob');
        for (let i = 0; i < 5; i++) attemptAt(db, b, T0 + i * MINUTE);
        return { referredId: b, evidence: code(member('alice')), now: T0 + 10 * MINUTE };
      },
    },
    {
      reason: 'unknown_code',
      text: '没有找到这个推荐码，请核对后再试（推荐码里没有 0、O、1、I、L）。',
      setup: ({ member }) => ({ referredId: member('bob'), evidence: code(null, 'NOPE22'), now: T0 }),
    },
    {
      reason: 'self_referral',
      text: '不能使用自己的推荐码哦。',
      setup: ({ member }) => {
        const b = member('bob');
        return { referredId: b, evidence: code(b), now: T0 };
      },
    },
    {
      reason: 'already_referred_same',
      text: '你已经登记过这位推荐人了。',
      setup: ({ db, member }) => {
        const [a, b] = [member('alice'), member('bob')];
        refer(db, b, a);
        return { referredId: b, evidence: code(a), now: T0 + MINUTE };
      },
    },
    {
      reason: 'already_referred',
      text: '你已经有推荐人了，每位同学只能登记一位推荐人。',
      setup: ({ db, member }) => {
        const [a, c, b] = [member('alice'), member('carol'), member('bob')];
        refer(db, b, c);
        return { referredId: b, evidence: code(a), now: T0 + MINUTE };
      },
    },
    {
      reason: 'referrer_is_staff',
      text: '老师和助教的邀请不算推荐。',
      setup: ({ member }) => ({ referredId: member('bob'), evidence: inviter(member('teacher')), now: T0 }),
    },
    {
      reason: 'referrer_blocked',
      text: '这个推荐码已经失效了。',
      setup: ({ member }) => ({ referredId: member('bob'), evidence: code(member('alice', { stage: 'churned' })), now: T0 }),
    },
    {
      reason: 'already_paid',
      text: '推荐码只适用于第一次报名的新同学。',
      setup: ({ db, member }) => {
        const b = member('bob');
        recordPaidOrder(db, { orderId: 'o1', memberId: b, now: T0 });
        return { referredId: b, evidence: code(member('alice')), now: T0 + MINUTE };
      },
    },
    {
      reason: 'circular',
      text: '你们之间已经有推荐关系了，不能互相推荐。',
      setup: ({ db, member }) => {
        const [a, b] = [member('alice'), member('bob')];
        // Bob referred Alice; now Alice's code for Bob.
        refer(db, a, b);
        return { referredId: b, evidence: code(a), now: T0 + MINUTE };
      },
    },
    {
      reason: 'window_expired',
      text: '推荐码需要在第一次入群后尽快登记，现在已经超过期限了。',
      setup: ({ member }) => ({ referredId: member('bob'), evidence: code(member('alice')), now: T0 + 30 * DAY + 1 }),
    },
  ];

  for (const c of cases) {
    it(`${c.reason}: refused, recorded, nothing referred`, () => {
      const w = world();
      const s = c.setup(w);
      const before = referralOf(w.db, s.referredId);
      const d = attribute(w.db, s.cfg ?? w.cfg, { referredId: s.referredId, evidence: s.evidence, eventId: null, now: s.now });
      expect(d).toMatchObject({ ok: false, reason: c.reason, referrerId: s.evidence.referrerId, text: c.text });
      expect(decisionsAbout(w.db, s.referredId).at(-1)).toMatchObject({ id: d.decisionId, accepted: 0, reason: c.reason, source: s.evidence.source, referrer_id: s.evidence.referrerId });
      expect(referralOf(w.db, s.referredId)).toEqual(before);
    });
  }

  it('an unknown code is "unknown" even for a member who already has a referrer (the reply says to check the code)', () => {
    const { db, cfg, member } = world();
    const [a, b] = [member('alice'), member('bob')];
    refer(db, b, a);
    expect(attribute(db, cfg, { referredId: b, evidence: code(null, 'ZZZ999'), eventId: null, now: T0 })).toMatchObject({ ok: false, reason: 'unknown_code' });
  });

  it('a referrer or newcomer the store does not know is refused like an unknown code', () => {
    const { db, cfg, member } = world();
    const b = member('bob');
    expect(judge(db, cfg, { referredId: b, evidence: inviter('m_gone'), now: T0 })).toEqual({ ok: false, reason: 'unknown_code', referrerId: 'm_gone' });
    expect(judge(db, cfg, { referredId: 'm_gone', evidence: inviter(b), now: T0 })).toEqual({ ok: false, reason: 'unknown_code', referrerId: b });
  });
});

describe('attribution: the boundaries of each rule', () => {
  it('rate limit: 5 code attempts within the last hour; an attempt exactly an hour old still counts, one older does not; only said codes count', () => {
    const { db, cfg, member } = world();
    const a = member('alice');
    const b = member('bob');
    const now = T0 + 2 * HOUR;
    for (let i = 0; i < 4; i++) attemptAt(db, b, now - 10 * MINUTE);
    attemptAt(db, b, now - HOUR - 1);
    // 4 in the hour (the fifth is 1 ms too old): not limited.
    expect(judge(db, cfg, { referredId: b, evidence: code(a), now }).reason).toBe('accepted');
    attemptAt(db, b, now - HOUR);
    expect(judge(db, cfg, { referredId: b, evidence: code(a), now }).reason).toBe('rate_limited');
    // The limit is on guessing codes: an inviter or the checkout code is judged on its merits.
    expect(judge(db, cfg, { referredId: b, evidence: inviter(a), now }).reason).toBe('accepted');
    expect(judge(db, cfg, { referredId: b, evidence: { source: 'checkout', referrerId: a, code: 'AMY888' }, now }).reason).toBe('accepted');
    // Rate limit comes first: over the limit, even an unknown code is "rate_limited" (nothing learnt).
    expect(judge(db, cfg, { referredId: b, evidence: code(null), now }).reason).toBe('rate_limited');
  });

  it('window: a code exactly 30 days after the newcomer was first seen counts; 1 ms later it does not', () => {
    const { db, cfg, member } = world();
    const a = member('alice');
    const b = member('bob', { at: T0 + HOUR });
    expect(judge(db, cfg, { referredId: b, evidence: code(a), now: T0 + HOUR + 30 * DAY }).reason).toBe('accepted');
    expect(judge(db, cfg, { referredId: b, evidence: code(a), now: T0 + HOUR + 30 * DAY + 1 }).reason).toBe('window_expired');
    expect(windowText(cfg)).toBe('30d');
    expect(windowText({ ...cfg, referral: null })).toBe('');
  });

  it('already paid: a paid order, or ever having been in an issue_at stage; the order being paid itself does not count', () => {
    const { db, cfg, member } = world();
    const a = member('alice');
    const b = member('bob');
    const now = T0 + DAY;
    recordPaidOrder(db, { orderId: 'o1', memberId: b, now });
    expect(judge(db, cfg, { referredId: b, evidence: code(a), now }).reason).toBe('already_paid');
    // At checkout of o1 (and in o1's paid hook) o1 is not a previous purchase.
    expect(judge(db, cfg, { referredId: b, evidence: code(a), now, paidExceptOrder: 'o1' }).reason).toBe('accepted');
    expect(judge(db, cfg, { referredId: b, evidence: code(a), now, paidExceptOrder: 'o2' }).reason).toBe('already_paid');
  });

  it('already paid by stage: entered paid at this instant counts, unless it is the order being paid that moved them', () => {
    const { db, cfg, member } = world();
    const a = member('alice');
    const b = member('bob');
    const c = member('carol');
    const now = T0 + DAY;
    // Bob's order o1 moved him to paid at `now`, in the same transaction as its paid hook.
    setStage(db, { memberId: b, to: 'paid', eventId: null, ruleId: 'lifecycle.on_paid', actor: 'order:o1', now });
    expect(judge(db, cfg, { referredId: b, evidence: code(a), now }).reason).toBe('already_paid');
    expect(judge(db, cfg, { referredId: b, evidence: code(a), now, paidExceptOrder: 'o1' }).reason).toBe('accepted');
    // Carol was paid a moment before (and left the stage since): a returning customer.
    setStage(db, { memberId: c, to: 'paid', eventId: null, ruleId: null, actor: 'test', now: now - 1 });
    setStage(db, { memberId: c, to: 'nurture', eventId: null, ruleId: null, actor: 'test', now: now - 1 });
    expect(judge(db, cfg, { referredId: c, evidence: code(a), now, paidExceptOrder: 'o9' }).reason).toBe('already_paid');
    // A stage outside issue_at (nurture) is no purchase.
    const d = member('dan');
    setStage(db, { memberId: d, to: 'nurture', eventId: null, ruleId: null, actor: 'test', now: now - 1 });
    expect(judge(db, cfg, { referredId: d, evidence: code(a), now }).reason).toBe('accepted');
  });

  it('staff: a referrer with any staff identity is staff (a teacher who also chats on Telegram)', () => {
    const { db, cfg, member } = world();
    const t = member('teacher');
    db.prepare("INSERT INTO identities (platform, platform_id, member_id, display_name) VALUES ('telegram', '4242', ?, 'teacher')").run(t);
    const b = member('bob');
    expect(judge(db, cfg, { referredId: b, evidence: inviter(t), now: T0 }).reason).toBe('referrer_is_staff');
    // A member whose role was granted by /grant is staff too.
    const g = member('grace');
    grantRole(db, { memberId: g, role: 'assistant', by: 'owner', eventId: null, now: T0 });
    expect(judge(db, cfg, { referredId: b, evidence: inviter(g), now: T0 }).reason).toBe('referrer_is_staff');
  });

  it('blocked stages: a churned referrer is refused; a referrer in any other stage is not', () => {
    const { db, cfg, member } = world();
    const b = member('bob');
    for (const stage of ['prospect', 'trial', 'nurture', 'paid', 'mature', 'loyal']) {
      expect(judge(db, cfg, { referredId: b, evidence: inviter(member(`r-${stage}`, { stage })), now: T0 }).reason, stage).toBe('accepted');
    }
    expect(judge(db, cfg, { referredId: b, evidence: inviter(member('r-churned', { stage: 'churned' })), now: T0 }).reason).toBe('referrer_blocked');
    // blocked_stages is configuration: with none blocked, the churned referrer is accepted.
    expect(judge(db, { ...cfg, referral: { ...cfg.referral!, blocked_stages: [] } }, { referredId: b, evidence: inviter(member('r-churned')), now: T0 }).reason).toBe('accepted');
  });

  it('circular: anyone above the referrer in the chain, however far up, cannot be referred by them', () => {
    const { db, cfg, member } = world();
    // A referred B, B referred C, C referred D: the chain above D is C, B, A.
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((p) => member(p));
    refer(db, b!, a!);
    refer(db, c!, b!);
    refer(db, d!, c!);
    // D's code offered to A (three levels up): circular.
    expect(judge(db, cfg, { referredId: a!, evidence: inviter(d!), now: T0 }).reason).toBe('circular');
    // E is in no chain: E's code for A is fine, and D's code for E too.
    expect(judge(db, cfg, { referredId: a!, evidence: inviter(e!), now: T0 }).reason).toBe('accepted');
    expect(judge(db, cfg, { referredId: e!, evidence: inviter(d!), now: T0 }).reason).toBe('accepted');
  });

  it('a long chain is walked to its top (150 levels above the referrer)', () => {
    const { db, cfg, member } = world();
    const chain = Array.from({ length: 151 }, (_, i) => member(`m${i}`));
    // m0 referred m1, …, m149 referred m150: m0 is 150 levels above m150.
    for (let i = 1; i < chain.length; i++) refer(db, chain[i]!, chain[i - 1]!);
    expect(judge(db, cfg, { referredId: chain[0]!, evidence: inviter(chain[150]!), now: T0 }).reason).toBe('circular');
  });

  it('a ledger that somehow holds a cycle is walked once around, not forever', () => {
    const { db, cfg, member } = world();
    const [a, b, c] = ['a', 'b', 'c'].map((p) => member(p));
    // Attribution never makes a cycle (it is refused as circular); written directly here.
    refer(db, a!, b!);
    refer(db, b!, a!);
    expect(judge(db, cfg, { referredId: c!, evidence: inviter(a!), now: T0 }).reason).toBe('accepted');
    expect(judge(db, cfg, { referredId: c!, evidence: inviter(b!), now: T0 }).reason).toBe('accepted');
  });
});

describe.skipIf(testBackend === 'postgres')('attribution: a racing referrer', () => {
  it('a referral stored between the check and the insert is not overwritten; the decision is recorded as already referred', () => {
    const { db, cfg, member } = world();
    const [a, c, b] = [member('alice'), member('carol'), member('bob')];
    // Another process (simulated by a trigger) stores Carol as Bob's referrer right after this
    // decision is recorded, before this referral is inserted.
    db.exec(`CREATE TEMP TRIGGER racer AFTER INSERT ON referral_decisions WHEN NEW.accepted = 1 AND NEW.referrer_id = '${a}'
      BEGIN INSERT INTO referrals (referred_id, referrer_id, source, decision_id, at) VALUES ('${b}', '${c}', 'code', NEW.id, NEW.at); END`);
    const d = attribute(db, cfg, { referredId: b, evidence: code(a), eventId: null, now: T0 + MINUTE });
    expect(d).toMatchObject({ ok: false, reason: 'already_referred', referrerId: a, text: '你已经有推荐人了，每位同学只能登记一位推荐人。' });
    expect(referralOf(db, b)).toMatchObject({ referrer_id: c });
    expect(decisionsAbout(db, b).map((x) => [x.id, x.accepted, x.reason])).toEqual([
      [d.decisionId - 1, 1, 'accepted'],
      [d.decisionId, 0, 'already_referred'],
    ]);
  });
});

describe('codes', () => {
  it('an active code names its owner; a retired or unknown one names nobody', () => {
    const { db, member } = world();
    const a = member('alice');
    insertCode(db, { code: 'AMY888', memberId: a, kind: 'custom', now: T0 });
    expect(referrerOfCode(db, 'AMY888')).toBe(a);
    expect(referrerOfCode(db, 'ZZZ999')).toBeNull();
    retireCodes(db, a, T0 + DAY);
    expect(referrerOfCode(db, 'AMY888')).toBeNull();
  });
});
