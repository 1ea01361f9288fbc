/**
 * The store's floor under the pipeline: what SQLite alone costs for the statements a message makes.
 *
 * bench/pipeline.ts compares kequn's messages/s with a bare event insert (one row, one
 * transaction). Part of the gap is kequn's JavaScript (100 rules, traces, Q&A) and part is the
 * store: a message also reads its member, updates presence, writes its trace, queues answers,
 * and its commit writes more pages. This bench separates the two. It runs the pipeline's course
 * and message mix, records every statement the process runs for each message (SQL text and
 * values, BEGIN and COMMIT included, by wrapping better-sqlite3's Statement methods), then
 * replays exactly those statements, message by message, on a copy of the store as it was before
 * the messages (an online backup: same pages), with the same file settings and no kequn code in
 * between. Replay/s over the bare insert's rate is the best ratio kequn could reach with the
 * statements it runs today, however fast its JavaScript became; pipeline/s over replay/s is the
 * store's share of a message's time.
 * Run: npx tsx bench/store-floor.ts   (BENCH_FLOOR_MEMBERS, BENCH_FLOOR_MESSAGES resize it;
 *   BENCH_FLOOR_KEEP=1 keeps the files and prints their folder)
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, waitReady } from '../src/app.js';
import type { ChatEvent } from '../src/bot/events.js';
import { VirtualClock } from '../src/core/schedule/clock.js';
import { silentLogger } from '../src/log.js';
import { openStore, sqliteOf } from '../src/store/db.js';
import { seededRandom } from '../src/util/random.js';
import { bigCourse } from './course-fixture.js';
import { messageText } from './pipeline.js';
import type { BenchResult } from './report.js';

const MEMBERS = Number(process.env.BENCH_FLOOR_MEMBERS ?? 10_000);
const MESSAGES = Number(process.env.BENCH_FLOOR_MESSAGES ?? 10_000);
const GROUPS = 100;

type Method = 'run' | 'get' | 'all' | 'iterate';
interface Call {
  sql: string;
  method: Method;
  args: unknown[];
}

/**
 * Records every call of a better-sqlite3 statement's run/get/all/iterate while `on` is set.
 * Statements are one class, so wrapping its prototype sees the transaction's own BEGIN and COMMIT.
 */
function statementRecorder(db: Database.Database): { calls: Call[]; on: boolean; restore: () => void } {
  const proto = Object.getPrototypeOf(db.prepare('SELECT 1')) as Record<Method, (...a: unknown[]) => unknown> & { source: string };
  const rec = { calls: [] as Call[], on: false, restore: () => {} };
  const originals = new Map<Method, (...a: unknown[]) => unknown>();
  for (const m of ['run', 'get', 'all', 'iterate'] as const) {
    const original = proto[m];
    originals.set(m, original);
    proto[m] = function (this: { source: string }, ...args: unknown[]) {
      if (rec.on) rec.calls.push({ sql: this.source, method: m, args });
      return original.apply(this, args);
    };
  }
  rec.restore = () => {
    for (const [m, f] of originals) proto[m] = f;
  };
  return rec;
}

export async function benchStoreFloor(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kequn-bench-floor-'));
  try {
    const { config, groupIds } = bigCourse({ groups: GROUPS, rules: 100 });
    const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
    const app = await createApp({ config, clock, log: silentLogger, live: false, dbPath: join(dir, 'bench.db') });
    await app.kernel.start();
    await waitReady(() => app.kernel.isReady());
    const room = (m: number) => ({ id: `${groupIds[m % GROUPS]!}@chatroom`, name: `体验群 ${m % GROUPS}` });
    for (let m = 0; m < MEMBERS; m++) {
      clock.set(clock.now() + 10);
      await app.kernel.handle({ type: 'member.joined', platform: 'wechat', eventId: `j${m}`, at: clock.now(), group: room(m), user: { id: `u${m}`, name: `学员${m}` } });
    }
    // The store as the messages find it; the backup copies pages, so the replay starts from the same layout.
    const sqlite = sqliteOf(app.db);
    await sqlite.backup(join(dir, 'replay.db'));

    const r = seededRandom(1);
    const events: ChatEvent[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const m = Math.floor(r() * MEMBERS);
      events.push({ type: 'message', platform: 'wechat', eventId: `m${i}`, at: 0, chat: { kind: 'group', group: room(m) }, user: { id: `u${m}`, name: `学员${m}` }, text: messageText(i, r), mentionsBot: false, contentKind: 'text' });
    }
    const recorder = statementRecorder(sqlite);
    const perMessage: Call[][] = [];
    const tMsg = performance.now();
    for (const e of events) {
      clock.set(clock.now() + 100);
      recorder.calls = [];
      recorder.on = true;
      await app.kernel.handle({ ...e, at: clock.now() } as ChatEvent);
      recorder.on = false;
      perMessage.push(recorder.calls);
    }
    const pipelineSecs = (performance.now() - tMsg) / 1000;
    recorder.restore();
    await app.stop();

    // Replay: the recorded statements, prepared once each, message after message.
    const replay = sqliteOf(openStore(join(dir, 'replay.db'), { migrate: false, backgroundCheckpoints: true }));
    const prepared = new Map<string, Database.Statement>();
    const prepare = (sql: string) => {
      let s = prepared.get(sql);
      if (!s) prepared.set(sql, (s = replay.prepare(sql)));
      return s;
    };
    for (const calls of perMessage) for (const c of calls) prepare(c.sql);
    let failed = 0;
    const spent = new Map<string, { ms: number; calls: number }>();
    const tReplay = performance.now();
    for (const calls of perMessage) {
      for (const c of calls) {
        const t = performance.now();
        try {
          const s = prepare(c.sql);
          if (c.method === 'iterate') for (const _ of s.iterate(...c.args)) void _;
          else s[c.method](...c.args);
        } catch {
          failed++;
        }
        const k = spent.get(c.sql) ?? { ms: 0, calls: 0 };
        k.ms += performance.now() - t;
        k.calls++;
        spent.set(c.sql, k);
      }
    }
    const replaySecs = (performance.now() - tReplay) / 1000;
    replay.close();

    // Baseline: bench/pipeline.ts's bare event insert, one transaction each, same settings.
    const base = sqliteOf(openStore(join(dir, 'baseline.db'), { backgroundCheckpoints: true }));
    const insert = base.prepare('INSERT INTO events (type, platform, dedupe_key, member_id, group_id, payload, at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING');
    const one = base.transaction((e: ChatEvent) => insert.run(e.type, e.platform, `wechat:${e.eventId}`, null, null, JSON.stringify(e), 0));
    const tBase = performance.now();
    for (const e of events) one(e);
    const baseSecs = (performance.now() - tBase) / 1000;
    base.close();

    const top = [...spent].sort((a, b) => b[1].ms - a[1].ms).slice(0, 6);
    const share = (ms: number) => `${((100 * ms) / (replaySecs * 1000)).toFixed(0)} %`;
    const statements = perMessage.reduce((n, c) => n + c.length, 0) / MESSAGES;
    const pipelineRate = MESSAGES / pipelineSecs;
    const replayRate = MESSAGES / replaySecs;
    const baseRate = MESSAGES / baseSecs;
    return [
      {
        name: 'store_floor.replay_per_s',
        value: replayRate,
        unit: 'msg/s',
        baseline: 'raw event insert',
        baseline_value: baseRate,
        ratio: replayRate / baseRate,
        note: `the pipeline's own statements replayed without kequn's code: ${statements.toFixed(1)} per message, BEGIN and COMMIT included${failed ? `; ${failed} failed on replay` : ''}`,
      },
      {
        name: 'store_floor.pipeline_per_s',
        value: pipelineRate,
        unit: 'msg/s',
        baseline: 'replay',
        baseline_value: replayRate,
        ratio: pipelineRate / replayRate,
        note: `the same messages through kequn in this run (recording on): the store's statements are ${((100 * pipelineRate) / replayRate).toFixed(0)} % of a message's time`,
      },
      ...top.map(([sql, k], i) => ({
        name: `store_floor.statement_${i + 1}`,
        value: (k.ms * 1000) / MESSAGES,
        unit: 'us/msg',
        note: `${share(k.ms)} of the replay, ${(k.calls / MESSAGES).toFixed(2)} per message: ${sql.replace(/\s+/g, ' ').slice(0, 90)}`,
      })),
    ];
  } finally {
    if (!process.env.BENCH_FLOOR_KEEP) rmSync(dir, { recursive: true, force: true });
    else console.log(dir);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { report } = await import('./report.js');
  report(await benchStoreFloor());
  process.exit(0);
}
