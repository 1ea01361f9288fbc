/**
 * Start-up with a large FAQ: `kequn start` (compiled build, fresh process, SQLite store) on the
 * test course with 10,000 synthetic FAQ entries, from the process's start to a ready bot.
 *
 * The first start parses faq.yaml, analyses the FAQ and stores both the index
 * (src/flows/qa/stored-index.ts) and the validated config files (src/config/parsed-cache.ts).
 * Then, alternating, ROUNDS times each: a start as before the config files were stored (the
 * same-run baseline: the index read, faq.yaml parsed, faker's every locale loaded) and a start
 * as now (index and config files read). Medians reported, with each phase of the median start:
 * node and kequn's modules, loadConfig, the store opened, the platforms' modules (Wechaty, the
 * simulated WeChat), the kernel and its services (the Q&A index), the order service, the
 * kernel's start and the wait for the simulated login.
 * Target: < 3 s. Also reported: whether jieba's dictionary was loaded, and RSS after a GC.
 * Run: npx tsx bench/qa-start.ts
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuild } from '../bin/build.mjs';
import { syntheticBank } from '../src/flows/qa/synthetic.js';
import { report, type BenchResult } from './report.js';

const N = 10_000;
const ANSWER_CHARS = 60;
const MB = 1024 * 1024;

/** Starts of each kind after the first, alternating (medians reported: the machine is shared). */
const ROUNDS = 3;

interface Start {
  ms: number;
  /** CPU time (user + system) until ready */
  cpuMs: number;
  /** node's own start and kequn's modules */
  importsMs: number;
  /** loadConfig: the YAML parser on the 2 MB faq.yaml, or the stored form */
  configMs: number;
  /** ms of each phase, in order (see bench/qa-start-child.mjs) */
  phases: Record<string, number>;
  parsedStore: { file: string; from: string; note?: string }[];
  entries: number;
  origin: { from: string; note?: string; ms: number };
  jieba: boolean;
  rss: number;
}

const median = (starts: Start[]): Start => [...starts].sort((a, b) => a.ms - b.ms)[Math.floor(starts.length / 2)]!;
const phasesOf = (s: Start) =>
  Object.entries(s.phases)
    .map(([k, v]) => `${k} ${Math.round(v)}`)
    .join(', ');

export function benchQaStart(): BenchResult[] {
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'kequn-bench-qa-start-'));
  try {
    const course = join(dir, 'course');
    cpSync('test/fixtures/course', course, { recursive: true });
    // JSON strings are YAML scalars: the synthetic text needs no further quoting. Answers cut
    // to 60 characters: a config file is limited to 2 MB (src/config/yaml-file.ts), so 10,000
    // entries is about the largest FAQ faq.yaml can hold.
    const yaml = syntheticBank(N)
      .map((e) => `  - id: ${e.id}\n    q: ${JSON.stringify(e.question)}\n    a: ${JSON.stringify([...e.answer].slice(0, ANSWER_CHARS).join(''))}\n`)
      .join('');
    writeFileSync(join(course, 'faq.yaml'), `entries:\n${yaml}`);
    const main = ensureBuild();
    if (!main) throw new Error('bench/qa-start: the compiled build could not be made (bin/build.mjs)');
    const src = join(dirname(main), '..');
    const data = join(dir, 'kequn.db');
    const run = (asBefore = false): Start => {
      const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(new URL('./qa-start-child.mjs', import.meta.url))], {
        env: { ...process.env, BENCH_QA_SRC: src, BENCH_QA_CONFIG: course, BENCH_QA_DATA: data, BENCH_QA_AS_BEFORE: asBefore ? '1' : '0' },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return JSON.parse(out.trim().split('\n').at(-1)!) as Start;
    };
    const load = [loadavg()[0]!];
    const first = run();
    const before: Start[] = [];
    const after: Start[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      before.push(run(true));
      after.push(run());
      load.push(loadavg()[0]!);
    }
    if (first.origin.from !== 'built') throw new Error(`bench/qa-start: the first start should build the index, got ${first.origin.from}`);
    for (const s of [...before, ...after]) if (s.origin.from !== 'stored') throw new Error(`bench/qa-start: expected a stored index, got ${s.origin.from} (${s.origin.note})`);
    for (const s of after) if (!s.parsedStore.every((f) => f.from === 'stored')) throw new Error(`bench/qa-start: expected stored config files, got ${JSON.stringify(s.parsedStore)}`);
    const b = median(before);
    const a = median(after);
    const loads = `load average ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)} (2 cores shared)`;
    return [
      {
        name: 'qa.start_10k_stored_ms',
        value: a.ms,
        unit: 'ms',
        baseline: 'start as before (index stored, config parsed), same run',
        baseline_value: b.ms,
        ratio: b.ms / a.ms,
        target: '< 3000 ms',
        met: a.ms < 3000,
        note: `${a.entries} FAQ entries; process start to ready bot, compiled build, median of ${ROUNDS} alternating with the baseline; phases (ms): ${phasesOf(a)} (as before: ${phasesOf(b)}); Q&A index read ${Math.round(a.origin.ms)} ms; CPU time ${Math.round(a.cpuMs)} ms (as before ${Math.round(b.cpuMs)} ms); ${loads}; jieba loaded: ${a.jieba ? 'yes' : 'no'}`,
      },
      {
        name: 'qa.start_10k_first_ms',
        value: first.ms,
        unit: 'ms',
        note: `the first start: faq.yaml parsed and stored, FAQ analysed and its index stored (built in ${Math.round(first.origin.ms)} ms); phases (ms): ${phasesOf(first)}; CPU time ${Math.round(first.cpuMs)} ms; jieba loaded: ${first.jieba ? 'yes' : 'no'}`,
      },
      {
        name: 'qa.start_10k_rss_mb',
        value: a.rss / MB,
        unit: 'MB',
        baseline: 'first start',
        baseline_value: first.rss / MB,
        ratio: first.rss / a.rss,
        note: `RSS after a full GC once ready, 10k-entry FAQ (as before: ${(b.rss / MB).toFixed(0)} MB); the first start also holds jieba and the analysis garbage the allocator keeps`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(benchQaStart());
  process.exit(0);
}
