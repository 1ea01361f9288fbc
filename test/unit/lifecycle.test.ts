import { afterAll, describe, expect, it } from 'vitest';
import { FEATURES, loadConfig, registry } from '../../src/app.js';
import type { Feature } from '../../src/core/feature.js';
import { allowedFrom, canMove, describeMove, moveStage } from '../../src/flows/lifecycle/stage-machine.js';
import { lifecycleFeature } from '../../src/flows/lifecycle/index.js';
import { buildRegistry } from '../../src/core/registry.js';
import { compileWhen, type CompileProblem } from '../../src/core/rules/conditions.js';
import type { OrderEvent } from '../../src/flows/orders/contracts.js';
import { grantRole } from '../../src/store/staff-roles.js';
import { addTag, findMemberByIdentity, setStage, stageHistory } from '../../src/store/members.js';
import { activeCodeOf } from '../../src/flows/referral/store.js';
import { jobsOf } from '../../src/store/jobs.js';
import { DAY, HOUR, T0, count, demoConfig, firedTraces, harness, joined, lineOf, loadProblems, message, outboxRows, removeTempDirs, replaceOnce, tempConfig, type Harness } from '../helpers/fixtures.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

afterAll(removeTempDirs);

const id = (h: Harness, user: string) => findMemberByIdentity(h.db, 'wechat', user)!.id;

describe('lifecycle transitions: checked at load', () => {
  it('the demo course allows what its stages list and refuses the rest', () => {
    const c = demoConfig();
    expect(allowedFrom(c, 'trial')).toEqual(['nurture', 'paid', 'churned']);
    expect(canMove(c, 'trial', 'paid')).toBe(true);
    expect(canMove(c, 'trial', 'mature')).toBe(false);
    expect(canMove(c, 'churned', 'trial')).toBe(true);
    // A stage no longer in config never traps a member.
    expect(canMove(c, 'old-stage', 'trial')).toBe(true);
  });

  it('a transition to an unknown stage is a load error at its line', () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, 'to: [nurture, paid, churned] }', 'to: [nurture, payed, churned] }') });
    const problems = loadProblems(dir);
    const text = readFileSync(join(dir, 'kequn.yaml'), 'utf8');
    expect(problems).toContainEqual(expect.objectContaining({ keyPath: 'stages[1].to[1]', line: lineOf(text, 'payed'), message: expect.stringMatching(/unknown stage "payed"/) }));
  });

  it('an unreachable stage is a load error', () => {
    // Nobody lists mature any more.
    const dir = tempConfig({
      'kequn.yaml': (t) => replaceOnce(replaceOnce(t, 'to: [mature, loyal, nurture, churned]', 'to: [loyal, nurture, churned]'), 'to: [loyal, nurture, churned] }\n  - { id: loyal', 'to: [loyal, nurture, churned] }\n  - { id: loyal'),
    });
    const problems = loadProblems(dir);
    expect(problems.map((p) => [p.keyPath, p.message])).toContainEqual(['stages[4].id', 'stage "mature" cannot be reached from "prospect": no reachable stage lists it in `to`']);
  });

  it('stages named in lifecycle and referral must exist; templates the referral flow sends must exist', () => {
    const dir = tempConfig({
      'kequn.yaml': (t) => replaceOnce(replaceOnce(t, 'on_refunded: nurture', 'on_refunded: nurturing'), 'referrer_stage: loyal', 'referrer_stage: loyl'),
      'templates.yaml': (t) => t.replace(/^referral_accepted:.*$/m, ''),
    });
    const problems = loadProblems(dir).map((p) => `${p.file.split('/').pop()} ${p.keyPath}: ${p.message}`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/kequn.yaml lifecycle.on_refunded: unknown stage "nurturing"/),
        expect.stringMatching(/kequn.yaml referral.referrer_stage: unknown stage "loyl"/),
        expect.stringMatching(/templates.yaml : referrals are configured: templates.yaml needs a "referral_accepted" template/),
      ]),
    );
  });

  it('a course without `to` anywhere has no transition rules (as before)', () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => t.replace(/, to: \[[^\]]*\]/g, '') });
    const c = loadConfig(dir, { env: {} });
    expect(allowedFrom(c, 'trial')).toBeNull();
    expect(canMove(c, 'trial', 'mature')).toBe(true);
  });
});

describe('lifecycle transitions: at run time', () => {
  it('set_stage that the config does not allow changes nothing and says why in the trace', () => {
    // A rule moving trial members straight to mature on "打卡".
    const dir = tempConfig({
      'rules.yaml': (t) =>
        t.replace('rules:\n', 'rules:\n  - id: skip-ahead\n    on: message\n    when: { text: { contains: 打卡 } }\n    do:\n      - set_stage: mature\n'),
    });
    const h = harness({ config: loadConfig(dir, { env: {} }) });
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const before = stageHistory(h.db, id(h, 'alice')).length;
    const r = h.engine.handleEvent(message('alice', '打卡', { at: T0 + HOUR }), T0 + HOUR);
    expect(r.fired).toContain('skip-ahead');
    expect(findMemberByIdentity(h.db, 'wechat', 'alice')!.stage).toBe('trial');
    expect(stageHistory(h.db, id(h, 'alice'))).toHaveLength(before);
    const trace = firedTraces(h.db, 'skip-ahead')[0]!;
    expect(JSON.parse(trace.detail).actions).toEqual(['refused: stage trial → mature is not allowed by config (from trial: nurture, paid, churned)']);
  });

  it('every move is recorded with event, rule, actor and time; entering paid issues a referral code (the referral feature hears of it)', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const m = id(h, 'alice');
    const r = h.services.stages.move(h.db, demoConfig(), { memberId: m, to: 'paid', eventId: null, ruleId: 'lifecycle.on_paid', actor: 'order:o1', now: T0 + DAY });
    expect(r).toMatchObject({ status: 'moved', from: 'trial', to: 'paid', notes: [expect.stringMatching(/^referral code [2-9A-HJKMNP-Z]{6} issued$/)] });
    expect((r as { notes: string[] }).notes[0]).toBe(`referral code ${activeCodeOf(h.db, m)!.code} issued`);
    expect(stageHistory(h.db, m).map((t) => [t.from_stage, t.to_stage, t.rule_id, t.actor, t.at])).toEqual([
      [null, 'prospect', null, 'first-seen', T0],
      ['prospect', 'trial', 'welcome-newcomer', 'bot', T0],
      ['trial', 'paid', 'lifecycle.on_paid', 'order:o1', T0 + DAY],
    ]);
    expect(h.services.stages.move(h.db, demoConfig(), { memberId: m, to: 'paid', eventId: null, ruleId: null, actor: 'x', now: T0 + DAY }).status).toBe('same');
  });

  it('/stage by an instructor is recorded with who did it; a member cannot use it', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const r = h.engine.handleEvent(message('teacher', '/stage alice paid', { at: T0 + HOUR, dm: true }), T0 + HOUR);
    const teacher = id(h, 'teacher');
    expect(stageHistory(h.db, id(h, 'alice')).at(-1)).toMatchObject({ from_stage: 'trial', to_stage: 'paid', rule_id: 'command:/stage', actor: `staff:${teacher}`, event_id: r.eventRowId });
    h.engine.handleEvent(message('alice', '/stage alice loyal', { at: T0 + 2 * HOUR, dm: true }), T0 + 2 * HOUR);
    expect(findMemberByIdentity(h.db, 'wechat', 'alice')!.stage).toBe('paid');
    expect(outboxRows(h.db).at(-1)!.text).toMatch(/没有权限/);
  });

  it('order events: paid moves the buyer to lifecycle.on_paid, a full refund to on_refunded, a partial one nowhere (recorded with the event)', () => {
    // The lifecycle feature alone, beside a stand-in that fires the orders feature's events.
    const h = harness({ registry: buildRegistry([lifecycleFeature, { name: 'test-orders', triggers: ['order.paid', 'order.refunded'] }]) });
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const m = id(h, 'alice');
    const order = (amount: number, state: OrderEvent['state']): OrderEvent => ({ id: 'o1', memberId: m, productId: 'course', amountFen: 19900, discounts: [], amount, currency: 'CNY', paidStage: 'paid', stageBefore: 'trial', state });
    const emit = (type: 'order.paid' | 'order.refunded', key: string, o: OrderEvent, at: number) =>
      h.engine.handleMemberEvent({ type, dedupeKey: key, memberId: m, platform: 'wechat', platformId: 'alice', fields: { order: o } }, at);
    const paid = emit('order.paid', 'paid:o1', order(19900, 'paid'), T0 + DAY);
    expect(findMemberByIdentity(h.db, 'wechat', 'alice')!.stage).toBe('paid');
    expect(stageHistory(h.db, m).at(-1)).toMatchObject({ from_stage: 'trial', to_stage: 'paid', rule_id: 'order.paid', actor: 'bot', event_id: paid.eventRowId });
    emit('order.refunded', 'refund:1', order(5000, 'partially_refunded'), T0 + 2 * DAY);
    expect(findMemberByIdentity(h.db, 'wechat', 'alice')!.stage).toBe('paid');
    const refunded = emit('order.refunded', 'refund:2', order(14900, 'refunded'), T0 + 3 * DAY);
    expect(stageHistory(h.db, m).at(-1)).toMatchObject({ from_stage: 'paid', to_stage: 'nurture', rule_id: 'order.refunded', actor: 'bot', event_id: refunded.eventRowId });
    expect(emit('order.paid', 'paid:o1', order(19900, 'paid'), T0 + 4 * DAY).status).toBe('duplicate');
  });
});

describe('lifecycle events', () => {
  it('inactivity: the watch re-plans while the member is active and churns them after 14 silent days', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const m = id(h, 'alice');
    h.engine.handleEvent(message('alice', '收到', { at: T0 + 5 * DAY }), T0 + 5 * DAY);
    expect(h.engine.runDueJobs(T0 + 14 * DAY)).toBeGreaterThan(0);
    const watch = jobsOf(h.db, m).filter((j) => j.kind === 'inactivity');
    expect(watch.map((j) => [j.status, j.due_at, j.note])).toEqual([
      ['done', T0 + 14 * DAY, 'active 9d ago; next check in 5d'],
      ['pending', T0 + 19 * DAY, null],
    ]);
    expect(findMemberByIdentity(h.db, 'wechat', 'alice')!.stage).toBe('trial');
    h.engine.runDueJobs(T0 + 19 * DAY);
    expect(findMemberByIdentity(h.db, 'wechat', 'alice')!.stage).toBe('churned');
    expect(stageHistory(h.db, m).at(-1)).toMatchObject({ to_stage: 'churned', rule_id: 'churn-inactive' });
    expect(count(h.db, 'jobs', "kind = 'inactivity' AND status = 'pending'")).toBe(0);
  });

  it('first question: questions_asked is 0 on the first question only', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const r = h.engine.handleEvent(message('alice', '老师，Python 怎么安装？', { at: T0 + HOUR }), T0 + HOUR);
    expect(r.fired).toEqual(expect.arrayContaining(['first-question', 'answer-questions']));
    expect(findMemberByIdentity(h.db, 'wechat', 'alice')!.stage).toBe('nurture');
    const again = h.engine.handleEvent(message('alice', 'pandas 怎么读 Excel？', { at: T0 + 2 * HOUR }), T0 + 2 * HOUR);
    expect(again.fired).not.toContain('first-question');
  });
});

describe('the stage machine, move by move', () => {
  it('describes each outcome in one line; a stage that allows nothing says nowhere', () => {
    expect(describeMove({ status: 'moved', from: 'trial', to: 'paid', notes: [], told: [] })).toBe('stage trial → paid');
    expect(describeMove({ status: 'moved', from: 'trial', to: 'paid', notes: ['referral code K7M2XQ issued'], told: ['已发放推荐码 K7M2XQ。'] })).toBe('stage trial → paid; referral code K7M2XQ issued');
    expect(describeMove({ status: 'moved', from: 'trial', to: 'paid', notes: ['a', 'b'], told: [] })).toBe('stage trial → paid; a; b');
    expect(describeMove({ status: 'same', from: 'paid', to: 'paid' })).toBe('stage already paid');
    expect(describeMove({ status: 'refused', from: 'trial', to: 'mature', allowed: ['nurture', 'paid'] })).toBe('refused: stage trial → mature is not allowed by config (from trial: nurture, paid)');
    expect(describeMove({ status: 'refused', from: 'done', to: 'trial', allowed: [] })).toBe('refused: stage done → trial is not allowed by config (from done: nowhere)');
  });

  it('a move for a member the store does not know is an error; a refused move changes nothing and lists what is allowed', () => {
    const h = harness();
    expect(() => moveStage(h.db, demoConfig(), { memberId: 'm_nobody', to: 'paid', eventId: null, ruleId: null, actor: 'x', now: T0 })).toThrow('no member m_nobody');
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const m = id(h, 'alice');
    const before = stageHistory(h.db, m);
    expect(moveStage(h.db, demoConfig(), { memberId: m, to: 'loyal', eventId: null, ruleId: null, actor: 'x', now: T0 + HOUR })).toEqual({ status: 'refused', from: 'trial', to: 'loyal', allowed: ['nurture', 'paid', 'churned'] });
    expect(stageHistory(h.db, m)).toEqual(before);
  });

  it('a move tells the features of the entry and keeps what they noted and told; no move tells them nothing', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const m = id(h, 'alice');
    const heard: unknown[] = [];
    const entered = (move: { memberId: string; from: string; to: string; note: (t: string) => void; tell: (t: string) => void }) => {
      heard.push([move.memberId, move.from, move.to]);
      move.note('noted once');
      move.tell('told once。');
    };
    const move = (to: string, at: number) => moveStage(h.db, demoConfig(), { memberId: m, to, eventId: null, ruleId: null, actor: 'x', now: at }, entered);
    expect(move('nurture', T0 + HOUR)).toEqual({ status: 'moved', from: 'trial', to: 'nurture', notes: ['noted once'], told: ['told once。'] });
    expect(move('nurture', T0 + 2 * HOUR)).toEqual({ status: 'same', from: 'nurture', to: 'nurture' });
    expect(move('loyal', T0 + 2 * HOUR)).toEqual({ status: 'refused', from: 'nurture', to: 'loyal', allowed: ['paid', 'churned'] });
    expect(heard).toEqual([[m, 'trial', 'nurture']]);
    // Without a hook (the stage machine alone): nothing noted, nothing told.
    expect(moveStage(h.db, demoConfig(), { memberId: m, to: 'paid', eventId: null, ruleId: null, actor: 'x', now: T0 + 3 * HOUR })).toEqual({ status: 'moved', from: 'nurture', to: 'paid', notes: [], told: [] });
  });

  it('through the stages service: entering a stage outside referral.issue_at issues no code; re-entering paid issues none again', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const m = id(h, 'alice');
    const move = (hh: Harness, member: string, to: string, at: number) => hh.services.stages.move(hh.db, hh.config, { memberId: member, to, eventId: null, ruleId: null, actor: 'x', now: at });
    expect(move(h, m, 'nurture', T0 + HOUR)).toEqual({ status: 'moved', from: 'trial', to: 'nurture', notes: [], told: [] });
    expect(activeCodeOf(h.db, m)).toBeUndefined();
    const first = move(h, m, 'paid', T0 + 2 * HOUR);
    const code = activeCodeOf(h.db, m)!.code;
    expect(first).toEqual({ status: 'moved', from: 'nurture', to: 'paid', notes: [`referral code ${code} issued`], told: [`已发放推荐码 ${code}。`] });
    move(h, m, 'nurture', T0 + 3 * HOUR);
    expect(move(h, m, 'paid', T0 + 4 * HOUR)).toEqual({ status: 'moved', from: 'nurture', to: 'paid', notes: [], told: [] });
    // Without referrals, paid issues nothing.
    const h2 = harness({ config: { ...demoConfig(), referral: null } });
    h2.engine.handleEvent(joined('bob', { at: T0 }), T0);
    expect(move(h2, id(h2, 'bob'), 'paid', T0 + HOUR)).toEqual({ status: 'moved', from: 'trial', to: 'paid', notes: [], told: [] });
  });

  it('order events: only a full refund moves back; without on_paid the catalog\'s paid stage, without on_refunded the stage before paying', () => {
    const lifecycleOnly = (config = demoConfig()) => harness({ config, registry: buildRegistry([lifecycleFeature, { name: 'test-orders', triggers: ['order.paid', 'order.refunded'] }]) });
    const run = (h: Harness) => {
      h.engine.handleEvent(joined('alice', { at: T0 }), T0);
      const m = id(h, 'alice');
      let n = 0;
      const emit = (type: 'order.paid' | 'order.refunded', o: Partial<OrderEvent>, at: number) =>
        h.engine.handleMemberEvent(
          { type, dedupeKey: `k${++n}`, memberId: m, platform: 'wechat', platformId: 'alice', fields: { order: { id: 'o1', memberId: m, productId: 'course', amountFen: 19900, discounts: [], amount: 19900, currency: 'CNY', paidStage: 'paid', stageBefore: 'trial', state: 'paid', ...o } } },
          at,
        );
      const stage = () => findMemberByIdentity(h.db, 'wechat', 'alice')!.stage;
      return { h, m, emit, stage };
    };
    // The demo: on_paid paid, on_refunded nurture.
    const a = run(lifecycleOnly());
    a.emit('order.refunded', { state: 'refunded' }, T0 + HOUR);
    expect(a.stage()).toBe('trial'); // not in the paid stage: a refund moves nothing
    a.emit('order.paid', { paidStage: 'mature' }, T0 + DAY);
    expect(a.stage()).toBe('paid'); // on_paid wins over the catalog's stage
    a.emit('order.refunded', { state: 'partially_refunded' }, T0 + 2 * DAY);
    expect(a.stage()).toBe('paid');
    a.emit('order.refunded', { state: 'refunded', stageBefore: 'prospect' }, T0 + 3 * DAY);
    expect(a.stage()).toBe('nurture'); // on_refunded wins over the stage before paying
    // Neither on_paid nor on_refunded: the catalog's paid stage, then back to the stage before paying.
    const none = { ...demoConfig(), lifecycle: { on_paid: null, on_refunded: null } };
    const b = run(lifecycleOnly(none));
    b.emit('order.paid', { paidStage: 'mature' }, T0 + DAY);
    expect(b.stage()).toBe('trial'); // trial → mature is not an allowed move
    b.emit('order.paid', {}, T0 + DAY);
    expect(b.stage()).toBe('paid');
    b.emit('order.refunded', { state: 'refunded', stageBefore: 'gone-stage' }, T0 + 2 * DAY);
    expect(b.stage()).toBe('paid'); // a stage no longer in config: stay
    b.emit('order.refunded', { state: 'refunded', stageBefore: null }, T0 + 2 * DAY);
    expect(b.stage()).toBe('paid'); // an order from before stages were recorded: stay
    b.emit('order.refunded', { state: 'refunded', paidStage: 'mature' }, T0 + 2 * DAY);
    expect(b.stage()).toBe('paid'); // the member is not in the paid stage this order names: stay
    b.emit('order.refunded', { state: 'refunded', stageBefore: 'nurture' }, T0 + 3 * DAY);
    expect(b.stage()).toBe('nurture');
    expect(stageHistory(b.h.db, b.m).map((t) => [t.from_stage, t.to_stage, t.rule_id, t.actor, t.at])).toEqual([
      [null, 'prospect', null, 'first-seen', T0],
      ['prospect', 'trial', 'welcome-newcomer', 'bot', T0],
      ['trial', 'paid', 'order.paid', 'bot', T0 + DAY],
      ['paid', 'nurture', 'order.refunded', 'bot', T0 + 3 * DAY],
    ]);
  });
});

describe('/stage and /tag, as the staff read them', () => {
  const lastTo = (h: Harness, chatId: string) => outboxRows(h.db).filter((o) => o.chat_id === chatId).at(-1)!.text;
  const staff = (h: Harness, text: string, at = T0 + HOUR) => h.engine.handleEvent(message('teacher', text, { at, dm: true }), at);

  it('/stage <member> shows the history in local time with rule and actor, and where the member may go', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    staff(h, '/stage alice paid', T0 + HOUR);
    const teacher = id(h, 'teacher');
    expect(lastTo(h, 'teacher')).toBe('已把 alice 从 trial 调整到 paid。已发放推荐码 ' + activeCodeOf(h.db, id(h, 'alice'))!.code + '。');
    staff(h, '/stage alice', T0 + 2 * HOUR);
    expect(lastTo(h, 'teacher')).toBe(
      [
        `alice（${id(h, 'alice')}）现在：paid`,
        '2026-03-02 09:00 — → prospect（first-seen）',
        '2026-03-02 09:00 prospect → trial（welcome-newcomer）',
        `2026-03-02 10:00 trial → paid（command:/stage，staff:${teacher}）`,
        '可以调整到：mature, loyal, nurture, churned',
      ].join('\n'),
    );
  });

  it('/stage tells the staff what every feature told of the entry, one after the other', () => {
    const teller: Feature = { name: 'test-teller', onStageEntered: (_db, _c, move) => move.tell(`进入 ${move.to}。`) };
    const h = harness({ registry: buildRegistry([...FEATURES, teller]) });
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    staff(h, '/stage alice paid');
    expect(lastTo(h, 'teacher')).toBe(`已把 alice 从 trial 调整到 paid。已发放推荐码 ${activeCodeOf(h.db, id(h, 'alice'))!.code}。进入 paid。`);
  });

  it('/stage: the same stage, a refused move, a course without transitions, and no member at all', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    staff(h, '/stage alice trial');
    expect(lastTo(h, 'teacher')).toBe('alice 已经在 trial。');
    staff(h, '/stage alice nurture');
    expect(lastTo(h, 'teacher')).toBe('已把 alice 从 trial 调整到 nurture。');
    staff(h, '/stage alice loyal');
    expect(lastTo(h, 'teacher')).toBe('不能把 alice 从 nurture 调整到 loyal：配置只允许 nurture → paid, churned。');
    staff(h, '/stage');
    expect(lastTo(h, 'teacher')).toBe('expected a member\n用法：/stage <成员> [阶段]');
    // A stage that allows nothing, and a course with no transition rules at all.
    const stuck = loadConfig(tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, '{ id: loyal, phase: 忠诚期, to: [nurture, churned] }', '{ id: loyal, phase: 忠诚期, to: [] }') }), { env: {} });
    const h2 = harness({ config: stuck });
    h2.engine.handleEvent(joined('bob', { at: T0 }), T0);
    setStage(h2.db, { memberId: id(h2, 'bob'), to: 'loyal', eventId: null, ruleId: null, actor: 'test', now: T0 });
    staff(h2, '/stage bob trial');
    expect(lastTo(h2, 'teacher')).toBe('不能把 bob 从 loyal 调整到 trial：配置只允许 loyal → （无）。');
    const free = loadConfig(tempConfig({ 'kequn.yaml': (t) => t.replace(/, to: \[[^\]]*\]/g, '') }), { env: {} });
    const h3 = harness({ config: free });
    h3.engine.handleEvent(joined('carol', { at: T0 }), T0);
    staff(h3, '/stage carol');
    expect(lastTo(h3, 'teacher').split('\n').at(-1)).toBe('可以调整到：prospect, nurture, paid, mature, loyal, churned');
  });

  it('/tag adds, removes (-tag) and says what was already so; bad tags and a missing tag are usage errors', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    staff(h, '/tag alice vip +early');
    expect(lastTo(h, 'teacher')).toBe('alice：+vip +early\n现在的标签：early, vip');
    staff(h, '/tag alice vip -early -ghost');
    expect(lastTo(h, 'teacher')).toBe('alice：(已有 vip) -early (没有 ghost)\n现在的标签：vip');
    staff(h, '/tag alice -vip');
    expect(lastTo(h, 'teacher')).toBe('alice：-vip\n现在的标签：无');
    staff(h, '/tag alice');
    expect(lastTo(h, 'teacher')).toBe('expected a member and at least one tag\n用法：/tag <成员> 标签 [-要去掉的标签 …]');
    staff(h, '/tag alice -');
    expect(lastTo(h, 'teacher')).toBe('bad tag "-"\n用法：/tag <成员> 标签 [-要去掉的标签 …]');
    staff(h, `/tag alice ${'x'.repeat(65)}`);
    expect(lastTo(h, 'teacher')).toBe(`bad tag "${'x'.repeat(65)}"\n用法：/tag <成员> 标签 [-要去掉的标签 …]`);
    staff(h, `/tag alice ${'x'.repeat(64)}`);
    expect(lastTo(h, 'teacher')).toBe(`alice：+${'x'.repeat(64)}\n现在的标签：${'x'.repeat(64)}`);
  });
});

describe('lifecycle facts and actions', () => {
  it('in_stage_for, member_for and inactive_for are measured from the member record; questions_asked counts questions taken up', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    setStage(h.db, { memberId: id(h, 'alice'), to: 'nurture', eventId: null, ruleId: null, actor: 'test', now: T0 + HOUR });
    h.engine.handleEvent(message('alice', '收到', { at: T0 + 2 * HOUR }), T0 + 2 * HOUR);
    const member = findMemberByIdentity(h.db, 'wechat', 'alice')!;
    const fact = (name: string) => registry.facts.get(name)!.get({ db: h.db, member, now: T0 + 5 * HOUR } as never);
    expect([fact('in_stage_for'), fact('member_for'), fact('inactive_for'), fact('stage'), fact('tags'), fact('questions_asked')]).toEqual([4 * HOUR, 5 * HOUR, 3 * HOUR, 'nurture', [], 0]);
  });

  it('set_stage to an unknown stage, and watch_inactivity of a missing or non-timer rule, are load errors', () => {
    const add = (action: string) => (t: string) => t.replace('rules:\n', `rules:\n  - id: extra\n    on: message\n    do:\n      - ${action}\n`);
    expect(loadProblems(tempConfig({ 'rules.yaml': add('set_stage: payed') })).map((p) => p.message)).toEqual([
      'unknown stage "payed"; did you mean "paid"? (stages: prospect, trial, nurture, paid, mature, loyal, churned)',
    ]);
    expect(loadProblems(tempConfig({ 'rules.yaml': add('watch_inactivity: { after: 3d, rule: nope }') })).map((p) => p.message)).toEqual(['no rule with id "nope"']);
    expect(loadProblems(tempConfig({ 'rules.yaml': add('watch_inactivity: { after: 3d, rule: extra }') })).map((p) => p.message)).toEqual([
      'rule "extra" is "on: message"; the inactivity rule must be "on: timer"',
    ]);
    expect(loadProblems(tempConfig({ 'rules.yaml': add('watch_inactivity: { after: soon, rule: churn-inactive }') })).map((p) => p.message)).toEqual([
      expect.stringContaining('expected a duration such as 14d'),
    ]);
  });

  it('the watch is planned on join, restarted by a new watch, and churns at exactly 14 silent days', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const m = id(h, 'alice');
    const welcome = firedTraces(h.db, 'welcome-newcomer')[0]!;
    expect(JSON.parse(welcome.detail).actions).toContain('inactivity watch: rule churn-inactive after 14d of silence');
    expect(jobsOf(h.db, m).filter((j) => j.kind === 'inactivity').map((j) => [j.status, j.due_at, JSON.parse(j.payload)])).toEqual([
      ['pending', T0 + 14 * DAY, { rule: 'churn-inactive', after: 14 * DAY, platform: 'wechat', group: 'python-101' }],
    ]);
    // A message a day later is activity: at day 14 the watch looks again, and churns at day 15 exactly.
    h.engine.handleEvent(message('alice', '收到', { at: T0 + DAY }), T0 + DAY);
    const watch = () => jobsOf(h.db, m).filter((j) => j.kind === 'inactivity').map((j) => [j.status, j.due_at, j.note]);
    h.engine.runDueJobs(T0 + 14 * DAY - 1);
    expect(watch()).toEqual([['pending', T0 + 14 * DAY, null]]);
    h.engine.runDueJobs(T0 + 14 * DAY);
    expect(watch()).toEqual([
      ['done', T0 + 14 * DAY, 'active 13d ago; next check in 1d'],
      ['pending', T0 + 15 * DAY, null],
    ]);
    h.engine.runDueJobs(T0 + 15 * DAY - 1);
    expect(findMemberByIdentity(h.db, 'wechat', 'alice')!.stage).toBe('trial');
    h.engine.runDueJobs(T0 + 15 * DAY);
    expect(findMemberByIdentity(h.db, 'wechat', 'alice')!.stage).toBe('churned');
    expect(watch()).toEqual([
      ['done', T0 + 14 * DAY, 'active 13d ago; next check in 1d'],
      ['done', T0 + 15 * DAY, expect.stringMatching(/^inactive for 14d: /)],
    ]);
  });

  it('a second watch cancels the first, noting why', () => {
    const dir = tempConfig({ 'rules.yaml': (t) => t.replace('rules:\n', 'rules:\n  - id: rewatch\n    on: message\n    when: { text: { contains: 重来 } }\n    do:\n      - watch_inactivity: { after: 1d, rule: churn-inactive }\n') });
    const h = harness({ config: loadConfig(dir, { env: {} }) });
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const m = id(h, 'alice');
    h.engine.handleEvent(message('alice', '重来', { at: T0 + HOUR }), T0 + HOUR);
    expect(jobsOf(h.db, m).filter((j) => j.kind === 'inactivity').map((j) => [j.status, j.due_at, j.note])).toEqual([
      ['pending', T0 + HOUR + DAY, null],
      ['cancelled', T0 + 14 * DAY, 'watch restarted'],
    ]);
  });

  it('tag and untag say what they did', () => {
    const dir = tempConfig({ 'rules.yaml': (t) => t.replace('rules:\n', 'rules:\n  - id: tagger\n    on: message\n    when: { text: { contains: 标记 } }\n    do:\n      - tag: early\n      - untag: ghost\n') });
    const h = harness({ config: loadConfig(dir, { env: {} }) });
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    h.engine.handleEvent(message('alice', '标记', { at: T0 + HOUR }), T0 + HOUR);
    h.engine.handleEvent(message('alice', '标记', { at: T0 + 2 * HOUR }), T0 + 2 * HOUR);
    const traces = firedTraces(h.db, 'tagger').map((t) => JSON.parse(t.detail).actions);
    expect(traces).toEqual([
      ['tagged early', 'had no tag ghost'],
      ['already tagged early', 'had no tag ghost'],
    ]);
  });
});

describe('/stage and /tag: who, where, and how members are named', () => {
  const lastTo = (h: Harness, chatId: string) => outboxRows(h.db).filter((o) => o.chat_id === chatId).at(-1)!.text;
  const say = (h: Harness, user: string, text: string, at = T0 + HOUR, group?: { id: string; name: string }) =>
    h.engine.handleEvent(group ? message(user, text, { at, group }) : message(user, text, { at, dm: true }), at);
  const commandNotes = (h: Harness, command: string) =>
    (h.db.prepare('SELECT detail FROM rule_traces WHERE rule_id = ? ORDER BY id').all(`command:/${command}`) as { detail: string }[]).map((t) => JSON.parse(t.detail).actions);

  it('a member named with several words, and a member whose name is a stage', () => {
    const h = harness();
    h.engine.handleEvent(joined('aw', { at: T0, name: 'Alice Wang' }), T0);
    h.engine.handleEvent(joined('al', { at: T0, name: 'Alice Li' }), T0);
    h.engine.handleEvent(joined('lo', { at: T0, name: 'loyal' }), T0);
    say(h, 'teacher', '/stage Alice Wang nurture');
    expect(lastTo(h, 'teacher')).toBe('已把 Alice Wang 从 trial 调整到 nurture。');
    say(h, 'teacher', '/stage  Alice   Wang ');
    expect(lastTo(h, 'teacher').split('\n')[0]).toBe(`Alice Wang（${id(h, 'aw')}）现在：nurture`);
    // One word that is also a stage: the member of that name, not a move.
    say(h, 'teacher', '/stage loyal');
    expect(lastTo(h, 'teacher').split('\n')[0]).toBe(`loyal（${id(h, 'lo')}）现在：trial`);
    expect(commandNotes(h, 'stage')).toEqual([['stage trial → nurture'], [`stage history of ${id(h, 'aw')} shown`], [`stage history of ${id(h, 'lo')} shown`]]);
  });

  it('/stage is for owners and instructors, /tag also for assistants; answers go privately even when asked in a group', () => {
    const h = harness();
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    h.engine.handleEvent(joined('ann', { at: T0 }), T0);
    grantRole(h.db, { memberId: id(h, 'ann'), role: 'assistant', by: 'owner', eventId: null, now: T0 });
    say(h, 'ann', '/stage alice');
    expect(lastTo(h, 'ann')).toBe('你没有权限使用 /stage。');
    say(h, 'ann', '/tag alice helper');
    expect(lastTo(h, 'ann')).toBe('alice：+helper\n现在的标签：helper');
    say(h, 'principal', '/stage alice nurture');
    expect(lastTo(h, 'principal')).toBe('已把 alice 从 trial 调整到 nurture。');
    const vip = { id: 'python-vip@chatroom', name: 'Python 数据分析正式班' };
    const before = outboxRows(h.db).filter((o) => o.chat_id === vip.id).length;
    say(h, 'teacher', '/stage alice', T0 + 2 * HOUR, vip);
    say(h, 'teacher', '/stage alice paid', T0 + 2 * HOUR, vip);
    say(h, 'teacher', '/tag alice -helper c++', T0 + 2 * HOUR, vip);
    expect(outboxRows(h.db).filter((o) => o.chat_id === vip.id)).toHaveLength(before);
    expect(lastTo(h, 'teacher')).toBe('alice：-helper +c++\n现在的标签：c++');
    expect(commandNotes(h, 'tag').slice(-2)).toEqual([[`tags of ${id(h, 'alice')}: +helper`], [`tags of ${id(h, 'alice')}: -helper +c++`]]);
    say(h, 'principal', '/tag alice +vip');
    expect(lastTo(h, 'principal')).toBe('alice：+vip\n现在的标签：c++, vip');
    say(h, 'principal', '/tag');
    expect(lastTo(h, 'principal')).toBe('expected a member and at least one tag\n用法：/tag <成员> 标签 [-要去掉的标签 …]');
  });

  it('/help shows the staff what /stage and /tag do', () => {
    const h = harness();
    say(h, 'teacher', '/help');
    const help = lastTo(h, 'teacher').split('\n');
    expect(help).toContain('/stage <成员> [阶段] — 查看成员的阶段记录；带阶段时手动调整（须符合配置的阶段流转）');
    expect(help).toContain('/tag <成员> 标签 [-要去掉的标签 …] — 给成员加标签（-标签 去掉）');
  });

  it('every fact and action of the lifecycle feature says what it is, and the feature is named in registry clashes', () => {
    expect(lifecycleFeature.facts!.filter((f) => f.description.trim() === '').map((f) => f.name)).toEqual([]);
    expect(lifecycleFeature.actions!.filter((a) => a.description.trim() === '').map((a) => a.name)).toEqual([]);
    expect(() => buildRegistry([lifecycleFeature, lifecycleFeature])).toThrow('feature "lifecycle" is in the list twice');
    expect(() => buildRegistry([lifecycleFeature, { ...lifecycleFeature, name: 'lifecycle-2' }])).toThrow('feature "lifecycle-2": fact "stage" is already registered by another feature');
  });

  it('the facts compile with their types: durations, a list, text and a number', () => {
    const problems: CompileProblem[] = [];
    const when = { in_stage_for: { gt: '1h' }, member_for: { lt: '30d' }, inactive_for: { gte: '1d' }, tags: { has_none: ['spam'] }, stage: { in: ['trial'] }, questions_asked: { lte: 3 } };
    compileWhen(when, registry.facts, demoConfig(), ['when'], problems);
    expect(problems).toEqual([]);
    compileWhen({ in_stage_for: { eq: '1h' }, member_for: 3, inactive_for: 'x', tags: { gt: 1 }, stage: { has: 'x' }, questions_asked: { contains: 'x' } }, registry.facts, demoConfig(), ['when'], problems);
    expect(problems.map((p) => p.message.replace(/ \(use one of.*$/, ''))).toEqual([
      'operator "eq" does not apply to duration fact "in_stage_for"',
      'operator "eq" does not apply to duration fact "member_for"',
      'operator "eq" does not apply to duration fact "inactive_for"',
      'operator "gt" does not apply to strings fact "tags"',
      'operator "has" does not apply to string fact "stage"',
      'operator "contains" does not apply to number fact "questions_asked"',
    ]);
  });

  it('untag says what it removed', () => {
    const dir = tempConfig({ 'rules.yaml': (t) => t.replace('rules:\n', 'rules:\n  - id: untagger\n    on: message\n    when: { text: { contains: 取消 } }\n    do:\n      - untag: vip\n') });
    const h = harness({ config: loadConfig(dir, { env: {} }) });
    h.engine.handleEvent(joined('alice', { at: T0 }), T0);
    const m = id(h, 'alice');
    addTag(h.db, m, 'vip', T0);
    h.engine.handleEvent(message('alice', '取消', { at: T0 + HOUR }), T0 + HOUR);
    const trace = firedTraces(h.db, 'untagger')[0]!;
    expect(JSON.parse(trace.detail).actions).toEqual(['untagged vip']);
  });
});
