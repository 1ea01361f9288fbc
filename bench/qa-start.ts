/**
 * Start-up with a large FAQ: `kequn start` (compiled build, fresh process, SQLite store) on the
 * test course with 10,000 synthetic FAQ entries, from the process's start to a ready bot. The
 * first start analyses the FAQ and stores the index (src/flows/qa/stored-index.ts): the same-run
 * baseline, what every start cost before the index was stored. The second start reads it.
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

interface Start {
  ms: number;
  /** CPU time (user + system) until ready */
  cpuMs: number;
  /** node's own start and kequn's modules */
  importsMs: number;
  /** loadConfig: mostly the YAML parser on the 2 MB faq.yaml */
  configMs: number;
  entries: number;
  origin: { from: string; note?: string; ms: number };
  jieba: boolean;
  rss: number;
}

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
    const run = (): Start => {
      const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(new URL('./qa-start-child.mjs', import.meta.url))], {
        env: { ...process.env, BENCH_QA_SRC: src, BENCH_QA_CONFIG: course, BENCH_QA_DATA: data },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return JSON.parse(out.trim().split('\n').at(-1)!) as Start;
    };
    const first = run();
    const second = run();
    if (first.origin.from !== 'built' || second.origin.from !== 'stored') throw new Error(`bench/qa-start: expected built then stored, got ${first.origin.from} then ${second.origin.from}`);
    return [
      {
        name: 'qa.start_10k_stored_ms',
        value: second.ms,
        unit: 'ms',
        baseline: 'first start: FAQ analysed, index stored',
        baseline_value: first.ms,
        ratio: first.ms / second.ms,
        target: '< 3000 ms',
        met: second.ms < 3000,
        note: `${second.entries} FAQ entries; process start to ready bot, compiled build: node and modules ${Math.round(second.importsMs)} ms, config (YAML) ${Math.round(second.configMs)} ms, Q&A index read ${Math.round(second.origin.ms)} ms (built in ${Math.round(first.origin.ms)} ms at the first start), the rest ${Math.round(second.ms - second.importsMs - second.configMs - second.origin.ms)} ms; CPU time ${Math.round(second.cpuMs)} ms (first start ${Math.round(first.cpuMs)} ms); load average ${loadavg()[0]!.toFixed(1)}; jieba loaded: ${second.jieba ? 'yes' : 'no'} (first start: ${first.jieba ? 'yes' : 'no'})`,
      },
      {
        name: 'qa.start_10k_rss_mb',
        value: second.rss / MB,
        unit: 'MB',
        baseline: 'first start',
        baseline_value: first.rss / MB,
        ratio: first.rss / second.rss,
        note: 'RSS after a full GC once ready, 10k-entry FAQ; the first start also holds jieba and the analysis garbage the allocator keeps',
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
