/**
 * Pipeline events/s with 1, 2 and 4 kequn processes on one PostgreSQL database, next to one
 * process on a SQLite file, in the same run and through the same harness.
 *
 * Each process is a separate Node (bench/pipeline-child.ts under tsx) that opens the store through
 * createApp as kequn instance w1..wN (KEQUN_INSTANCE), like bench/pipeline.ts: 100 rules, 100
 * groups (bigCourse), events straight into kernel.handle, outbox rows written but not dispatched.
 * The events are the same in every measurement (bench/pipeline.ts's mix: first 1,000 members
 * join, then 3,000 messages), each stamped
 * with its time in the whole run; a process handles the members of its own groups (group i
 * belongs to process i mod N), as each real process owns its own accounts' groups. The parent
 * starts the processes, waits until each reports ready, sends them `go` together and measures
 * the aggregate rate (events / wall time from go to the last process done) and the per-event
 * latency (p50/p99 over all processes). Afterwards it counts the rows: the store must hold
 * exactly the events sent (no loss, no duplicate), and the outbox rows should be the same number
 * whatever the split.
 *
 * PostgreSQL: KEQUN_TEST_PG_URL, else a throwaway cluster (bench/pg-cluster.ts) with the default
 * durable settings; a fresh database (copy of the migrated template) per measurement. The
 * settings in force are printed in the notes (CI's test server runs with fsync off).
 *
 * What limits the figures (measured on the 2-core dev machine, Nov 2026; the notes of each run
 * give its own CPU per event, WAL flushes and the load):
 * - SQLite, 1 process: CPU. The engine and better-sqlite3 run in-process (~0.5 ms CPU per
 *   message), a commit is a WAL append (synchronous=NORMAL: no flush per commit).
 * - PostgreSQL, 1 process: waiting. pg-native is synchronous, so each statement is a loopback
 *   round trip the process waits for: ~15 per message, ~38 per join (welcome messages, drip jobs,
 *   membership), counted with pg_stat_statements; each run now counts them itself
 *   (`round_trips_per_message`, PostgresDb.roundTrips; docs/operations.md has the latest); then the commit waits for its WAL flush (fsync
 *   on: ~0.3 ms on this disk, one flush per event). The process is busy 10–20 % of the cores'
 *   time and cannot overlap its waits; CPU per event: kequn 0.8–1.1 ms + server 1.0–1.3 ms.
 *   Quiet machine (load 1.3): SQLite 2,609 msg/s; PostgreSQL 690 (1 process), 1,088 (2), 986 (4).
 * - PostgreSQL, N processes: one process's waits are another's working time, so the rate rises
 *   while there is idle CPU; then the cores cap it. Each event costs CPU in the Node process and
 *   in its PostgreSQL backend (~1.8–3.5 ms together), so 2 cores cannot do much more than
 *   600–1,100 events/s even alone, and 4 processes on 2 cores add little or nothing over 2 (more
 *   context switches: p99 grows). Group commit barely helps: WAL flushes per event only go from
 *   ~1.05 to ~0.93, the flush is short next to the CPU. Row locks are not a limit here: the
 *   processes own disjoint groups and members, so they never wait on each other's rows (a member
 *   in groups of two instances would, on members/identities); what they share is the WAL and the
 *   right-most index pages of the growing tables (events, rule_traces, outbox, jobs).
 * - On a shared machine, more processes also means a bigger share of contended CPU: the 2- and
 *   4-process gains are partly that. Compare figures of one run, and read the load beside them.
 * - The cluster's heartbeat (every 5 s of the clock) runs by the virtual clock here, i.e. every
 *   50 messages instead of every few thousand; kept, so the events and their times are
 *   bench/pipeline.ts's. A beat just due goes in front of the event's first request (no request
 *   of its own, src/bot/cluster.ts LATE_BEAT_MS); its statements still run and commit, so the
 *   commits per event count them.
 *
 * Run: npx tsx bench/pipeline-processes.ts   (BENCH_PP_MEMBERS, BENCH_PP_MESSAGES resize it)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatEvent } from '../src/bot/events.js';
import { later } from '../src/store/batch.js';
import { openStore } from '../src/store/db.js';
import { ScratchDatabases } from '../src/store/pg-scratch.js';
import { PostgresDb } from '../src/store/postgres.js';
import { seededRandom } from '../src/util/random.js';
import { bigCourse } from './course-fixture.js';
import { benchPostgres } from './pg-cluster.js';
import type { FromChild, Phase, ToChild } from './pipeline-child.js';
import { messageText } from './pipeline.js';
import { pct, report, type BenchResult } from './report.js';

const MEMBERS = Number(process.env.BENCH_PP_MEMBERS ?? 1_000);
const MESSAGES = Number(process.env.BENCH_PP_MESSAGES ?? 3_000);
const GROUPS = 100;
/** BENCH_PP_PROCESSES=1 (a comma list) measures only those counts. */
/** The mix's kinds of message (bench/pipeline.ts messageText): plain chat no rule answers, questions, keyword replies. */
const KINDS = { plain: /条消息，老师好/, question: /^请问第/, keyword: /^今天复习了关键词/ } as const;
type Kind = keyof typeof KINDS;
const kindOf = (text: string): Kind | undefined => (Object.keys(KINDS) as Kind[]).find((k) => KINDS[k].test(text));
const PROCESSES = (process.env.BENCH_PP_PROCESSES ?? '1,2,4').split(',').map(Number);
const CHILD = new URL('./pipeline-child.ts', import.meta.url).pathname;
const T0 = Date.parse('2026-03-02T10:00:00+08:00');
/** BENCH_PP_VERBOSE=1: progress on stderr. */
const progress = (s: string) => process.env.BENCH_PP_VERBOSE && process.stderr.write(`[pipeline-processes ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

type Plan = { joins: ChatEvent[]; messages: ChatEvent[] };

/** The run's events split among `n` processes: the same events for every `n`. */
function plans(n: number, groupIds: string[]): Plan[] {
  const out: Plan[] = Array.from({ length: n }, () => ({ joins: [], messages: [] }));
  const groupOf = (m: number) => m % GROUPS;
  const room = (m: number) => ({ id: `${groupIds[groupOf(m)]!}@chatroom`, name: `体验群 ${groupOf(m)}` });
  const owner = (m: number) => out[groupOf(m) % n]!;
  for (let m = 0; m < MEMBERS; m++) {
    owner(m).joins.push({ type: 'member.joined', platform: 'wechat', eventId: `pp-j${m}`, at: T0 + (m + 1) * 10, group: room(m), user: { id: `u${m}`, name: `学员${m}` } });
  }
  const r = seededRandom(1);
  const start = T0 + MEMBERS * 10;
  for (let i = 0; i < MESSAGES; i++) {
    const m = Math.floor(r() * MEMBERS);
    owner(m).messages.push({ type: 'message', platform: 'wechat', eventId: `pp-m${i}`, at: start + (i + 1) * 100, chat: { kind: 'group', group: room(m) }, user: { id: `u${m}`, name: `学员${m}` }, text: messageText(i, r), mentionsBot: false, contentKind: 'text' });
  }
  return out;
}

/** A worker process and its replies, in order. */
class Worker {
  readonly child: ChildProcess;
  private readonly inbox: FromChild[] = [];
  private waiting: { resolve: (m: FromChild) => void; reject: (e: Error) => void } | undefined;
  private stderr = '';
  private exited: Promise<number | null>;

  constructor(name: string, db: string, course: string) {
    this.child = fork(CHILD, [], {
      env: { ...process.env, BENCH_PP_DB: db, BENCH_PP_COURSE: course, KEQUN_INSTANCE: name },
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    this.child.on('message', (m: FromChild) => {
      if (this.waiting) {
        this.waiting.resolve(m);
        this.waiting = undefined;
      } else this.inbox.push(m);
    });
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code) => {
        this.waiting?.reject(new Error(`worker ${name} exited (${code}) before replying: ${this.why()}`));
        this.waiting = undefined;
        resolve(code);
      }),
    );
  }

  /** The error line of what the worker printed last (a stack trace's first lines are paths). */
  private why(): string {
    const lines = this.stderr.trim().split('\n');
    return lines.find((l) => /Error\b|ERROR:/.test(l))?.trim() ?? lines[0] ?? 'no output';
  }

  send(m: ToChild): void {
    this.child.send(m);
  }

  next(): Promise<FromChild> {
    const m = this.inbox.shift();
    if (m) return Promise.resolve(m);
    if (this.child.exitCode !== null) return Promise.reject(new Error(`worker exited (${this.child.exitCode}): ${this.why()}`));
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  async exit(): Promise<void> {
    this.send({ kind: 'exit' });
    await this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

interface PhaseFigures {
  rate: number;
  /** CPU of the kequn processes per event, and as a share of the machine's cores over the phase. */
  cpuMsPerEvent: number;
  cpuShare: number;
  p50: number;
  p99: number;
  failed: number;
  firstFailure?: string;
  /** PostgreSQL requests waited for per event (statements, BEGIN/COMMIT, prepares), over all processes. */
  roundTrips: number;
  /** The same for the plain messages only (chat no rule answers: 70 % of the mix). */
  plainRoundTrips: number;
  /** Of cpuMsPerEvent, the kernel's part (system calls). */
  sysMsPerEvent: number;
  /** Wall time per event, ms (wall / events, 1 process: what the rate is made of). */
  wallMsPerEvent: number;
  /** Time the processes waited for PostgreSQL's answers per event, ms (0 on SQLite). */
  waitedMsPerEvent: number;
  /** CPU of the processes' PostgreSQL backends per event, ms (undefined: not readable). */
  serverCpuMsPerEvent?: number;
  /** Per kind of message (messages phase): events, mean round trips, mean latency and mean wait, ms. */
  kinds: Partial<Record<Kind, { n: number; trips: number; ms: number; waited: number }>>;
}

interface Measured {
  joins: PhaseFigures;
  messages: PhaseFigures;
  load: number;
  /** CPU of the kequn processes over both phases, ms. */
  kequnCpuMs: number;
}

/** `n` processes on store `db` handle the run's events; the figures of each phase. */
async function measure(db: string, n: number, course: string, groupIds: string[]): Promise<Measured> {
  const load = loadavg()[0]!;
  const workers = Array.from({ length: n }, (_, i) => new Worker(`w${i + 1}`, db, course));
  let kequnCpuMs = 0;
  try {
    const shares = plans(n, groupIds);
    workers.forEach((w, i) => w.send({ kind: 'plan', ...shares[i]! }));
    for (const w of workers) expect(await w.next(), 'ready');
    progress(`${n} ready`);
    const phase = async (p: Phase): Promise<PhaseFigures> => {
      const t = performance.now();
      for (const w of workers) w.send({ kind: 'go', phase: p });
      const done = await Promise.all(workers.map(async (w) => expect(await w.next(), 'done')));
      const secs = (performance.now() - t) / 1000;
      const lat = done.flatMap((d) => d.lat).sort((a, b) => a - b);
      const failed = done.reduce((s, d) => s + d.failed, 0);
      const cpuMs = done.reduce((s, d) => s + d.cpuMs, 0);
      kequnCpuMs += cpuMs;
      if (process.env.BENCH_PP_TRACE && done.some((d) => d.requests)) printRequests(`${db.startsWith('postgres') ? 'PostgreSQL' : 'SQLite'}, ${n} process${n > 1 ? 'es' : ''}, ${p}`, done, lat.length);
      // Per kind of message of the mix (bench/pipeline.ts messageText).
      const kinds: PhaseFigures['kinds'] = {};
      if (p === 'messages')
        done.forEach((d, i) =>
          d.lat.forEach((ms, k) => {
            const kind = kindOf(String((shares[i]!.messages[k] as { text?: string }).text));
            if (!kind) return;
            const acc = (kinds[kind] ??= { n: 0, trips: 0, ms: 0, waited: 0 });
            acc.n++;
            acc.trips += d.trips[k]!;
            acc.ms += ms;
            acc.waited += d.waited[k]!;
          }),
        );
      for (const acc of Object.values(kinds)) {
        acc.trips /= acc.n;
        acc.ms /= acc.n;
        acc.waited /= acc.n;
      }
      const serverCpu = done.every((d) => d.serverCpuMs !== undefined) ? done.reduce((s, d) => s + d.serverCpuMs!, 0) : undefined;
      return {
        plainRoundTrips: kinds.plain?.trips ?? 0,
        rate: lat.length / secs,
        cpuMsPerEvent: cpuMs / lat.length,
        sysMsPerEvent: done.reduce((s, d) => s + d.sysMs, 0) / lat.length,
        cpuShare: cpuMs / (secs * 1000 * cpus().length),
        p50: pct(lat, 50),
        p99: pct(lat, 99),
        failed,
        firstFailure: done.find((d) => d.firstFailure)?.firstFailure,
        roundTrips: done.reduce((s, d) => s + d.roundTrips, 0) / lat.length,
        wallMsPerEvent: (secs * 1000) / lat.length,
        waitedMsPerEvent: done.reduce((s, d) => s + d.waited.reduce((a, b) => a + b, 0), 0) / lat.length,
        ...(serverCpu !== undefined ? { serverCpuMsPerEvent: serverCpu / lat.length } : {}),
        kinds,
      };
    };
    const joins = await phase('joins');
    progress(`${n} joins done: ${Math.round(joins.rate)}/s`);
    const messages = await phase('messages');
    progress(`${n} messages done: ${Math.round(messages.rate)}/s`);
    await Promise.all(workers.map((w) => w.exit()));
    return { joins, messages, load, kequnCpuMs };
  } finally {
    for (const w of workers) w.kill();
  }
}

/** BENCH_PP_TRACE=1: the requests of a phase, most frequent first, per event (stderr). */
function printRequests(title: string, done: Extract<FromChild, { kind: 'done' }>[], events: number): void {
  const total = new Map<string, [number, number]>();
  for (const d of done)
    for (const [sql, k, ms] of d.requests ?? []) {
      const t = total.get(sql) ?? [0, 0];
      total.set(sql, [t[0] + k, t[1] + ms]);
    }
  // Most time waited first: per event, how often, ms waited per event, µs per request.
  const lines = [...total].sort((a, b) => b[1][1] - a[1][1]).map(([sql, [k, ms]]) => `${(k / events).toFixed(3).padStart(7)} ${(ms / events).toFixed(3).padStart(7)} ms ${Math.round((ms * 1000) / k).toString().padStart(5)} µs  ${sql}`);
  process.stderr.write(`requests per event, ${title} (per event: requests, ms waited; µs per request):\n${lines.join('\n')}\n`);
}

function expect<K extends FromChild['kind']>(m: FromChild, kind: K): Extract<FromChild, { kind: K }> {
  if (m.kind !== kind) throw new Error(`worker said ${m.kind}, expected ${kind}`);
  return m as Extract<FromChild, { kind: K }>;
}

/**
 * The floor: the run's message events inserted bare, one transaction each, on a fresh store of
 * the same kind (PostgreSQL: BEGIN, the insert and COMMIT as one request, the least a message can
 * wait for; SQLite: bench/pipeline.ts's raw insert). Inserts per second.
 */
function floorRate(db: string, groupIds: string[]): number {
  const store = openStore(db, { backgroundCheckpoints: true });
  try {
    const events = plans(1, groupIds)[0]!.messages;
    const sql = 'INSERT INTO events (type, platform, dedupe_key, member_id, group_id, payload, at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING';
    const one = store.transaction((e: ChatEvent) => later(store, sql, e.type, e.platform, `wechat:${e.eventId}`, null, null, JSON.stringify(e), e.at));
    const t = performance.now();
    for (const e of events) one(e);
    return events.length / ((performance.now() - t) / 1000);
  } finally {
    store.close();
  }
}

/** What the store holds after a measurement: events by type, outbox rows. */
function countRows(db: string): { joins: number; messages: number; events: number; outbox: number } {
  const store = openStore(db);
  try {
    const byType = store.prepare('SELECT type, COUNT(*) AS n FROM events GROUP BY type').all() as { type: string; n: number }[];
    const n = (t: string) => byType.find((r) => r.type === t)?.n ?? 0;
    const outbox = (store.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    return { joins: n('member.joined'), messages: n('message'), events: byType.reduce((s, r) => s + r.n, 0), outbox };
  } finally {
    store.close();
  }
}

/**
 * CPU used so far by the server's backends that have exited (the postmaster's reaped children:
 * each connection's backend ends with it), in ms; undefined when the server is not on this
 * machine or its data directory is not readable. /proc/<pid>/stat fields 16-17, in clock ticks.
 */
function serverChildCpuMs(admin: PostgresDb): number | undefined {
  try {
    const dataDir = String(admin.prepare('SHOW data_directory').pluck().get());
    const pid = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]!.trim();
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    // After "pid (comm) ", field 3 is at index 0: cutime (16) and cstime (17) at 13 and 14.
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Linux's USER_HZ (sysconf(_SC_CLK_TCK)), 100 on every mainstream architecture. */
const CLOCK_TICKS = 100;

/** Cluster-wide WAL flushes and commits so far (PostgreSQL 14+: pg_stat_wal). */
function walStats(admin: PostgresDb, database: string): { syncs: number; commits: number } {
  admin.exec('SELECT pg_stat_clear_snapshot()');
  const w = admin.prepare('SELECT wal_sync AS syncs FROM pg_stat_wal').get() as { syncs: number };
  const c = admin.prepare('SELECT xact_commit AS commits FROM pg_stat_database WHERE datname = ?').get(database) as { commits: number } | undefined;
  return { syncs: w.syncs, commits: c?.commits ?? 0 };
}

export async function benchPipelineProcesses(): Promise<BenchResult[]> {
  const { dir: course, groupIds } = bigCourse({ groups: GROUPS, rules: 100 });
  const sent = { joins: MEMBERS, messages: MESSAGES };
  const machine = `${cpus().length} cores`;
  const results: BenchResult[] = [];
  const rows = (label: string, m: Measured, counts: ReturnType<typeof countRows>, extra: string, base?: { name: string; rate: number }): BenchResult[] => {
    const failed = m.joins.failed + m.messages.failed;
    const ok = counts.joins === sent.joins && counts.messages === sent.messages && counts.events === sent.joins + sent.messages && failed === 0;
    const failures = failed > 0 ? `, ${failed} events FAILED (first: ${(m.joins.firstFailure ?? m.messages.firstFailure)!.split('\n')[0]})` : '';
    const trips = m.messages.roundTrips > 0 ? `; ${m.joins.roundTrips.toFixed(1)} round trips/join` : '';
    return [
      { name: `pipeline.${label}.joins_per_s`, value: m.joins.rate, unit: 'events/s', note: `p50 ${m.joins.p50.toFixed(2)} ms, p99 ${m.joins.p99.toFixed(2)} ms${trips}` },
      {
        name: `pipeline.${label}.messages_per_s`,
        value: m.messages.rate,
        unit: 'events/s',
        ...(base ? { baseline: base.name, baseline_value: base.rate, ratio: m.messages.rate / base.rate } : {}),
        target: 'store holds exactly the events sent',
        met: ok,
        note: `${counts.joins}/${sent.joins} joins + ${counts.messages}/${sent.messages} messages stored${failures}, ${counts.outbox} outbox rows; kequn CPU ${m.messages.cpuMsPerEvent.toFixed(2)} ms/message (${Math.round(m.messages.cpuShare * 100)} % of the cores); ${extra}; load ${m.load.toFixed(2)}, ${machine}`,
      },
      { name: `pipeline.${label}.messages_p50`, value: m.messages.p50, unit: 'ms' },
      { name: `pipeline.${label}.messages_p99`, value: m.messages.p99, unit: 'ms' },
      ...timeRows(label, m.messages),
      ...(m.messages.roundTrips > 0
        ? [
            { name: `pipeline.${label}.round_trips_per_message`, value: m.messages.roundTrips, unit: 'round trips', note: 'the whole mix (keyword rules, questions, chat): requests to PostgreSQL waited for, BEGIN and COMMIT included' },
            { name: `pipeline.${label}.round_trips_per_plain_message`, value: m.messages.plainRoundTrips, unit: 'round trips', target: '<= 3', met: m.messages.plainRoundTrips <= 3, note: 'the mix\'s plain group messages (no rule answers), everything the process waited for while handling one, the cluster\'s owner look-ups included' },
          ]
        : []),
    ];
  };
  /** Where a message's time goes (1 process: the wall time is the sum of what the process did and waited for), and per kind of message. */
  const timeRows = (label: string, f: PhaseFigures): BenchResult[] => {
    const server = f.serverCpuMsPerEvent !== undefined ? `; the server's backend CPU ${f.serverCpuMsPerEvent.toFixed(3)} ms` : '';
    const waits = `${f.waitedMsPerEvent > 0 ? `; waiting for PostgreSQL ${f.waitedMsPerEvent.toFixed(3)} ms` : ''}${server}`;
    const kinds = (Object.keys(KINDS) as Kind[]).filter((k) => f.kinds[k]).map((k) => {
      const x = f.kinds[k]!;
      return `${k} ${x.n}: ${x.ms.toFixed(3)} ms${x.trips > 0 ? `, ${x.trips.toFixed(2)} round trips, ${x.waited.toFixed(3)} ms waited` : ''}`;
    });
    return [
      { name: `pipeline.${label}.message_ms`, value: f.wallMsPerEvent, unit: 'ms', note: `wall time per message (1 / rate): kequn CPU ${f.cpuMsPerEvent.toFixed(3)} ms (system calls ${f.sysMsPerEvent.toFixed(3)})${waits}` },
      { name: `pipeline.${label}.message_kinds`, value: f.kinds.plain?.ms ?? Number.NaN, unit: 'ms', note: `mean latency of a plain message; per kind: ${kinds.join('; ')}` },
    ];
  };
  /** A measurement that could not finish: one row that says why (the bench goes on). */
  const broken = (label: string, why: string): BenchResult => ({ name: `pipeline.${label}.messages_per_s`, value: Number.NaN, unit: 'events/s', note: why });

  const dir = mkdtempSync(join(tmpdir(), 'kequn-bench-pp-'));
  let sqliteRate: number | undefined;
  try {
    const file = join(dir, 'kequn.db');
    const m = await measure(file, 1, course, groupIds);
    sqliteRate = m.messages.rate;
    results.push(...rows('sqlite.1proc', m, countRows(file), 'SQLite file (WAL, synchronous=NORMAL)'));
    const floor = floorRate(join(dir, 'floor.db'), groupIds);
    results.push({ name: 'pipeline.sqlite.floor_inserts_per_s', value: floor, unit: 'events/s', note: `the run's ${MESSAGES} message events inserted bare, one transaction each (bench/pipeline.ts's raw insert); the SQLite pipeline is ${(sqliteRate / floor).toFixed(2)} of it` });
  } catch (e) {
    results.push({ ...broken('sqlite.1proc', `failed: ${(e as Error).message.split('\n')[0]}`), met: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const pg = await benchPostgres();
  if ('skipped' in pg) {
    for (const n of PROCESSES) results.push(broken(`pg.${n}proc`, `skipped: ${pg.skipped}`));
    return results;
  }
  const scratch = new ScratchDatabases(pg.url, `kequn_bench_pp${process.pid}`);
  let admin: PostgresDb | undefined;
  try {
    admin = new PostgresDb(pg.url);
    const setting = (name: string) => String(admin!.prepare(`SHOW ${name}`).pluck().get());
    const settings = `${pg.origin}, PostgreSQL ${setting('server_version').split(' ')[0]}, fsync=${setting('fsync')}, synchronous_commit=${setting('synchronous_commit')}, loopback`;
    let pgOne: number | undefined;
    for (const n of PROCESSES) {
      try {
        const url = scratch.create();
        const database = new URL(url).pathname.slice(1);
        const before = walStats(admin, database);
        const cpuBefore = serverChildCpuMs(admin);
        const m = await measure(url, n, course, groupIds);
        // The workers' backends end with their connections; give the postmaster a moment to reap them.
        await new Promise((r) => setTimeout(r, 300));
        const cpuAfter = serverChildCpuMs(admin);
        const counts = countRows(url);
        const after = walStats(admin, database);
        const events = sent.joins + sent.messages;
        const per = (x: number) => (x / events).toFixed(2);
        const serverCpu = cpuBefore !== undefined && cpuAfter !== undefined ? ` + server ${per(cpuAfter - cpuBefore)}` : '';
        const wal = `per event, joins included: CPU kequn ${per(m.kequnCpuMs)}${serverCpu} ms, ${per(after.syncs - before.syncs)} WAL flushes, ${per(after.commits - before.commits)} commits`;
        const base = n === 1 ? (sqliteRate !== undefined ? { name: 'SQLite, 1 process', rate: sqliteRate } : undefined) : pgOne !== undefined ? { name: 'PostgreSQL, 1 process', rate: pgOne } : undefined;
        results.push(...rows(`pg.${n}proc`, m, counts, `${n} process${n > 1 ? 'es' : ''}; ${wal}; ${settings}`, base));
        if (n === 1) {
          pgOne = m.messages.rate;
          const floor = floorRate(scratch.create(), groupIds);
          const goal = sqliteRate !== undefined ? `; 0.8 × SQLite's ${Math.round(sqliteRate)}/s is ${(1000 / (0.8 * sqliteRate)).toFixed(3)} ms per message, this floor ${(1000 / floor).toFixed(3)} ms` : '';
          results.push({ name: 'pipeline.pg.floor_inserts_per_s', value: floor, unit: 'events/s', note: `the same message events inserted bare, one transaction each, BEGIN + INSERT + COMMIT in one request${goal}` });
        }
      } catch (e) {
        results.push({ ...broken(`pg.${n}proc`, `failed: ${(e as Error).message.split('\n')[0]}`), met: false });
      }
    }
  } catch (e) {
    results.push({ ...broken('pg', `failed: ${(e as Error).message.split('\n')[0]}`), met: false });
  } finally {
    admin?.close();
    scratch.dropAll();
    pg.stop();
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchPipelineProcesses());
  process.exit(0);
}
