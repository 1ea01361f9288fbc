// The measured process of bench/qa-start.ts: `kequn start` on a course with a large FAQ, on the
// compiled build (BENCH_QA_SRC = dist/<hash>/src), as bin/kequn.mjs runs it. Prints one JSON
// line: milliseconds from the process's start to a ready bot, where the Q&A index came from,
// whether jieba's dictionary was loaded, and RSS after a full GC.
import { pathToFileURL } from 'node:url';

const src = process.env.BENCH_QA_SRC;
const mod = (path) => import(pathToFileURL(`${src}/${path}.js`).href);
const { createApp, loadConfig, waitReady } = await mod('app');
const { createLogger } = await mod('log');
const { segmenterLoaded } = await mod('flows/qa/tokenize');
const { OffsetClock } = await mod('core/schedule/clock');
const data = process.env.BENCH_QA_DATA;
const t0 = performance.now();
const config = loadConfig(process.env.BENCH_QA_CONFIG, { env: { KEQUN_DATA: data } });
const configMs = performance.now() - t0;
const log = createLogger({ level: 'warn', destination: process.stderr });
const app = await createApp({ config, clock: new OffsetClock(), log, live: true, dbPath: data });
await app.kernel.start();
await waitReady(() => app.kernel.isReady());
const ms = performance.now();
const cpu = process.cpuUsage();
// CPU time of this thread and the process's others (GC helpers, the WAL thread): less at the mercy of the load than wall time.
const cpuMs = (cpu.user + cpu.system) / 1000;
const qa = app.kernel.currentServices.qa;
for (let i = 0; i < 3; i++) globalThis.gc?.();
const rss = process.memoryUsage().rss;
process.stdout.write(JSON.stringify({ ms, cpuMs, importsMs: t0, configMs, entries: qa.size, origin: qa.origin, jieba: segmenterLoaded(), rss }) + '\n');
await app.stop();
process.exit(0);
