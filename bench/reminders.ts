/**
 * The daily check-in reminder at scale: 100,000 members in 1,000 groups on a SQLite file, 30 %
 * checked in today, some two days behind (they get a private nudge). Measures planning the
 * fan-out through the real scheduler path (standing job → batches of groups, each its own job
 * and transaction, the event loop free between them): total time, the longest batch (how long
 * the event loop is blocked at once) and peak extra memory.
 * Run: npx tsx bench/reminders.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { type CourseConfig } from '../src/config/load.js';
import { loadConfig } from '../src/app.js';
import { Engine } from '../src/core/engine.js';
import { FEATURES as flows, registry } from '../src/app.js';
import { silentLogger } from '../src/log.js';
import { syncStanding } from '../src/core/schedule/standing.js';
import { openStore, inTransaction } from '../src/store/db.js';
import { recordCheckinDay } from '../src/flows/checkin/store.js';
import { recordJoin, resolveMember } from '../src/store/members.js';
import { outboxCounts } from '../src/store/outbox.js';
import { addDays } from '../src/util/days.js';
import { report, type BenchResult } from './report.js';
import { buildServices } from '../src/core/registry.js';

const GROUPS = 1000;
const PER_GROUP = 100;

export async function benchReminders(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'kequn-bench-reminders-'));
  const base = loadConfig('test/fixtures/course');
  const handles = Array.from({ length: GROUPS }, (_, i) => `g${String(i).padStart(4, '0')}`);
  const groups = Object.fromEntries(handles.map((h) => [h, { name: `班级 ${h}`, kind: 'paid' as const }]));
  const config: CourseConfig = {
    ...base,
    groups,
    groupOf: (_p, id) => (id.endsWith('@chatroom') && id.slice(0, -9) in groups ? id.slice(0, -9) : undefined),
    checkin: { ...base.checkin!, groups: handles, reminder: { ...base.checkin!.reminder!, groups: handles, nudgeAfter: 2 } },
    // A course this size outgrows one WeChat account's 1,500 a day; the fan-out is measured whole.
    outbox: { ...base.outbox, daily_cap: 1_000_000, reserve: 1000 },
  };
  const path = join(dir, 'bench.db');
  let db = openStore(path);
  const joinedAt = Date.parse('2026-03-01T09:00:00+08:00');
  const today = '2026-03-04';
  const dueAt = Date.parse(`${today}T20:00:00+08:00`);

  // Seed: 100k members, 30 % checked in today, 10 % last seen two days ago (nudged), the rest yesterday.
  const tSeed = performance.now();
  for (let g0 = 0; g0 < GROUPS; g0 += 100) {
    inTransaction(db, () => {
      for (let g = g0; g < g0 + 100; g++) for (let i = 0; i < PER_GROUP; i++) {
        const n = g * PER_GROUP + i;
        const { member } = resolveMember(db, { platform: 'wechat', platformId: `u${n}`, displayName: `学员${n}`, initialStage: 'paid', now: joinedAt });
        recordJoin(db, { memberId: member.id, groupId: handles[g]!, inviterId: null, now: joinedAt });
        const day = i % 10 < 3 ? today : i % 10 === 3 ? addDays(today, -3) : addDays(today, -1);
        recordCheckinDay(db, { memberId: member.id, day, kind: 'checkin', groupId: handles[g]!, note: '', eventId: null, now: joinedAt });
      }
    });
  }
  const seedSecs = (performance.now() - tSeed) / 1000;
  // Closing checkpoints the seed's write-ahead log, so its cost is not charged to the planning.
  db.close();
  db = openStore(path);

  const services = buildServices(registry, { db: db, config: config });
  const engine = new Engine({ db, config: () => config, registry, log: silentLogger, services: () => services });
  syncStanding(db, flows, config, dueAt - 60_000);

  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  let longest = 0;
  let batches = 0;
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (;;) {
    const t = performance.now();
    const ran = engine.runDueJobs(dueAt);
    times.push(performance.now() - t);
    longest = Math.max(longest, times.at(-1)!);
    peak = Math.max(peak, process.memoryUsage().rss);
    if (ran === 0) break;
    batches += ran;
    await yieldToLoop();
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (process.env.BENCH_VERBOSE) console.log(times.map((t) => t.toFixed(0)).join(' '));
  const queued = outboxCounts(db).pending ?? 0;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  const what = `${GROUPS * PER_GROUP} members, ${GROUPS} groups`;
  return [
    { name: `reminder fan-out: plan (${what})`, value: secs, unit: 's', note: `target < 2 s; ${batches} batches; seeding took ${seedSecs.toFixed(1)} s` },
    // Wall time suffers when other processes share the cores; CPU time is this work alone.
    { name: 'reminder fan-out: plan, CPU time', value: (cpu.user + cpu.system) / 1e6, unit: 's', note: `load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores` },
    { name: 'reminder fan-out: longest batch (event loop blocked)', value: longest, unit: 'ms' },
    { name: 'reminder fan-out: peak extra memory (RSS)', value: (peak - rssBefore) / 1e6, unit: 'MB', note: 'target < 100 MB' },
    { name: 'reminder fan-out: messages queued', value: queued, unit: 'msgs', note: `${GROUPS} group reminders + nudges` },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchReminders());
  process.exit(0);
}
