import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app.js';
import { allowedFrom, canMove } from '../../src/flows/lifecycle/stage-machine.js';
import { lifecycleFeature } from '../../src/flows/lifecycle/index.js';
import { buildRegistry } from '../../src/core/registry.js';
import type { OrderEvent } from '../../src/flows/orders/contracts.js';
import { findMemberByIdentity, stageHistory } from '../../src/store/members.js';
import { activeCodeOf } from '../../src/flows/referral/store.js';
import { jobsOf } from '../../src/store/jobs.js';
import { DAY, HOUR, T0, count, demoConfig, harness, joined, lineOf, loadProblems, message, outboxRows, removeTempDirs, replaceOnce, tempConfig, type Harness } from '../helpers/fixtures.js';
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
    const trace = h.db.prepare("SELECT detail FROM rule_traces WHERE rule_id = 'skip-ahead'").get() as { detail: string };
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
