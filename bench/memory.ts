/**
 * Memory: RSS of a started kequn (store, kernel, simulated WeChat through Wechaty, web server,
 * as `kequn start` builds them) with 100,000 members in 1,000 groups in the store: idle after
 * start, and after a pipeline run of 10,000 member messages. Each figure is measured in a fresh
 * child process (this process holds the other benchmarks' garbage), after a full GC.
 * The child (bench/memory-child.mjs) runs like bin/kequn.mjs: plain node on the compiled build
 * (bin/build.mjs), without tsx. BENCH_MEM_TSX=1 adds the same figure under tsx, as kequn ran
 * before it was compiled.
 * Baseline: a bare Wechaty bot on the same mock puppet in the same kind of process — the floor
 * of any WeChat bot on Node. Target: < 200 MB.
 * Run: npx tsx bench/memory.ts
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuild } from '../bin/build.mjs';
import { inTransaction, openStore } from '../src/store/db.js';
import { recordJoin, resolveMember } from '../src/store/members.js';
import { bigCourse } from './course-fixture.js';
import { report, type BenchResult } from './report.js';

const GROUPS = 1000;
const PER_GROUP = 100;
const MESSAGES = 10_000;
const MB = 1024 * 1024;

interface Usage {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** jieba's dictionary (about 40 MB) loaded at this point */
  jieba?: boolean;
  /** where the Q&A index came from at this start */
  qa?: 'stored' | 'built';
}

interface ChildFigures {
  idle: Usage;
  afterPipeline?: Usage;
  afterQuestion?: Usage;
}

const childScript = fileURLToPath(new URL('./memory-child.mjs', import.meta.url));
const root = join(dirname(childScript), '..');

let runs = 0;

function runChild(mode: 'kequn' | 'bare', env: { BENCH_MEM_CONFIG: string; BENCH_MEM_DATA: string; BENCH_MEM_IDLE_ONLY?: string }, runtime: 'compiled' | 'tsx'): ChildFigures {
  // Each child starts from the same store (a pipeline run adds 10k events to its copy).
  const data = `${env.BENCH_MEM_DATA}.run${++runs}`;
  copyFileSync(env.BENCH_MEM_DATA, data);
  let src = join(root, 'src');
  if (runtime === 'compiled') {
    const main = ensureBuild();
    if (!main) throw new Error('bench/memory: the compiled build could not be made (bin/build.mjs)');
    src = join(dirname(main), '..');
  }
  const args = ['--expose-gc', ...(runtime === 'tsx' ? ['--import', 'tsx'] : []), childScript, mode];
  const out = execFileSync(process.execPath, args, {
    env: { ...process.env, ...env, BENCH_MEM_DATA: data, BENCH_MEM_SRC: src, BENCH_MEM_EXT: runtime === 'tsx' ? '.ts' : '.js', BENCH_MEM_MESSAGES: String(MESSAGES), BENCH_MEM_MEMBERS: String(GROUPS * PER_GROUP) },
    encoding: 'utf8',
    maxBuffer: 16 * MB,
    // node-cron complains about missed ticks while the pipeline runs flat out; not a figure.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = out.trim().split('\n').at(-1)!;
  return JSON.parse(line) as ChildFigures;
}

const split = (u: Usage) =>
  `heap ${Math.round(u.heapUsed / MB)} MB used of ${Math.round(u.heapTotal / MB)}, external ${Math.round(u.external / MB)} MB (array buffers ${Math.round(u.arrayBuffers / MB)}), the rest (code, native, the Node binary) ${Math.round((u.rss - u.heapTotal - u.external) / MB)} MB`;

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
    // The first start analyses the FAQ (loading jieba) and stores the Q&A index beside the store
    // (the runs' copies share the folder); the measured start is a restart, which reads it.
    const first = runChild('kequn', { ...env, BENCH_MEM_IDLE_ONLY: '1' }, 'compiled');
    const kequn = runChild('kequn', env, 'compiled');
    const bare = runChild('bare', env, 'compiled');
    const target = 200;
    const idle = kequn.idle.rss;
    const after = kequn.afterPipeline!.rss;
    const base = bare.idle.rss;
    // One row per measurement, against the bare bot's idle RSS and the same target.
    const row = (name: string, rss: number, note: string): BenchResult => ({
      name,
      value: rss / MB,
      unit: 'MB',
      baseline: 'bare Wechaty bot on the mock puppet',
      baseline_value: base / MB,
      ratio: base / rss,
      target: `< ${target} MB`,
      met: rss / MB < target,
      note,
    });
    const jieba = (u: Usage) => `jieba ${u.jieba ? 'loaded' : 'not loaded'}`;
    const results: BenchResult[] = [
      row('memory: RSS after start, idle (100k members, 1k groups)', idle, `compiled build as \`kequn start\` runs it, restarted (Q&A index ${kequn.idle.qa}), after a full GC; ${jieba(kequn.idle)}; ${split(kequn.idle)}; ratio = baseline/kequn`),
      row(`memory: RSS after a pipeline run (${MESSAGES} messages)`, after, `messages from members across the 1k groups through kernel.handle, then a full GC; ${jieba(kequn.afterPipeline!)}; ${split(kequn.afterPipeline!)}`),
      row('memory: RSS after the pipeline and one FAQ question', kequn.afterQuestion!.rss, `a Chinese question answered from the FAQ: ${jieba(kequn.afterQuestion!)}; ${split(kequn.afterQuestion!)}`),
      row('memory: RSS at the first start, idle (FAQ analysed, index stored)', first.idle.rss, `the start before the measured one (Q&A index ${first.idle.qa}); ${jieba(first.idle)}; ${split(first.idle)}`),
    ];
    if (process.env.BENCH_MEM_TSX === '1') {
      const tsx = runChild('kequn', env, 'tsx');
      results.push({
        name: 'memory: RSS after start, idle, under tsx (before the compiled build)',
        value: tsx.idle.rss / MB,
        unit: 'MB',
        note: `${split(tsx.idle)}; after the pipeline run ${Math.round(tsx.afterPipeline!.rss / MB)} MB`,
      });
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(configDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchMemory());
  process.exit(0);
}
