// The measured process of bench/qa-start.ts: `kequn start` on a course with a large FAQ, on the
// compiled build (BENCH_QA_SRC = dist/<hash>/src), as bin/kequn.mjs runs it. Prints one JSON
// line: milliseconds from the process's start to a ready bot and to the end of each phase, where
// the Q&A index and the config files came from, whether jieba's dictionary was loaded, and RSS
// after a full GC.
//
// BENCH_QA_AS_BEFORE=1: the start as it was before the config files were stored (issue 20): the
// config parsed (no `stored`), and faker's main file with all its locales loaded as the mock
// puppet used to load it (src/bot/mock-faker.ts then finds it loaded and does nothing).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const src = process.env.BENCH_QA_SRC;
const asBefore = process.env.BENCH_QA_AS_BEFORE === '1';
const mod = (path) => import(pathToFileURL(`${src}/${path}.js`).href);
const { createApp, loadConfig, waitReady } = await mod('app');
const { createLogger } = await mod('log');
const { segmenterLoaded } = await mod('flows/qa/tokenize');
const { OffsetClock } = await mod('core/schedule/clock');
const data = process.env.BENCH_QA_DATA;
const t0 = performance.now();
const config = loadConfig(process.env.BENCH_QA_CONFIG, { env: { KEQUN_DATA: data }, stored: !asBefore });
const t1 = performance.now();
if (asBefore) {
  const fromMock = createRequire(createRequire(`${src}/app.js`).resolve('wechaty-puppet-mock'));
  fromMock('faker');
}
const tFaker = performance.now();
const log = createLogger({ level: 'warn', destination: process.stderr });
const app = await createApp({ config, clock: new OffsetClock(), log, live: true, dbPath: data });
const t2 = performance.now();
await app.kernel.start();
const t3 = performance.now();
await waitReady(() => app.kernel.isReady());
const ms = performance.now();
const cpu = process.cpuUsage();
// CPU time of this thread and the process's others (GC helpers, the WAL thread): less at the mercy of the load than wall time.
const cpuMs = (cpu.user + cpu.system) / 1000;
const qa = app.kernel.currentServices.qa;
for (let i = 0; i < 3; i++) globalThis.gc?.();
const rss = process.memoryUsage().rss;
const phases = {
  imports: t0,
  config: t1 - t0,
  ...(asBefore ? { faker: tFaker - t1 } : {}),
  store: app.built.storeMs,
  platforms: app.built.platformsMs,
  kernel: app.built.kernelMs,
  orders: app.built.ordersMs,
  start: t3 - t2,
  ready: ms - t3,
};
process.stdout.write(
  JSON.stringify({ ms, cpuMs, importsMs: t0, configMs: t1 - t0, phases, parsedStore: config.parsedStore ?? [], entries: qa.size, origin: qa.origin, jieba: segmenterLoaded(), rss }) + '\n',
);
await app.stop();
process.exit(0);
