/**
 * Groups that already exist (issue 18): at login kequn reads each course room's member list
 * through the real Wechaty adapter, on Wechaty's mock puppet in-process and over
 * wechaty-puppet-service gRPC, and records the people without a welcome; /sync reads it again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PuppetServer } from 'wechaty-puppet-service';
import { buildServiceBot, createApp, loadConfig, waitReady, type App } from '../../src/app.js';
import type { ChatEvent } from '../../src/bot/events.js';
import { SimulatedWeChat } from '../../src/bot/simulator.js';
import { WechatyAdapter } from '../../src/bot/wechaty-adapter.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { systemClock } from '../../src/core/schedule/clock.js';
import { findMemberByIdentity } from '../../src/store/members.js';
import { funnel } from '../../src/flows/dashboard/metrics.js';
import { freePort } from '../helpers/grpc-port.js';
import { testStorePath } from '../helpers/store.js';

const TRIAL = 'python-101@chatroom';
const PAID = 'python-vip@chatroom';

let app: App;
let clock: VirtualClock;

/** Puts people in a room's member list the way a room holds them before the bot was there: no event. */
function silentlyIn(roomId: string, ...ids: string[]): void {
  const room = app.sim!.room(roomId, '');
  for (const id of ids) if (!room.payload.memberIdList.includes(id)) room.payload.memberIdList.push(id);
}

function silentlyOut(roomId: string, id: string): void {
  const room = app.sim!.room(roomId, '');
  room.payload.memberIdList = room.payload.memberIdList.filter((x) => x !== id);
}

function handledOnce(match: (e: ChatEvent) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const l = (event: ChatEvent) => {
      if (!match(event)) return;
      app.kernel.off('handled', l);
      resolve();
    };
    app.kernel.on('handled', l);
  });
}

async function act(match: (e: ChatEvent) => boolean, action: () => void): Promise<void> {
  const done = handledOnce(match);
  action();
  await done;
  await app.kernel.runUntil(clock.now() + 5 * 60_000, { settleOnly: true });
}

const memberOf = (id: string) => findMemberByIdentity(app.db, 'wechat', id);
const rows = (sql: string, ...args: unknown[]) => app.db.prepare(sql).all(...args);
const snapshot = () => ({
  members: rows('SELECT id, display_name, stage, stage_since, created_at FROM members ORDER BY id'),
  memberships: rows('SELECT * FROM memberships ORDER BY member_id, group_id'),
  transitions: rows('SELECT member_id, from_stage, to_stage, actor, at FROM stage_transitions ORDER BY id'),
  imports: rows('SELECT * FROM member_imports ORDER BY member_id'),
});
const dmsTo = (id: string) => app.sim!.sent.filter((s) => s.chatKind === 'dm' && s.chatId === id).map((s) => s.text);

describe('existing groups on the mock puppet (in-process)', () => {
  beforeAll(async () => {
    clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
    app = await createApp({ config: loadConfig('test/fixtures/course'), clock, log: silentLogger, live: false, dbPath: testStorePath() });
    for (const [id, name] of [['gus', 'Gus'], ['ivy', 'Ivy'], ['dora', 'Dora'], ['eve', 'Eve'], ['teacher', '王老师']] as const) app.sim!.user(id, name);
    silentlyIn(TRIAL, 'gus', 'ivy');
    silentlyIn(PAID, 'dora', 'eve', 'ivy', 'teacher');
    await app.kernel.start();
    await waitReady(() => app.kernel.isReady());
    await app.kernel.runUntil(clock.now(), { settleOnly: true });
  });

  afterAll(async () => {
    await app.stop();
  });

  it('records the people in the rooms at login, in the stage of their group kind, with no welcome and no join', () => {
    // Gus: trial group → nurture (import.stages.trial); Dora, Eve: paid group → paid; Ivy is in both: the furthest, paid.
    expect(Object.fromEntries(['gus', 'ivy', 'dora', 'eve'].map((id) => [id, memberOf(id)?.stage]))).toEqual({ gus: 'nurture', ivy: 'paid', dora: 'paid', eve: 'paid' });
    // The teacher is staff (config, by WeChat id): not recorded as a student.
    expect(memberOf('teacher')).toBeUndefined();
    expect(rows('SELECT group_id, join_count, left_at FROM memberships ORDER BY group_id, member_id')).toEqual([
      { group_id: 'python-101', join_count: 0, left_at: null },
      { group_id: 'python-101', join_count: 0, left_at: null },
      { group_id: 'python-vip', join_count: 0, left_at: null },
      { group_id: 'python-vip', join_count: 0, left_at: null },
      { group_id: 'python-vip', join_count: 0, left_at: null },
    ]);
    expect(rows("SELECT DISTINCT actor, from_stage FROM stage_transitions")).toEqual([{ actor: 'imported', from_stage: null }]);
    expect(rows('SELECT COUNT(*) AS n FROM member_imports')).toEqual([{ n: 4 }]);
    // No welcome, no trial lesson, no join rule: nothing was queued, no join was logged.
    expect(rows('SELECT COUNT(*) AS n FROM outbox')).toEqual([{ n: 0 }]);
    expect(rows("SELECT COUNT(*) AS n FROM events WHERE type = 'member.joined'")).toEqual([{ n: 0 }]);
    expect(rows("SELECT cause, done_at IS NOT NULL AS done FROM member_import_runs")).toEqual([{ cause: 'login', done: 1 }]);
  });

  it('/sync from staff reads the lists again, changes nothing, and answers with the counts in Chinese', async () => {
    // The teacher's first message makes them known to the store (as staff); then the snapshot.
    await act((e) => e.type === 'message' && e.user.id === 'teacher', () => app.sim!.say('teacher', 'bot', '/whoami'));
    const before = snapshot();
    const sent = dmsTo('teacher').length;
    await act((e) => e.type === 'message' && e.user.id === 'teacher', () => app.sim!.say('teacher', 'bot', '/sync'));
    expect(snapshot()).toEqual(before);
    expect(dmsTo('teacher').slice(sent)).toEqual([
      '群成员已同步：读取了 2 个群的名单，共 5 人（其中工作人员 1 人，不计为学员）。\n新记录 0 人（未发欢迎），已在册的成员新记入群 0 人，重新在群 0 人，无变化 4 人。',
    ]);
  });

  it('a member may not /sync: nothing is read', async () => {
    await act((e) => e.type === 'message' && e.user.id === 'dora', () => app.sim!.say('dora', 'bot', '/sync'));
    expect(rows('SELECT COUNT(*) AS n FROM member_import_runs')).toEqual([{ n: 2 }]);
    expect(dmsTo('dora').some((t) => t.includes('同步'))).toBe(false);
  });

  it('someone known keeps their stage; a lost join and a lost rejoin are recorded; who left unseen is counted, not removed', async () => {
    app.sim!.user('lee', 'Lee');
    app.sim!.user('mo', 'Mo');
    // Lee joins the trial group the ordinary way (welcomed, trial), then is in the paid room with no event (a QR join lost).
    await act((e) => e.type === 'member.joined' && e.user.id === 'lee', () => app.sim!.join('lee', TRIAL));
    expect(memberOf('lee')?.stage).toBe('trial');
    silentlyIn(PAID, 'lee');
    // Mo joins and leaves the trial group, then is back in it with no event.
    await act((e) => e.type === 'member.joined' && e.user.id === 'mo', () => app.sim!.join('mo', TRIAL));
    await act((e) => e.type === 'member.left' && e.user.id === 'mo', () => app.sim!.leave('mo', TRIAL));
    silentlyIn(TRIAL, 'mo');
    // Gus left the trial group without the bot hearing of it.
    silentlyOut(TRIAL, 'gus');
    const sent = dmsTo('teacher').length;
    await act((e) => e.type === 'message' && e.user.id === 'teacher', () => app.sim!.say('teacher', 'bot', '/sync'));
    // Lee is known: in the paid group now, stage untouched (a payment moves it, not a list).
    expect(memberOf('lee')?.stage).toBe('trial');
    expect(rows("SELECT join_count, left_at FROM memberships WHERE member_id = ? AND group_id = 'python-vip'", memberOf('lee')!.id)).toEqual([{ join_count: 0, left_at: null }]);
    expect(rows("SELECT left_at FROM memberships WHERE member_id = ? AND group_id = 'python-101'", memberOf('mo')!.id)).toEqual([{ left_at: null }]);
    expect(rows("SELECT left_at FROM memberships WHERE member_id = ? AND group_id = 'python-101'", memberOf('gus')!.id)).toEqual([{ left_at: null }]);
    expect(rows('SELECT COUNT(*) AS n FROM member_imports')).toEqual([{ n: 4 }]);
    // Lists: trial Ivy, Lee, Mo; paid Dora, Eve, Ivy, teacher, Lee → 6 people, 1 staff; Lee added,
    // Mo back, Ivy Dora Eve unchanged; Gus still recorded in the trial group but not in its list.
    expect(dmsTo('teacher').slice(sent)).toEqual([
      '群成员已同步：读取了 2 个群的名单，共 6 人（其中工作人员 1 人，不计为学员）。\n新记录 0 人（未发欢迎），已在册的成员新记入群 1 人，重新在群 1 人，无变化 3 人。\n另有 1 人记录为在群、但名单里已没有（未改动）。',
    ]);
  });
});

describe('a join the member list got ahead of (read at login a moment after it happened)', () => {
  beforeAll(async () => {
    clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
    app = await createApp({ config: loadConfig('test/fixtures/course'), clock, log: silentLogger, live: false, dbPath: testStorePath() });
    for (const [id, name] of [['nia', 'Nia'], ['old', 'Old']] as const) app.sim!.user(id, name);
    // Both are in the list at login: Nia because she joined a moment before it was read (her join
    // event is still on its way), Old because he was there long before the bot.
    silentlyIn(TRIAL, 'nia', 'old');
    await app.kernel.start();
    await waitReady(() => app.kernel.isReady());
    await app.kernel.runUntil(clock.now(), { settleOnly: true });
  });

  afterAll(async () => {
    await app.stop();
  });

  it('the join that arrives after the reading is a newcomer\'s: the import is taken back, she is welcomed and starts her trial', async () => {
    expect(memberOf('nia')?.stage).toBe('nurture');
    await act((e) => e.type === 'member.joined' && e.user.id === 'nia', () => app.sim!.join('nia', TRIAL));
    const nia = memberOf('nia')!;
    expect(nia.stage).toBe('trial');
    expect(app.sim!.sent.some((s) => s.chatId === TRIAL && s.text.includes('欢迎 Nia'))).toBe(true);
    expect(rows('SELECT COUNT(*) AS n FROM member_imports WHERE member_id = ?', nia.id)).toEqual([{ n: 0 }]);
    expect(rows('SELECT from_stage, to_stage, actor FROM stage_transitions WHERE member_id = ? ORDER BY id', nia.id)).toEqual([
      { from_stage: null, to_stage: 'prospect', actor: 'first-seen' },
      { from_stage: 'prospect', to_stage: 'trial', actor: 'bot' },
    ]);
    expect(rows("SELECT join_count FROM memberships WHERE member_id = ? AND group_id = 'python-101'", nia.id)).toEqual([{ join_count: 1 }]);
  });

  it('a join reported long after the reading leaves the import as it is (no welcome for someone who was there)', async () => {
    await app.kernel.runUntil(Date.parse('2026-03-02T10:11:00+08:00'));
    const sent = app.sim!.sent.length;
    await act((e) => e.type === 'member.joined' && e.user.id === 'old', () => app.sim!.join('old', TRIAL));
    expect(memberOf('old')?.stage).toBe('nurture');
    expect(app.sim!.sent.slice(sent).filter((s) => s.text.includes('欢迎'))).toEqual([]);
    expect(rows('SELECT COUNT(*) AS n FROM member_imports WHERE member_id = ?', memberOf('old')!.id)).toEqual([{ n: 1 }]);
  });
});

describe('existing groups on the dashboard', () => {
  it('the funnel\'s cohort leaves imported members out (the base tables and the rollups agree)', async () => {
    clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
    app = await createApp({ config: loadConfig('test/fixtures/course'), clock, log: silentLogger, live: false, dbPath: testStorePath() });
    for (const [id, name] of [['gus', 'Gus'], ['dora', 'Dora'], ['lee', 'Lee']] as const) app.sim!.user(id, name);
    silentlyIn(TRIAL, 'gus');
    silentlyIn(PAID, 'dora');
    await app.kernel.start();
    await waitReady(() => app.kernel.isReady());
    await app.kernel.runUntil(clock.now(), { settleOnly: true });
    await act((e) => e.type === 'member.joined' && e.user.id === 'lee', () => app.sim!.join('lee', TRIAL));
    try {
      // By hand: Gus and Dora were imported (nurture, paid); Lee joined (trial). The cohort is Lee alone.
      // Read an hour later: the rollups fold rows once they have settled.
      const now = clock.now() + 3_600_000;
      for (const direct of [true, false]) {
        const f = funnel({ db: app.db, config: app.config, now, direct });
        expect(f.cohort, `direct: ${direct}`).toBe(1);
        expect(Object.fromEntries(f.stages.map((s) => [s.stage, s.entered]))).toMatchObject({ prospect: 1, trial: 1, nurture: 0, paid: 0 });
      }
    } finally {
      await app.stop();
    }
  });
});

describe('existing groups over wechaty-puppet-service gRPC', () => {
  const realHome = process.env.HOME;
  const home = mkdtempSync(join(tmpdir(), 'kequn-import-grpc-'));
  let server: PuppetServer;
  let sim: SimulatedWeChat;
  let adapter: WechatyAdapter;

  beforeAll(async () => {
    // PuppetService caches payloads under ~/.wechaty/.
    process.env.HOME = home;
    const { PuppetServer } = await import('wechaty-puppet-service');
    const { log: wechatyLog } = await import('wechaty-puppet');
    wechatyLog.level('silent');
    sim = new SimulatedWeChat({ botName: '小课', now: () => systemClock.now() });
    const room = sim.room(TRIAL, 'Python 入门体验群');
    sim.user('gus', 'Gus');
    sim.user('ivy', 'Ivy');
    room.payload.memberIdList.push('gus', 'ivy');
    const endpoint = `127.0.0.1:${await freePort()}`;
    server = new PuppetServer({ puppet: sim.puppet, token: 'insecure_import-test', endpoint, tls: { disable: true } });
    await server.start();
    adapter = new WechatyAdapter(await buildServiceBot({ kind: 'service', token: 'insecure_import-test', endpoint, noTls: true }), silentLogger);
    await adapter.start(async () => undefined);
    await waitReady(() => adapter.isReady(), 10_000);
  });

  afterAll(async () => {
    await adapter?.stop();
    await server?.stop();
    await sim?.puppet.stop().catch(() => undefined);
    process.env.HOME = realHome;
    rmSync(home, { recursive: true, force: true });
  });

  it('lists a room’s members, the account itself left out; a room the account is not in is undefined', async () => {
    const people = await adapter.listGroupMembers(TRIAL);
    expect(people?.sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: 'gus', name: 'Gus' },
      { id: 'ivy', name: 'Ivy' },
    ]);
    expect(await adapter.listGroupMembers('no-such-room@chatroom')).toBeUndefined();
  });
});
