/**
 * Memory: RSS of a started kequn (store, kernel, simulated WeChat through Wechaty, web server,
 * as `kequn start` builds them) with 100,000 members in 1,000 groups in the store: idle after
 * start, and after a pipeline run of 10,000 member messages. Each figure is measured in a fresh
 * child process (this process holds the other benchmarks' garbage), after a full GC.
 * Baseline: a bare Wechaty bot on the same mock puppet in the same kind of process — the floor
 * of any WeChat bot on Node. Target: < 200 MB.
 * Run: npx tsx bench/memory.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inTransaction, openStore } from '../src/store/db.js';
import { recordJoin, resolveMember } from '../src/store/members.js';
import { bigCourse } from './course-fixture.js';
import { report, type BenchResult } from './report.js';

const GROUPS = 1000;
const PER_GROUP = 100;
const MESSAGES = 10_000;
const MB = 1024 * 1024;

interface ChildFigures {
  idle: number;
  afterPipeline?: number;
  heapUsed: number;
}

function runChild(mode: 'kequn' | 'bare', env: Record<string, string>): ChildFigures {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), `--child=${mode}`], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 16 * MB,
    // node-cron complains about missed ticks while the pipeline runs flat out; not a figure.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = out.trim().split('\n').at(-1)!;
  return JSON.parse(line) as ChildFigures;
}

export async function benchMemory(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'kequn-bench-memory-'));
  const { dir: configDir, groupIds } = bigCourse({ groups: GROUPS, rules: 100 });
  const dataPath = join(dir, 'bench.db');
  try {
    const db = openStore(dataPath);
    const joinedAt = Date.parse('2026-03-01T09:00:00+08:00');
    for (let g0 = 0; g0 < GROUPS; g0 += 100) {
      inTransaction(db, () => {
        for (let g = g0; g < g0 + 100; g++)
          for (let i = 0; i < PER_GROUP; i++) {
            const n = g * PER_GROUP + i;
            const { member } = resolveMember(db, { platform: 'wechat', platformId: `u${n}`, displayName: `学员${n}`, initialStage: 'trial', now: joinedAt });
            recordJoin(db, { memberId: member.id, groupId: groupIds[g]!, inviterId: null, now: joinedAt });
          }
      });
    }
    db.close();
    const env = { BENCH_MEM_CONFIG: configDir, BENCH_MEM_DATA: dataPath };
    const kequn = runChild('kequn', env);
    const bare = runChild('bare', env);
    const target = 200;
    return [
      {
        name: 'memory: RSS after start, idle (100k members, 1k groups)',
        value: kequn.idle / MB,
        unit: 'MB',
        baseline: 'bare Wechaty bot on the mock puppet',
        baseline_value: bare.idle / MB,
        ratio: bare.idle / kequn.idle,
        target: `< ${target} MB`,
        met: kequn.idle / MB < target,
        note: `after a full GC; heap used ${Math.round(kequn.heapUsed / MB)} MB; ratio = baseline/kequn`,
      },
      {
        name: `memory: RSS after a pipeline run (${MESSAGES} messages)`,
        value: kequn.afterPipeline! / MB,
        unit: 'MB',
        baseline: 'bare Wechaty bot on the mock puppet',
        baseline_value: bare.idle / MB,
        ratio: bare.idle / kequn.afterPipeline!,
        target: `< ${target} MB`,
        met: kequn.afterPipeline! / MB < target,
        note: 'messages from members across the 1k groups through kernel.handle, then a full GC',
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(configDir, { recursive: true, force: true });
  }
}

/** The measured process: builds what `kequn start` builds, reports RSS as one JSON line. */
async function child(mode: string): Promise<void> {
  const gc = () => {
    for (let i = 0; i < 3; i++) global.gc?.();
  };
  const settle = () => new Promise((r) => setTimeout(r, 500));
  if (mode === 'bare') {
    const { SimulatedWeChat } = await import('../src/bot/simulator.js');
    const sim = new SimulatedWeChat({ botName: 'bot', now: () => Date.now() });
    const bot = sim.buildBot();
    bot.on('message', async (m) => {
      if (!m.self()) await m.say(m.text());
    });
    await bot.start();
    await settle();
    gc();
    process.stdout.write(JSON.stringify({ idle: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed }) + '\n');
    process.exit(0);
  }
  const { createApp, waitReady } = await import('../src/app.js');
  const { loadConfig } = await import('../src/config/load.js');
  const { silentLogger } = await import('../src/log.js');
  const { OffsetClock } = await import('../src/schedule/clock.js');
  const { createWebApp, startWebServer } = await import('../src/web/server.js');
  const config = loadConfig(process.env.BENCH_MEM_CONFIG!, { env: { KEQUN_DATA: process.env.BENCH_MEM_DATA! } });
  const clock = new OffsetClock();
  clock.advance(Date.parse('2026-03-02T10:00:00+08:00') - Date.now());
  const app = await createApp({ config, clock, log: silentLogger, live: true, dbPath: config.dataPath });
  await app.kernel.start();
  const server = await startWebServer(createWebApp({ app, clock, log: silentLogger }), { host: '127.0.0.1', port: 0 });
  await waitReady(() => app.kernel.isReady());
  await settle();
  gc();
  const idle = process.memoryUsage().rss;
  const groups = Object.entries(config.groups).filter(([, g]) => g.wechat);
  for (let i = 0; i < MESSAGES; i++) {
    const n = (i * 7919) % (GROUPS * PER_GROUP);
    const [, g] = groups[Math.floor(n / PER_GROUP) % groups.length]!;
    await app.kernel.handle({ type: 'message', platform: 'wechat', eventId: `mem-${i}`, at: clock.now(), chat: { kind: 'group', group: { id: g.wechat!, name: g.name } }, user: { id: `u${n}`, name: `学员${n}` }, text: `关键词${i % 100} 老师好，第 ${i} 条`, mentionsBot: false, contentKind: 'text' });
  }
  await settle();
  gc();
  const afterPipeline = process.memoryUsage().rss;
  process.stdout.write(JSON.stringify({ idle, afterPipeline, heapUsed: process.memoryUsage().heapUsed }) + '\n');
  await server.close();
  await app.stop();
  process.exit(0);
}

const childArg = process.argv.find((a) => a.startsWith('--child='));
if (childArg) await child(childArg.slice('--child='.length));
else if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchMemory());
  process.exit(0);
}
