/**
 * Privacy: `kequn member export` and `kequn member forget` on a real store with a member who
 * joined through an inviter, talked, asked a question the staff got forwarded, checked in, bought
 * and paid. After forget, their name, ids and words are in no column of any table, and the
 * orders still add up.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../src/bot/events.js';
import { createApp, waitReady } from '../../src/app.js';
import { loadConfig } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { exportMember, type MemberExport } from '../../src/store/privacy.js';

function kequn(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('node', ['bin/kequn.mjs', ...args], { env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout) });
    });
  });
}

const TRIAL = { id: 'python-101@chatroom', name: 'Python 入门体验群' };
const VIP = { id: 'python-vip@chatroom', name: 'Python 数据分析正式班' };
const NAME = 'Zhang Weiqiang';
const WXID = 'wxid_zwq_8842';
const SECRET_TEXT = '我的手机号是 13800138000 请加我';
const QUESTION = 'Jupyter 的快捷键在哪里改？我用的是 Mac';
const AD = 'Python 资料免费送，加微信 zwq8842vx 领取';

/** Every (table, column, rowid) where `needle` occurs, in every column of every table. */
function occurrences(db: Database.Database, needle: string): string[] {
  const hits: string[] = [];
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[];
  for (const { name } of tables) {
    for (const col of db.prepare(`PRAGMA table_info(${name})`).all() as { name: string }[]) {
      const n = (db.prepare(`SELECT count(*) AS n FROM ${name} WHERE instr(CAST(${col.name} AS TEXT), ?) > 0`).get(needle) as { n: number }).n;
      if (n > 0) hits.push(`${name}.${col.name} ×${n}`);
    }
  }
  return hits;
}

function accounting(db: Database.Database) {
  return {
    orders: db.prepare('SELECT id, member_id, product_id, currency, list_amount, amount, state, provider, transaction_id, paid_amount, refunded_amount, paid_at FROM orders ORDER BY id').all(),
    attempts: db.prepare('SELECT out_trade_no, order_id, amount, state FROM payment_attempts ORDER BY out_trade_no').all(),
    paidTotal: (db.prepare("SELECT sum(paid_amount) AS s FROM orders WHERE state = 'paid'").get() as { s: number }).s,
    ledger: db.prepare('SELECT id, referrer_id, fen, entry FROM referral_ledger ORDER BY id').all(),
  };
}

describe('kequn member export / forget', () => {
  it('exports everything about a member, then forgets them: nothing identifying left, orders intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kequn-privacy-'));
    const dbPath = join(dir, 'kequn.db');
    const env = { KEQUN_DATA: dbPath };
    const config = loadConfig('test/fixtures/course', { env });
    const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
    const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath });
    await app.kernel.start();
    await waitReady(() => app.kernel.isReady());
    let seq = 0;
    type Bare<E> = E extends ChatEvent ? Omit<E, 'eventId' | 'at' | 'platform'> : never;
    const handle = (e: Bare<ChatEvent>) => app.kernel.handle({ ...e, platform: 'wechat', eventId: `p-${seq++}`, at: clock.now() } as ChatEvent);
    const zhang = { id: WXID, name: NAME };
    const ruth = { id: 'wxid_ruth', name: 'Ruth Inviter' };
    const omar = { id: 'wxid_omar', name: 'Omar Other' };
    await handle({ type: 'member.joined', group: TRIAL, user: ruth });
    await handle({ type: 'member.joined', group: TRIAL, user: zhang, inviter: ruth });
    // Someone Zhang invited: Zhang is quoted in Omar's join.
    await handle({ type: 'member.joined', group: TRIAL, user: omar, inviter: zhang });
    await handle({ type: 'message', chat: { kind: 'group', group: TRIAL }, user: zhang, text: SECRET_TEXT, mentionsBot: false, contentKind: 'text' });
    await handle({ type: 'message', chat: { kind: 'group', group: TRIAL }, user: zhang, text: QUESTION, mentionsBot: false, contentKind: 'text' });
    await handle({ type: 'message', chat: { kind: 'group', group: TRIAL }, user: omar, text: `@${NAME} 你好`, mentionsBot: false, contentKind: 'text' });
    // An ad: moderation keeps the words as evidence.
    await handle({ type: 'message', chat: { kind: 'group', group: TRIAL }, user: zhang, text: AD, mentionsBot: false, contentKind: 'text' });
    for (const u of [zhang, omar]) await handle({ type: 'message', chat: { kind: 'dm' }, user: u, text: '/buy', mentionsBot: false, contentKind: 'text' });
    for (const member of [WXID, 'wxid_omar']) {
      const { token } = app.db.prepare('SELECT o.token FROM orders o JOIN identities i ON i.member_id = o.member_id WHERE i.platform_id = ?').get(member) as { token: string };
      const { outTradeNo } = await app.orders.service.startPayment(token, { method: 'native', clientIp: '127.0.0.1' });
      await app.orders.sandbox!.pay(outTradeNo);
    }
    await handle({ type: 'member.joined', group: VIP, user: zhang });
    await handle({ type: 'message', chat: { kind: 'group', group: VIP }, user: zhang, text: '打卡 今天学了 pandas 的 groupby 和 merge', mentionsBot: false, contentKind: 'text' });
    await app.kernel.runUntil(clock.now() + 3600_000);
    await app.stop();

    const db = new Database(dbPath);
    const memberId = (db.prepare('SELECT member_id FROM identities WHERE platform_id = ?').get(WXID) as { member_id: string }).member_id;
    expect(occurrences(db, QUESTION).length).toBeGreaterThan(1); // the question and its forward to the staff
    expect(occurrences(db, AD)).toContain('moderation_log.evidence ×1');
    // Before: the name is in events (their own and Omar's), the bot's messages and the rule traces
    // (an event's, fired rules included, in the event's own row since issue 20).
    expect(occurrences(db, NAME)).toEqual(expect.arrayContaining([expect.stringMatching(/^events\.payload/), expect.stringMatching(/^outbox\.text/), expect.stringMatching(/^events\.unmatched/)]));
    const before = accounting(db);
    expect(before.orders).toHaveLength(2);
    expect(before.paidTotal).toBeGreaterThan(0);
    const omarRows = () =>
      db.prepare(`SELECT payload AS t FROM events WHERE member_id = (SELECT member_id FROM identities WHERE platform_id = 'wxid_omar')
                  UNION ALL SELECT text FROM outbox WHERE member_id = (SELECT member_id FROM identities WHERE platform_id = 'wxid_omar')`).all() as { t: string }[];
    const omarBefore = omarRows();

    // Export: by WeChat id; everything is there.
    const ex = await kequn(['member', 'export', WXID], env);
    expect(ex.code, ex.stdout).toBe(0);
    const data = JSON.parse(ex.stdout) as MemberExport;
    expect(data.member).toMatchObject({ id: memberId, display_name: NAME });
    expect(data.identities).toEqual([{ platform: 'wechat', platform_id: WXID, display_name: NAME }]);
    expect(data.memberships.map((m) => m.group_id).sort()).toEqual(['python-101', 'python-vip']);
    expect(data.events.some((e) => (e.payload as { text?: string } | null)?.text === SECRET_TEXT)).toBe(true);
    expect(data.questions.map((q) => q.text)).toContain(QUESTION);
    expect(data.checkins).toHaveLength(1);
    expect(data.moderation).toEqual([expect.objectContaining({ action: 'warn', evidence: expect.stringContaining('zwq8842vx') })]);
    expect(data.orders).toEqual([expect.objectContaining({ state: 'paid', product_id: 'python-vip' })]);
    expect(data.payment_attempts).toHaveLength(1);
    expect(data.messages.length).toBeGreaterThan(0);
    expect(data.stages.map((s) => s.to_stage)).toContain('paid');
    expect(data.referred_by).toEqual([expect.objectContaining({ source: 'inviter' })]);

    // Forget takes the member id only (a name might be someone else's).
    const byName = await kequn(['member', 'forget', NAME], env);
    expect(byName.code).toBe(2);
    expect(byName.stdout).toContain(`run: kequn member forget ${memberId}`);
    const fg = await kequn(['member', 'forget', memberId], env);
    expect(fg.code, fg.stdout).toBe(0);
    expect(fg.stdout).toMatch(new RegExp(`forgot member ${memberId}: \\d+ names, ids and texts removed .*; 1 orders kept`));

    for (const needle of [NAME, WXID, SECRET_TEXT, QUESTION, AD, 'zwq8842vx', 'pandas 的 groupby 和 merge']) expect(occurrences(db, needle), needle).toEqual([]);
    expect(accounting(db)).toEqual(before);
    // Other people's rows are untouched, except where they quoted Zhang.
    expect(omarRows()).toEqual(omarBefore.map((r) => ({ t: r.t.replaceAll(NAME, '[forgotten]').replaceAll(WXID, '[forgotten]') })));
    expect(omarBefore.some((r) => r.t.includes(NAME))).toBe(true);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    const after = exportMember(db, memberId, clock.now())!;
    expect(after.identities).toEqual([]);
    expect(after.orders).toHaveLength(1);
    expect(after.privacy_requests.map((r) => r.action)).toEqual(['export', 'forget']);
    db.close();

    // The bot still runs on the store; the same WeChat id writing again is a new person.
    const again = await createApp({ config, clock, log: silentLogger, live: false, dbPath });
    await again.kernel.start();
    await waitReady(() => again.kernel.isReady());
    const r = await again.kernel.handle({ type: 'member.joined', platform: 'wechat', eventId: 'back', at: clock.now(), group: TRIAL, user: zhang });
    expect(r.status).toBe('handled');
    expect(r.memberId).not.toBe(memberId);
    await again.stop();
  });
});
