import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../src/bot/outbox.js';
import { type CourseConfig } from '../../src/config/load.js';
import { loadConfig } from '../../src/app.js';
import { Engine } from '../../src/core/engine.js';
import { REMINDER_GROUPS_PER_BATCH } from '../../src/flows/checkin/index.js';
import { FEATURES as flows, registry } from '../../src/app.js';
import { Kernel } from '../../src/core/kernel.js';
import { silentLogger } from '../../src/log.js';
import { VirtualClock } from '../../src/core/schedule/clock.js';
import { syncStanding } from '../../src/core/schedule/standing.js';
import { openStore, type Db } from '../../src/store/db.js';
import { count, demoConfig, drainOutbox, FakeAdapter, HOUR, joined, lineOf, loadProblems, message, MINUTE, removeTempDirs, replaceOnce, tempConfig, type Harness } from '../helpers/fixtures.js';
import { readFileSync } from 'node:fs';
import { openTestStore } from '../helpers/store.js';
import { buildServices } from '../../src/core/registry.js';

const dirs: string[] = [];
afterAll(() => {
  removeTempDirs();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const VIP = { id: 'python-vip@chatroom', name: 'Python 数据分析正式班' };
const MON_0900 = Date.parse('2026-03-02T09:00:00+08:00');
const MON_2000 = Date.parse('2026-03-02T20:00:00+08:00');

function jobs(db: Db, kind = 'checkin.reminder'): { status: string; due_at: number; note: string | null }[] {
  return db.prepare('SELECT status, due_at, note FROM jobs WHERE kind = ? ORDER BY id').all(kind) as { status: string; due_at: number; note: string | null }[];
}

/** A kernel on `db` (as `kequn start` builds one), not yet started. */
function kernel(db: Db, clock: VirtualClock, config: CourseConfig = demoConfig()): { kernel: Kernel; adapter: FakeAdapter } {
  const adapter = new FakeAdapter(clock);
  return { adapter, kernel: new Kernel({ registry, config, db, clock, adapters: [adapter], log: silentLogger, live: false, random: () => 0 }) };
}

function reminders(adapter: FakeAdapter): string[] {
  return adapter.sent.filter((s) => s.text.includes('没打卡')).map((s) => `${s.chat.id} ${new Date(s.at).toISOString()}`);
}

/** Bob and Carol in the paid group at 09:00 Monday; Bob checks in. */
async function seedVip(k: Kernel): Promise<void> {
  await k.handle(joined('bob', { at: MON_0900, group: VIP }));
  await k.handle(joined('carol', { at: MON_0900, group: VIP }));
  await k.handle(message('bob', '打卡 第一天', { at: MON_0900, group: VIP }));
}

describe('daily reminder: downtime across the due time', () => {
  it('back within the grace window (2h): sent once on start, late; the next day is planned', async () => {
    const db = openTestStore();
    const clock = new VirtualClock(MON_0900);
    const a = kernel(db, clock);
    await a.kernel.start();
    await seedVip(a.kernel);
    await a.kernel.runUntil(MON_0900 + 10 * MINUTE);
    await a.kernel.stop(); // down from 09:10 to 21:30
    clock.set(MON_2000 + 90 * MINUTE);
    const b = kernel(db, clock);
    await b.kernel.start();
    await b.kernel.runUntil(clock.now() + 10 * MINUTE);
    expect(reminders(b.adapter)).toEqual(['python-vip@chatroom 2026-03-02T13:30:00.000Z']);
    expect(b.adapter.sent.find((s) => s.text.includes('没打卡'))!.text).toContain('1 位同学没打卡：carol');
    // Restarting again changes nothing: the occurrence is done, tomorrow's is planned once.
    await b.kernel.stop();
    const c = kernel(db, clock);
    await c.kernel.start();
    await c.kernel.runUntil(clock.now() + 10 * MINUTE);
    expect(reminders(c.adapter)).toEqual([]);
    expect(jobs(db).map((j) => j.status)).toEqual(['done', 'pending']);
    await c.kernel.runUntil(MON_2000 + 24 * HOUR + 10 * MINUTE);
    expect(reminders(c.adapter)).toEqual(['python-vip@chatroom 2026-03-03T12:00:00.000Z']);
    await c.kernel.stop();
  });

  it('back after the grace window: skipped and recorded, nothing sent; the next day still runs', async () => {
    const db = openTestStore();
    const clock = new VirtualClock(MON_0900);
    const a = kernel(db, clock);
    await a.kernel.start();
    await seedVip(a.kernel);
    await a.kernel.runUntil(MON_0900 + 10 * MINUTE);
    await a.kernel.stop();
    clock.set(MON_2000 + 150 * MINUTE);
    const b = kernel(db, clock);
    await b.kernel.start();
    await b.kernel.runUntil(clock.now() + 10 * MINUTE);
    expect(reminders(b.adapter)).toEqual([]);
    expect(jobs(db)[0]).toMatchObject({ status: 'skipped', due_at: MON_2000, note: 'missed by 2h30m (grace 2h)' });
    await b.kernel.runUntil(MON_2000 + 24 * HOUR + 10 * MINUTE);
    expect(reminders(b.adapter)).toEqual(['python-vip@chatroom 2026-03-03T12:00:00.000Z']);
    await b.kernel.stop();
  });
});

describe('daily reminder: a changed schedule never duplicates', () => {
  const at21 = () => loadConfig(tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, 'at: "20:00"', 'at: "21:00"') }), { env: {} });

  it('moving the time before it runs: the old run is cancelled, one reminder at the new time', async () => {
    const db = openTestStore();
    const clock = new VirtualClock(MON_0900);
    const { kernel: k, adapter } = kernel(db, clock);
    await k.start();
    await seedVip(k);
    k.setConfig(at21());
    k.setConfig(at21()); // a second reload plans nothing more
    expect(jobs(db).map((j) => [j.status, j.due_at, j.note])).toEqual([
      ['cancelled', MON_2000, 'schedule changed in config'],
      ['pending', MON_2000 + HOUR, null],
    ]);
    await k.runUntil(MON_2000 + 2 * HOUR);
    expect(reminders(adapter)).toEqual(['python-vip@chatroom 2026-03-02T13:00:00.000Z']);
    await k.stop();
  });

  it('moving it later after today\'s went out: today is not reminded twice', async () => {
    const db = openTestStore();
    const clock = new VirtualClock(MON_0900);
    const { kernel: k, adapter } = kernel(db, clock);
    await k.start();
    await seedVip(k);
    await k.runUntil(MON_2000 + 10 * MINUTE);
    k.setConfig(at21());
    await k.runUntil(MON_2000 + 24 * HOUR + 2 * HOUR);
    expect(reminders(adapter)).toEqual(['python-vip@chatroom 2026-03-02T12:00:00.000Z', 'python-vip@chatroom 2026-03-03T13:00:00.000Z']);
    expect(jobs(db).find((j) => j.due_at === MON_2000 + HOUR)!.note).toMatch(/0 group messages/);
    await k.stop();
  });
});

describe('daily reminder: a failed send is retried by the outbox, not planned again', () => {
  it('one reminder row, one job, one delivery after the retry', async () => {
    const db = openTestStore();
    const clock = new VirtualClock(MON_0900);
    const { kernel: k, adapter } = kernel(db, clock);
    await k.start();
    await seedVip(k);
    await k.runUntil(MON_2000 - MINUTE);
    adapter.failNext(1);
    await k.runUntil(MON_2000 + 10 * MINUTE);
    expect(adapter.attempts.filter((a) => a.chatId === VIP.id && a.at >= MON_2000).map((a) => [a.ok, a.at - MON_2000])).toEqual([
      [false, 0],
      [true, 30_000],
    ]);
    expect(count(db, 'reminders_sent')).toBe(1);
    expect(jobs(db).map((j) => j.status)).toEqual(['done', 'pending']);
    await k.stop();
  });
});

describe('daily reminder: a restart in the middle of the fan-out', () => {
  const GROUPS = 60;
  const handles = Array.from({ length: GROUPS }, (_, i) => `g${String(i).padStart(2, '0')}`);
  const config = () =>
    loadConfig(
      tempConfig({
        'kequn.yaml': (t) => {
          let out = replaceOnce(t, 'groups:\n  python-101:', `groups:\n${handles.map((h) => `  ${h}:\n    name: 班级${h}\n    kind: paid\n`).join('')}  python-101:`);
          out = replaceOnce(out, '  groups: [python-101, python-vip]\n', `  groups: [${handles.join(', ')}]\n`);
          out = replaceOnce(out, '    groups: [python-vip]   # default: all check-in groups\n', '');
          return replaceOnce(out, 'nudge_after: 2', 'nudge_after: 1');
        },
      }),
      { env: {} },
    );

  function boot(path: string, clock: VirtualClock, cfg: CourseConfig): Harness {
    const db = openStore(path);
    const adapter = new FakeAdapter(clock);
    const services = buildServices(registry, { db: db, config: cfg });
    const engine = new Engine({ db, config: () => cfg, registry, log: silentLogger, services: () => services });
    const outbox = new Outbox({ db, config: () => cfg, clock, adapters: new Map([['wechat', adapter]]), log: silentLogger, random: () => 0 });
    return { db, clock, config: cfg, engine, services, outbox, adapter };
  }

  it('every group reminder and every nudge is sent exactly once', async () => {
    const cfg = config();
    const dir = mkdtempSync(join(tmpdir(), 'kequn-fanout-'));
    dirs.push(dir);
    const path = join(dir, 'kequn.db');
    const sunday = MON_0900 - 24 * HOUR;
    const clock = new VirtualClock(sunday);
    const a = boot(path, clock, cfg);
    // Three members per group joined on Sunday; on Monday one of them checks in.
    for (const h of handles) {
      const group = { id: `${h}@chatroom`, name: `班级${h}` };
      for (const u of ['a', 'b', 'c']) a.engine.handleEvent(joined(`${h}-${u}`, { at: sunday, group }), sunday);
    }
    clock.set(MON_0900);
    for (const h of handles) a.engine.handleEvent(message(`${h}-a`, '/checkin ok', { at: MON_0900, group: { id: `${h}@chatroom`, name: `班级${h}` } }), MON_0900);
    await drainOutbox(a, MON_0900 + HOUR);
    a.adapter.sent.length = 0;
    syncStanding(a.db, flows, cfg, clock.now());

    // 20:00: the first batch claims its reminders (committed with the job and their outbox
    // rows), two of them go out… then the process dies before sending the rest.
    clock.set(MON_2000);
    expect(a.engine.runDueJobs(clock.now(), 1)).toBe(1);
    expect(count(a.db, 'reminders_sent')).toBe(REMINDER_GROUPS_PER_BATCH * 3);
    await a.outbox.dispatch();
    clock.set(clock.now() + 2000);
    await a.outbox.dispatch();
    expect(a.adapter.sent).toHaveLength(2);
    a.db.close();

    // Start again on the same file, 5 minutes later (within the 2h grace): catch up and deliver.
    clock.set(MON_2000 + 5 * MINUTE);
    const b = boot(path, clock, cfg);
    b.outbox.recover();
    syncStanding(b.db, flows, cfg, clock.now());
    while (b.engine.runDueJobs(clock.now()) > 0);
    await drainOutbox(b, clock.now() + 2 * HOUR);

    const all = [...a.adapter.sent, ...b.adapter.sent];
    const groupMsgs = all.filter((s) => s.chat.kind === 'group');
    const nudges = all.filter((s) => s.chat.kind === 'dm');
    expect(groupMsgs.map((s) => s.chat.id).sort()).toEqual(handles.map((h) => `${h}@chatroom`));
    for (const s of groupMsgs) expect(s.text).toMatch(/2 位同学没打卡：g\d\d-b、g\d\d-c/);
    expect(nudges.map((s) => s.chat.id).sort()).toEqual(handles.flatMap((h) => [`${h}-b`, `${h}-c`]));
    expect(count(b.db, 'reminders_sent')).toBe(GROUPS * 3);
    expect(count(b.db, 'outbox', "status = 'sent'")).toBe(GROUPS * 3 + GROUPS); // + Monday's check-in replies
    // One job per batch of groups done, and tomorrow's occurrence planned once.
    const batches = Math.ceil(GROUPS / REMINDER_GROUPS_PER_BATCH);
    expect(jobs(b.db).map((j) => j.status).sort()).toEqual([...Array<string>(batches).fill('done'), 'pending']);
    b.db.close();
  });
});

describe('check-in and reminder configuration errors', () => {
  it('a reminder in quiet hours, a bad cron, an unknown group, a deadline before the opening', () => {
    const dir = tempConfig({
      'kequn.yaml': (t) => {
        let out = replaceOnce(t, 'at: "20:00"', 'at: "23:00"');
        out = replaceOnce(out, '    groups: [python-vip]   # default', '    groups: [python-vip, nowhere]   # default');
        return replaceOnce(out, 'due: "2026-03-22 22:00"', 'due: "2026-03-15 22:00"');
      },
    });
    const text = readFileSync(join(dir, 'kequn.yaml'), 'utf8');
    const problems = loadProblems(dir).map((p) => `${p.line} ${p.keyPath}: ${p.message}`);
    expect(problems).toEqual([
      `${lineOf(text, 'nowhere')} checkin.reminder.groups[1]: unknown group "nowhere" (groups: python-101, python-vip)`,
      `${lineOf(text, 'at: "23:00"')} checkin.reminder.at: runs inside quiet hours; it would only go out when they end. Pick a time outside them`,
      `${lineOf(text, 'due: "2026-03-15 22:00"')} homework.assignments[0].due: the deadline must be after the assignment opens`,
    ]);
    const cron = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, 'at: "20:00"', 'cron: "0 20 * *"') });
    expect(loadProblems(cron).map((p) => `${p.keyPath}: ${p.message}`)).toEqual([
      'checkin.reminder.cron: a cron expression has 5 fields (minute hour day month weekday), got 4',
    ]);
    const noTemplate = tempConfig({ 'templates.yaml': (t) => t.replace(/^checkin_nudge:.*\n/m, '') });
    expect(loadProblems(noTemplate).map((p) => `${p.keyPath}: ${p.message}`)).toEqual(['checkin: checkin needs these templates in templates.yaml: checkin_nudge']);
  });
});
