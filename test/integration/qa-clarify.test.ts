/**
 * Clarification menus through the real pipeline (Wechaty mock puppet → engine → SQLite file →
 * outbox): the limits that keep menus from piling up in a group, the per-member learning limit,
 * and staff picking a candidate that does not exist.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, loadConfig, waitReady, type App } from '../../src/app.js';
import type { ChatEvent } from '../../src/bot/events.js';
import type { CourseConfig } from '../../src/core/types.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { LEARN_PER_DAY } from '../../src/flows/qa/clarify.js';
import { exportMember, forgetMember } from '../../src/store/privacy.js';

const ROOM = 'python-101@chatroom';
const T0 = Date.parse('2026-03-02T10:00:00+08:00');
const USERS = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8'];

interface World {
  app: App;
  clock: VirtualClock;
  sent: { chatId: string; text: string }[];
  say(user: string, where: 'group' | 'bot', text: string): Promise<void>;
  count(sql: string): number;
}

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

async function world(qa: Partial<CourseConfig['qa']> = {}): Promise<World> {
  const base = loadConfig('test/fixtures/course', { env: {} });
  const config: CourseConfig = { ...base, qa: { ...base.qa, ...qa } };
  const clock = new VirtualClock(T0);
  const app = await createApp({
    config,
    clock,
    log: pino({ level: 'silent' }),
    live: false,
    dbPath: join(mkdtempSync(join(tmpdir(), 'kequn-clarify-')), 'kequn.db'),
    random: () => 0,
    llmEnv: {},
  });
  open.push(() => app.stop());
  await app.kernel.start();
  await waitReady(() => app.kernel.isReady());
  const sent: World['sent'] = [];
  app.sim!.onSent((s) => sent.push({ chatId: s.chatId, text: s.text }));
  for (const u of USERS) app.sim!.user(u, u);
  const handledOnce = (match: (e: ChatEvent) => boolean) =>
    new Promise<void>((resolve) => {
      const listener = (e: ChatEvent) => {
        if (!match(e)) return;
        app.kernel.off('handled', listener);
        resolve();
      };
      app.kernel.on('handled', listener);
    });
  for (const u of USERS) {
    const joined = handledOnce((e) => e.type === 'member.joined' && e.user.id === u);
    app.sim!.join(u, ROOM);
    await joined;
  }
  await app.kernel.runUntil(clock.now() + 5 * 60_000, { settleOnly: true });
  sent.length = 0;
  return {
    app,
    clock,
    sent,
    async say(user, where, text) {
      const handled = handledOnce((e) => e.type === 'message' && e.user.id === user && e.text === text);
      app.sim!.say(user, where === 'bot' ? 'bot' : { roomId: ROOM }, text);
      await handled;
      await app.kernel.runUntil(clock.now() + 5 * 60_000, { settleOnly: true });
    },
    count: (sql) => (app.db.prepare(sql).get() as { n: number }).n,
  };
}

const menus = (w: World) => w.sent.filter((s) => s.chatId === ROOM && s.text.startsWith('你想问的是')).length;
/** Questions that get a menu in the test course (none of them is confident enough to answer). */
const UNSURE = ['新手怎么装环境？', '上课要交多少钱，能退吗？', '几点直播，可以退吗？', '表格文件怎么打开？'];

describe('Q&A clarification menus', () => {
  it('never pile up in a group: at most qa.clarify.group per window, whoever asks; then the escalation way', async () => {
    const w = await world({ clarify: { ...loadConfig('test/fixtures/course', { env: {} }).qa.clarify, group: 4 } });
    for (const [i, u] of USERS.slice(0, 6).entries()) await w.say(u, 'group', UNSURE[i % UNSURE.length]!);
    expect(menus(w)).toBe(4);
    expect(w.count('SELECT COUNT(*) AS n FROM qa_menus')).toBe(4);
    // the two past the limit went to the staff instead (each asker told once)
    expect(w.count("SELECT COUNT(*) AS n FROM questions WHERE status = 'escalated'")).toBe(2);
    // ten minutes on, the window has moved: a menu again
    w.clock.set(w.clock.now() + 11 * 60_000);
    await w.say('u7', 'group', UNSURE[0]!);
    expect(menus(w)).toBe(5);
  });

  it(`learns at most ${LEARN_PER_DAY} wordings from one member a day; the picks are still answered`, async () => {
    const w = await world({ clarify: { ...loadConfig('test/fixtures/course', { env: {} }).qa.clarify, member: 100 } });
    const questions = [...UNSURE, '装东西太慢了怎么办？', '课程表在哪看？', '课怎么交钱？', '学费交了能开发票吗？'];
    const picks = LEARN_PER_DAY + 2;
    for (const q of questions.slice(0, picks)) {
      await w.say('u1', 'bot', q);
      await w.say('u1', 'bot', '1');
    }
    const answers = w.sent.filter((s) => s.chatId === 'u1' && s.text.includes('——摘自')).length;
    expect(answers).toBe(picks);
    expect(w.count("SELECT COUNT(*) AS n FROM faq_learned WHERE via = 'choice'")).toBe(LEARN_PER_DAY);
    expect(w.count("SELECT COUNT(*) AS n FROM questions WHERE answered_via = 'choice' AND status = 'answered'")).toBe(picks);
  });

  it('tells the staff when /answer Q1 =N names no candidate, and changes nothing', async () => {
    const w = await world();
    await w.say('u1', 'group', '付款方式有哪些？');
    expect(w.count("SELECT COUNT(*) AS n FROM questions WHERE status = 'escalated'")).toBe(1);
    await w.say('teacher', 'bot', '/answer Q1 =9');
    expect(w.sent.filter((s) => s.chatId === 'teacher').at(-1)!.text).toMatch(/Q1 has no candidate 9/);
    expect(w.count("SELECT COUNT(*) AS n FROM questions WHERE status = 'escalated'")).toBe(1);
    expect(w.count('SELECT COUNT(*) AS n FROM faq_learned')).toBe(0);
  });
});

describe('forgetting a member (kequn member forget) and the Q&A', () => {
  it('drops their menus and the wordings they taught, clears the vector cache, unsigns what they taught as staff', async () => {
    const w = await world();
    const memberOf = (platformId: string) => (w.app.db.prepare('SELECT member_id AS m FROM identities WHERE platform_id = ?').get(platformId) as { m: string }).m;
    // u1 and u2 each pick from a menu (each wording is learned, signed by its asker)...
    await w.say('u1', 'group', UNSURE[0]!);
    await w.say('u1', 'group', '1');
    await w.say('u2', 'group', UNSURE[1]!);
    await w.say('u2', 'group', '1');
    // ...and the teacher answers an escalated question of u2's (signed by the teacher).
    await w.say('u2', 'group', '付款方式有哪些？');
    const q = (w.app.db.prepare("SELECT id FROM questions WHERE status = 'escalated'").get() as { id: number }).id;
    await w.say('teacher', 'bot', `/answer Q${q} 微信和支付宝都可以`);
    // A cached embedding (as an LLM endpoint would leave; this world has none).
    w.app.db.prepare("INSERT INTO qa_vectors (model, text_hash, dims, vector, created_at) VALUES ('bge-m3', 'h', 1, 'AAAAAA==', 0)").run();
    const u1 = memberOf('u1');
    const teacher = memberOf('teacher');
    expect(w.count(`SELECT COUNT(*) AS n FROM qa_menus WHERE member_id = '${u1}'`)).toBe(1);
    expect(w.count(`SELECT COUNT(*) AS n FROM faq_learned WHERE taught_by = '${u1}' AND via = 'choice'`)).toBe(1);
    expect(w.count(`SELECT COUNT(*) AS n FROM faq_learned WHERE taught_by = '${teacher}' AND via = 'staff'`)).toBe(1);
    const exported = exportMember(w.app.db, u1, w.clock.now())!;
    expect(exported.qa_menus).toEqual([expect.objectContaining({ status: 'picked', choices: expect.any(Array) })]);
    expect(exported.taught).toEqual([expect.objectContaining({ via: 'choice', question: UNSURE[0] })]);
    // The teacher's export has their answer, not the student's question.
    expect(exportMember(w.app.db, teacher, w.clock.now())!.taught).toEqual([expect.objectContaining({ via: 'staff', question: null, answer: '微信和支付宝都可以' })]);

    forgetMember(w.app.db, u1, w.clock.now());
    expect(w.count(`SELECT COUNT(*) AS n FROM qa_menus WHERE member_id = '${u1}'`)).toBe(0);
    expect(w.count(`SELECT COUNT(*) AS n FROM faq_learned WHERE taught_by = '${u1}'`)).toBe(0);
    expect(w.count('SELECT COUNT(*) AS n FROM qa_vectors')).toBe(0);
    // u2's pick and the teacher's answer stay.
    expect(w.count("SELECT COUNT(*) AS n FROM faq_learned WHERE via = 'choice'")).toBe(1);
    expect(w.count("SELECT COUNT(*) AS n FROM qa_menus")).toBe(1);

    forgetMember(w.app.db, teacher, w.clock.now());
    expect(w.count("SELECT COUNT(*) AS n FROM faq_learned WHERE via = 'staff' AND taught_by IS NULL")).toBe(1);
  });
});
