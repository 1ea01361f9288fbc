/**
 * One worker process of bench/pipeline-processes.ts: a kequn (createApp: store, kernel with the
 * course's rules; the outbox is not dispatched, as in bench/pipeline.ts) on the store the parent
 * names, handling the share of events the parent sends it. Protocol over IPC:
 * parent → `plan` (its joins and messages), child → `ready` once the app is up; parent → `go`
 * for a phase, child → `done` with each event's handling time; parent → `exit`.
 *
 * env: BENCH_PP_DB (SQLite file or postgres:// URL), BENCH_PP_COURSE (course folder), and
 * KEQUN_INSTANCE (w1..wN: each process is an instance of its own, src/bot/cluster.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createApp, waitReady, type App } from '../src/app.js';
import { dialectOf } from '../src/store/db.js';
import { clusterFromEnv } from '../src/bot/cluster.js';
import type { ChatEvent } from '../src/bot/events.js';
import { loadConfig } from '../src/app.js';
import { silentLogger } from '../src/log.js';
import { VirtualClock } from '../src/core/schedule/clock.js';

export type Phase = 'joins' | 'messages';
export type ToChild = { kind: 'plan'; joins: ChatEvent[]; messages: ChatEvent[] } | { kind: 'go'; phase: Phase } | { kind: 'exit' };
export type FromChild =
  | { kind: 'ready' }
  /** `lat`: ms per event, in order; `failed`: events the kernel logged as failed (nothing stored). */
  /** `cpuMs`: this process's CPU time (user + system) over the phase. */
  /** `roundTrips`: requests this process sent PostgreSQL and waited for over the phase (0 on SQLite). */
  /** `requests`: with BENCH_PP_TRACE=1, each request's text (its first 160 characters), how often it was sent and the ms waited for it in all. */
  /** `trips`: the round trips of each event, in order (PostgreSQL); `waited`: the ms each event waited for PostgreSQL's answers. */
  /** `sysMs`: the part of `cpuMs` spent in the kernel (system calls: the socket's sends and waits). */
  /** `serverCpuMs`: CPU of this process's PostgreSQL backend over the phase (read from /proc; undefined when not on this machine). */
  | { kind: 'done'; phase: Phase; lat: number[]; trips: number[]; waited: number[]; failed: number; firstFailure?: string; cpuMs: number; sysMs: number; serverCpuMs?: number; roundTrips: number; requests?: [string, number, number][] };

const env = process.env;
const send = (m: FromChild) => process.send!(m);
const state: { plan?: { joins: ChatEvent[]; messages: ChatEvent[] }; app?: App } = {};
const readyIfBoth = () => {
  if (state.plan && state.app) send({ kind: 'ready' });
};
// Listening before the app is built: the plan arrives while kequn is still starting.
process.on('message', (m: ToChild) => {
  if (m.kind === 'plan') {
    state.plan = { joins: m.joins, messages: m.messages };
    readyIfBoth();
  } else if (m.kind === 'go') {
    void runPhase(m.phase);
  } else {
    void state.app!.stop().then(() => process.exit(0));
  }
});

// The parent is gone (interrupted): nothing will say `exit`.
process.on('disconnect', () => process.exit(1));

const config = loadConfig(env.BENCH_PP_COURSE!, { env: {} });
const clock = new VirtualClock(Date.parse('2026-03-02T10:00:00+08:00'));
// No WeChat adapter: events go straight to kernel.handle (as bench/pipeline.ts measures them) and
// the outbox is not dispatched, so an adapter would only add Wechaty's start (2–6 s per process).
// The instance as `kequn start` takes it: KEQUN_INSTANCE (w1..wN), each claims its own groups.
const built = await createApp({ config, clock, log: silentLogger, live: false, dbPath: env.BENCH_PP_DB!, wechat: { kind: 'off' }, cluster: clusterFromEnv(env) });
await built.kernel.start();
await waitReady(() => built.kernel.isReady());
state.app = built;
readyIfBoth();

/** The CPU time (user + system) of process `pid` so far, ms; undefined when it cannot be read (not on this machine). */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    // After "pid (comm) ", field 3 is at index 0: utime (14) and stime (15) at 11 and 12, in clock ticks (USER_HZ, 100).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** This process's PostgreSQL backend (its connection's server process), asked once before the phases. */
let backendPid: number | undefined;

async function runPhase(phase: Phase): Promise<void> {
  const events = phase === 'joins' ? state.plan!.joins : state.plan!.messages;
  const lat: number[] = [];
  const perEvent: number[] = [];
  const waitedPerEvent: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  const pg = state.app!.db as unknown as { onRequest?: (sql: string) => void; onWaited?: (ms: number) => void };
  if (dialectOf(state.app!.db) === 'postgres' && backendPid === undefined) backendPid = Number(state.app!.db.prepare('SELECT pg_backend_pid()').pluck().get());
  const trips = () => (state.app!.db as { roundTrips?: number }).roundTrips ?? 0;
  const requests = new Map<string, [number, number]>();
  let lastKey = '';
  // BENCH_PP_TRACE_TEXT=<regex>: the requests of the messages whose text matches it only (one kind of the mix).
  const only = env.BENCH_PP_TRACE_TEXT ? new RegExp(env.BENCH_PP_TRACE_TEXT) : undefined;
  let tracing = true;
  if (env.BENCH_PP_TRACE && 'onRequest' in pg)
    pg.onRequest = (sql) => {
      if (!tracing) return;
      lastKey = sql.replace(/\s+/g, ' ').slice(0, 160);
      const r = requests.get(lastKey);
      if (r) r[0]++;
      else requests.set(lastKey, [1, 0]);
    };
  let waited = 0;
  if ('onWaited' in pg)
    pg.onWaited = (ms) => {
      waited += ms;
      if (env.BENCH_PP_TRACE && tracing) requests.get(lastKey)![1] += ms;
    };
  // BENCH_PP_PROFILE=<dir>: a CPU profile of this phase (node:inspector), written there as <instance>-<phase>.cpuprofile.
  const profiler = env.BENCH_PP_PROFILE ? new Session() : undefined;
  const post = (method: string) => new Promise<unknown>((resolve, reject) => profiler!.post(method, (err, r) => (err ? reject(err) : resolve(r))));
  if (profiler) {
    profiler.connect();
    await post('Profiler.enable');
    await post('Profiler.start');
  }
  const serverCpu0 = processCpuMs(backendPid);
  const cpu = process.cpuUsage();
  const trips0 = trips();
  for (const e of events) {
    // Every event carries its time in the whole run, so a member's events see the same clock
    // whichever process handles them (the outcome does not depend on how the work is split).
    clock.set(e.at);
    const t = performance.now();
    const before = trips();
    const waitedBefore = waited;
    tracing = !only || (e.type === 'message' && only.test(e.text));
    const r = await state.app!.kernel.handle(e);
    lat.push(performance.now() - t);
    perEvent.push(trips() - before);
    waitedPerEvent.push(waited - waitedBefore);
    if (r.status !== 'handled') {
      failed++;
      firstFailure ??= `${e.eventId}: ${r.status} ${r.reason ?? ''}`;
    }
  }
  const used = process.cpuUsage(cpu);
  if (profiler) {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    writeFileSync(`${env.BENCH_PP_PROFILE}/${env.KEQUN_INSTANCE ?? 'w'}-${dialectOf(state.app!.db)}-${phase}.cpuprofile`, JSON.stringify(profile));
    profiler.disconnect();
  }
  const serverCpu1 = processCpuMs(backendPid);
  if ('onRequest' in pg) pg.onRequest = undefined;
  if ('onWaited' in pg) pg.onWaited = undefined;
  send({
    kind: 'done',
    phase,
    lat,
    trips: perEvent,
    waited: waitedPerEvent,
    failed,
    firstFailure,
    cpuMs: (used.user + used.system) / 1000,
    sysMs: used.system / 1000,
    ...(serverCpu0 !== undefined && serverCpu1 !== undefined ? { serverCpuMs: serverCpu1 - serverCpu0 } : {}),
    roundTrips: trips() - trips0,
    ...(env.BENCH_PP_TRACE ? { requests: [...requests].map(([k, [n, ms]]) => [k, n, ms] as [string, number, number]) } : {}),
  });
}
